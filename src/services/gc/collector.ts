import type { Assumed, ManifestKey } from '../../metadata/gc.ts';
import type { Metadata } from '../../metadata/metadata.ts';
import type { Digest } from '../../oci/digest.ts';
import type { BlobStore, UploadStore } from '../../storage/types.ts';
import type { RegistryEventBus } from '../events.ts';
import type { Job, JobContext } from '../jobs/runner.ts';
import type { UploadService } from '../uploads.ts';
import { Pacer } from './pacer.ts';

/** The job (and lease) name: a backup holds this lease to keep GC out while it copies. */
export const GC_JOB = 'gc';

export const PHASES = ['uploads', 'referrers', 'links', 'blobs'] as const;
export type GcPhase = (typeof PHASES)[number];

export interface GcOptions extends Record<string, unknown> {
  dryRun: boolean;
}

export interface PhaseSummary {
  ms: number;
  /** Items looked at (sessions, manifests, links, stored blobs). */
  scanned: number;
  /** Items removed, or that a real run would remove. */
  removed: number;
  bytes: number;
}

/** What a run freed (or, dry, would free); kept with the run and in the audit log. */
export interface GcSummary extends Record<string, unknown> {
  dryRun: boolean;
  /** False only when a dry run met more orphaned referrers than it follows (REFERRER_CEILING). */
  exact: boolean;
  graceSeconds: number;
  manifestsDeleted: number;
  linksRemoved: number;
  blobsScanned: number;
  blobsDeleted: number;
  bytesFreed: number;
  uploadsRemoved: number;
  multipartAborted: number;
  durationMs: number;
  /** Of durationMs, the time the run paused to let requests in (gc.loadShare). */
  pausedMs: number;
  phases: Record<GcPhase, PhaseSummary>;
  /** Failed batches (first few); the run goes on with the next batch. */
  errors: string[];
}

export interface GcDeps {
  metadata: Metadata;
  store: BlobStore & UploadStore;
  uploads: UploadService;
  events: RegistryEventBus;
  clock: () => number;
  graceSeconds: number;
  /** Defaults to the grace. */
  referrersGraceSeconds?: number | undefined;
  /**
   * How often pushes refresh a link's timestamp (registry.ts), for the cutoff's margin; default
   * touchEveryMs(graceSeconds). The server passes the one the registry uses, from the config
   * file's grace: a grace changed at run time (ADR 0025) must not shrink the margin below the
   * touch interval replicas actually use.
   */
  touchEveryMs?: number | undefined;
  /** Upload sessions idle this long are abandoned (config uploads.staleAfterSeconds). */
  staleUploadSeconds: number;
  /** The share of time a run may take while the server is serving requests (config gc.loadShare); default 1. */
  loadShare?: number | undefined;
  /** Whether requests were served since the previous call; absent (the CLI) = never busy. */
  busy?: (() => boolean) | undefined;
}

/** Blobs decided together: one reference query and, for a real run, one locked transaction. */
const BATCH = 500;
const PAGE = 500;
/** Unreferenced blobs re-checked and deleted per locked transaction. */
const LOCKED_CHUNK = 64;
/**
 * A dry run keeps the orphaned referrers it finds in memory to follow cascades (a signature of a
 * removed SBOM) exactly; past this many it stops following and reports `exact: false`.
 */
export const REFERRER_CEILING = 5000;
/** Stored sessions without a database row are removed once this old (a row is written first). */
const ORPHAN_SESSION_MS = 10 * 60_000;
/** Multipart copies left by a killed commit of a very large blob. */
const INCOMPLETE_COPY_MS = 24 * 3600_000;
const MAX_ERRORS = 20;

/**
 * How stale a link's stored touch may get before a use writes a new one. GC adds it to the grace,
 * so a HEAD/GET still protects the link for the whole grace while writing at most once per
 * eighth of it (docs/adr/0009-garbage-collection.md).
 */
export function touchEveryMs(graceSeconds: number): number {
  return Math.floor((graceSeconds * 1000) / 8);
}

