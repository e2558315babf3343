import { randomBytes } from 'node:crypto';
import { type ExpressionBuilder, type Kysely, sql } from 'kysely';
import type { Digest } from '../oci/digest.ts';
import type { RepoName } from '../oci/name.ts';
import type { DB } from './schema.ts';

/** Tables of the chart index (migration 0002_charts). */
export interface ChartVersionsTable {
  repo: string;
  digest: string;
  owner: string;
  status: string;
  error: string | null;
  name: string | null;
  version: string | null;
  sort_key: string | null;
  prerelease: number;
  listed: number;
  filename: string | null;
  app_version: string | null;
  description: string | null;
  deprecated: number;
  chart_digest: string | null;
  chart_size: number | null;
  tgz_sha256: string | null;
  prov_digest: string | null;
  prov_size: number | null;
  metadata: string | null;
  index_entry: string | null;
  index_key: string | null;
  created_at: number;
  indexed_at: number;
}

export interface ChartContentsTable {
  repo: string;
  digest: string;
  readme_path: string | null;
  readme: string | null;
  values_yaml: string | null;
  values_schema: string | null;
  omitted: string | null;
}

export interface ChartOwnersTable {
  owner: string;
  generation: number;
  epoch: string;
  updated_at: number;
}

// A type alias (not an interface) so it satisfies Kysely's `withTables` constraint.
export type ChartTables = {
  chart_versions: ChartVersionsTable;
  chart_contents: ChartContentsTable;
  chart_owners: ChartOwnersTable;
};

export type ChartStatus = 'ok' | 'failed';

/** One chart manifest as indexed. Fields other than the identity are null when indexing failed. */
export interface ChartVersionRecord {
  repo: RepoName;
  digest: Digest;
  owner: string;
  status: ChartStatus;
  error: string | null;
  name: string | null;
  version: string | null;
  sortKey: string | null;
  prerelease: boolean;
  /** In the classic index: indexed fine and the manifest has at least one tag. */
  listed: boolean;
  filename: string | null;
  appVersion: string | null;
  description: string | null;
  deprecated: boolean;
  chartDigest: Digest | null;
  chartSize: number | null;
  tgzSha256: string | null;
  provDigest: Digest | null;
  provSize: number | null;
  /** Chart metadata as JSON (Helm's field names). */
  metadata: string | null;
  indexEntry: string | null;
  /** Document-order key of the entry (see indexOrderKey in src/charts/semver.ts). */
  indexKey: string | null;
  createdAt: number;
  indexedAt: number;
}

export interface ChartContentRecord {
  readmePath: string | null;
  readme: string | null;
  values: string | null;
  valuesSchema: string | null;
  omitted: string[];
}

export interface OwnerIndexState {
  generation: number;
  epoch: string;
  updatedAt: number;
}

export interface IndexRow {
  name: string;
  version: string;
  repo: string;
  digest: string;
  indexEntry: string;
  /** Position in document order; the cursor of the next page. */
  indexKey: string;
}

type Row = ChartVersionsTable;

function toRecord(r: Row): ChartVersionRecord {
  return {
    repo: r.repo as RepoName,
    digest: r.digest as Digest,
    owner: r.owner,
    status: r.status === 'ok' ? 'ok' : 'failed',
    error: r.error,
    name: r.name,
    version: r.version,
    sortKey: r.sort_key,
    prerelease: Number(r.prerelease) === 1,
    listed: Number(r.listed) === 1,
    filename: r.filename,
    appVersion: r.app_version,
    description: r.description,
    deprecated: Number(r.deprecated) === 1,
    chartDigest: r.chart_digest as Digest | null,
    chartSize: r.chart_size === null ? null : Number(r.chart_size),
    tgzSha256: r.tgz_sha256,
    provDigest: r.prov_digest as Digest | null,
    provSize: r.prov_size === null ? null : Number(r.prov_size),
    metadata: r.metadata,
    indexEntry: r.index_entry,
    indexKey: r.index_key,
    createdAt: Number(r.created_at),
    indexedAt: Number(r.indexed_at),
  };
}

function toRow(r: ChartVersionRecord): Row {
  return {
    repo: r.repo,
    digest: r.digest,
    owner: r.owner,
    status: r.status,
    error: r.error,
    name: r.name,
    version: r.version,
    sort_key: r.sortKey,
    prerelease: r.prerelease ? 1 : 0,
    listed: r.listed ? 1 : 0,
    filename: r.filename,
    app_version: r.appVersion,
    description: r.description,
    deprecated: r.deprecated ? 1 : 0,
    chart_digest: r.chartDigest,
    chart_size: r.chartSize,
    tgz_sha256: r.tgzSha256,
    prov_digest: r.provDigest,
    prov_size: r.provSize,
    metadata: r.metadata,
    index_entry: r.indexEntry,
    index_key: r.indexKey,
    created_at: r.createdAt,
    indexed_at: r.indexedAt,
  };
}

