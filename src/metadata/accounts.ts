import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { AccountsTable, CiTrustsTable, GrantsTable, TokensTable } from './accounts-schema.ts';
import { releaseManifest } from './quotas.ts';
import type { DB } from './schema.ts';
import type { DialectKind } from './migrations/index.ts';
import { PreparedQueries } from './prepared.ts';
import type { PackageRole, Visibility } from '../auth/vocabulary.ts';


export interface Account {
  name: string;
  kind: 'user' | 'org';
  email: string | null;
  passwordHash: string | null;
  isAdmin: boolean;
  defaultVisibility: Visibility;
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
    if (fields.defaultVisibility !== undefined) set.default_visibility = fields.defaultVisibility;
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

export interface PackageRecord {
  name: string;
  owner: string;
  visibility: Visibility;
  source: string | null;
  createdBy: string | null;
  createdAt: number;
  updatedAt: number;
  /** When the package went to the trash; null while it is live. */
  trashedAt: number | null;
}

export interface Grant {
  subjectKind: 'user' | 'team';
  subject: string;
  role: PackageRole;
  createdAt: number;
}

/** Package settings (visibility, source link) and per-package grants. */
export class PackageStore {
  private readonly db: Kysely<DB>;
  private readonly prepared: PreparedQueries;
  constructor(db: Kysely<DB>) {
    this.db = db;
    this.prepared = new PreparedQueries(db as unknown as Kysely<never>);
  }

  async get(name: string): Promise<PackageRecord | null> {
    const [r] = await this.prepared.rows('package.get', [name], () => this.db.selectFrom('repositories').selectAll().where('name', '=', name));
    if (!r) return null;
    return {
      name: r.name,
      owner: r.owner,
      visibility: (r.visibility ?? 'private') as Visibility,
      source: r.source ?? null,
      createdBy: r.created_by ?? null,
      createdAt: Number(r.created_at),
      updatedAt: Number(r.updated_at),
      trashedAt: r.trashed_at == null ? null : Number(r.trashed_at),
    };
  }

  /** Creates the package row if absent (first push); returns true when it was created. */
  async create(p: { name: string; owner: string; visibility: Visibility; createdBy: string; now: number }): Promise<boolean> {
    const r = await this.db
      .insertInto('repositories')
      .values({ name: p.name, owner: p.owner, visibility: p.visibility, created_by: p.createdBy, created_at: p.now, updated_at: p.now })
      .onConflict((oc) => oc.column('name').doNothing())
      .executeTakeFirst();
    return (r.numInsertedOrUpdatedRows ?? 0n) > 0n;
  }

  /** The owner's packages that are not in the trash. */
  async listByOwner(owner: string): Promise<PackageRecord[]> {
    const rows = await this.db.selectFrom('repositories').select('name').where('owner', '=', owner).where('trashed_at', 'is', null).orderBy('name').execute();
    const out: PackageRecord[] = [];
    for (const r of rows) {
      const p = await this.get(r.name);
      if (p) out.push(p);
    }
    return out;
  }

  async setVisibility(name: string, visibility: Visibility): Promise<void> {
    await this.db.updateTable('repositories').set({ visibility }).where('name', '=', name).execute();
  }

  async setSource(name: string, source: string): Promise<void> {
    await this.db.updateTable('repositories').set({ source }).where('name', '=', name).where('source', 'is', null).execute();
  }

  async grants(repo: string): Promise<Grant[]> {
    const rows = await this.db.selectFrom('grants').selectAll().where('repo', '=', repo).orderBy('subject_kind').orderBy('subject').execute();
    return rows.map((r: GrantsTable) => ({ subjectKind: r.subject_kind, subject: r.subject, role: r.role, createdAt: Number(r.created_at) }));
  }

  async putGrant(repo: string, g: { subjectKind: 'user' | 'team'; subject: string; role: PackageRole; now: number }): Promise<void> {
    await this.db
      .insertInto('grants')
      .values({ repo, subject_kind: g.subjectKind, subject: g.subject, role: g.role, created_at: g.now })
      .onConflict((oc) => oc.columns(['repo', 'subject_kind', 'subject']).doUpdateSet({ role: g.role }))
      .execute();
  }

