/**
 * Quotas' bookkeeping (ADR 0013, as ADR 0010 proposed): `owner_blobs` counts, per owner, how many
 * manifest references each blob has; `owner_usage` is the owner's deduplicated bytes (blobs with at
 * least one reference, once each, plus every manifest row). Both change only in the transactions
 * that insert a manifest (`addManifest`, called by the registry when the row is new) and delete one
 * (`releaseManifest`, called by the one hard-delete path and by a package's deletion), so they
 * commit or roll back with them — a kill -9 cannot leave them apart. The per-blob row serialises
 * two packages of one owner adding the same new blob: the 0→1 transition is counted once. The
 * trash keeps rows (and so bytes) until its purge, as the exact usage query counts them.
 */
import { type Kysely, sql } from 'kysely';
import type { Digest } from '../oci/digest.ts';
import { batchesOf } from './registry.ts';
import type { DB } from './schema.ts';

export type QuotaTables = {
  owner_blobs: { owner: string; digest: string; size: number; refs: number };
  owner_usage: { owner: string; bytes: number };
  owner_quotas: { owner: string; bytes: number; updated_at: number; updated_by: string };
};

type QDB = DB & QuotaTables;

async function addUsage(db: Kysely<QDB>, owner: string, delta: number): Promise<void> {
  if (delta === 0) return;
  await db
    .insertInto('owner_usage')
    .values({ owner, bytes: delta })
    .onConflict((oc) => oc.column('owner').doUpdateSet({ bytes: sql<number>`owner_usage.bytes + ${delta}` }))
    .execute();
}

/**
 * Takes the owner's usage row before any `owner_blobs` row. Every transaction that changes the
 * bookkeeping updates that row anyway (and holds it to the end), so taking it first costs no
 * extra waiting and gives all of them one lock order: two pushes of one owner sharing layers in
 * different orders, or a push and a delete, can no longer deadlock on PostgreSQL.
 */
async function lockUsage(db: Kysely<QDB>, owner: string): Promise<void> {
  await db
    .insertInto('owner_usage')
    .values({ owner, bytes: 0 })
    .onConflict((oc) => oc.column('owner').doUpdateSet({ bytes: sql<number>`owner_usage.bytes` }))
    .execute();
}

/** A new manifest row of `owner`: its bytes, and each blob it references (unique digests) once more. */
export async function addManifest(db: Kysely<DB>, owner: string, manifestBytes: number, blobs: readonly { digest: Digest; size: number }[]): Promise<void> {
  const q = db.withTables<QuotaTables>();
  let delta = manifestBytes;
  const unique = [...new Map(blobs.map((b) => [b.digest, b])).values()];
  await lockUsage(q, owner);
  // One statement per blob: RETURNING says whether this reference was the owner's first.
  for (const b of unique) {
    const row = await q
      .insertInto('owner_blobs')
      .values({ owner, digest: b.digest, size: b.size, refs: 1 })
      .onConflict((oc) => oc.columns(['owner', 'digest']).doUpdateSet({ refs: sql<number>`owner_blobs.refs + 1` }))
      .returning('refs')
      .executeTakeFirst();
    if (Number(row?.refs) === 1) delta += b.size;
  }
  await addUsage(q, owner, delta);
}

/** Before deleting manifest `digest` of `repo` (its refs rows still present): gives its bytes back. */
export async function releaseManifest(db: Kysely<DB>, repo: string, digest: string, manifestBytes: number): Promise<void> {
  const q = db.withTables<QuotaTables>();
  const owner = (await q.selectFrom('repositories').select('owner').where('name', '=', repo).executeTakeFirst())?.owner;
  if (owner === undefined) return;
  await lockUsage(q, owner);
  const children = (await q.selectFrom('manifest_refs').select('child').where('repo', '=', repo).where('digest', '=', digest).where('kind', '=', 'blob').execute()).map((r) => r.child);
  let delta = -manifestBytes;
  for (const batch of batchesOf(children)) {
    const rows = await q
      .updateTable('owner_blobs')
      .set({ refs: sql<number>`refs - 1` })
      .where('owner', '=', owner)
      .where('digest', 'in', batch)
      .returning(['digest', 'refs', 'size'])
      .execute();
    const gone = rows.filter((r) => Number(r.refs) <= 0);
    for (const r of gone) delta -= Number(r.size);
    if (gone.length > 0) await q.deleteFrom('owner_blobs').where('owner', '=', owner).where('digest', 'in', gone.map((r) => r.digest)).where('refs', '<=', 0).execute();
  }
  await addUsage(q, owner, delta);
}

