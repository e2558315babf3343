import type { Kysely, QueryCreator, Selectable } from 'kysely';
import type { Digest } from '../oci/digest.ts';
import type { RepoName, Tag } from '../oci/name.ts';
import { releaseManifest } from './quotas.ts';
import type { DB } from './schema.ts';
import { PreparedQueries } from './prepared.ts';

export interface ManifestRecord {
  repo: RepoName;
  digest: Digest;
  mediaType: string;
  size: number;
  content: Buffer;
  artifactType: string | null;
  configMediaType: string | null;
  configDigest: Digest | null;
  subject: Digest | null;
  annotations: Record<string, string> | null;
  createdAt: number;
}

export interface ManifestChild {
  digest: Digest;
  kind: 'blob' | 'manifest';
}

type ManifestRow = Selectable<DB['manifests']>;

/** Whether a manifest row is visible (live), hidden in the trash, or absent. */
export type ManifestState = 'live' | 'trashed';

// A manifest may reference thousands of descriptors; SQLite binds at most 32766 parameters per
// statement and PostgreSQL 65535, so lists are split well below both.
const IN_BATCH = 1000;
const INSERT_BATCH = 500;

function batches<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Runs `query` over the distinct `items` in bound-parameter-safe batches and concatenates the results. */
async function inBatches<T, R>(items: readonly T[], query: (batch: T[]) => Promise<R[]>): Promise<R[]> {
  const out: R[] = [];
  for (const batch of batches([...new Set(items)], IN_BATCH)) out.push(...(await query(batch)));
  return out;
}

export function batchesOf<T>(items: readonly T[]): T[][] {
  return batches(items, IN_BATCH);
}

function toRecord(row: ManifestRow): ManifestRecord {
  return {
    repo: row.repo as RepoName,
    digest: row.digest as Digest,
    mediaType: row.media_type,
    size: Number(row.size),
    content: Buffer.isBuffer(row.content) ? row.content : Buffer.from(row.content),
    artifactType: row.artifact_type,
    configMediaType: row.config_media_type,
    configDigest: row.config_digest as Digest | null,
    subject: row.subject as Digest | null,
    annotations: row.annotations ? (JSON.parse(row.annotations) as Record<string, string>) : null,
    createdAt: Number(row.created_at),
  };
}

/** Which blobs each repository may read (a blob is readable only through a linked repository). */
export class BlobLinkStore {
  private readonly db: Kysely<DB>;
  private readonly prepared: PreparedQueries;
  constructor(db: Kysely<DB>) {
    this.db = db;
    this.prepared = new PreparedQueries(db as unknown as Kysely<never>);
  }

  /** Links the blob to the repository, or marks an existing link as just touched. */
  async link(repo: RepoName, digest: Digest, size: number, now: number): Promise<void> {
    await this.db
      .insertInto('repo_blobs')
      .values({ repo, digest, size, created_at: now, touched_at: now })
      .onConflict((oc) => oc.columns(['repo', 'digest']).doUpdateSet({ touched_at: now }))
      .execute();
  }

  /** A blob readable through `repo` (linked, and the package not in the trash), with when the link was last touched. */
  async get(repo: RepoName, digest: Digest): Promise<{ size: number; touchedAt: number } | null> {
    // A left join: blobs are linked before the first manifest PUT creates the repository row.
    const [row] = await this.prepared.rows('blob.get', [repo, digest], () =>
      this.db
        .selectFrom('repo_blobs')
        .leftJoin('repositories', 'repositories.name', 'repo_blobs.repo')
        .select(['repo_blobs.size', 'repo_blobs.touched_at'])
        .where('repo_blobs.repo', '=', repo)
        .where('repo_blobs.digest', '=', digest)
        .where('repositories.trashed_at', 'is', null),
    );
    return row ? { size: Number(row.size), touchedAt: Number(row.touched_at ?? 0) } : null;
  }

  /**
   * Records a use of the links at `now` where the stored touch is at or before `staleAt`, and
   * returns how many it updated. On PostgreSQL the update row-locks those links until the
   * transaction ends, so a concurrent GC delete of them waits and then sees the new touch.
   */
  async touch(repo: RepoName, digests: readonly Digest[], now: number, staleAt: number): Promise<number> {
    let n = 0;
    for (const batch of batches([...new Set(digests)], IN_BATCH)) {
      const res = await this.db
        .updateTable('repo_blobs')
        .set({ touched_at: now })
        .where('repo', '=', repo)
        .where('digest', 'in', batch)
        .where((eb) => eb.or([eb('touched_at', '<=', staleAt), eb('touched_at', 'is', null)]))
        .executeTakeFirst();
      n += Number(res.numUpdatedRows);
    }
    return n;
  }