/** Summary columns: everything but the bulky metadata and index entry. */
const SUMMARY = [
  'repo',
  'digest',
  'owner',
  'status',
  'error',
  'name',
  'version',
  'sort_key',
  'prerelease',
  'listed',
  'filename',
  'app_version',
  'description',
  'deprecated',
  'chart_digest',
  'chart_size',
  'tgz_sha256',
  'prov_digest',
  'prov_size',
  'created_at',
  'indexed_at',
] as const;

function summaryRecord(r: Omit<Row, 'metadata' | 'index_entry' | 'index_key'>): ChartVersionRecord {
  return toRecord({ ...r, metadata: null, index_entry: null, index_key: null });
}

// Listed versions are never trashed (the trash unlists them in the same transaction); the
// unlisted and failed ones the JSON API shows are filtered through the trash's membership table.
const notTrashed = ({ not, exists, selectFrom }: ExpressionBuilder<DB & ChartTables, 'chart_versions'>) =>
  not(
    exists(
      selectFrom('trash_manifests')
        .select(sql.lit(1).as('one'))
        .whereRef('trash_manifests.repo', '=', 'chart_versions.repo')
        .whereRef('trash_manifests.digest', '=', 'chart_versions.digest'),
    ),
  );

/** The chart index: one row per Helm chart manifest, plus per-owner index generations. */
export class ChartStore {
  private readonly db: Kysely<DB & ChartTables>;

  constructor(db: Kysely<DB>) {
    this.db = db.withTables<ChartTables>();
  }

  async get(repo: RepoName, digest: Digest): Promise<ChartVersionRecord | null> {
    const row = await this.db.selectFrom('chart_versions').selectAll().where('repo', '=', repo).where('digest', '=', digest).executeTakeFirst();
    return row ? toRecord(row) : null;
  }

  /** Inserts or replaces the record and its contents (indexing is idempotent). */
  async put(rec: ChartVersionRecord, content: ChartContentRecord | null): Promise<void> {
    const row = toRow(rec);
    const { repo: _r, digest: _d, ...update } = row;
    await this.db
      .insertInto('chart_versions')
      .values(row)
      .onConflict((oc) => oc.columns(['repo', 'digest']).doUpdateSet(update))
      .execute();
    if (content) {
      const texts = {
        readme_path: content.readmePath,
        readme: content.readme,
        values_yaml: content.values,
        values_schema: content.valuesSchema,
        omitted: content.omitted.length > 0 ? JSON.stringify(content.omitted) : null,
      };
      // An upsert: two replicas may index the same digest at once.
      await this.db
        .insertInto('chart_contents')
        .values({ repo: rec.repo, digest: rec.digest, ...texts })
        .onConflict((oc) => oc.columns(['repo', 'digest']).doUpdateSet(texts))
        .execute();
    } else {
      await this.db.deleteFrom('chart_contents').where('repo', '=', rec.repo).where('digest', '=', rec.digest).execute();
    }
  }

  /** Returns whether the flag changed. */
  async setListed(repo: RepoName, digest: Digest, listed: boolean): Promise<boolean> {
    const res = await this.db
      .updateTable('chart_versions')
      .set({ listed: listed ? 1 : 0 })
      .where('repo', '=', repo)
      .where('digest', '=', digest)
      .where('listed', '=', listed ? 0 : 1)
      .where('status', '=', 'ok')
      .executeTakeFirst();
    return res.numUpdatedRows > 0n;
  }

  async hasListed(repo: RepoName): Promise<boolean> {
    const row = await this.db.selectFrom('chart_versions').select('digest').where('repo', '=', repo).where('listed', '=', 1).limit(1).executeTakeFirst();
    return row !== undefined;
  }

