/** Packages (one row per repository: settings, trash state, tag stamp) and the grants on them. */
import { type Kysely, sql } from 'kysely';
import type { GrantsTable } from './accounts-schema.ts';
import { releaseManifest } from './quotas.ts';
import type { DB } from './schema.ts';
import { PreparedQueries } from './prepared.ts';
import type { PackageRole, Visibility } from '../auth/vocabulary.ts';
import type { TeamRef } from './accounts.ts';
import type { RepoName } from '../oci/name.ts';
import type { TagStamp } from '../oci/tag-stamp.ts';

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

  /**
   * Locks an existing package row for this transaction; null when absent. Every transaction that
   * changes a package's manifests, tags or trash state starts here, so they serialise per package
   * on PostgreSQL as they do on SQLite's single writer (ADR 0010). `touchedAt` also records a
   * push as the package's last update.
   */
  async lock(name: string, touchedAt?: number): Promise<{ owner: string; trashedAt: number | null } | null> {
    const row = await this.db
      .updateTable('repositories')
      .set((eb) => ({ updated_at: touchedAt ?? eb.ref('updated_at') }))
      .where('name', '=', name)
      .returning(['owner', 'trashed_at'])
      .executeTakeFirst();
    return row ? { owner: row.owner, trashedAt: row.trashed_at == null ? null : Number(row.trashed_at) } : null;
  }

  async setTrashed(name: string, at: number | null): Promise<void> {
    await this.db.updateTable('repositories').set({ trashed_at: at }).where('name', '=', name).execute();
  }

  /**
   * What identifies the current state of the package's tags, or null when it does not exist (or
   * is in the trash). `created` tells a re-created package from the one that was deleted.
   */
  async tagStamp(name: string): Promise<TagStamp | null> {
    const [row] = await this.prepared.rows('repository.tagStamp', [name], () =>
      this.db.selectFrom('repositories').select(['created_at', 'tag_version']).where('name', '=', name).where('trashed_at', 'is', null),
    );
    return row ? { created: Number(row.created_at), version: Number(row.tag_version ?? 0) } : null;
  }

  /** Whether any package belongs to `owner` (the trash included). */
  async ownerHasAny(owner: string): Promise<boolean> {
    const row = await this.db.selectFrom('repositories').select('name').where('owner', '=', owner).limit(1).executeTakeFirst();
    return row !== undefined;
  }

  /** Names of packages not in the trash, in lexical order after `last`, at most `limit` (the catalog). */
  async names(opts: { last?: string | undefined; limit: number }): Promise<RepoName[]> {
    let q = this.db.selectFrom('repositories').select('name').where('trashed_at', 'is', null).orderBy('name').limit(opts.limit);
    if (opts.last !== undefined) q = q.where('name', '>', opts.last);
    return (await q.execute()).map((r) => r.name as RepoName);
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

  /**
   * Names of live packages with one of `visibilities`, most recently updated first (the explore
   * page's candidates; who may read each is still the access service's decision).
   */
  async listByVisibility(visibilities: readonly Visibility[], limit: number): Promise<{ name: string; owner: string }[]> {
    if (visibilities.length === 0) return [];
    return this.db
      .selectFrom('repositories')
      .select(['name', 'owner'])
      .where('visibility', 'in', [...visibilities])
      .where('trashed_at', 'is', null)
      .orderBy('updated_at', 'desc')
      .orderBy('name')
      .limit(limit)
      .execute();
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