  /**
   * Cross-repository mount: links `digest` into `repo` if it is linked to `from`, in one
   * transaction that first row-locks the source link (a no-op update), so GC cannot remove the
   * source link and then the bytes between the check and the new link. Returns the size, or null.
   */
  async mount(from: RepoName, repo: RepoName, digest: Digest, now: number): Promise<number | null> {
    const locked = await this.db
      .updateTable('repo_blobs')
      .set((eb) => ({ size: eb.ref('size') }))
      .where('repo', '=', from)
      .where('digest', '=', digest)
      .executeTakeFirst();
    if (locked.numUpdatedRows === 0n) return null;
    const row = await this.db.selectFrom('repo_blobs').select('size').where('repo', '=', from).where('digest', '=', digest).executeTakeFirst();
    if (!row) return null;
    await this.link(repo, digest, Number(row.size), now);
    return Number(row.size);
  }

  /** The subset of `digests` linked to `repo`, with sizes. */
  async getMany(repo: RepoName, digests: readonly Digest[]): Promise<Map<Digest, number>> {
    const out = new Map<Digest, number>();
    for (const batch of batches([...new Set(digests)], IN_BATCH)) {
      const rows = await this.db
        .selectFrom('repo_blobs')
        .select(['digest', 'size'])
        .where('repo', '=', repo)
        .where('digest', 'in', batch)
        .execute();
      for (const r of rows) out.set(r.digest as Digest, Number(r.size));
    }
    return out;
  }

  async unlink(repo: RepoName, digest: Digest): Promise<boolean> {
    const res = await this.db.deleteFrom('repo_blobs').where('repo', '=', repo).where('digest', '=', digest).executeTakeFirst();
    return res.numDeletedRows > 0n;
  }
}

export class ManifestStore {
  private readonly db: Kysely<DB>;
  private readonly prepared: PreparedQueries;
  private readonly rowLocks: boolean;
  /** `rowLocks`: the dialect has SELECT … FOR SHARE/UPDATE (PostgreSQL; SQLite transactions take the whole database). */
  constructor(db: Kysely<DB>, opts: { rowLocks?: boolean } = {}) {
    this.db = db;
    this.prepared = new PreparedQueries(db as unknown as Kysely<never>);
    this.rowLocks = opts.rowLocks ?? false;
  }

  /** A manifest that is not in the trash (trashed ones are unknown to every reader). */
  async get(repo: RepoName, digest: Digest): Promise<ManifestRecord | null> {
    const [row] = await this.prepared.rows('manifest.get', [repo, digest], () =>
      this.db.selectFrom('manifests').selectAll().where('repo', '=', repo).where('digest', '=', digest).where('trashed_at', 'is', null),
    );
    return row ? toRecord(row) : null;
  }

  /**
   * The subset of `digests` present in `repo` and not in the trash. Inside a transaction on
   * PostgreSQL the rows are share-locked until it ends, so an index being stored and the deletion
   * of one of its children (which locks the child for update first) cannot both succeed.
   */
  async existing(repo: RepoName, digests: readonly Digest[]): Promise<Set<Digest>> {
    const out = new Set<Digest>();
    for (const [digest, state] of await this.states(repo, digests, { share: true })) if (state === 'live') out.add(digest);
    return out;
  }

  /** Live or trashed, for each of `digests` that has a row in `repo`. */
  async states(repo: RepoName, digests: readonly Digest[], opts: { share?: boolean } = {}): Promise<Map<Digest, ManifestState>> {
    const out = new Map<Digest, ManifestState>();
    for (const batch of batches([...new Set(digests)].sort(), IN_BATCH)) {
      let q = this.db.selectFrom('manifests').select(['digest', 'trashed_at']).where('repo', '=', repo).where('digest', 'in', batch);
      if (opts.share && this.rowLocks) q = q.orderBy('digest').forShare();
      const rows = await q.execute();
      for (const r of rows) out.set(r.digest as Digest, r.trashed_at == null ? 'live' : 'trashed');
    }
    return out;
  }