function emptyPhases(): Record<GcPhase, PhaseSummary> {
  return {
    uploads: { ms: 0, scanned: 0, removed: 0, bytes: 0 },
    referrers: { ms: 0, scanned: 0, removed: 0, bytes: 0 },
    links: { ms: 0, scanned: 0, removed: 0, bytes: 0 },
    blobs: { ms: 0, scanned: 0, removed: 0, bytes: 0 },
  };
}

async function* batched<T>(items: AsyncIterable<T>, size: number): AsyncIterable<T[]> {
  let batch: T[] = [];
  for await (const item of items) {
    batch.push(item);
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

const keyOf = (k: ManifestKey) => `${k.repo} ${k.digest}`;

/**
 * Online garbage collection, one run (docs/adr/0009-garbage-collection.md). Phases, in order:
 * abandoned upload sessions, orphaned referrers, repository links nobody uses, then the blob
 * store's bytes nothing needs. Every step re-checks in the database at the moment it acts, so a
 * run is safe beside live pushes, another run, or a kill -9 at any point. A dry run walks the
 * same phases and reports what a real run started at the same moment would remove.
 */
export class GarbageCollector implements Job<GcOptions, GcSummary> {
  readonly name = GC_JOB;
  private readonly deps: GcDeps;

  constructor(deps: GcDeps) {
    this.deps = deps;
  }

  /** One run; every run, dry or not and however triggered, leaves an audit row (action gc.run). */
  async run(ctx: JobContext, options: GcOptions): Promise<GcSummary> {
    try {
      const summary = await this.collect(ctx, options);
      await this.audit(ctx, { status: 'succeeded', summary });
      return summary;
    } catch (err) {
      await this.audit(ctx, { status: ctx.signal.aborted ? 'interrupted' : 'failed', error: err instanceof Error ? err.message : String(err) }).catch(
        (e: unknown) => ctx.log.warn({ err: e }, 'gc audit failed'),
      );
      throw err;
    }
  }

  private async audit(ctx: JobContext, detail: Record<string, unknown>): Promise<void> {
    await this.deps.metadata.audit.append({
      at: this.deps.clock(),
      actor: ctx.actor ?? 'system',
      actorKind: ctx.actor ? 'user' : 'system',
      action: 'gc.run',
      target: GC_JOB,
      detail: { run: ctx.runId, trigger: ctx.trigger, ...detail },
      address: null,
      outcome: detail['status'] === 'succeeded' ? 'success' : 'failure',
    });
  }

  private async collect(ctx: JobContext, options: GcOptions): Promise<GcSummary> {
    const { clock } = this.deps;
    const started = clock();
    const graceMs = this.deps.graceSeconds * 1000;
    const run = new Run(this.deps, ctx, options.dryRun, {
      linkCutoff: started - graceMs - (this.deps.touchEveryMs ?? touchEveryMs(this.deps.graceSeconds)),
      referrerCutoff: started - (this.deps.referrersGraceSeconds ?? this.deps.graceSeconds) * 1000,
      sessionCutoff: started - this.deps.staleUploadSeconds * 1000,
      now: started,
    });
    await run.phase('uploads', () => run.uploads());
    await run.phase('referrers', () => run.referrers());
    await run.phase('links', () => run.links());
    await run.phase('blobs', () => run.blobs());
    const p = run.phases;
    return {
      dryRun: options.dryRun,
      exact: run.exact,
      graceSeconds: this.deps.graceSeconds,
      manifestsDeleted: p.referrers.removed,
      linksRemoved: p.links.removed,
      blobsScanned: p.blobs.scanned,
      blobsDeleted: p.blobs.removed,
      bytesFreed: p.blobs.bytes,
      uploadsRemoved: p.uploads.removed,
      multipartAborted: run.multipartAborted,
      durationMs: clock() - started,
      pausedMs: Math.round(run.pacer.pausedMs),
      phases: p,
      errors: run.errors,
    };
  }
}

interface Cutoffs {
  linkCutoff: number;
  referrerCutoff: number;
  sessionCutoff: number;
  now: number;
}

/** The state of one run: counters, the dry run's assumptions, errors. */
class Run {
  readonly phases = emptyPhases();
  readonly errors: string[] = [];
  exact = true;
  multipartAborted = 0;
  private current: GcPhase = 'uploads';
  /** Dry runs: the orphaned referrers a real run would delete (bounded by REFERRER_CEILING). */
  private readonly removedManifests: ManifestKey[] = [];
  private readonly deps: GcDeps;
  private readonly ctx: JobContext;
  private readonly dry: boolean;
  private readonly cut: Cutoffs;
  readonly pacer: Pacer;

  constructor(deps: GcDeps, ctx: JobContext, dry: boolean, cut: Cutoffs) {
    this.deps = deps;
    this.ctx = ctx;
    this.dry = dry;
    this.cut = cut;
    this.pacer = new Pacer({ share: deps.loadShare ?? 1, busy: deps.busy });
  }

  async phase(name: GcPhase, fn: () => Promise<void>): Promise<void> {
    this.current = name;
    const t = this.deps.clock();
    this.report();
    await fn();
    this.phases[name].ms = this.deps.clock() - t;
    this.report();
  }

  private report(): void {
    const p = this.phases[this.current];
    this.ctx.progress({ phase: this.current, dryRun: this.dry, scanned: p.scanned, found: p.removed, bytes: p.bytes });
  }

  /** Between batches: stop when asked (shutdown, lost lease) and let requests in. */
  private async checkpoint(): Promise<void> {
    this.ctx.signal.throwIfAborted();
    this.report();
    await this.pacer.pace(this.ctx.signal);
  }

  private async guarded(what: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      if (this.ctx.signal.aborted) throw err;
      const message = `${this.current}: ${what}: ${err instanceof Error ? err.message : String(err)}`;
      this.ctx.log.warn({ err, phase: this.current }, 'gc batch failed');
      if (this.errors.length < MAX_ERRORS) this.errors.push(message);
    }
  }

  private get assumed(): Assumed | undefined {
    if (!this.dry) return undefined;
    return { linkCutoff: this.cut.linkCutoff, sessionCutoff: this.cut.sessionCutoff, manifests: this.removedManifests };
  }

  // ---- uploads -----------------------------------------------------------------------------

  async uploads(): Promise<void> {
    const { metadata, store, uploads } = this.deps;
    const p = this.phases.uploads;
    const staleMs = this.cut.now - this.cut.sessionCutoff;
    if (this.dry) {
      const n = await metadata.gc.staleSessions(this.cut.sessionCutoff);
      p.scanned += n;
      p.removed += n;
    } else {
      for (;;) {
        const n = await uploads.purgeStale(staleMs, this.cut.now);
        p.scanned += n;
        p.removed += n;
        await this.checkpoint();
        if (n === 0) break;
      }
      // Lock rows a killed or failed push left (UploadSessionStore, PostgreSQL): empty at rest again.
      await metadata.gc.dropIdleBlobLocks();
    }
    // Bytes of sessions no row owns: a start, commit or abort killed halfway.
    const before = this.cut.now - ORPHAN_SESSION_MS;
    const old = async function* () {
      for await (const s of store.sessions()) if (s.modifiedAt < before) yield s.id;
    };
    for await (const ids of batched(old(), BATCH)) {
      await this.guarded('abandoned sessions', async () => {
        p.scanned += ids.length;
        const known = await metadata.gc.knownSessions(ids);
        for (const id of ids) {
          if (known.has(id)) continue;
          if (!this.dry) await store.abort(id);
          p.removed++;
        }
      });
      await this.checkpoint();
    }
    if (!this.dry && store.sweepIncomplete) {
      await this.guarded('incomplete copies', async () => {
        this.multipartAborted += (await store.sweepIncomplete?.(this.cut.now - INCOMPLETE_COPY_MS)) ?? 0;
      });
    }
  }

  // ---- referrers ---------------------------------------------------------------------------

  /**
   * Untagged referrers whose subject is gone and that are older than the referrers' grace. Passes
   * repeat while they find some, so a signature of a removed SBOM goes in the same run.
   */
  async referrers(): Promise<void> {
    const p = this.phases.referrers;
    const seen = new Set<string>();
    for (let pass = 0; pass < 16; pass++) {
      let found = 0;
      let after: ManifestKey | null = null;
      for (;;) {
        const page = await this.deps.metadata.gc.orphanReferrers({ cutoff: this.cut.referrerCutoff, after, limit: PAGE, removed: this.removedManifests });
        if (page.length === 0) break;
        after = page[page.length - 1] ?? null;
        for (const k of page) {
          if (this.dry) {
            if (seen.has(keyOf(k))) continue;
            if (this.removedManifests.length >= REFERRER_CEILING) {
              this.exact = false;
              continue;
            }
            seen.add(keyOf(k));
            this.removedManifests.push(k);
            p.scanned++;
            p.removed++;
            found++;
          } else {
            p.scanned++;
            await this.guarded(`referrer ${k.repo}@${k.digest}`, async () => {
              if (await this.deleteReferrer(k)) {
                p.removed++;
                found++;
              }
            });
          }
        }
        await this.checkpoint();
      }
      if (found === 0) break;
    }
  }

  /** Deletes the referrer if it is still an orphan now (checked under the manifest's lock). */
  private async deleteReferrer(k: ManifestKey): Promise<boolean> {
    const deleted = await this.deps.metadata.transaction(async (m) => {
      if (!(await m.manifests.lockForDelete(k.repo, k.digest))) return false;
      const still = await m.gc.orphanReferrers({ cutoff: this.cut.referrerCutoff, after: null, limit: 1, removed: [], only: k });
      if (still.length === 0) return false;
      return m.manifests.delete(k.repo, k.digest);
    });
    if (deleted) this.deps.events.emit('manifest.deleted', { repo: k.repo, digest: k.digest });
    return deleted;
  }

  // ---- links -------------------------------------------------------------------------------

  /** Links out of the grace that no manifest of their repository references. */
  async links(): Promise<void> {
    const p = this.phases.links;
    let after: ManifestKey | null = null;
    for (;;) {
      const page = await this.deps.metadata.gc.removableLinks({
        cutoff: this.cut.linkCutoff,
        after,
        limit: PAGE,
        removed: this.dry ? this.removedManifests : [],
      });
      if (page.length === 0) break;
      after = page[page.length - 1] ?? null;
      p.scanned += page.length;
      if (this.dry) p.removed += page.length;
      else await this.guarded('links', async () => void (p.removed += await this.deps.metadata.gc.deleteLinks(page, this.cut.linkCutoff)));
      await this.checkpoint();
    }
  }

  // ---- blobs -------------------------------------------------------------------------------

  /**
   * Walks the store in batches. A batch's unreferenced digests are re-checked and deleted in one
   * transaction holding their blob_locks rows, so no commit can pin (and then keep, as already
   * present) bytes this batch is deleting.
   */
  async blobs(): Promise<void> {
    const { metadata, store } = this.deps;
    const p = this.phases.blobs;
    for await (const batch of batched(store.walk(), BATCH)) {
      p.scanned += batch.length;
      await this.guarded('blobs', async () => {
        const used = await metadata.gc.referenced(batch, this.assumed);
        const candidates = batch.filter((d) => !used.has(d));
        if (candidates.length === 0) return;
        const sizes = new Map<Digest, number>();
        const stats = await mapLimit(candidates, 16, (d) => store.stat(d));
        candidates.forEach((d, i) => {
          const s = stats[i];
          if (s) sizes.set(d, s.size);
        });
        if (this.dry) {
          for (const size of sizes.values()) {
            p.removed++;
            p.bytes += size;
          }
          return;
        }
        // Small locked transactions: on SQLite a transaction holds the process's one connection,
        // so requests wait for at most one chunk of deletes.
        const found = [...sizes.keys()];
        for (let i = 0; i < found.length; i += LOCKED_CHUNK) {
          const chunk = found.slice(i, i + LOCKED_CHUNK);
          await metadata.transaction(async (m) => {
            await m.gc.lockBlobs(chunk);
            const still = await m.gc.referenced(chunk);
            const doomed = chunk.filter((d) => !still.has(d));
            await store.deleteMany(doomed);
            await m.gc.unlockBlobs(chunk);
            for (const d of doomed) {
              p.removed++;
              p.bytes += sizes.get(d) ?? 0;
            }
          });
          await this.pacer.pace(this.ctx.signal);
        }
      });
      await this.checkpoint();
    }
  }
}
