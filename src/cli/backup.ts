/**
 * `wharf backup DIR` and `wharf restore DIR`: a consistent backup of the embedded profile (fs +
 * SQLite) while the server runs, and its restore into an empty data directory. The work is in
 * src/services/backup.ts; this module parses options, shows progress and prints the summary.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { ConfigError } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { parseByteSize } from '../lib/rate-limit.ts';
import { openMetadata } from '../main.ts';
import { type BackupSummary, BackupJob, DATABASE_FILE, MANIFEST_FILE, RestoreRefused, STORAGE_DIR, restoreBackup } from '../services/backup.ts';
import { JobRunner } from '../services/jobs/runner.ts';
import { copyDetail, formatBytes, progressLine } from './progress.ts';

export const BACKUP_USAGE = `backup and restore (embedded profile: filesystem storage + SQLite):
  backup DIR [--link] [--bwlimit RATE] [--wait SECONDS] [--json]
                 consistent copy of the running registry into a new or empty DIR:
                 --link hard-links blobs (DIR on the data directory's filesystem),
                 --bwlimit caps the copy rate (e.g. 50M per second), --wait is how long
                 to wait for a running garbage collection (default 600)
  restore DIR [--link] [--json]
                 copies a backup into the configured data directory, which must be empty`;

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  link: { type: 'boolean' },
  bwlimit: { type: 'string' },
  wait: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Usage errors: exit 2 with the message. */
class UsageError extends Error {}