  async removeGrant(repo: string, subjectKind: 'user' | 'team', subject: string): Promise<boolean> {
    const r = await this.db.deleteFrom('grants').where('repo', '=', repo).where('subject_kind', '=', subjectKind).where('subject', '=', subject).executeTakeFirst();
    return r.numDeletedRows > 0n;
  }

  /** Roles granted on `repo` to the user directly or through any of the teams. */
  async grantedRoles(repo: string, username: string, teams: readonly TeamRef[]): Promise<PackageRole[]> {
    const teamKeys = teams.map((t) => `${t.org}/${t.team}`);
    const params = [repo, 'user', username, ...(teamKeys.length > 0 ? ['team', ...teamKeys] : [])];
    const rows = await this.prepared.rows(`grants.roles.${teamKeys.length}`, params, () =>
      this.db
        .selectFrom('grants')
        .select('role')
        .where('repo', '=', repo)
        .where((eb) =>
          eb.or([
            eb.and([eb('subject_kind', '=', 'user'), eb('subject', '=', username)]),
            ...(teamKeys.length > 0 ? [eb.and([eb('subject_kind', '=', 'team'), eb('subject', 'in', teamKeys)])] : []),
          ]),
        ),
    );
    return rows.map((r) => r.role);
  }

  /**
   * Whether the user, directly or through one of `teams`, holds a write or admin grant on any
   * package whose name starts with `prefix` (`acme/charts/`).
   */
  async hasWriteGrantUnder(prefix: string, username: string, teams: readonly TeamRef[]): Promise<boolean> {
    const teamKeys = teams.map((t) => `${t.org}/${t.team}`);
    const escaped = prefix.replace(/[\\%_]/g, (c) => `\\${c}`);
    const row = await this.db
      .selectFrom('grants')
      .select('repo')
      .where(sql<boolean>`repo like ${`${escaped}%`} escape '\\'`)
      .where('role', 'in', ['write', 'admin'])
      .where((eb) =>
        eb.or([
          eb.and([eb('subject_kind', '=', 'user'), eb('subject', '=', username)]),
          ...(teamKeys.length > 0 ? [eb.and([eb('subject_kind', '=', 'team'), eb('subject', 'in', teamKeys)])] : []),
        ]),
      )
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Removes the package and everything in it (metadata only; bytes go with garbage collection). */
  async delete(name: string): Promise<void> {
    // Manifests still there (a purge deletes them first) give their quota bytes back (ADR 0013).
    for (const m of await this.db.selectFrom('manifests').select(['digest', 'size']).where('repo', '=', name).execute()) await releaseManifest(this.db, name, m.digest, Number(m.size));
    for (const table of ['tags', 'manifest_refs', 'manifests', 'repo_blobs'] as const) {
      await this.db.deleteFrom(table).where('repo', '=', name).execute();
    }
    await this.db.deleteFrom('grants').where('repo', '=', name).execute();
    await this.db.deleteFrom('ci_trusts').where('repo', '=', name).execute();
    await this.db.deleteFrom('repositories').where('name', '=', name).execute();
  }
}

export interface TokenRecord {
  id: string;
  kind: 'pat' | 'refresh';
  username: string;
  name: string;
  hint: string;
  scopes: string[];
  owners: string[] | null;
  packages: string[] | null;
  expiresAt: number | null;
  lastUsedAt: number | null;
  revokedAt: number | null;
  createdAt: number;
}

function toToken(r: TokensTable): TokenRecord {
  return {
    id: r.id,
    kind: r.kind,
    username: r.username,
    name: r.name,
    hint: r.hint,
    scopes: JSON.parse(r.scopes) as string[],
    owners: r.owners ? (JSON.parse(r.owners) as string[]) : null,
    packages: r.packages ? (JSON.parse(r.packages) as string[]) : null,
    expiresAt: r.expires_at === null ? null : Number(r.expires_at),
    lastUsedAt: r.last_used_at === null ? null : Number(r.last_used_at),
    revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
    createdAt: Number(r.created_at),
  };
}

/** Personal access and refresh tokens, stored only as a hash of the secret. */
export class TokenStore {
  private readonly db: Kysely<DB>;
  constructor(db: Kysely<DB>) {
    this.db = db;
  }

