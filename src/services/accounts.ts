import type { Principal } from '../auth/principal.ts';
import type { Visibility } from '../auth/vocabulary.ts';
import { hashPassword } from '../auth/passwords.ts';
import { RegistryError } from '../errors.ts';
import { SERVER_ROUTES } from '../lib/routes.ts';
import type { Account } from '../metadata/accounts.ts';
import type { Metadata } from '../metadata/metadata.ts';
import { actorFields, ownerOfTarget } from './audit.ts';
import type { AuditFilter } from '../metadata/audit.ts';
import { deleteUserRows, packagesOwnedBy } from '../metadata/account-deletion.ts';

export interface AccountDeps {
  metadata: Metadata;
  clock: () => number;
  /** The site's auth.defaultVisibility now (a run-time setting, ADR 0025), for owners that chose none. */
  siteDefaultVisibility?: () => Visibility;
}

// Owner names are the first segment of repository paths, so they follow the OCI component
// grammar, and must not shadow the server's own top-level routes.
const OWNER_NAME = /^[a-z0-9](?:[a-z0-9]|[._-](?=[a-z0-9])){0,38}$/;
const RESERVED = new Set([...SERVER_ROUTES, 'login', 'logout', 'settings', 'assets', 'static', 'admin', 'orgs', 'users', 'new', 'system', 'anonymous', 'well-known']);
const TEAM_NAME = /^[a-z0-9](?:[a-z0-9]|[._-](?=[a-z0-9])){0,38}$/;
const MIN_PASSWORD = 8;

export function validateOwnerName(name: string): void {
  if (!OWNER_NAME.test(name) || RESERVED.has(name)) {
    throw new RegistryError('BAD_REQUEST', 'names are 1-39 lowercase letters, digits and single . _ - separators, and not reserved', { name });
  }
}

function validatePassword(password: string): void {
  if (password.length < MIN_PASSWORD) throw new RegistryError('BAD_REQUEST', `passwords need at least ${MIN_PASSWORD} characters`);
}

function taken(name: string): RegistryError {
  return new RegistryError('CONFLICT', 'name is already taken', { name });
}

function denied(message = 'not allowed'): RegistryError {
  return new RegistryError('DENIED', message);
}

export interface UserView {
  username: string;
  email: string | null;
  admin: boolean;
  disabled: boolean;
  createdAt: string;
  defaultVisibility: 'public' | 'internal' | 'private';
}

/** Ends a user's web sessions and revokes their refresh tokens (what a password login handed out). */
async function endSignIns(m: Metadata, username: string, now: number): Promise<void> {
  await m.sessions.deleteAllFor(username);
  await m.tokens.revokeAllFor(username, 'refresh', now);
}

/** Refuses to remove or demote the last owner of `org`. */
async function keepAnOwner(m: Metadata, org: string, username: string): Promise<void> {
  const owners = (await m.memberships.orgMembers(org)).filter((o) => o.role === 'owner');
  if (owners.length === 1 && owners[0]?.username === username) throw new RegistryError('CONFLICT', 'an organization keeps at least one owner');
}

/** An owner's default visibility as package creation applies it: its choice, else the site's. */
export function effectiveVisibility(a: Account, site: Visibility | undefined): Visibility {
  return a.visibilityChosen || site === undefined ? a.defaultVisibility : site;
}

export function userView(a: Account, site?: Visibility): UserView {
  return { username: a.name, email: a.email, admin: a.isAdmin, disabled: a.disabled, createdAt: new Date(a.createdAt).toISOString(), defaultVisibility: effectiveVisibility(a, site) };
}

/** Users, organizations, teams and memberships, with the rules of who may change what. */
export class AccountService {
  private readonly deps: AccountDeps;

  constructor(deps: AccountDeps) {
    this.deps = deps;
  }

  private async audit(actor: Principal, action: string, target: string, detail?: Record<string, unknown>, address?: string | null): Promise<void> {
    await this.deps.metadata.audit.append({ at: this.deps.clock(), ...actorFields(actor), ...(address ? { address } : {}), action, target, owner: ownerOfTarget(target), detail: detail ?? null });
  }

  private requireUser(actor: Principal): void {
    if (actor.kind !== 'user' && actor.kind !== 'system') throw new RegistryError('UNAUTHORIZED', 'sign in required');
    // Account management with a personal access token would let a leaked token mint others.
    if (actor.token) throw denied('personal access tokens cannot manage accounts');
  }

  private requireAdmin(actor: Principal): void {
    this.requireUser(actor);
    if (!actor.admin) throw denied('site administrators only');
  }

