/** Accounts, organizations, teams and memberships. */
import type { Kysely } from 'kysely';
import type { AccountsTable } from './accounts-schema.ts';
import type { DB } from './schema.ts';
import type { DialectKind } from './migrations/index.ts';
import { PreparedQueries } from './prepared.ts';
import type { Visibility } from '../auth/vocabulary.ts';

export interface Account {
  name: string;
  kind: 'user' | 'org';
  email: string | null;
  passwordHash: string | null;
  isAdmin: boolean;
  /** The owner's own choice; meaningful only when visibilityChosen (else the site's auth.defaultVisibility applies). */
  defaultVisibility: Visibility;
  visibilityChosen: boolean;
  disabled: boolean;
  createdAt: number;
}

function toAccount(r: AccountsTable): Account {
  return {
    name: r.name,
    kind: r.kind,
    email: r.email,
    passwordHash: r.password_hash,
    isAdmin: Number(r.is_admin) === 1,
    defaultVisibility: r.default_visibility as Visibility,
    visibilityChosen: Number(r.default_visibility_chosen ?? 1) === 1,
    disabled: Number(r.disabled) === 1,
    createdAt: Number(r.created_at),
  };
}

/** Users and organizations share one namespace: both own packages. */
export class AccountStore {
  private readonly db: Kysely<DB>;
  private readonly dialect: DialectKind;
  private readonly prepared: PreparedQueries;
  constructor(db: Kysely<DB>, dialect: DialectKind) {
    this.db = db;
    this.dialect = dialect;
    this.prepared = new PreparedQueries(db as unknown as Kysely<never>);
  }

  /** Creates the account; false when the name is taken (also when a concurrent request took it first). */
  async create(a: { name: string; kind: 'user' | 'org'; email?: string | null; passwordHash?: string | null; isAdmin?: boolean; now: number }): Promise<boolean> {
    const r = await this.db
      .insertInto('accounts')
      .values({
        name: a.name,
        kind: a.kind,
        email: a.email ?? null,
        password_hash: a.passwordHash ?? null,
        is_admin: a.isAdmin ? 1 : 0,
        default_visibility: 'private',
        // Until the owner chooses, its new packages follow the site default (ADR 0025).
        default_visibility_chosen: 0,
        disabled: 0,
        created_at: a.now,
      })
      .onConflict((oc) => oc.column('name').doNothing())
      .executeTakeFirst();
    return (r.numInsertedOrUpdatedRows ?? 0n) > 0n;
  }

  /**
   * Inside a transaction: reads the account and, on PostgreSQL, locks its row until commit, so
   * read-check-write sequences on it (the last owner of an organization) are serialized.
   * SQLite transactions are serialized already (BEGIN IMMEDIATE).
   */
  async getForUpdate(name: string): Promise<Account | null> {
    let q = this.db.selectFrom('accounts').selectAll().where('name', '=', name);
    if (this.dialect === 'postgres') q = q.forUpdate();
    const r = await q.executeTakeFirst();
    return r ? toAccount(r) : null;
  }

  async get(name: string): Promise<Account | null> {
    const [r] = await this.prepared.rows('account.get', [name], () => this.db.selectFrom('accounts').selectAll().where('name', '=', name));
    return r ? toAccount(r) : null;
  }

  async list(kind?: 'user' | 'org'): Promise<Account[]> {
    let q = this.db.selectFrom('accounts').selectAll().orderBy('name');
    if (kind) q = q.where('kind', '=', kind);
    return (await q.execute()).map(toAccount);
  }

  /** Users with this email address, compared without case (for linking a verified OIDC email). */
  async usersByEmail(email: string): Promise<Account[]> {
    const rows = await this.db
      .selectFrom('accounts')
      .selectAll()
      .where('kind', '=', 'user')
      .where((eb) => eb(eb.fn('lower', ['email']), '=', email.toLowerCase()))
      .execute();
    return rows.map(toAccount);
  }

  async count(): Promise<number> {
    const r = await this.db.selectFrom('accounts').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  async setPassword(name: string, hash: string): Promise<void> {
    await this.db.updateTable('accounts').set({ password_hash: hash }).where('name', '=', name).execute();
  }

  async update(name: string, fields: { email?: string | null; isAdmin?: boolean; defaultVisibility?: Visibility; disabled?: boolean }): Promise<void> {
    const set: Partial<AccountsTable> = {};
    if (fields.email !== undefined) set.email = fields.email;
    if (fields.isAdmin !== undefined) set.is_admin = fields.isAdmin ? 1 : 0;
    if (fields.defaultVisibility !== undefined) {
      set.default_visibility = fields.defaultVisibility;
      set.default_visibility_chosen = 1;
    }
    if (fields.disabled !== undefined) set.disabled = fields.disabled ? 1 : 0;
    if (Object.keys(set).length > 0) await this.db.updateTable('accounts').set(set).where('name', '=', name).execute();
  }
}

export interface TeamRef {
  org: string;
  team: string;
}

export class MembershipStore {
  private readonly db: Kysely<DB>;
  private readonly dialect: DialectKind;
  private readonly prepared: PreparedQueries;
  constructor(db: Kysely<DB>, dialect: DialectKind) {
    this.db = db;
    this.dialect = dialect;
    this.prepared = new PreparedQueries(db as unknown as Kysely<never>);
  }

