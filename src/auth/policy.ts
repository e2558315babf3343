import type { PackageRole, Visibility } from './vocabulary.ts';
import type { RepoAction } from './principal.ts';

/** Pure access rules, shared by the token endpoint and the registry gate. */
const RANK: Record<PackageRole, number> = { read: 1, write: 2, admin: 3 };

export function maxRole(roles: readonly (PackageRole | null)[]): PackageRole | null {
  let best: PackageRole | null = null;
  for (const r of roles) if (r && (!best || RANK[r] > RANK[best])) best = r;
  return best;
}

export function roleAtLeast(role: PackageRole | null, min: PackageRole): boolean {
  return role !== null && RANK[role] >= RANK[min];
}

export function actionsOfRole(role: PackageRole | null): Set<RepoAction> {
  if (role === 'admin') return new Set(['pull', 'push', 'delete']);
  if (role === 'write') return new Set(['pull', 'push']);
  if (role === 'read') return new Set(['pull']);
  return new Set();
}

/** The role visibility alone gives: public → everyone reads, internal → any signed-in user reads. */
export function visibilityRole(visibility: Visibility, signedIn: boolean): PackageRole | null {
  if (visibility === 'public') return 'read';
  if (visibility === 'internal' && signedIn) return 'read';
  return null;
}

export const TOKEN_SCOPES = ['read:packages', 'write:packages', 'delete:packages'] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];

export function isTokenScope(s: string): s is TokenScope {
  return (TOKEN_SCOPES as readonly string[]).includes(s);
}

/** What a personal access token's scopes allow at most. */
export function actionsOfScopes(scopes: readonly string[]): Set<RepoAction> {
  const out = new Set<RepoAction>();
  for (const s of scopes) {
    if (s === 'read:packages') out.add('pull');
    if (s === 'write:packages') {
      out.add('pull');
      out.add('push');
    }
    if (s === 'delete:packages') {
      out.add('pull');
      out.add('delete');
    }
  }
  return out;
}

export function intersect<T>(a: ReadonlySet<T>, b: ReadonlySet<T>): Set<T> {
  return new Set([...a].filter((x) => b.has(x)));
}

/** A token restricted to named owners/packages covers `repo` when any entry matches it. */
export function restrictionAllows(repo: string, owners: readonly string[] | null, packages: readonly string[] | null): boolean {
  if (owners === null && packages === null) return true;
  const owner = repo.split('/')[0] ?? '';
  return (owners ?? []).includes(owner) || (packages ?? []).includes(repo);
}