  async state(repo: RepoName, digest: Digest): Promise<ManifestState | null> {
    return (await this.states(repo, [digest])).get(digest) ?? null;
  }

  /**
   * Live indexes of `repo` that list any of `children`, ignoring the indexes in `except`: a
   * manifest one of them lists may not be deleted or trashed on its own (it would break the index).
   */
  async listingIndexes(repo: RepoName, children: readonly Digest[], except: ReadonlySet<Digest> = new Set()): Promise<{ index: Digest; child: Digest }[]> {
    const out: { index: Digest; child: Digest }[] = [];
    for (const batch of batches([...new Set(children)], IN_BATCH)) {
      const rows = await this.db
        .selectFrom('manifest_refs')
        .innerJoin('manifests', (j) => j.onRef('manifests.repo', '=', 'manifest_refs.repo').onRef('manifests.digest', '=', 'manifest_refs.digest'))
        .select(['manifest_refs.digest as index', 'manifest_refs.child as child'])
        .where('manifest_refs.repo', '=', repo)
        .where('manifest_refs.child', 'in', batch)
        .where('manifest_refs.kind', '=', 'manifest')
        .where('manifests.trashed_at', 'is', null)
        .orderBy('manifest_refs.digest')
        .execute();
      for (const r of rows) if (!except.has(r.index as Digest)) out.push({ index: r.index as Digest, child: r.child as Digest });
    }
    return out;
  }

  /** Child manifests (of an index) of any of `parents`. */
  async childManifests(repo: RepoName, parents: readonly Digest[]): Promise<Digest[]> {
    return inBatches(parents, async (batch) =>
      (await this.db.selectFrom('manifest_refs').select('child as d').where('repo', '=', repo).where('digest', 'in', batch).where('kind', '=', 'manifest').execute()).map((r) => r.d as Digest),
    );
  }

  /** Live manifests whose subject is any of `subjects`. */
  async liveReferrersOf(repo: RepoName, subjects: readonly Digest[]): Promise<Digest[]> {
    return inBatches(subjects, async (batch) =>
      (await this.db.selectFrom('manifests').select('digest as d').where('repo', '=', repo).where('subject', 'in', batch).where('trashed_at', 'is', null).execute()).map((r) => r.d as Digest),
    );
  }

  /** Hides (a time) or shows (null) manifests; returns how many changed. */
  async setTrashed(repo: RepoName, digests: readonly Digest[], at: number | null): Promise<number> {
    let n = 0;
    for (const batch of batches([...new Set(digests)], IN_BATCH)) {
      const res = await this.db
        .updateTable('manifests')
        .set({ trashed_at: at })
        .where('repo', '=', repo)
        .where('digest', 'in', batch)
        .where('trashed_at', at === null ? 'is not' : 'is', null)
        .executeTakeFirst();
      n += Number(res.numUpdatedRows);
    }
    return n;
  }

  /** Every live manifest of a repository (a package moving to the trash). */
  async liveDigests(repo: RepoName): Promise<Digest[]> {
    const rows = await this.db.selectFrom('manifests').select('digest').where('repo', '=', repo).where('trashed_at', 'is', null).execute();
    return rows.map((r) => r.digest as Digest);
  }

  /**
   * Which of `digests` a manifest of `repo` already references (blob or child manifest). One
   * indexed probe per digest: a DISTINCT over `child IN (…)` walks every reference to a shared
   * layer, so it grew with the repository's manifests (0.31 ms of each manifest PUT after 2,600
   * tags sharing two blobs, `node bench/profile.ts put`).
   */
  async referenced(repo: RepoName, digests: readonly Digest[]): Promise<Set<Digest>> {
    const out = new Set<Digest>();
    for (const d of new Set(digests)) {
      const row = await this.db.selectFrom('manifest_refs').select('child').where('repo', '=', repo).where('child', '=', d).limit(1).executeTakeFirst();
      if (row) out.add(d);
    }
    return out;
  }

