import { CompiledQuery, type Kysely, sql } from 'kysely';
import type { PackageRole, Visibility } from '../auth/vocabulary.ts';
import type { TagStamp } from '../oci/tag-stamp.ts';
import type { DB } from './schema.ts';
import type { DialectKind } from './migrations/types.ts';

/** Everything the access decision reads about a caller and a package, as rows of one statement. */
export interface AccessFactRows {
  /** Null while the package does not exist. */
  pkg: { visibility: Visibility } | null;
  /** The user's role in the owning organization (any user; the caller decides whether it counts). */
  orgRole: 'owner' | 'member' | null;
  /** Roles granted on the package to the user and to their teams in the owning organization. */
  grants: PackageRole[];
  /** The owner's default visibility when the owner is a pull-through proxy organization, else null. */
  proxyDefaultVisibility: Visibility | null;
  /**
   * The package's tag stamp (PackageStore.tagStamp: creation time and tag version), read in the
   * same statement so a manifest GET by tag can be answered from memory while it is unchanged.
   * Null when the package does not exist, is in the trash, or was not read (readMany).
   */
  tagStamp: TagStamp | null;
}

/** The caller's own account row, when read along (a bearer token's subject). */
export interface AccountFlags {
  kind: string;
  disabled: boolean;
  admin: boolean;
}

/**
 * The facts of one access decision in ONE statement (issue 18): the package, the caller's org
 * role, their grants (direct and through teams) and the proxy-org default used to be four to
 * five round trips on every pull; each is a small indexed lookup, so their sum was mostly
 * round-trip latency (PostgreSQL) and statement overhead (both). Nothing is cached: a revoked
 * grant, a removed member or a visibility change counts from the very next request, on every
 * replica. Rows are tagged by kind (`k`) so one UNION ALL carries all four answers (ADR 0026).
 */
export class AccessFactStore {
  private readonly db: Kysely<DB>;
  private readonly text: string;
  private readonly withAccount: string;

  constructor(db: Kysely<DB>, dialect: DialectKind) {
    this.db = db;
    // Five distinct parameters; PostgreSQL reuses them by number, SQLite by ?NNN.
    const p = (n: number) => (dialect === 'postgres' ? `$${n}` : `?${n}`);
    const [repo, owner, user] = [p(1), p(2), p(3)];
    this.text = [
      // `visibility[:created:version]`: the tag stamp rides on the package's own row, present
      // while the package is not in the trash.
      `select 'pkg' as k, coalesce(visibility, 'private') || case when trashed_at is null then ':' || created_at || ':' || tag_version else '' end as v from repositories where name = ${repo}`,
      `union all select 'org' as k, role as v from org_members where org = ${owner} and username = ${user}`,
      `union all select 'grant' as k, role as v from grants where repo = ${repo} and (` +
        `(subject_kind = 'user' and subject = ${user}) or ` +
        `(subject_kind = 'team' and subject in (select org || '/' || team from team_members where username = ${user} and org = ${owner})))`,
      `union all select 'proxy' as k, a.default_visibility as v from proxy_upstreams u join accounts a on a.name = u.owner where u.owner = ${owner}`,
    ].join(' ');
    // The caller's account as one more tagged row: `kind:disabled:is_admin`.
    this.withAccount = `${this.text} union all select 'acct' as k, kind || ':' || disabled || ':' || is_admin as v from accounts where name = ${p(4)}`;
  }

  /**
   * read(), plus the account row of `account` (a bearer token's subject), still in one statement:
   * the account must be active on every request, and this spares its own round trip.
   */
  async readWithAccount(repo: string, owner: string, username: string | null, account: string): Promise<AccessFactRows & { account: AccountFlags | null }> {
    const rows = (await this.db.executeQuery<{ k: string; v: string | null }>(CompiledQuery.raw(this.withAccount, [repo, owner, username ?? '', account]))).rows;
    const acct = rows.find((r) => r.k === 'acct');
    const [kind = '', disabled = '0', admin = '0'] = (acct?.v ?? '').split(':');
    return { ...collect(rows), account: acct ? { kind, disabled: Number(disabled) !== 0, admin: Number(admin) !== 0 } : null };
  }

