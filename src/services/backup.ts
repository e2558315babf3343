/**
 * Backup and restore of the embedded profile (filesystem blobs + SQLite), taken while the server
 * runs. docs/adr/0012-deployment-tls-backup.md has the reasoning; in short:
 *
 * 1. Take the `gc` lease (ADR 0008) and keep renewing it: garbage collection deletes blobs only
 *    while it holds that lease, so no blob the snapshot references can vanish before it is copied.
 * 2. Copy the database with SQLite's online backup (one read transaction: the database as of one
 *    commit), then drop upload sessions and leases from the copy.
 * 3. Copy (or hard-link) every blob the copy links to a repository, checking each digest. Pushes
 *    that land meanwhile write blobs the snapshot does not reference: they are simply not in it.
 * 4. Write backup.json; rename the database into place last, so a backup cut short is never
 *    mistaken for a complete one.
 *
 * The backup directory is itself a data directory (`wharf.db`, `storage/blobs/…`): `wharf restore`
 * copies it into an empty data directory, verifying every blob again.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { RateLimiter } from '../lib/rate-limit.ts';
import type { Metadata } from '../metadata/metadata.ts';
import { type SnapshotFacts, copySqliteOnline, prepareSnapshot, readSnapshotFacts, referencedBlobs, sha256File } from '../metadata/sqlite-backup.ts';
import { parseDigest } from '../oci/digest.ts';
import { copyBlobVerified } from '../storage/blob-copy.ts';
import { layout } from '../storage/layout.ts';
import type { Job, JobContext } from './jobs/runner.ts';

export const BACKUP_FORMAT = 1;
export const MANIFEST_FILE = 'backup.json';
export const DATABASE_FILE = 'wharf.db';
/** Blobs live under this directory of a backup, in the store's own layout (ADR 0001). */
export const STORAGE_DIR = 'storage';
/** The lease garbage collection holds while it deletes blobs (its job name). */
export const GC_LEASE = 'gc';

/** backup.json */
export interface BackupManifest {
  format: number;
  wharfVersion: string;
  createdAt: string;
  /** When the database copy began: every push committed before then is in the backup. */
  snapshotAt: string;
  database: { file: string; sha256: string; bytes: number };
  blobs: { count: number; bytes: number };
  contents: Omit<SnapshotFacts, 'blobs' | 'bytes'>;
}

export interface BackupOptions extends Record<string, unknown> {
  dir: string;
  /** Hard-link blobs instead of copying them (the backup must be on the data directory's filesystem). */
  link: boolean;
  /** Average copy rate cap in bytes per second; 0 = none. */
  bytesPerSecond: number;
  /** How long to wait for a running garbage collection to finish. */
  waitForGcMs: number;
}

export interface BackupSummary extends Record<string, unknown> {
  dir: string;
  snapshotAt: string;
  /** How long the database copy took (what committed meanwhile may or may not be in it). */
  snapshotMs: number;
  blobs: number;
  bytes: number;
  repositories: number;
  manifests: number;
  tags: number;
  databaseBytes: number;
  linked: boolean;
  ms: number;
}

export interface BackupDeps {
  metadata: Metadata;
  /** The live SQLite database file. */
  sqlitePath: string;
  /** The filesystem blob store's root (blobs are at `layout.blob(digest)` below it). */
  storeRoot: string;
  clock: () => number;
  /** Identifies this process in the `gc` lease (the runner's holder name). */
  holder: string;
  wharfVersion: string;
  /** gc lease length; renewed every third of it. */
  leaseMs?: number;
}

/** True for a directory with nothing in it, or none at all. */
export async function isEmptyDir(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw err;
  }
}

/**
 * Holds the `gc` lease for the length of a backup: waits while garbage collection runs, renews it,
 * and aborts the backup if it is ever lost (a blob could then be deleted under it).
 */
class GcLease {
  private timer: NodeJS.Timeout | null = null;
  readonly lost = new AbortController();
  private readonly deps: BackupDeps;
  private readonly leaseMs: number;

  constructor(deps: BackupDeps, leaseMs: number) {
    this.deps = deps;
    this.leaseMs = leaseMs;
  }