  async createUser(actor: Principal, u: { username: string; password: string; email?: string | null; admin?: boolean }): Promise<UserView> {
    this.requireAdmin(actor);
    validateOwnerName(u.username);
    validatePassword(u.password);
    // Checked first to spare the password hash; the insert decides (a concurrent create loses there).
    if (await this.deps.metadata.accounts.get(u.username)) throw taken(u.username);
    const passwordHash = await hashPassword(u.password);
    const created = await this.deps.metadata.accounts.create({ name: u.username, kind: 'user', email: u.email ?? null, passwordHash, isAdmin: u.admin ?? false, now: this.deps.clock() });
    if (!created) throw taken(u.username);
    await this.audit(actor, 'user.create', u.username, { admin: u.admin ?? false });
    return this.user(u.username);
  }

  async user(username: string): Promise<UserView> {
    const a = await this.deps.metadata.accounts.get(username);
    if (!a || a.kind !== 'user') throw new RegistryError('NOT_FOUND', 'no such user', { username });
    return userView(a, this.deps.siteDefaultVisibility?.());
  }

  async listUsers(actor: Principal): Promise<UserView[]> {
    this.requireAdmin(actor);
    return (await this.deps.metadata.accounts.list('user')).map((a) => userView(a, this.deps.siteDefaultVisibility?.()));
  }

  /**
   * Own password (any signed-in user) or anyone's (admins). Everything the old password opened
   * ends with it: the user's web sessions (the caller's own included) and refresh tokens.
   * Personal access tokens stay: they are credentials of their own, revoked one by one.
   */
  async setPassword(actor: Principal, username: string, password: string): Promise<void> {
    this.requireUser(actor);
    if (actor.name !== username && !actor.admin) throw denied();
    validatePassword(password);
    await this.user(username);
    const hash = await hashPassword(password);
    await this.deps.metadata.transaction(async (m) => {
      await m.accounts.setPassword(username, hash);
      await endSignIns(m, username, this.deps.clock());
    });
    await this.audit(actor, 'user.password', username);
  }

  /** Disabling a user also ends their web sessions and refresh tokens, so enabling them again revives neither. */
  async updateUser(actor: Principal, username: string, fields: { admin?: boolean; disabled?: boolean; email?: string | null }): Promise<UserView> {
    this.requireAdmin(actor);
    await this.user(username);
    await this.deps.metadata.transaction(async (m) => {
      await m.accounts.update(username, fields);
      if (fields.disabled === true) await endSignIns(m, username, this.deps.clock());
    });
    await this.audit(actor, 'user.update', username, fields);
    return this.user(username);
  }

  /**
   * Deletes a user (site admins), as GitHub and Gitea do: refused while they own packages — in
   * the trash too, which could be restored under a name somebody else then holds — or are the
   * last owner of an organization; an admin deletes or moves those first, explicitly. Then their
   * sessions, tokens, memberships, grants, provider links and owner-level settings go with the
   * account, in one transaction. The audit log keeps their past actions.
   */
  async deleteUser(actor: Principal, username: string): Promise<void> {
    this.requireAdmin(actor);
    if (actor.name === username) throw new RegistryError('CONFLICT', 'you cannot delete your own account: ask another site administrator');
    await this.user(username);
    await this.deps.metadata.transaction(async (m) => {
      const owned = await packagesOwnedBy(m.db, username);
      if (owned > 0) {
        throw new RegistryError('CONFLICT', `${username} owns ${owned} package${owned === 1 ? '' : 's'} (the trash included): delete them and empty the trash first`, { packages: owned });
      }
      for (const { org, role } of await m.memberships.orgsOf(username)) {
        if (role !== 'owner') continue;
        const owners = (await m.memberships.orgMembers(org)).filter((o) => o.role === 'owner');
        if (owners.length === 1) throw new RegistryError('CONFLICT', `${username} is the last owner of ${org}: make someone else an owner first`, { org });
      }
      await deleteUserRows(m.db, username);
    });
    await this.audit(actor, 'user.delete', username);
  }

