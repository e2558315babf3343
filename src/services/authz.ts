import { actionsOfRole, intersect, maxRole, restrictionAllows, visibilityRole } from '../auth/policy.ts';
import type { Principal, RepoAction } from '../auth/principal.ts';
import type { PackageRole, Visibility } from '../metadata/accounts.ts';
import type { Metadata } from '../metadata/metadata.ts';
import { ownerOf, type RepoName } from '../oci/name.ts';
import { trashedPackageError } from './trash-refusals.ts';
import { actorFields } from './audit.ts';

export interface AuthzDeps {
  metadata: Metadata;
  clock: () => number;
  defaultVisibility: Visibility;
  /** false = authentication disabled: everyone may do everything. */
  enabled: boolean;
}

const ALL: ReadonlySet<RepoAction> = new Set(['pull', 'push', 'delete']);

/**
 * Who may do what to a package. The role comes from ownership (a user owns their namespace,
 * org owners administer every org package, org members may create packages), per-package
 * grants to users and teams, and visibility; the credential then narrows it (token scopes,
 * token restrictions, CI trust).
 */
export class AuthzService {
  private readonly deps: AuthzDeps;

  constructor(deps: AuthzDeps) {
    this.deps = deps;
  }

  /** The caller's role on `repo`, before credential limits. Null = no access. */
  async role(principal: Principal, repo: RepoName): Promise<PackageRole | null> {
    if (!this.deps.enabled || principal.admin) return 'admin';
    const m = this.deps.metadata;
    const pkg = await m.packages.get(repo);
    const owner = ownerOf(repo);
    const roles: (PackageRole | null)[] = [];
    if (pkg) roles.push(visibilityRole(pkg.visibility, principal.kind === 'user'));

    if (principal.kind === 'ci') {
      for (const g of principal.ci ?? []) {
        if (g.owner === owner && (g.repo === null || g.repo === repo)) roles.push(g.role);
      }
      return maxRole(roles);
    }
    if (principal.kind !== 'user') return maxRole(roles);

    if (owner === principal.name) return 'admin';
    const orgRole = await m.memberships.orgRole(owner, principal.name);
    if (orgRole === 'owner') return 'admin';
    // Org members may create packages; existing ones need a grant (creators get one).
    if (orgRole === 'member' && !pkg) roles.push('write');
    if (pkg) {
      const teams = await m.memberships.teamsOf(principal.name);
      roles.push(...(await m.packages.grantedRoles(repo, principal.name, teams.filter((t) => t.org === owner))));
    }
    return maxRole(roles);
  }

  /** Actions the principal may perform on `repo`, after the credential's own limits. */
  async actions(principal: Principal, repo: RepoName): Promise<Set<RepoAction>> {
    const role = await this.role(principal, repo);
    let actions = actionsOfRole(role);
    if (!this.deps.enabled) return new Set(ALL);
    const t = principal.token;
    if (t) {
      actions = intersect(actions, t.actions);
      if (!restrictionAllows(repo, t.owners, t.packages)) actions.clear();
    }
    return actions;
  }

  /**
   * Whether `principal` could push to some package under `prefix` (`acme/charts/`): to a new one
   * it may create, or to an existing one it has been granted. Decided before an upload's body
   * says which package it is for, so it never refuses a caller the exact check would allow.
   */
  async mayPushUnder(principal: Principal, prefix: string): Promise<boolean> {
    if (!this.deps.enabled) return true;
    const owner = prefix.split('/')[0] ?? '';
    const t = principal.token;
    if (t) {
      if (!t.actions.has('push')) return false;
      const ownerAllowed = t.owners === null && t.packages === null ? true : (t.owners ?? []).includes(owner) || (t.packages ?? []).some((p) => p.startsWith(prefix));
      if (!ownerAllowed) return false;
    }
    if (principal.admin) return true;
    if (principal.kind === 'ci') return (principal.ci ?? []).some((g) => g.owner === owner && g.role === 'write' && (g.repo === null || g.repo.startsWith(prefix)));
    if (principal.kind !== 'user') return false;
    if (owner === principal.name) return true;
    // Organization members may create packages; others need a grant on an existing one.
    if ((await this.deps.metadata.memberships.orgRole(owner, principal.name)) !== null) return true;
    const teams = (await this.deps.metadata.memberships.teamsOf(principal.name)).filter((x) => x.org === owner);
    return this.deps.metadata.packages.hasWriteGrantUnder(prefix, principal.name, teams);
  }

  async canPull(principal: Principal, repo: RepoName): Promise<boolean> {
    return (await this.actions(principal, repo)).has('pull');
  }

  /**
   * Creates the package on first push, with its owner's default visibility. A creator who does
   * not own the namespace (an org member, a CI job) is granted admin of what they created.
   */
  async ensurePackage(principal: Principal, repo: RepoName): Promise<void> {
    const m = this.deps.metadata;
    const existing = await m.packages.get(repo);
    // Refused before any upload: the name of a package in the trash stays reserved.
    if (existing?.trashedAt != null) throw await trashedPackageError(m, repo);
    if (existing) return;
    const owner = ownerOf(repo);
    const account = await m.accounts.get(owner);
    const visibility = account?.defaultVisibility ?? this.deps.defaultVisibility;
    const now = this.deps.clock();
    const created = await m.packages.create({ name: repo, owner, visibility, createdBy: principal.name || 'anonymous', now });
    if (created && principal.kind === 'user' && owner !== principal.name && !principal.admin) {
      await m.packages.putGrant(repo, { subjectKind: 'user', subject: principal.name, role: 'admin', now });
    }
    if (created) {
      await m.audit.append({ at: now, ...actorFields(principal), action: 'package.create', target: repo, owner, detail: { visibility } });
    }
  }
}