  async acquire(ctx: JobContext, waitMs: number): Promise<void> {
    const { metadata, clock, holder } = this.deps;
    const deadline = clock() + waitMs;
    for (;;) {
      const now = clock();
      if (await metadata.leases.acquire(GC_LEASE, holder, now, now + this.leaseMs)) break;
      const current = await metadata.leases.current(GC_LEASE, now);
      if (now >= deadline) throw new Error(`garbage collection is running (lease held by ${current?.holder ?? 'another process'}); retry later or raise --wait`);
      ctx.progress({ phase: 'waiting for garbage collection', holder: current?.holder ?? null });
      await sleep(Math.min(2_000, Math.max(100, deadline - now)), undefined, { signal: ctx.signal });
    }
    this.timer = setInterval(() => {
      metadata.leases.renew(GC_LEASE, holder, clock() + this.leaseMs).then(
        (held) => {
          if (!held) this.lost.abort(new Error('lost the gc lease while copying: garbage collection may have deleted blobs; the backup is incomplete'));
        },
        (err: unknown) => ctx.log.warn({ err }, 'gc lease renewal failed'),
      );
    }, Math.max(10, Math.floor(this.leaseMs / 3)));
    this.timer.unref();
  }

  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.deps.metadata.leases.release(GC_LEASE, this.deps.holder);
  }
}

/** `wharf backup`, run by the job runner (lease `backup`, a `job_runs` row, progress). */
export class BackupJob implements Job<BackupOptions, BackupSummary> {
  readonly name = 'backup';
  private readonly deps: BackupDeps;

  constructor(deps: BackupDeps) {
    this.deps = deps;
  }