  /**
   * Where the chart index disagrees with the registry, as (repo, digest) pairs after `after`
   * (keyset order): a chart manifest pushed before `pushedBefore` with no record (its indexing
   * never ran: a crash between the push's commit and the listener), a record whose manifest is
   * gone, a listed record of a trashed manifest, and a record listed without a tag or unlisted
   * with one. Each is what `ChartService.reconcile` puts right.
   */
  async drift(opts: { helmConfig: string; pushedBefore: number; after: { repo: string; digest: string } | null; limit: number }): Promise<{ repo: RepoName; digest: Digest }[]> {
    const tagged = (eb: ExpressionBuilder<DB & ChartTables, 'chart_versions'>) =>
      eb.exists(eb.selectFrom('tags').select(sql.lit(1).as('one')).whereRef('tags.repo', '=', 'chart_versions.repo').whereRef('tags.digest', '=', 'chart_versions.digest'));
    const after = <T extends 'manifests' | 'chart_versions'>(table: T) =>
      opts.after === null
        ? sql<boolean>`1 = 1`
        : sql<boolean>`(${sql.ref(`${table}.repo`)} > ${opts.after.repo} or (${sql.ref(`${table}.repo`)} = ${opts.after.repo} and ${sql.ref(`${table}.digest`)} > ${opts.after.digest}))`;
    const unindexed = this.db
      .selectFrom('manifests')
      .select(['manifests.repo', 'manifests.digest'])
      .where('manifests.config_media_type', '=', opts.helmConfig)
      .where('manifests.trashed_at', 'is', null)
      .where('manifests.created_at', '<', opts.pushedBefore)
      .where(after('manifests'))
      .where(({ not, exists, selectFrom }) =>
        not(exists(selectFrom('chart_versions').select(sql.lit(1).as('one')).whereRef('chart_versions.repo', '=', 'manifests.repo').whereRef('chart_versions.digest', '=', 'manifests.digest'))),
      );
    const stale = this.db
      .selectFrom('chart_versions')
      .leftJoin('manifests', (j) => j.onRef('manifests.repo', '=', 'chart_versions.repo').onRef('manifests.digest', '=', 'chart_versions.digest'))
      .select(['chart_versions.repo', 'chart_versions.digest'])
      .where(after('chart_versions'))
      .where((eb) =>
        eb.or([
          eb('manifests.digest', 'is', null),
          eb.and([eb('manifests.trashed_at', 'is not', null), eb('chart_versions.listed', '=', 1)]),
          eb.and([eb('manifests.trashed_at', 'is', null), eb('chart_versions.listed', '=', 1), eb.not(tagged(eb))]),
          eb.and([eb('manifests.trashed_at', 'is', null), eb('chart_versions.listed', '=', 0), eb('chart_versions.status', '=', 'ok'), tagged(eb)]),
        ]),
      );
    const rows = await this.db
      .selectFrom(unindexed.unionAll(stale).as('d'))
      .select(['d.repo', 'd.digest'])
      .orderBy('d.repo')
      .orderBy('d.digest')
      .limit(opts.limit)
      .execute();
    return rows.map((r) => ({ repo: r.repo as RepoName, digest: r.digest as Digest }));
  }

