/**
 * Refusals shared by the registry, the authorizer and the trash, each saying why and what to do:
 * a push into a package (or of a manifest) that is in the trash, and removing a manifest that a
 * remaining index still lists. Both run inside the caller's transaction.
 */
import { RegistryError, type ErrorCode } from '../errors.ts';
import type { Metadata } from '../metadata/metadata.ts';
import type { TrashEntry } from '../metadata/trash.ts';
import type { Digest } from '../oci/digest.ts';
import type { RepoName } from '../oci/name.ts';

function howToLeave(e: TrashEntry | null): string {
  if (!e) return 'restore or purge it first';
  const until = new Date(e.expiresAt).toISOString().slice(0, 10);
  return `it is kept until ${until}; restore it (wharf trash restore ${e.id}, or Trash on the owner's page) or purge it (wharf trash purge ${e.id}) first`;
}

/** DENIED: pushing into a package that is in the trash (its name stays reserved). */
export async function trashedPackageError(m: Metadata, repo: RepoName): Promise<RegistryError> {
  const e = await m.trash.packageEntry(repo);
  return new RegistryError('DENIED', `package ${repo} is in the trash; ${howToLeave(e)}`, { package: repo, trash: e?.id ?? null });
}

/** DENIED: pushing again a manifest that is in the trash (restore brings back its tags and referrers too). */
export async function trashedManifestError(m: Metadata, repo: RepoName, digest: Digest): Promise<RegistryError> {
  const e = await m.trash.entryOf(repo, digest);
  return new RegistryError('DENIED', `manifest ${digest} of ${repo} is in the trash; ${howToLeave(e)}`, { package: repo, digest, trash: e?.id ?? null });
}

/**
 * Refuses to remove `digests` while a live index outside `removing` lists one of them: the index
 * would stop pulling. `code` is the caller's protocol's (CONFLICT on /api/v1; an OCI code on /v2).
 */
export async function refuseIfListedByIndex(
  m: Metadata,
  repo: RepoName,
  digests: readonly Digest[],
  removing: ReadonlySet<Digest>,
  code: ErrorCode,
): Promise<void> {
  const [hit] = await m.manifests.listingIndexes(repo, digests, removing);
  if (!hit) return;
  const tags = await m.tags.forDigest(repo, hit.index);
  const named = tags.length > 0 ? `${hit.index} (${tags.slice(0, 3).join(', ')})` : hit.index;
  throw new RegistryError(code, `manifest ${hit.child} is listed by index ${named} in ${repo}; delete that index first`, {
    digest: hit.child,
    index: hit.index,
    tags,
  });
}
