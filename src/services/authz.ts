import { type Decision, decide } from '../auth/decision.ts';
import type { Principal, RepoAction } from '../auth/principal.ts';
import type { PackageRole } from '../auth/vocabulary.ts';
import type { AccessFactRows } from '../metadata/access-facts.ts';
import type { Metadata } from '../metadata/metadata.ts';
import { ownerOf, type RepoName } from '../oci/name.ts';
import { trashedPackageError } from './trash-refusals.ts';

export interface AuthzDeps {
  metadata: Metadata;
  /** false = authentication disabled: everyone may do everything. */
  enabled: boolean;
}

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

  /**
   * The access decision for `principal` on `repo` (auth/decision.ts), with the facts it needs
   * read from the database: the package, the caller's org role and grants.
   */
  async decision(principal: Principal, repo: RepoName): Promise<Decision> {
    if (!this.deps.enabled || principal.admin) return decide(principal, repo, { enabled: this.deps.enabled, pkg: null, orgRole: null, grants: [] });
    const owner = ownerOf(repo);
    // One statement for all the facts (metadata/access-facts.ts).
    return decideFrom(principal, repo, await this.deps.metadata.accessFacts.read(repo, owner, asUser(principal, owner)));
  }

  /**
   * The decision for the user `username` (a registry token's subject) on `repo`, with the
   * account's row read in the same statement as the facts: the principal is null when the
   * account is gone, disabled or not a user (the caller refuses the token, as verify() would).
   * An admin's facts are read but unused (an admin's decision needs none).
   */
  async decisionForAccount(username: string, repo: RepoName): Promise<{ principal: Principal | null; decision: Decision | null }> {
    const owner = ownerOf(repo);
    const facts = await this.deps.metadata.accessFacts.readWithAccount(repo, owner, owner !== username ? username : null, username);
    const a = facts.account;
    if (!a || a.kind !== 'user' || a.disabled) return { principal: null, decision: null };
    const principal: Principal = { kind: 'user', name: username, admin: a.admin };
    // An admin needs none of the facts, but the tag stamp read with them still serves GET by tag.
    if (!this.deps.enabled || principal.admin) return { principal, decision: { ...decide(principal, repo, { enabled: this.deps.enabled, pkg: null, orgRole: null, grants: [] }), tagStamp: facts.tagStamp } };
    return { principal, decision: decideFrom(principal, repo, facts) };
  }

  /**
   * The subset of `repos` the principal may pull from, decided exactly as `canPull` decides each,
   * with the facts of all of them read by one statement (the catalog filters pages of 500 names).
   */
  async pullable(principal: Principal, repos: readonly RepoName[]): Promise<Set<RepoName>> {
    if (!this.deps.enabled || principal.admin) return new Set(repos.filter((r) => decide(principal, r, { enabled: this.deps.enabled, pkg: null, orgRole: null, grants: [] }).actions.has('pull')));
    const facts = await this.deps.metadata.accessFacts.readMany(
      repos.map((name) => ({ name, owner: ownerOf(name) })),
      principal.kind === 'user' ? principal.name : null,
    );
    const out = new Set<RepoName>();
    for (const repo of repos) {
      const f = facts.get(repo);
      // decideFrom ignores the org role and grants in the user's own namespace, as read() skips them.
      if (f && decideFrom(principal, repo, f).actions.has('pull')) out.add(repo);
    }
    return out;
  }

  /** The caller's role on `repo`, before credential limits. Null = no access. */
  async role(principal: Principal, repo: RepoName): Promise<PackageRole | null> {
    return (await this.decision(principal, repo)).role;
  }

  /** Actions the principal may perform on `repo`, after the credential's own limits. */
  async actions(principal: Principal, repo: RepoName): Promise<Set<RepoAction>> {
    return (await this.decision(principal, repo)).actions;
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
   * Refuses a push into a package in the trash before any byte is uploaded: its name stays
   * reserved. Only reads; the package is created by the push's first write (package-creation.ts).
   */
  async refuseIfTrashed(repo: RepoName): Promise<void> {
    const m = this.deps.metadata;
    if ((await m.packages.get(repo))?.trashedAt != null) throw await trashedPackageError(m, repo);
  }
}

/** The name the facts are read for: a user other than the package's owner (the owner needs no role or grant). */
function asUser(principal: Principal, owner: string): string | null {
  return principal.kind === 'user' && owner !== principal.name ? principal.name : null;
}

/**
 * Which facts count, as the decision always took them: an org role only for a user other than
 * the owner, grants only on an existing package of an org the user does not own, and the proxy
 * organization's default only before the package exists (a proxy creates its packages on first pull).
 */
function decideFrom(principal: Principal, repo: RepoName, facts: AccessFactRows): Decision {
  const user = principal.kind === 'user' && ownerOf(repo) !== principal.name;
  const { pkg } = facts;
  const orgRole = user ? facts.orgRole : null;
  const grants: PackageRole[] = user && pkg && orgRole !== 'owner' ? facts.grants : [];
  // A proxy organization creates its packages on first pull: until then they have its default
  // visibility (creating a proxy sets it, so the owner's choice is always there).
  const pending = !pkg && facts.proxyDefaultVisibility !== null ? facts.proxyDefaultVisibility : undefined;
  return { ...decide(principal, repo, { enabled: true, pkg, orgRole, grants, pending }), tagStamp: facts.tagStamp };
}