  async run(ctx: JobContext, opts: BackupOptions): Promise<BackupSummary> {
    const { clock } = this.deps;
    const started = clock();
    if (!(await isEmptyDir(opts.dir))) throw new Error(`${opts.dir} is not empty: back up into a new or empty directory`);
    await mkdir(opts.dir, { recursive: true });

    const lease = new GcLease(this.deps, this.deps.leaseMs ?? 60_000);
    await lease.acquire(ctx, opts.waitForGcMs);
    const signal = AbortSignal.any([ctx.signal, lease.lost.signal]);
    try {
      ctx.progress({ phase: 'snapshot' });
      const partialDb = join(opts.dir, `${DATABASE_FILE}.partial`);
      // Everything committed before this moment is in the copy, nothing that starts after the
      // copy ends is (snapshotMs later).
      const snapshotStart = clock();
      await copySqliteOnline(this.deps.sqlitePath, partialDb);
      const snapshotMs = clock() - snapshotStart;
      const snapshotAt = new Date(snapshotStart).toISOString();
      const facts = prepareSnapshot(partialDb, clock());
      ctx.log.info({ snapshotAt, ...facts }, 'backup snapshot taken');
      ctx.progress({ phase: 'blobs', snapshotAt, blobs: 0, totalBlobs: facts.blobs, bytes: 0, totalBytes: facts.bytes });

      const limiter = new RateLimiter(opts.bytesPerSecond);
      let blobs = 0;
      let bytes = 0;
      for (const blob of referencedBlobs(partialDb)) {
        signal.throwIfAborted();
        const digest = parseDigest(blob.digest);
        const key = layout.blob(digest);
        await copyBlobVerified(join(this.deps.storeRoot, key), join(opts.dir, STORAGE_DIR, key), digest, blob.size, {
          link: opts.link,
          limiter,
          signal,
          onBytes: (n) => {
            bytes += n;
            ctx.progress({ phase: 'blobs', snapshotAt, blobs, totalBlobs: facts.blobs, bytes, totalBytes: facts.bytes });
          },
        });
        blobs++;
      }
      signal.throwIfAborted();

      const finalDb = join(opts.dir, DATABASE_FILE);
      const manifest: BackupManifest = {
        format: BACKUP_FORMAT,
        wharfVersion: this.deps.wharfVersion,
        createdAt: new Date(started).toISOString(),
        snapshotAt,
        database: { file: DATABASE_FILE, sha256: await sha256File(partialDb), bytes: (await stat(partialDb)).size },
        blobs: { count: blobs, bytes },
        contents: { repositories: facts.repositories, manifests: facts.manifests, tags: facts.tags },
      };
      await writeFile(join(opts.dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
      await rename(partialDb, finalDb);
      ctx.progress({ phase: 'done', snapshotAt, blobs, totalBlobs: facts.blobs, bytes, totalBytes: facts.bytes });
      return {
        dir: opts.dir,
        snapshotAt,
        snapshotMs,
        blobs,
        bytes,
        repositories: facts.repositories,
        manifests: facts.manifests,
        tags: facts.tags,
        databaseBytes: manifest.database.bytes,
        linked: opts.link,
        ms: clock() - started,
      };
    } finally {
      await lease.release().catch((err: unknown) => ctx.log.warn({ err }, 'gc lease release failed'));
    }
  }
}

// ---- restore ---------------------------------------------------------------------------------

export interface RestoreTarget {
  dataDir: string;
  sqlitePath: string;
  storeRoot: string;
}

export interface RestoreProgress {
  phase: 'checking' | 'blobs' | 'database' | 'done';
  blobs: number;
  totalBlobs: number;
  bytes: number;
  totalBytes: number;
}

export interface RestoreSummary extends Record<string, unknown> {
  from: string;
  snapshotAt: string;
  wharfVersion: string;
  blobs: number;
  bytes: number;
  repositories: number;
  manifests: number;
  tags: number;
  ms: number;
}

export class RestoreRefused extends Error {}

/** backup.json of `dir`, checked; throws RestoreRefused for anything that is not a complete backup. */
export async function readBackupManifest(dir: string): Promise<BackupManifest> {
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(await readFile(join(dir, MANIFEST_FILE), 'utf8')) as BackupManifest;
  } catch (err) {
    throw new RestoreRefused(`${dir} is not a complete Wharf backup: cannot read ${MANIFEST_FILE} (${(err as Error).message})`);
  }
  if (manifest.format !== BACKUP_FORMAT) throw new RestoreRefused(`${dir}: backup format ${manifest.format} is not supported (this Wharf reads format ${BACKUP_FORMAT})`);
  if (!existsSync(join(dir, DATABASE_FILE))) throw new RestoreRefused(`${dir} is not a complete Wharf backup: ${DATABASE_FILE} is missing (the backup did not finish)`);
  return manifest;
}

/**
 * Copies a backup into an empty data directory: every blob verified against its digest, the
 * database checked against the checksum in backup.json and renamed into place last. Refuses a
 * data directory that holds anything (a restore never merges).
 */
export async function restoreBackup(
  target: RestoreTarget,
  dir: string,
  opts: { link?: boolean; clock?: () => number; onProgress?: (p: RestoreProgress) => void } = {},
): Promise<RestoreSummary> {
  const clock = opts.clock ?? Date.now;
  const started = clock();
  const manifest = await readBackupManifest(dir);
  for (const [what, path] of [
    ['data directory', target.dataDir],
    ['blob store', target.storeRoot],
  ] as const) {
    if (!(await isEmptyDir(path))) throw new RestoreRefused(`the ${what} ${path} is not empty: restore into an empty one (a restore never merges)`);
  }
  if (existsSync(target.sqlitePath)) throw new RestoreRefused(`${target.sqlitePath} exists: restore into an empty data directory`);

  const backupDb = join(dir, DATABASE_FILE);
  const progress: RestoreProgress = { phase: 'checking', blobs: 0, totalBlobs: manifest.blobs.count, bytes: 0, totalBytes: manifest.blobs.bytes };
  opts.onProgress?.(progress);
  if ((await sha256File(backupDb)) !== manifest.database.sha256) throw new RestoreRefused(`${backupDb} does not match the checksum in ${MANIFEST_FILE}: the backup is damaged`);

  progress.phase = 'blobs';
  for (const blob of referencedBlobs(backupDb)) {
    const digest = parseDigest(blob.digest);
    const key = layout.blob(digest);
    await copyBlobVerified(join(dir, STORAGE_DIR, key), join(target.storeRoot, key), digest, blob.size, {
      link: opts.link ?? false,
      onBytes: (n) => {
        progress.bytes += n;
        opts.onProgress?.(progress);
      },
    });
    progress.blobs++;
  }

  progress.phase = 'database';
  opts.onProgress?.(progress);
  await mkdir(join(target.sqlitePath, '..'), { recursive: true });
  const partial = `${target.sqlitePath}.partial`;
  await copyFile(backupDb, partial);
  await rename(partial, target.sqlitePath).catch(async (err: unknown) => {
    await rm(partial, { force: true });
    throw err;
  });
  const facts = readSnapshotFacts(target.sqlitePath);
  progress.phase = 'done';
  opts.onProgress?.(progress);
  return {
    from: dir,
    snapshotAt: manifest.snapshotAt,
    wharfVersion: manifest.wharfVersion,
    blobs: progress.blobs,
    bytes: progress.bytes,
    repositories: facts.repositories,
    manifests: facts.manifests,
    tags: facts.tags,
    ms: clock() - started,
  };
}