  async create(t: Omit<TokenRecord, 'lastUsedAt' | 'revokedAt'> & { hash: string }): Promise<void> {
    await this.db
      .insertInto('tokens')
      .values({
        id: t.id,
        kind: t.kind,
        username: t.username,
        name: t.name,
        hash: t.hash,
        hint: t.hint,
        scopes: JSON.stringify(t.scopes),
        owners: t.owners ? JSON.stringify(t.owners) : null,
        packages: t.packages ? JSON.stringify(t.packages) : null,
        expires_at: t.expiresAt,
        last_used_at: null,
        revoked_at: null,
        created_at: t.createdAt,
      })
      .execute();
  }

  async byHash(hash: string): Promise<TokenRecord | null> {
    const r = await this.db.selectFrom('tokens').selectAll().where('hash', '=', hash).executeTakeFirst();
    return r ? toToken(r) : null;
  }

  async get(id: string): Promise<TokenRecord | null> {
    const r = await this.db.selectFrom('tokens').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toToken(r) : null;
  }

  async listFor(username: string, kind: 'pat' | 'refresh' = 'pat'): Promise<TokenRecord[]> {
    const rows = await this.db.selectFrom('tokens').selectAll().where('username', '=', username).where('kind', '=', kind).orderBy('created_at', 'desc').execute();
    return rows.map(toToken);
  }

  async revoke(id: string, now: number): Promise<boolean> {
    const r = await this.db.updateTable('tokens').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
    return r.numUpdatedRows > 0n;
  }

  async revokeAllFor(username: string, kind: 'pat' | 'refresh', now: number): Promise<void> {
    await this.db.updateTable('tokens').set({ revoked_at: now }).where('username', '=', username).where('kind', '=', kind).where('revoked_at', 'is', null).execute();
  }

  async touch(id: string, now: number): Promise<void> {
    await this.db.updateTable('tokens').set({ last_used_at: now }).where('id', '=', id).execute();
  }
}

export interface CiTrust {
  id: string;
  owner: string;
  /** null = every package of the owner. */
  repo: string | null;
  issuer: string;
  audience: string;
  /** Claim name → glob pattern (e.g. repository: 'acme/web', ref: 'refs/heads/*'). */
  conditions: Record<string, string>;
  role: 'read' | 'write';
  createdAt: number;
}

function toTrust(r: CiTrustsTable): CiTrust {
  return {
    id: r.id,
    owner: r.owner,
    repo: r.repo,
    issuer: r.issuer,
    audience: r.audience,
    conditions: JSON.parse(r.conditions) as Record<string, string>,
    role: r.role,
    createdAt: Number(r.created_at),
  };
}

export class TrustStore {
  private readonly db: Kysely<DB>;
  constructor(db: Kysely<DB>) {
    this.db = db;
  }

  async create(t: Omit<CiTrust, 'id'>): Promise<CiTrust> {
    const id = randomUUID();
    await this.db
      .insertInto('ci_trusts')
      .values({ id, owner: t.owner, repo: t.repo, issuer: t.issuer, audience: t.audience, conditions: JSON.stringify(t.conditions), role: t.role, created_at: t.createdAt })
      .execute();
    return { ...t, id };
  }

  async byIssuer(issuer: string): Promise<CiTrust[]> {
    return (await this.db.selectFrom('ci_trusts').selectAll().where('issuer', '=', issuer).execute()).map(toTrust);
  }

  async list(owner: string, repo?: string): Promise<CiTrust[]> {
    let q = this.db.selectFrom('ci_trusts').selectAll().where('owner', '=', owner).orderBy('created_at');
    if (repo !== undefined) q = q.where('repo', '=', repo);
    return (await q.execute()).map(toTrust);
  }