export class QuotaStore {
  private readonly db: Kysely<QDB>;
  private readonly base: Kysely<DB>;
  private readonly rowLocks: boolean;
  constructor(db: Kysely<DB>, opts: { rowLocks?: boolean } = {}) {
    this.base = db;
    this.db = db.withTables<QuotaTables>();
    this.rowLocks = opts.rowLocks ?? false;
  }

  /** See addManifest: call in the transaction that inserted the manifest row. */
  async addManifest(owner: string, manifestBytes: number, blobs: readonly { digest: Digest; size: number }[]): Promise<void> {
    await addManifest(this.base, owner, manifestBytes, blobs);
  }

  /**
   * The owner's maintained bytes; `lock` (in a transaction, PostgreSQL) holds its row until the
   * end — created first when missing, since FOR UPDATE on a row that is not there locks nothing.
   */
  async used(owner: string, opts: { lock?: boolean } = {}): Promise<number> {
    if (opts.lock && this.rowLocks) {
      await this.db.insertInto('owner_usage').values({ owner, bytes: 0 }).onConflict((oc) => oc.column('owner').doNothing()).execute();
    }
    let q = this.db.selectFrom('owner_usage').select('bytes').where('owner', '=', owner);
    if (opts.lock && this.rowLocks) q = q.forUpdate();
    return Number((await q.executeTakeFirst())?.bytes ?? 0);
  }

  /** Of `digests`, those the owner's manifests already reference (they do not count again). */
  async held(owner: string, digests: readonly string[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (const batch of batchesOf([...new Set(digests)])) {
      for (const r of await this.db.selectFrom('owner_blobs').select('digest').where('owner', '=', owner).where('digest', 'in', batch).where('refs', '>', 0).execute()) out.add(r.digest);
    }
    return out;
  }

  async limit(owner: string): Promise<number | null> {
    const row = await this.db.selectFrom('owner_quotas').select('bytes').where('owner', '=', owner).executeTakeFirst();
    return row ? Number(row.bytes) : null;
  }

  async setLimit(owner: string, bytes: number | null, now: number, by: string): Promise<void> {
    if (bytes === null) {
      await this.db.deleteFrom('owner_quotas').where('owner', '=', owner).execute();
      return;
    }
    await this.db
      .insertInto('owner_quotas')
      .values({ owner, bytes, updated_at: now, updated_by: by })
      .onConflict((oc) => oc.column('owner').doUpdateSet({ bytes, updated_at: now, updated_by: by }))
      .execute();
  }

  /** Every owner with usage or an override, with both. */
  async all(): Promise<{ owner: string; used: number; limit: number | null }[]> {
    const used = await this.db.selectFrom('owner_usage').select(['owner', 'bytes']).execute();
    const limits = await this.db.selectFrom('owner_quotas').select(['owner', 'bytes']).execute();
    const out = new Map<string, { owner: string; used: number; limit: number | null }>();
    for (const u of used) out.set(u.owner, { owner: u.owner, used: Number(u.bytes), limit: null });
    for (const l of limits) out.set(l.owner, { owner: l.owner, used: out.get(l.owner)?.used ?? 0, limit: Number(l.bytes) });
    return [...out.values()].sort((a, b) => (a.owner < b.owner ? -1 : 1));
  }
}
