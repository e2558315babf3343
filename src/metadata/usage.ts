import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { DB } from './schema.ts';

/** Stored bytes, split by what is live and what only the trash keeps. */
export interface UsageFigures {
  /** Bytes of blobs (deduplicated) and manifests that live versions use. */
  liveBytes: number;
  /** Bytes kept only by versions in the trash (freed by the GC run after their purge). */
  trashedBytes: number;
  blobs: number;
  blobBytes: number;
  manifests: number;
  manifestBytes: number;
}

type Num = number | string | bigint | null;
interface BlobRow {
  live_bytes: Num;
  trashed_bytes: Num;
  blobs: Num;
}
interface ManifestRow {
  live_bytes: Num;
  trashed_bytes: Num;
  manifests: Num;
}

const n = (v: Num | undefined): number => Number(v ?? 0);

/**
 * Storage usage computed from the rows themselves, so it is exact by construction (no counter to
 * drift under concurrent pushes, deletes, GC or a kill -9; ADR 0010). A blob counts once per scope
 * however many manifests and packages of the scope reference it; it is live when any live
 * manifest of the scope references it, else trashed. Manifests are stored per repository, so each
 * row counts. Trashed means a member of `trash_manifests` (set in the same transaction as
 * `manifests.trashed_at`). Blobs linked but referenced by no manifest (an unfinished push, a deleted
 * version before GC) are not usage: GC frees them.
 */
export class UsageStore {
  private readonly db: Kysely<DB>;
  constructor(db: Kysely<DB>) {
    this.db = db;
  }

  async ofPackage(repo: string): Promise<UsageFigures> {
    return this.figures(sql`r.name = ${repo}`, sql`m.repo = ${repo}`, sql`mr.repo = ${repo}`);
  }

  async ofOwner(owner: string): Promise<UsageFigures> {
    return this.figures(sql`r.owner = ${owner}`, sql`1 = 1`, sql`1 = 1`);
  }

  async site(): Promise<UsageFigures> {
    return this.figures(sql`1 = 1`, sql`1 = 1`, sql`1 = 1`);
  }

  /** Every owner with at least one package. */
  async owners(): Promise<string[]> {
    const rows = await this.db.selectFrom('repositories').select('owner').distinct().orderBy('owner').execute();
    return rows.map((r) => r.owner);
  }

  /** Per package of an owner (not deduplicated across them), for the owner's list. */
  async perPackage(owner: string): Promise<Map<string, UsageFigures>> {
    const out = new Map<string, UsageFigures>();
    const repos = await this.db.selectFrom('repositories').select('name').where('owner', '=', owner).orderBy('name').execute();
    for (const r of repos) out.set(r.name, await this.ofPackage(r.name));
    return out;
  }

  private async figures(repoScope: RawBuilder<unknown>, manifestScope: RawBuilder<unknown>, refScope: RawBuilder<unknown>): Promise<UsageFigures> {
    // Blobs: one row per distinct digest in scope, live when any live manifest references it.
    // Walks repositories → manifest_refs → repo_blobs on their keys; a manifest is trashed when
    // the trash's (small) membership table has it, which spares reading manifest rows.
    const blobs = await sql<BlobRow>`
      select coalesce(sum(case when b.live = 1 then b.size else 0 end), 0) as live_bytes,
             coalesce(sum(case when b.live = 0 then b.size else 0 end), 0) as trashed_bytes,
             count(*) as blobs
      from (
        select mr.child as digest, max(rb.size) as size, max(case when tm.digest is null then 1 else 0 end) as live
        from repositories r
        join manifest_refs mr on mr.repo = r.name and mr.kind = 'blob'
        join repo_blobs rb on rb.repo = mr.repo and rb.digest = mr.child
        left join trash_manifests tm on tm.repo = mr.repo and tm.digest = mr.digest
        where ${repoScope} and ${refScope}
        group by mr.child
      ) b`.execute(this.db);
    const manifests = await sql<ManifestRow>`
      select coalesce(sum(case when tm.digest is null then m.size else 0 end), 0) as live_bytes,
             coalesce(sum(case when tm.digest is null then 0 else m.size end), 0) as trashed_bytes,
             count(*) as manifests
      from repositories r
      join manifests m on m.repo = r.name
      left join trash_manifests tm on tm.repo = m.repo and tm.digest = m.digest
      where ${repoScope} and ${manifestScope}`.execute(this.db);
    const b = blobs.rows[0];
    const m = manifests.rows[0];
    return {
      liveBytes: n(b?.live_bytes) + n(m?.live_bytes),
      trashedBytes: n(b?.trashed_bytes) + n(m?.trashed_bytes),
      blobs: n(b?.blobs),
      blobBytes: n(b?.live_bytes) + n(b?.trashed_bytes),
      manifests: n(m?.manifests),
      manifestBytes: n(m?.live_bytes) + n(m?.trashed_bytes),
    };
  }
}

export interface OwnerBytes {
  owner: string;
  bytes: number;
}

/**
 * Bytes linked to each owner's repositories, for the metrics gauge: one grouped scan of
 * repo_blobs instead of a UsageStore query per owner. Every blob link counts (a layer in two
 * repositories counts twice, trash included), so the figures are an upper bound of what
 * UsageStore.ofOwner reports; swap in a grouped form of that query when there is one.
 */
export async function storageByOwner(db: Kysely<DB>): Promise<OwnerBytes[]> {
  const rows = await db
    .selectFrom('repo_blobs')
    .innerJoin('repositories', 'repositories.name', 'repo_blobs.repo')
    .select(['repositories.owner as owner', sql<number>`sum(repo_blobs.size)`.as('bytes')])
    .groupBy('repositories.owner')
    .execute();
  return rows.map((r) => ({ owner: r.owner, bytes: Number(r.bytes) }));
}