  /** Unlists versions of `repo` whose manifest has no tag left (e.g. the tag moved). Returns how many. */
  async unlistUntagged(repo: RepoName): Promise<number> {
    const res = await this.db
      .updateTable('chart_versions')
      .set({ listed: 0 })
      .where('repo', '=', repo)
      .where('listed', '=', 1)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('tags')
              .select(sql.lit(1).as('one'))
              .whereRef('tags.repo', '=', 'chart_versions.repo')
              .whereRef('tags.digest', '=', 'chart_versions.digest'),
          ),
        ),
      )
      .executeTakeFirst();
    return Number(res.numUpdatedRows);
  }

  async delete(repo: RepoName, digest: Digest): Promise<boolean> {
    await this.db.deleteFrom('chart_contents').where('repo', '=', repo).where('digest', '=', digest).execute();
    const res = await this.db.deleteFrom('chart_versions').where('repo', '=', repo).where('digest', '=', digest).executeTakeFirst();
    return res.numDeletedRows > 0n;
  }

  async content(repo: RepoName, digest: Digest): Promise<ChartContentRecord | null> {
    const row = await this.db.selectFrom('chart_contents').selectAll().where('repo', '=', repo).where('digest', '=', digest).executeTakeFirst();
    if (!row) return null;
    return {
      readmePath: row.readme_path,
      readme: row.readme,
      values: row.values_yaml,
      valuesSchema: row.values_schema,
      omitted: row.omitted ? (JSON.parse(row.omitted) as string[]) : [],
    };
  }

  // ---- owner generations ----------------------------------------------------------------------

  /** Marks the owner's index as changed: a new generation (and so a new ETag) on every replica. */
  async bumpGeneration(owner: string, now: number): Promise<void> {
    await this.db
      .insertInto('chart_owners')
      .values({ owner, generation: 1, epoch: randomBytes(6).toString('hex'), updated_at: now })
      .onConflict((oc) =>
        oc.column('owner').doUpdateSet((eb) => ({
          generation: eb('chart_owners.generation', '+', 1),
          updated_at: now,
        })),
      )
      .execute();
  }

  async ownerState(owner: string): Promise<OwnerIndexState | null> {
    const row = await this.db.selectFrom('chart_owners').selectAll().where('owner', '=', owner).executeTakeFirst();
    return row ? { generation: Number(row.generation), epoch: row.epoch, updatedAt: Number(row.updated_at) } : null;
  }

  // ---- queries ----------------------------------------------------------------------------------

  /** Repositories of `owner` with at least one listed version (for per-repository access checks). */
  async listedRepos(owner: string): Promise<RepoName[]> {
    const rows = await this.db
      .selectFrom('chart_versions')
      .select('repo')
      .distinct()
      .where('owner', '=', owner)
      .where('listed', '=', 1)
      .orderBy('repo')
      .execute();
    return rows.map((r) => r.repo as RepoName);
  }

  /**
   * One page of the owner's index in document order, after `afterKey`. Keyset pagination on
   * one indexed column: each page is a short range scan, and no connection is held between
   * pages.
   */
  async indexPage(owner: string, afterKey: string | null, limit: number): Promise<IndexRow[]> {
    let q = this.db
      .selectFrom('chart_versions')
      .select(['name', 'version', 'repo', 'digest', 'index_entry', 'index_key'])
      .where('owner', '=', owner)
      .where('listed', '=', 1)
      .orderBy('index_key')
      .limit(limit);
    if (afterKey !== null) q = q.where('index_key', '>', afterKey);
    const rows = await q.execute();
    return rows.map((r) => ({
      name: r.name ?? '',
      version: r.version ?? '',
      repo: r.repo,
      digest: r.digest,
      indexEntry: r.index_entry ?? '',
      indexKey: r.index_key ?? '',
    }));
  }

  /** The version a classic-repository file name serves: the newest push wins among duplicates. */
  async byFilename(owner: string, filename: string): Promise<ChartVersionRecord | null> {
    const row = await this.db
      .selectFrom('chart_versions')
      .select(SUMMARY)
      .where('owner', '=', owner)
      .where('filename', '=', filename)
      .where('listed', '=', 1)
      .orderBy('created_at', 'desc')
      .orderBy('repo', 'asc')
      .orderBy('digest', 'asc')
      .limit(1)
      .executeTakeFirst();
    return row ? summaryRecord(row) : null;
  }

  /** Every indexed manifest of a repository (listed or not, failed ones too) not in the trash. */
  async ofRepo(repo: RepoName): Promise<ChartVersionRecord[]> {
    const rows = await this.db.selectFrom('chart_versions').select(SUMMARY).where('repo', '=', repo).where(notTrashed).execute();
    return rows.map(summaryRecord);
  }

  /** Summaries of every indexed manifest of an owner not in the trash (for the owner's chart list). */
  async ofOwner(owner: string): Promise<ChartVersionRecord[]> {
    const rows = await this.db.selectFrom('chart_versions').select(SUMMARY).where('owner', '=', owner).where(notTrashed).execute();
    return rows.map(summaryRecord);
  }

  /** Takes trashed versions out of the classic index (or puts restored ones back): one write per changed row. */
  async setListedMany(repo: RepoName, digests: readonly Digest[], listed: boolean): Promise<number> {
    let n = 0;
    for (const d of digests) if (await this.setListed(repo, d, listed)) n++;
    return n;
  }

  /** Listed versions of an owner, with metadata, optionally of one chart name (ChartMuseum API). */
  async listedWithMetadata(owner: string, name?: string): Promise<ChartVersionRecord[]> {
    let q = this.db.selectFrom('chart_versions').selectAll().where('owner', '=', owner).where('listed', '=', 1);
    if (name !== undefined) q = q.where('name', '=', name);
    const rows = await q.orderBy('index_key').execute();
    return rows.map(toRecord);
  }

  /** Listed versions of `owner` named `name` at `version`, newest push first. */
  async listedVersion(owner: string, name: string, version: string): Promise<ChartVersionRecord[]> {
    const rows = await this.db
      .selectFrom('chart_versions')
      .selectAll()
      .where('owner', '=', owner)
      .where('name', '=', name)
      .where('version', '=', version)
      .where('listed', '=', 1)
      .orderBy('created_at', 'desc')
      .orderBy('repo', 'asc')
      .orderBy('digest', 'asc')
      .execute();
    return rows.map(toRecord);
  }
}
