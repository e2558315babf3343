/**
 * A package comes into being with the first write of its first push (a blob link, a mount or a
 * manifest), inside that write's transaction — not when a push is authorized, so a refused or
 * abandoned push leaves no package behind and authorizing never writes.
 */
import type { Principal } from '../auth/principal.ts';
import type { Visibility } from '../auth/vocabulary.ts';
import type { Metadata } from '../metadata/metadata.ts';
import { ownerOf, type RepoName } from '../oci/name.ts';
import { actorFields } from './audit.ts';

/**
 * Locks the package row for the rest of the transaction (ADR 0010), creating it first when this
 * is the package's first push: with its owner's default visibility (else `defaultVisibility`),
 * and admin for a user who does not own the namespace (an org member) so they can manage what
 * they made. `m` must be a transaction.
 */
export async function lockForPush(
  m: Metadata,
  repo: RepoName,
  by: Principal,
  now: number,
  defaultVisibility: Visibility,
): Promise<{ trashedAt: number | null }> {
  const existing = await m.packages.lock(repo, now);
  if (existing) return existing;
  const owner = ownerOf(repo);
  const account = await m.accounts.get(owner);
  // The owner's choice, else the site default as it is now (a run-time setting, ADR 0025).
  const visibility = account?.visibilityChosen ? account.defaultVisibility : defaultVisibility;
  // A concurrent first push waits on the unique name here and then finds the row.
  if (await m.packages.create({ name: repo, owner, visibility, createdBy: by.name || 'anonymous', now })) {
    if (by.kind === 'user' && owner !== by.name && !by.admin) {
      await m.packages.putGrant(repo, { subjectKind: 'user', subject: by.name, role: 'admin', now });
    }
    await m.audit.append({ at: now, ...actorFields(by), action: 'package.create', target: repo, owner, detail: { visibility } });
  }
  return (await m.packages.lock(repo, now)) ?? { trashedAt: null };
}
