import type { Metadata } from '../../src/metadata/metadata.ts';
import type { RepoName } from '../../src/oci/name.ts';

/**
 * A package row as a first push leaves it (private), then locked and touched as a push's
 * transaction does, for tests that write metadata directly. Says whether it is in the trash.
 */
export async function ensurePackage(m: Metadata, name: RepoName, owner: string, now: number): Promise<{ trashedAt: number | null }> {
  await m.packages.create({ name, owner, visibility: 'private', createdBy: 'test', now });
  const row = await m.packages.lock(name, now);
  return { trashedAt: row?.trashedAt ?? null };
}