  /** The media types of one manifest of `repo` that references `child` (what the blob belongs to), or null. */
  async referrerTypes(repo: RepoName, child: Digest): Promise<{ mediaType: string; configMediaType: string | null; artifactType: string | null } | null> {
    const row = await this.db
      .selectFrom('manifest_refs')
      .innerJoin('manifests', (j) => j.onRef('manifests.repo', '=', 'manifest_refs.repo').onRef('manifests.digest', '=', 'manifest_refs.digest'))
      .select(['manifests.media_type', 'manifests.config_media_type', 'manifests.artifact_type'])
      .where('manifest_refs.repo', '=', repo)
      .where('manifest_refs.child', '=', child)
      .limit(1)
      .executeTakeFirst();
    return row ? { mediaType: row.media_type, configMediaType: row.config_media_type, artifactType: row.artifact_type } : null;
  }

  /** Locks the manifest for deletion (PostgreSQL: FOR UPDATE); false when it does not exist. */
  async lockForDelete(repo: RepoName, digest: Digest): Promise<boolean> {
    let q = this.db.selectFrom('manifests').select('digest').where('repo', '=', repo).where('digest', '=', digest);
    if (this.rowLocks) q = q.forUpdate();
    return (await q.executeTakeFirst()) !== undefined;
  }

  /** Indexes of `repo` that list `digest` as a child, with their tags. */
  async listedBy(repo: RepoName, digest: Digest, limit = 10): Promise<{ digest: Digest; tags: Tag[] }[]> {
    const rows = await this.db
      .selectFrom('manifest_refs')
      .select('digest')
      .where('repo', '=', repo)
      .where('child', '=', digest)
      .where('kind', '=', 'manifest')
      .where('digest', '!=', digest)
      .orderBy('digest')
      .limit(limit)
      .execute();
    const out: { digest: Digest; tags: Tag[] }[] = [];
    for (const r of rows) {
      const tags = await this.db.selectFrom('tags').select('name').where('repo', '=', repo).where('digest', '=', r.digest).orderBy('name').execute();
      out.push({ digest: r.digest as Digest, tags: tags.map((t) => t.name as Tag) });
    }
    return out;
  }

  /** Inserts the manifest and its references; a re-push of identical bytes is a no-op (false). */
  async put(m: ManifestRecord, children: readonly ManifestChild[]): Promise<boolean> {
    const res = await this.db
      .insertInto('manifests')
      .values({
        repo: m.repo,
        digest: m.digest,
        media_type: m.mediaType,
        size: m.size,
        content: m.content,
        artifact_type: m.artifactType,
        config_media_type: m.configMediaType,
        config_digest: m.configDigest,
        subject: m.subject,
        annotations: m.annotations ? JSON.stringify(m.annotations) : null,
        created_at: m.createdAt,
      })
      .onConflict((oc) => oc.columns(['repo', 'digest']).doNothing())
      // A row comes back only when this statement inserted it (not on a conflict).
      .returning('digest')
      .executeTakeFirst();
    if (!res) return false;
    // One row per child digest (a manifest may list the same blob many times).
    const unique = [...new Map(children.map((c) => [c.digest, c])).values()];
    for (const batch of batches(unique, INSERT_BATCH)) {
      await this.db
        .insertInto('manifest_refs')
        .values(batch.map((c) => ({ repo: m.repo, digest: m.digest, child: c.digest, kind: c.kind })))
        .onConflict((oc) => oc.columns(['repo', 'digest', 'child']).doNothing())
        .execute();
    }
    return true;
  }

  /**
   * Deletes the manifest, its references and every tag pointing at it: the one hard-delete path
   * (a /v2 DELETE, and a trash purge with `trashed: true`). A manifest in the trash is unknown to
   * a plain delete; only its purge removes it.
   */
  async delete(repo: RepoName, digest: Digest, opts: { trashed?: boolean } = {}): Promise<boolean> {
    const res = await this.db
      .deleteFrom('manifests')
      .where('repo', '=', repo)
      .where('digest', '=', digest)
      .where('trashed_at', opts.trashed ? 'is not' : 'is', null)
      .returning('size')
      .executeTakeFirst();
    if (!res) return false;
    // The owner's quota usage gives the bytes back in the same transaction (ADR 0013).
    await releaseManifest(this.db, repo, digest, Number(res.size));
    const untagged = await this.db.deleteFrom('tags').where('repo', '=', repo).where('digest', '=', digest).executeTakeFirst();
    if (untagged.numDeletedRows > 0n) await bumpTagVersion(this.db, repo);
    await this.db.deleteFrom('manifest_refs').where('repo', '=', repo).where('digest', '=', digest).execute();
    return true;
  }