function wharfVersion(): string {
  try {
    // dist/cli/backup.js and src/cli/backup.ts both sit two levels below package.json.
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The embedded profile's paths, or a UsageError saying what to do instead. */
function embeddedPaths(config: Config): { sqlitePath: string; storeRoot: string } {
  if (config.database.driver !== 'sqlite' || config.storage.driver !== 'fs') {
    throw new UsageError(
      `wharf backup/restore cover the embedded profile (storage.driver fs, database.driver sqlite); this configuration uses ${config.storage.driver} + ${config.database.driver}: back up PostgreSQL with pg_dump and the bucket with versioning or replication (docs/deploy/single-node.md#postgresql-and-s3)`,
    );
  }
  const sqlitePath = config.database.sqlite.path;
  if (!sqlitePath || sqlitePath === ':memory:') throw new UsageError('database.sqlite.path must be a file to back up or restore');
  return { sqlitePath, storeRoot: config.storage.fs.root ?? join(config.dataDir, 'storage') };
}

function printSummary(json: boolean, summary: Record<string, unknown>, human: string): void {
  console.log(json ? JSON.stringify(summary) : human);
}

async function backup(dir: string, config: Config, o: { link: boolean; bwlimit: number; waitMs: number; json: boolean }): Promise<number> {
  const { sqlitePath, storeRoot } = embeddedPaths(config);
  if (!existsSync(sqlitePath)) throw new UsageError(`no database at ${sqlitePath}: nothing to back up (check --config / WHARF_DATA_DIR)`);
  const metadata = await openMetadata(config);
  const runner = new JobRunner({ metadata, clock: Date.now, log: pino({ level: 'silent' }) });
  const stopOnSignal = (): void => void runner.stop();
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  const line = progressLine(process.stderr, 'backup');
  const started = Date.now();
  let snapshotShown = false;
  try {
    const job = new BackupJob({ metadata, sqlitePath, storeRoot, clock: Date.now, holder: runner.holder, wharfVersion: wharfVersion() });
    const outcome = await runner.run(job, {
      options: { dir, link: o.link, bytesPerSecond: o.bwlimit, waitForGcMs: o.waitMs },
      trigger: 'cli',
      actor: 'system',
      onProgress: (p) => {
        const phase = String(p['phase'] ?? '');
        if (phase === 'blobs' || phase === 'done') {
          if (!snapshotShown) line.update('snapshot taken', `at ${String(p['snapshotAt'])}`);
          snapshotShown = true;
          line.update(phase === 'done' ? 'copied' : 'copying', copyDetail({ blobs: Number(p['blobs']), totalBlobs: Number(p['totalBlobs']), bytes: Number(p['bytes']), totalBytes: Number(p['totalBytes']) }, Date.now() - started));
        } else {
          line.update(phase, p['holder'] ? `(held by ${String(p['holder'])})` : '');
        }
      },
    });
    line.done();
    if (outcome.status === 'busy') {
      console.error(`a backup is already running (${outcome.holder})`);
      return 1;
    }
    if (outcome.status !== 'succeeded') {
      // Nothing in DIR is usable without the database renamed into place last; leave no half backup
      // (only what the backup wrote: DIR may be a mount point the operator made).
      for (const entry of [STORAGE_DIR, `${DATABASE_FILE}.partial`, MANIFEST_FILE]) await rm(join(dir, entry), { recursive: true, force: true });
      console.error(`backup ${outcome.status}: ${outcome.error instanceof Error ? outcome.error.message : String(outcome.error)}`);
      return 1;
    }
    const s: BackupSummary = outcome.summary;
    await metadata.audit.append({ at: Date.now(), actor: 'system', action: 'backup.create', target: dir, detail: { run: outcome.run.id, ...s }, address: null });
    printSummary(
      o.json,
      { run: outcome.run.id, ...s },
      `backup complete: ${dir}\n  snapshot at ${s.snapshotAt}: ${s.repositories} repositories, ${s.manifests} manifests, ${s.tags} tags\n  ${s.blobs} blobs, ${formatBytes(s.bytes)} ${s.linked ? 'hard-linked' : 'copied'} and verified; database ${formatBytes(s.databaseBytes)}; ${(s.ms / 1000).toFixed(1)} s`,
    );
    return 0;
  } finally {
    process.off('SIGINT', stopOnSignal);
    process.off('SIGTERM', stopOnSignal);
    await metadata.close();
  }
}

async function restore(dir: string, config: Config, o: { link: boolean; json: boolean }): Promise<number> {
  const { sqlitePath, storeRoot } = embeddedPaths(config);
  const line = progressLine(process.stderr, 'restore');
  const started = Date.now();
  let summary;
  try {
    summary = await restoreBackup({ dataDir: config.dataDir, sqlitePath, storeRoot }, dir, {
      link: o.link,
      onProgress: (p) => line.update(p.phase === 'blobs' ? 'copying' : p.phase, p.phase === 'blobs' || p.phase === 'done' ? copyDetail(p, Date.now() - started) : ''),
    });
  } catch (err) {
    line.done();
    if (err instanceof RestoreRefused) {
      console.error(err.message);
      return 1;
    }
    throw err;
  }
  line.done();
  // The restored database: bring it to this version's schema and record the restore in it.
  const metadata = await openMetadata(config);
  try {
    await metadata.migrate();
    const now = Date.now();
    const id = randomUUID();
    await metadata.jobRuns.start({ id, job: 'restore', trigger: 'cli', actor: 'system', options: { from: dir }, holder: 'wharf restore', now: started });
    await metadata.jobRuns.finish(id, { status: 'succeeded', now, summary });
    await metadata.audit.append({ at: now, actor: 'system', action: 'backup.restore', target: dir, detail: { run: id, ...summary }, address: null });
  } finally {
    await metadata.close();
  }
  printSummary(
    o.json,
    summary,
    `restore complete into ${config.dataDir}\n  snapshot of ${summary.snapshotAt} (Wharf ${summary.wharfVersion}): ${summary.repositories} repositories, ${summary.manifests} manifests, ${summary.tags} tags\n  ${summary.blobs} blobs, ${formatBytes(summary.bytes)} verified; ${(summary.ms / 1000).toFixed(1)} s`,
  );
  return 0;
}

/** `wharf backup|restore …`; returns the exit code (2 for usage errors). */
export async function backupCli(argv: string[], loadConfig: (file: string | undefined) => Config): Promise<number> {
  try {
    const { values: o, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
    const [command, dir, ...extra] = positionals;
    if (o.help) {
      console.log(BACKUP_USAGE);
      return 0;
    }
    if (!dir || extra.length > 0) throw new UsageError(`usage: wharf ${command ?? 'backup'} DIR [options]\n\n${BACKUP_USAGE}`);
    const config = loadConfig(o.config);
    if (command === 'restore') return await restore(resolve(dir), config, { link: o.link ?? false, json: o.json ?? false });
    const wait = o.wait === undefined ? 600 : Number(o.wait);
    if (!Number.isFinite(wait) || wait < 0) throw new UsageError(`--wait takes seconds, not ${JSON.stringify(o.wait)}`);
    let bwlimit = 0;
    try {
      bwlimit = o.bwlimit === undefined ? 0 : parseByteSize(o.bwlimit);
    } catch (err) {
      throw new UsageError(`--bwlimit: ${(err as Error).message}`);
    }
    return await backup(resolve(dir), config, { link: o.link ?? false, bwlimit, waitMs: wait * 1000, json: o.json ?? false });
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConfigError || (err instanceof Error && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'))) {
      console.error(err.message);
      return 2;
    }
    throw err;
  }
}