  /**
   * Creates an organization with a first owner: the signed-in user creating it, or `owner`
   * (required when the system creates it, e.g. from the CLI), so no organization is ever left
   * without somebody who can manage it. Both happen in one transaction.
   */
  async createOrg(actor: Principal, name: string, opts: { owner?: string } = {}): Promise<void> {
    this.requireUser(actor);
    validateOwnerName(name);
    const owner = opts.owner ?? (actor.kind === 'user' ? actor.name : undefined);
    if (owner === undefined) throw new RegistryError('BAD_REQUEST', 'an organization needs an owner', { org: name });
    if (owner !== actor.name && !actor.admin) throw denied('only site administrators can create an organization for somebody else');
    // Checked first for a clear answer; the insert decides (a concurrent create loses there).
    if (await this.deps.metadata.accounts.get(name)) throw taken(name);
    await this.user(owner);
    await this.deps.metadata.transaction(async (m) => {
      if (!(await m.accounts.create({ name, kind: 'org', now: this.deps.clock() }))) throw taken(name);
      await m.memberships.setOrgMember(name, owner, 'owner');
    });
    await this.audit(actor, 'org.create', name, { owner });
  }

  /** Every organization with its owners (site administrators). */
  async listOrgs(actor: Principal): Promise<{ name: string; owners: string[]; members: number; defaultVisibility: string; createdAt: string }[]> {
    this.requireAdmin(actor);
    const orgs = await this.deps.metadata.accounts.list('org');
    return Promise.all(
      orgs.map(async (o) => {
        const members = await this.deps.metadata.memberships.orgMembers(o.name);
        return { name: o.name, owners: members.filter((m) => m.role === 'owner').map((m) => m.username), members: members.length, defaultVisibility: effectiveVisibility(o, this.deps.siteDefaultVisibility?.()), createdAt: new Date(o.createdAt).toISOString() };
      }),
    );
  }

  private async org(name: string): Promise<Account> {
    const a = await this.deps.metadata.accounts.get(name);
    if (!a || a.kind !== 'org') throw new RegistryError('NOT_FOUND', 'no such organization', { org: name });
    return a;
  }

  private async requireOrgOwner(actor: Principal, org: string): Promise<void> {
    this.requireUser(actor);
    await this.org(org);
    if (actor.admin) return;
    if ((await this.deps.metadata.memberships.orgRole(org, actor.name)) !== 'owner') throw denied('organization owners only');
  }

  async orgView(actor: Principal, org: string) {
    const account = await this.org(org);
    const members = await this.deps.metadata.memberships.orgMembers(org);
    const isMember = actor.admin || members.some((m) => m.username === actor.name);
    const teams = await this.deps.metadata.memberships.teams(org);
    return {
      name: org,
      defaultVisibility: effectiveVisibility(account, this.deps.siteDefaultVisibility?.()),
      createdAt: new Date(account.createdAt).toISOString(),
      // Membership is visible to members only.
      members: isMember ? members : [],
      teams: isMember
        ? await Promise.all(teams.map(async (t) => ({ ...t, createdAt: new Date(t.createdAt).toISOString(), members: await this.deps.metadata.memberships.teamMembers(org, t.name) })))
        : [],
      viewerRole: actor.admin ? 'owner' : (members.find((m) => m.username === actor.name)?.role ?? null),
    };
  }

  async orgsOf(actor: Principal) {
    this.requireUser(actor);
    return this.deps.metadata.memberships.orgsOf(actor.name);
  }

  async setOrgMember(actor: Principal, org: string, username: string, role: 'owner' | 'member'): Promise<void> {
    await this.requireOrgOwner(actor, org);
    await this.user(username);
    await this.withOrgLocked(org, async (m) => {
      if (role === 'member') await keepAnOwner(m, org, username);
      await m.memberships.setOrgMember(org, username, role);
    });
    await this.audit(actor, 'org.member.set', org, { username, role });
  }

  async removeOrgMember(actor: Principal, org: string, username: string): Promise<void> {
    await this.requireOrgOwner(actor, org);
    await this.withOrgLocked(org, async (m) => {
      await keepAnOwner(m, org, username);
      if (!(await m.memberships.removeOrgMember(org, username))) throw new RegistryError('NOT_FOUND', 'not a member', { username });
    });
    await this.audit(actor, 'org.member.remove', org, { username });
  }

  /**
   * Membership changes of one organization, one at a time: two owners demoting each other at
   * once must not leave the organization without an owner.
   */
  private async withOrgLocked(org: string, fn: (m: Metadata) => Promise<void>): Promise<void> {
    await this.deps.metadata.transaction(async (m) => {
      const account = await m.accounts.getForUpdate(org);
      if (!account || account.kind !== 'org') throw new RegistryError('NOT_FOUND', 'no such organization', { org });
      await fn(m);
    });
  }

