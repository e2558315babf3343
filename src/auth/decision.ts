/**
 * The access decision, pure: principal × package × facts → the actions allowed, and for any
 * action refused, why. services/authz.ts gathers the facts from the database; the registry gate,
 * the token endpoint and the JSON API all ask this one function, and the reason travels to the
 * client's error message (what podman, skopeo and Helm print).
 */
import { actionsOfRole, intersect, maxRole, restrictionAllows, visibilityRole } from './policy.ts';
import type { Principal, RepoAction } from './principal.ts';
import type { PackageRole, Visibility } from './vocabulary.ts';
import type { TagStamp } from '../oci/tag-stamp.ts';

/** What the database says about the caller and the package (read by services/authz.ts). */
export interface AccessFacts {
  /** false = authentication disabled: everyone may do everything. */
  enabled: boolean;
  /** Null while the package does not exist yet (a first push creates it). */
  pkg: { visibility: Visibility } | null;
  /**
   * The visibility a package that does not exist yet will have when the registry itself creates
   * it on a first pull (a pull-through cache, ADR 0017): it already grants what it will grant.
   */
  pending?: Visibility | undefined;
  /** The user's role in the owning organization (null: not a member, or the owner is a user). */
  orgRole: 'owner' | 'member' | null;
  /** Roles granted on the package to the user and their teams in the owning organization. */
  grants: readonly PackageRole[];
}

export interface Decision {
  /** The caller's role on the package before the credential's own limits. */
  role: PackageRole | null;
  actions: Set<RepoAction>;
  /** Why `missing` (actions not in `actions`) are refused, in words a user can act on. */
  why(missing: readonly RepoAction[]): string;
  /**
   * The package's tag stamp when it was read with the facts (metadata/access-facts.ts): lets a
   * manifest GET by tag reuse what this process resolved under the same stamp. Absent otherwise.
   */
  tagStamp?: TagStamp | null;
}

const ALL: ReadonlySet<RepoAction> = new Set(['pull', 'push', 'delete']);
const NEEDS: Record<RepoAction, PackageRole> = { pull: 'read', push: 'write', delete: 'admin' };

export function decide(principal: Principal, repo: string, facts: AccessFacts): Decision {
  if (!facts.enabled || principal.admin) return { role: 'admin', actions: new Set(ALL), why: () => '' };
  const role = roleOf(principal, repo, facts);
  const byRole = actionsOfRole(role);
  let actions = byRole;
  const t = principal.token;
  const restricted = t !== undefined && !restrictionAllows(repo, t.owners, t.packages);
  if (t) actions = restricted ? new Set() : intersect(actions, t.actions);
  return {
    role,
    actions,
    why(missing) {
      if (missing.length === 0) return '';
      if (restricted && t) return `the token is limited to ${[...(t.owners ?? []).map((o) => `${o}/*`), ...(t.packages ?? [])].join(', ')}`;
      const roleMissing = missing.filter((a) => !byRole.has(a));
      if (roleMissing.length === 0 && t) return `the token does not allow ${missing.join(', ')} (it allows ${[...t.actions].join(', ') || 'nothing'})`;
      return roleReason(principal, repo, role, roleMissing.length > 0 ? roleMissing : missing);
    },
  };
}

function roleOf(principal: Principal, repo: string, facts: AccessFacts): PackageRole | null {
  const owner = repo.split('/')[0] ?? '';
  const roles: (PackageRole | null)[] = [];
  if (facts.pkg) roles.push(visibilityRole(facts.pkg.visibility, principal.kind === 'user'));
  else if (facts.pending) roles.push(visibilityRole(facts.pending, principal.kind === 'user'));
  if (principal.kind === 'ci') {
    for (const g of principal.ci ?? []) if (g.owner === owner && (g.repo === null || g.repo === repo)) roles.push(g.role);
    return maxRole(roles);
  }
  if (principal.kind !== 'user') return maxRole(roles);
  if (owner === principal.name || facts.orgRole === 'owner') return 'admin';
  // Org members may create packages; existing ones need a grant (creators get one).
  if (facts.orgRole === 'member' && !facts.pkg) roles.push('write');
  if (facts.pkg) roles.push(...facts.grants);
  return maxRole(roles);
}

function who(principal: Principal): string {
  if (principal.kind === 'anonymous') return 'an anonymous caller';
  if (principal.kind === 'ci') return `CI identity ${principal.name}`;
  return principal.name;
}

/**
 * The role that was missing, named without telling a stranger anything: "no access" reads the
 * same whether the package is private or does not exist.
 */
function roleReason(principal: Principal, repo: string, role: PackageRole | null, missing: readonly RepoAction[]): string {
  const needed = missing.map((a) => `${a} needs ${NEEDS[a]}`).join(', ');
  if (role === null) return `${who(principal)} has no access to ${repo} (${needed})`;
  return `${who(principal)} has ${role} access to ${repo}; ${needed}`;
}