  /** Manifests in `repo` whose subject is `subject`, oldest first. */
  async referrers(repo: RepoName, subject: Digest, artifactType?: string): Promise<ManifestRecord[]> {
    let q = this.db
      .selectFrom('manifests')
      .selectAll()
      .where('repo', '=', repo)
      .where('subject', '=', subject)
      .where('trashed_at', 'is', null)
      .orderBy('created_at')
      .orderBy('digest');
    if (artifactType !== undefined) q = q.where('artifact_type', '=', artifactType);
    return (await q.execute()).map(toRecord);
  }
}

/** Tag changes bump it in the same transaction, so a reader never sees new tags with an old version. */
export async function bumpTagVersion(db: Kysely<DB>, repo: RepoName): Promise<void> {
  await db
    .updateTable('repositories')
    .set((eb) => ({ tag_version: eb('tag_version', '+', 1) }))
    .where('name', '=', repo)
    .execute();
}

export class TagStore {
  private readonly db: Kysely<DB>;
  private readonly prepared: PreparedQueries;
  constructor(db: Kysely<DB>) {
    this.db = db;
    this.prepared = new PreparedQueries(db as unknown as Kysely<never>);
  }

  /** The manifest a tag points at, in one query (the hot path of every pull). */
  async resolve(repo: RepoName, tag: Tag): Promise<ManifestRecord | null> {
    const [row] = await this.prepared.rows('tag.resolve', [repo, tag], () =>
      this.db
        .selectFrom('tags')
        .innerJoin('manifests', (j) => j.onRef('manifests.repo', '=', 'tags.repo').onRef('manifests.digest', '=', 'tags.digest'))
        .selectAll('manifests')
        .where('tags.repo', '=', repo)
        .where('tags.name', '=', tag)
        // Never true while the trash keeps its invariant (a trashed manifest has no tag row);
        // a guard on the joined row costs nothing.
        .where('manifests.trashed_at', 'is', null),
    );
    return row ? toRecord(row) : null;
  }

  /** Where each of `tags` points now (absent: untagged); read before a push moves them. */
  async digestsOf(repo: RepoName, tags: readonly Tag[]): Promise<Map<Tag, Digest>> {
    if (tags.length === 0) return new Map();
    const rows = await this.db.selectFrom('tags').select(['name', 'digest']).where('repo', '=', repo).where('name', 'in', [...tags]).execute();
    return new Map(rows.map((r) => [r.name as Tag, r.digest as Digest]));
  }

  async put(repo: RepoName, tag: Tag, digest: Digest, now: number): Promise<void> {
    await this.db
      .insertInto('tags')
      .values({ repo, name: tag, digest, updated_at: now })
      .onConflict((oc) => oc.columns(['repo', 'name']).doUpdateSet({ digest, updated_at: now }))
      .execute();
    await bumpTagVersion(this.db, repo);
  }

  async delete(repo: RepoName, tag: Tag): Promise<boolean> {
    const res = await this.db.deleteFrom('tags').where('repo', '=', repo).where('name', '=', tag).executeTakeFirst();
    if (res.numDeletedRows === 0n) return false;
    await bumpTagVersion(this.db, repo);
    return true;
  }

  /** Every tag name of the repository in lexical (byte) order. */
  async names(repo: RepoName): Promise<Tag[]> {
    return (await this.db.selectFrom('tags').select('name').where('repo', '=', repo).orderBy('name').execute()).map((r) => r.name as Tag);
  }

  async forDigest(repo: RepoName, digest: Digest): Promise<Tag[]> {
    const rows = await this.db.selectFrom('tags').select('name').where('repo', '=', repo).where('digest', '=', digest).orderBy('name').execute();
    return rows.map((r) => r.name as Tag);
  }
}

export interface UploadRecord {
  id: string;
  repo: RepoName;
  createdAt: number;
  updatedAt: number;
}