  async get(id: string): Promise<CiTrust | null> {
    const r = await this.db.selectFrom('ci_trusts').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toTrust(r) : null;
  }

  /** Deletes the trust; false when it is already gone (a concurrent delete counts once). */
  async delete(id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('ci_trusts').where('id', '=', id).executeTakeFirst();
    return r.numDeletedRows > 0n;
  }

  async issuers(): Promise<string[]> {
    return (await this.db.selectFrom('ci_trusts').select('issuer').distinct().execute()).map((r) => r.issuer);
  }
}

export interface SigningKeyRow {
  kid: string;
  privatePem: string;
  publicJwk: string;
  createdAt: number;
  retiredAt: number | null;
}

export class SigningKeyStore {
  private readonly db: Kysely<DB>;
  constructor(db: Kysely<DB>) {
    this.db = db;
  }

  async all(): Promise<SigningKeyRow[]> {
    const rows = await this.db.selectFrom('signing_keys').selectAll().orderBy('created_at').execute();
    return rows.map((r) => ({ kid: r.kid, privatePem: r.private_pem, publicJwk: r.public_jwk, createdAt: Number(r.created_at), retiredAt: r.retired_at === null ? null : Number(r.retired_at) }));
  }

  async insert(k: SigningKeyRow): Promise<void> {
    await this.db
      .insertInto('signing_keys')
      .values({ kid: k.kid, private_pem: k.privatePem, public_jwk: k.publicJwk, created_at: k.createdAt, retired_at: k.retiredAt })
      .onConflict((oc) => oc.column('kid').doNothing())
      .execute();
  }

  async retire(kid: string, now: number): Promise<void> {
    await this.db.updateTable('signing_keys').set({ retired_at: now }).where('kid', '=', kid).execute();
  }

  async remove(kid: string): Promise<void> {
    await this.db.deleteFrom('signing_keys').where('kid', '=', kid).execute();
  }
}

export interface AuditEntry {
  id: string;
  at: number;
  actor: string;
  action: string;
  target: string;
  detail: Record<string, unknown> | null;
  address: string | null;
  /** Migration 0011; null on older rows and where unknown. */
  actorKind?: string | null;
  tokenId?: string | null;
  userAgent?: string | null;
  /** The owner (user or organization) the change concerns, for owners reading their own audit. */
  owner?: string | null;
  outcome?: 'success' | 'failure' | null;
}

export interface AuditFilter {
  limit: number;
  before?: number | undefined;
  actor?: string | undefined;
  target?: string | undefined;
  action?: string | undefined;
  owner?: string | undefined;
}

export class AuditStore {
  private readonly db: Kysely<DB>;
  constructor(db: Kysely<DB>) {
    this.db = db;
  }

  async append(e: Omit<AuditEntry, 'id'>): Promise<void> {
    await this.db
      .insertInto('audit_log')
      .values({
        id: randomUUID(),
        at: e.at,
        actor: e.actor,
        action: e.action,
        target: e.target,
        detail: e.detail ? JSON.stringify(e.detail) : null,
        address: e.address,
        actor_kind: e.actorKind ?? null,
        token_id: e.tokenId ?? null,
        user_agent: e.userAgent ?? null,
        owner: e.owner ?? null,
        outcome: e.outcome ?? 'success',
      })
      .execute();
  }