  async setDefaultVisibility(actor: Principal, owner: string, visibility: 'public' | 'internal' | 'private'): Promise<void> {
    this.requireUser(actor);
    const account = await this.deps.metadata.accounts.get(owner);
    if (!account) throw new RegistryError('NOT_FOUND', 'no such owner', { owner });
    if (account.kind === 'org') await this.requireOrgOwner(actor, owner);
    else if (actor.name !== owner && !actor.admin) throw denied();
    await this.deps.metadata.accounts.update(owner, { defaultVisibility: visibility });
    await this.audit(actor, 'owner.default_visibility', owner, { visibility });
  }

  async createTeam(actor: Principal, org: string, name: string, description = ''): Promise<void> {
    await this.requireOrgOwner(actor, org);
    if (!TEAM_NAME.test(name)) throw new RegistryError('BAD_REQUEST', 'invalid team name', { name });
    if (!(await this.deps.metadata.memberships.createTeam(org, name, description, this.deps.clock()))) {
      throw new RegistryError('CONFLICT', 'team already exists', { team: name });
    }
    await this.audit(actor, 'team.create', `${org}/${name}`);
  }

  async deleteTeam(actor: Principal, org: string, name: string): Promise<void> {
    await this.requireOrgOwner(actor, org);
    const deleted = await this.deps.metadata.transaction(async (m) => (await m.memberships.lockTeam(org, name)) && m.memberships.deleteTeam(org, name));
    if (!deleted) throw new RegistryError('NOT_FOUND', 'no such team', { team: name });
    await this.audit(actor, 'team.delete', `${org}/${name}`);
  }

  private async isOrgOwner(actor: Principal, org: string): Promise<boolean> {
    return actor.admin || (await this.deps.metadata.memberships.orgRole(org, actor.name)) === 'owner';
  }

  /** Org owners manage every team; team maintainers manage their team's members. */
  private async requireTeamManager(actor: Principal, org: string, team: string): Promise<void> {
    this.requireUser(actor);
    if (!(await this.deps.metadata.memberships.teamExists(org, team))) throw new RegistryError('NOT_FOUND', 'no such team', { team });
    if (actor.admin || (await this.deps.metadata.memberships.orgRole(org, actor.name)) === 'owner') return;
    const members = await this.deps.metadata.memberships.teamMembers(org, team);
    if (!members.some((m) => m.username === actor.name && m.role === 'maintainer')) throw denied('team maintainers and organization owners only');
  }

  async setTeamMember(actor: Principal, org: string, team: string, username: string, role: 'maintainer' | 'member'): Promise<void> {
    await this.requireTeamManager(actor, org, team);
    await this.user(username);
    // Teams hold organization members only. Org owners may add anyone (who then joins the org);
    // team maintainers only existing members, or they could grow the org behind its owners' backs.
    const joinsOrg = !(await this.deps.metadata.memberships.orgRole(org, username));
    if (joinsOrg && !(await this.isOrgOwner(actor, org))) throw denied('only organization owners can add people who are not yet members');
    // With the team locked: a member added while the team is being deleted would outlive it.
    await this.deps.metadata.transaction(async (m) => {
      if (!(await m.memberships.lockTeam(org, team))) throw new RegistryError('NOT_FOUND', 'no such team', { team });
      if (joinsOrg && !(await m.memberships.orgRole(org, username))) await m.memberships.setOrgMember(org, username, 'member');
      await m.memberships.setTeamMember(org, team, username, role);
    });
    await this.audit(actor, 'team.member.set', `${org}/${team}`, { username, role });
  }

  async removeTeamMember(actor: Principal, org: string, team: string, username: string): Promise<void> {
    await this.requireTeamManager(actor, org, team);
    if (!(await this.deps.metadata.memberships.removeTeamMember(org, team, username))) throw new RegistryError('NOT_FOUND', 'not a team member', { username });
    await this.audit(actor, 'team.member.remove', `${org}/${team}`, { username });
  }

  /**
   * The audit log, newest first: every row for site admins; with `owner`, that owner's rows for
   * its administrators too (the user themself, an organization's owners).
   */
  async auditLog(actor: Principal, opts: AuditFilter) {
    if (opts.owner === undefined || actor.admin) {
      if (!actor.admin) {
        this.requireUser(actor);
        throw denied('site administrators only (organization owners: name the organization with ?owner=)');
      }
      this.requireAdmin(actor);
      return this.deps.metadata.audit.list(opts);
    }
    this.requireUser(actor);
    if (actor.name !== opts.owner && (await this.deps.metadata.memberships.orgRole(opts.owner, actor.name)) !== 'owner') {
      throw denied(`the audit log of ${opts.owner} is readable by its owners and site administrators only`);
    }
    return this.deps.metadata.audit.list(opts);
  }
}