  /** `username` null (not a user: anonymous, CI) reads the package and proxy facts only. */
  async read(repo: string, owner: string, username: string | null): Promise<AccessFactRows> {
    // An empty name matches no member or grant: account names are never empty.
    return collect((await this.db.executeQuery<{ k: string; v: string | null }>(CompiledQuery.raw(this.text, [repo, owner, username ?? '']))).rows);
  }

  /**
   * The same facts for many packages at once (catalog filtering): still one statement, whatever
   * the number of names. `owner` of each name is the caller's to give (the name's first segment).
   */
  async readMany(repos: readonly { name: string; owner: string }[], username: string | null): Promise<Map<string, AccessFactRows>> {
    const out = new Map<string, AccessFactRows>();
    if (repos.length === 0) return out;
    const names = [...new Set(repos.map((r) => r.name))];
    const owners = [...new Set(repos.map((r) => r.owner))];
    const user = username ?? '';
    const { rows } = await sql<{ k: string; n: string; v: string | null; s: string | null }>`
      select 'pkg' as k, name as n, coalesce(visibility, 'private') as v, cast(null as text) as s from repositories where name in (${sql.join(names)})
      union all select 'org' as k, org as n, role as v, cast(null as text) as s from org_members where username = ${user} and org in (${sql.join(owners)})
      union all select 'grant' as k, repo as n, role as v, subject as s from grants where repo in (${sql.join(names)}) and (
        (subject_kind = 'user' and subject = ${user}) or
        (subject_kind = 'team' and subject in (select org || '/' || team from team_members where username = ${user})))
      union all select 'proxy' as k, u.owner as n, a.default_visibility as v, cast(null as text) as s from proxy_upstreams u join accounts a on a.name = u.owner where u.owner in (${sql.join(owners)})
    `.execute(this.db);
    const orgRoles = new Map<string, 'owner' | 'member'>();
    const proxies = new Map<string, Visibility>();
    for (const r of rows) {
      if (r.k === 'org') orgRoles.set(r.n, r.v as 'owner' | 'member');
      else if (r.k === 'proxy') proxies.set(r.n, (r.v ?? 'private') as Visibility);
    }
    for (const { name, owner } of repos) {
      out.set(name, { pkg: null, orgRole: orgRoles.get(owner) ?? null, grants: [], proxyDefaultVisibility: proxies.get(owner) ?? null, tagStamp: null });
    }
    const ownerOfName = new Map(repos.map((r) => [r.name, r.owner]));
    for (const r of rows) {
      const facts = out.get(r.n);
      if (r.k === 'pkg' && facts) facts.pkg = { visibility: (r.v ?? 'private') as Visibility };
      // A team's grant counts only for a team of the package's own organization (as in read()).
      else if (r.k === 'grant' && facts && (r.s === user || r.s?.startsWith(`${ownerOfName.get(r.n)}/`))) facts.grants.push(r.v as PackageRole);
    }
    return out;
  }
}

function collect(rows: readonly { k: string; v: string | null }[]): AccessFactRows {
  const out: AccessFactRows = { pkg: null, orgRole: null, grants: [], proxyDefaultVisibility: null, tagStamp: null };
  for (const r of rows) {
    if (r.k === 'pkg') {
      const [visibility, created, version] = (r.v ?? 'private').split(':');
      out.pkg = { visibility: visibility as Visibility };
      if (created !== undefined && version !== undefined) out.tagStamp = { created: Number(created), version: Number(version) };
    } else if (r.k === 'org') out.orgRole = r.v as 'owner' | 'member';
    else if (r.k === 'grant') out.grants.push(r.v as PackageRole);
    else if (r.k === 'proxy') out.proxyDefaultVisibility = (r.v ?? 'private') as Visibility;
  }
  return out;
}