  async list(opts: AuditFilter): Promise<AuditEntry[]> {
    let q = this.db.selectFrom('audit_log').selectAll().orderBy('at', 'desc').orderBy('id').limit(opts.limit);
    if (opts.before !== undefined) q = q.where('at', '<', opts.before);
    if (opts.actor !== undefined) q = q.where('actor', '=', opts.actor);
    if (opts.target !== undefined) q = q.where('target', '=', opts.target);
    // An action filter ending in '.' or '*' matches the family (`package.` → package.push, package.trash, …).
    if (opts.action !== undefined) q = /[.*]$/.test(opts.action) ? q.where('action', 'like', `${opts.action.replace(/\*$/, '')}%`) : q.where('action', '=', opts.action);
    if (opts.owner !== undefined) q = q.where('owner', '=', opts.owner);
    return (await q.execute()).map((r) => ({
      id: r.id,
      at: Number(r.at),
      actor: r.actor,
      action: r.action,
      target: r.target,
      detail: r.detail ? (JSON.parse(r.detail) as Record<string, unknown>) : null,
      address: r.address,
      actorKind: r.actor_kind ?? null,
      tokenId: r.token_id ?? null,
      userAgent: r.user_agent ?? null,
      owner: r.owner ?? null,
      outcome: r.outcome === 'failure' ? 'failure' : r.outcome === 'success' ? 'success' : null,
    }));
  }
}

export interface FailureCount {
  count: number;
  /** When the counter's window ends. */
  resetAt: number;
  /** The latest failure (0 when none). */
  lastAt: number;
}

/** Fixed-window failure counters shared by every replica (they live in the database). */
export class LoginFailureStore {
  private readonly db: Kysely<DB>;
  constructor(db: Kysely<DB>) {
    this.db = db;
  }

  /** The counters of `keys` (absent or expired ones count zero). */
  async getMany(keys: readonly string[], now: number, windowMs: number): Promise<Map<string, FailureCount>> {
    const out = new Map<string, FailureCount>();
    for (const k of keys) out.set(k, { count: 0, resetAt: now + windowMs, lastAt: 0 });
    if (keys.length === 0) return out;
    const rows = await this.db.selectFrom('login_failures').selectAll().where('key', 'in', [...keys]).execute();
    for (const r of rows) {
      if (Number(r.window_start) + windowMs <= now) continue;
      out.set(r.key, { count: Number(r.count), resetAt: Number(r.window_start) + windowMs, lastAt: Number(r.last_at ?? 0) });
    }
    return out;
  }

  async get(key: string, now: number, windowMs: number): Promise<FailureCount> {
    return (await this.getMany([key], now, windowMs)).get(key) ?? { count: 0, resetAt: now + windowMs, lastAt: 0 };
  }

  /** Counts one failure, atomically (concurrent failures are all counted), starting a new window when the old one ended. */
  async bump(key: string, now: number, windowMs: number): Promise<void> {
    const expired = sql<boolean>`login_failures.window_start + ${windowMs} <= ${now}`;
    await this.db
      .insertInto('login_failures')
      .values({ key, window_start: now, count: 1, last_at: now })
      .onConflict((oc) =>
        oc.column('key').doUpdateSet({
          count: sql<number>`case when ${expired} then 1 else login_failures.count + 1 end`,
          window_start: sql<number>`case when ${expired} then ${now} else login_failures.window_start end`,
          last_at: now,
        }),
      )
      .execute();
  }

  async reset(key: string): Promise<void> {
    await this.db.deleteFrom('login_failures').where('key', '=', key).execute();
  }
}

/** Addresses each account signed in from: their failures slow down instead of locking out. */
export class KnownAddressStore {
  private readonly db: Kysely<DB>;
  constructor(db: Kysely<DB>) {
    this.db = db;
  }

  async isKnown(username: string, address: string, since: number): Promise<boolean> {
    const r = await this.db
      .selectFrom('login_known_addresses')
      .select('address')
      .where('username', '=', username)
      .where('address', '=', address)
      .where('last_success_at', '>=', since)
      .executeTakeFirst();
    return r !== undefined;
  }

  /** Records a successful sign-in; keeps the `keep` most recent addresses of the account. */
  async remember(username: string, address: string, now: number, keep: number): Promise<void> {
    await this.db
      .insertInto('login_known_addresses')
      .values({ username, address, last_success_at: now })
      .onConflict((oc) => oc.columns(['username', 'address']).doUpdateSet({ last_success_at: now }))
      .execute();
    const recent = this.db
      .selectFrom('login_known_addresses')
      .select('address')
      .where('username', '=', username)
      .orderBy('last_success_at', 'desc')
      .limit(keep);
    await this.db.deleteFrom('login_known_addresses').where('username', '=', username).where('address', 'not in', recent).execute();
  }
}