  async setOrgMember(org: string, username: string, role: 'owner' | 'member'): Promise<void> {
    await this.db
      .insertInto('org_members')
      .values({ org, username, role })
      .onConflict((oc) => oc.columns(['org', 'username']).doUpdateSet({ role }))
      .execute();
  }

  async removeOrgMember(org: string, username: string): Promise<boolean> {
    await this.db.deleteFrom('team_members').where('org', '=', org).where('username', '=', username).execute();
    const r = await this.db.deleteFrom('org_members').where('org', '=', org).where('username', '=', username).executeTakeFirst();
    return r.numDeletedRows > 0n;
  }

  async orgRole(org: string, username: string): Promise<'owner' | 'member' | null> {
    const [r] = await this.prepared.rows('org.role', [org, username], () =>
      this.db.selectFrom('org_members').select('role').where('org', '=', org).where('username', '=', username),
    );
    return r?.role ?? null;
  }

  async orgMembers(org: string): Promise<{ username: string; role: 'owner' | 'member' }[]> {
    return this.db.selectFrom('org_members').select(['username', 'role']).where('org', '=', org).orderBy('username').execute();
  }

  async orgsOf(username: string): Promise<{ org: string; role: 'owner' | 'member' }[]> {
    return this.db.selectFrom('org_members').select(['org', 'role']).where('username', '=', username).orderBy('org').execute();
  }

  /** Creates the team; false when it exists (also when a concurrent request created it first). */
  async createTeam(org: string, name: string, description: string, now: number): Promise<boolean> {
    const r = await this.db
      .insertInto('teams')
      .values({ org, name, description, created_at: now })
      .onConflict((oc) => oc.columns(['org', 'name']).doNothing())
      .executeTakeFirst();
    return (r.numInsertedOrUpdatedRows ?? 0n) > 0n;
  }

  /**
   * Inside a transaction: whether the team exists, locking its row on PostgreSQL until commit, so
   * adding a member or a grant cannot interleave with the team's deletion (which would leave rows
   * that point at no team). SQLite transactions are serialized already.
   */
  async lockTeam(org: string, name: string): Promise<boolean> {
    let q = this.db.selectFrom('teams').select('name').where('org', '=', org).where('name', '=', name);
    if (this.dialect === 'postgres') q = q.forUpdate();
    return (await q.executeTakeFirst()) !== undefined;
  }

  async deleteTeam(org: string, name: string): Promise<boolean> {
    await this.db.deleteFrom('team_members').where('org', '=', org).where('team', '=', name).execute();
    await this.db.deleteFrom('grants').where('subject_kind', '=', 'team').where('subject', '=', `${org}/${name}`).execute();
    const r = await this.db.deleteFrom('teams').where('org', '=', org).where('name', '=', name).executeTakeFirst();
    return r.numDeletedRows > 0n;
  }

  async teams(org: string): Promise<{ name: string; description: string; createdAt: number }[]> {
    const rows = await this.db.selectFrom('teams').selectAll().where('org', '=', org).orderBy('name').execute();
    return rows.map((r) => ({ name: r.name, description: r.description, createdAt: Number(r.created_at) }));
  }

  async teamExists(org: string, name: string): Promise<boolean> {
    return (await this.db.selectFrom('teams').select('name').where('org', '=', org).where('name', '=', name).executeTakeFirst()) !== undefined;
  }

  async setTeamMember(org: string, team: string, username: string, role: 'maintainer' | 'member'): Promise<void> {
    await this.db
      .insertInto('team_members')
      .values({ org, team, username, role })
      .onConflict((oc) => oc.columns(['org', 'team', 'username']).doUpdateSet({ role }))
      .execute();
  }

  async removeTeamMember(org: string, team: string, username: string): Promise<boolean> {
    const r = await this.db.deleteFrom('team_members').where('org', '=', org).where('team', '=', team).where('username', '=', username).executeTakeFirst();
    return r.numDeletedRows > 0n;
  }

  async teamMembers(org: string, team: string): Promise<{ username: string; role: 'maintainer' | 'member' }[]> {
    return this.db.selectFrom('team_members').select(['username', 'role']).where('org', '=', org).where('team', '=', team).orderBy('username').execute();
  }

  async teamsOf(username: string): Promise<TeamRef[]> {
    return this.prepared.rows('teams.of', [username], () => this.db.selectFrom('team_members').select(['org', 'team']).where('username', '=', username));
  }
}