/**
 * Upload sessions live in the database so they survive restarts and are shared by replicas.
 *
 * A *pin* (`uploads.digest`) keeps a digest's bytes from GC while a session commits into it. It
 * must not commit between a GC batch's check of that digest and its deletion of the bytes
 * (docs/adr/0009-garbage-collection.md, I1; docs/adr/0027-fewer-writes-per-pushed-blob.md). A pin
 * is one statement on both dialects, committed on its own:
 * - SQLite: writers are serial (one connection, `BEGIN IMMEDIATE` across processes) and a GC
 *   batch is one write transaction, so a lone `UPDATE` cannot fall inside one.
 * - PostgreSQL (`rowLocks`): the statement also upserts the digest's `blob_locks` row (a
 *   data-modifying CTE), which a GC batch holds for its whole transaction, so the pin waits for
 *   the batch, and a batch starting later waits for the pin and then sees it. The row stays after
 *   the pin commits (a lock is the row lock, not the row): `finish` removes it with the session
 *   row, and GC removes rows that no session pins any more (`GcStore.dropIdleBlobLocks`).
 */
export class UploadSessionStore {
  private readonly db: Kysely<DB>;
  private readonly rowLocks: boolean;
  constructor(db: Kysely<DB>, opts: { rowLocks?: boolean } = {}) {
    this.db = db;
    this.rowLocks = opts.rowLocks ?? false;
  }

  /**
   * A new session row; with `digest`, pinned from its first instant (a monolithic upload knows its
   * digest before any byte is stored), in the one statement (see the class comment).
   */
  async create(id: string, repo: RepoName, now: number, digest?: Digest): Promise<void> {
    const row = { id, repo, created_at: now, updated_at: now, ...(digest === undefined ? {} : { digest }) };
    if (digest === undefined || !this.rowLocks) {
      await this.db.insertInto('uploads').values(row).execute();
      return;
    }
    // A data-modifying CTE runs to completion whether or not the statement reads it.
    await this.db
      .with('lock', (db) => this.lockDigest(db, digest))
      .insertInto('uploads')
      .values(row)
      .execute();
  }

  async get(id: string): Promise<UploadRecord | null> {
    const row = await this.db.selectFrom('uploads').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? { id: row.id, repo: row.repo as RepoName, createdAt: Number(row.created_at), updatedAt: Number(row.updated_at) } : null;
  }

  async touch(id: string, now: number): Promise<void> {
    await this.db.updateTable('uploads').set({ updated_at: now }).where('id', '=', id).execute();
  }

  /** Whether there was a row to delete. */
  async delete(id: string): Promise<boolean> {
    const res = await this.db.deleteFrom('uploads').where('id', '=', id).executeTakeFirst();
    return res.numDeletedRows > 0n;
  }

  /**
   * The session committed into `digest` (call in the transaction that links it): its row goes,
   * and on PostgreSQL the digest's `blob_locks` row its pin left. Whether there was a session row.
   */
  async finish(id: string, digest: Digest): Promise<boolean> {
    const gone = await this.delete(id);
    if (this.rowLocks) await this.db.deleteFrom('blob_locks').where('digest', '=', digest).execute();
    return gone;
  }

  /** Open sessions (not committed, cancelled or purged yet). */
  async count(): Promise<number> {
    const row = await this.db.selectFrom('uploads').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /**
   * Pins `digest` for the session's commit, in one statement (class comment): GC keeps those
   * bytes while the row says so. With `repo`, only a session of that repository is pinned, so the
   * pin is also the request's check that the session exists there. Returns false when no session
   * was pinned (unknown, of another repository, or cancelled meanwhile).
   */
  async pin(id: string, digest: Digest, repo?: RepoName): Promise<boolean> {
    let q = this.rowLocks
      ? this.db
          .with('lock', (db) => this.lockDigest(db, digest))
          .updateTable('uploads')
          .set({ digest })
          .where('id', '=', id)
      : this.db.updateTable('uploads').set({ digest }).where('id', '=', id);
    if (repo !== undefined) q = q.where('repo', '=', repo);
    const updated = await q.executeTakeFirst();
    return Number(updated.numUpdatedRows) > 0;
  }

  /** Upserts the digest's blob_locks row: waits for a GC batch holding it, then holds it until commit. */
  private lockDigest(db: QueryCreator<DB>, digest: Digest) {
    return db
      .insertInto('blob_locks')
      .values({ digest })
      .onConflict((oc) => oc.column('digest').doUpdateSet({ digest }))
      .returning('digest');
  }

  async staleSince(before: number, limit: number): Promise<string[]> {
    const rows = await this.db.selectFrom('uploads').select('id').where('updated_at', '<', before).limit(limit).execute();
    return rows.map((r) => r.id);
  }
}
