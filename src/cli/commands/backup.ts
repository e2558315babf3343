/**
 * `wharf backup DIR` and `wharf restore DIR`: a consistent backup of the embedded profile (fs +
 * SQLite) while the server runs, and its restore into an empty data directory. The work is in
 * src/services/backup.ts; these commands check the profile, show progress and print the summary.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import pino from 'pino';
import type { Config } from '../../config/schema.ts';
import { parseByteSize } from '../../lib/rate-limit.ts';
import { versionInfo } from '../../lib/version.ts';
import { openMetadata } from '../../main.ts';
import { BackupJob, DATABASE_FILE, MANIFEST_FILE, RestoreRefused, STORAGE_DIR, isEmptyDir, restoreBackup } from '../../services/backup.ts';
import { JobRunner } from '../../services/jobs/runner.ts';
import { type Command, CliError, UsageError, defineCommand } from '../command.ts';
import { formatBytes } from '../../lib/bytes.ts';
import { copyDetail, progressLine } from '../progress.ts';

/** The embedded profile's paths, or why these commands do not apply. */
function embeddedPaths(config: Config): { sqlitePath: string; storeRoot: string } {
  if (config.database.driver !== 'sqlite' || config.storage.driver !== 'fs') {
    throw new CliError(
      `backup and restore cover the embedded profile (storage.driver fs, database.driver sqlite), not ${config.storage.driver} + ${config.database.driver}: back up PostgreSQL with pg_dump, then the bucket (versioning or replication); docs/deploy/single-node.md#postgresql-and-s3`,
    );
  }
  const sqlitePath = config.database.sqlite.path;
  if (!sqlitePath || sqlitePath === ':memory:') throw new CliError('database.sqlite.path must be a file to back up or restore');
  return { sqlitePath, storeRoot: config.storage.fs.root ?? join(config.dataDir, 'storage') };
}

export const backupCommands: readonly Command[] = [
  defineCommand({
    name: 'backup',
    summary: 'Back up the running registry (embedded profile) into a new or empty directory',
    details: [
      'Holds the gc lease (no garbage collection deletes a blob meanwhile), snapshots SQLite with its',
      'online backup, then copies every blob the snapshot references, checking each digest. Pushes',
      'that land meanwhile are not in the backup. The directory is a data directory: see `wharf restore`.',
    ].join('\n'),
    args: [{ name: 'DIR', description: 'where to write the backup (created; must be empty)' }],
    options: {
      link: { type: 'boolean', description: 'hard-link blobs instead of copying them (DIR on the data directory’s file system)' },
      bwlimit: { type: 'string', value: 'RATE', description: 'cap the copy rate, per second (e.g. 50M, 1G)' },
      wait: { type: 'string', value: 'SECONDS', description: 'how long to wait for a running garbage collection (default 600)' },
    },
    json: true,
    examples: ['sudo -u wharf WHARF_DATA_DIR=/var/lib/wharf wharf backup /srv/backups/wharf-$(date +%F)'],
    async run({ args, options, json, out, runtime }) {
      const wait = options.wait === undefined ? 600 : Number(options.wait);
      if (!Number.isFinite(wait) || wait < 0) throw new UsageError(`--wait takes seconds, not ${JSON.stringify(options.wait)}`);
      let bytesPerSecond: number;
      try {
        bytesPerSecond = options.bwlimit === undefined ? 0 : parseByteSize(options.bwlimit);
      } catch (err) {
        throw new UsageError(`--bwlimit: ${(err as Error).message}`);
      }
      const dir = resolve(args.DIR);
      const config = runtime.config();
      const { sqlitePath, storeRoot } = embeddedPaths(config);
      if (!existsSync(sqlitePath)) throw new CliError(`no database at ${sqlitePath}: nothing to back up (check --config / WHARF_DATA_DIR)`);
      // Checked here too, before anything is written: a failed backup removes what it wrote in DIR.
      if (!(await isEmptyDir(dir))) throw new CliError(`${dir} is not empty: back up into a new or empty directory`);
      // Not runtime.metadata(): a backup must not migrate the database of a running server.
      const metadata = await openMetadata(config);
      const runner = new JobRunner({ metadata, clock: Date.now, log: pino({ level: 'silent' }) });
      const stop = (): void => void runner.stop();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      const line = progressLine(process.stderr, 'backup');
      const started = Date.now();
      let snapshotShown = false;
      try {
        const job = new BackupJob({ metadata, sqlitePath, storeRoot, clock: Date.now, holder: runner.holder, wharfVersion: versionInfo().version });
        const outcome = await runner.run(job, {
          options: { dir, link: options.link, bytesPerSecond, waitForGcMs: wait * 1000 },
          trigger: 'cli',
          actor: 'system',
          onProgress: (p) => {
            const phase = String(p['phase'] ?? '');
            if (phase !== 'blobs' && phase !== 'done') {
              line.update(phase, p['holder'] ? `(held by ${String(p['holder'])})` : '');
              return;
            }
            if (!snapshotShown) line.update('snapshot taken', `at ${String(p['snapshotAt'])}`);
            snapshotShown = true;
            const counts = { blobs: Number(p['blobs']), totalBlobs: Number(p['totalBlobs']), bytes: Number(p['bytes']), totalBytes: Number(p['totalBytes']) };
            line.update(phase === 'done' ? 'copied' : 'copying', copyDetail(counts, Date.now() - started));
          },
        });
        line.done();
        if (outcome.status === 'busy') throw new CliError(`a backup is already running (${outcome.holder})`);
        if (outcome.status !== 'succeeded') {
          // Without the database renamed into place last nothing here is usable: remove what the
          // backup wrote (only that: DIR may be a mount point the operator made).
          for (const entry of [STORAGE_DIR, `${DATABASE_FILE}.partial`, MANIFEST_FILE]) await rm(join(dir, entry), { recursive: true, force: true });
          throw new CliError(`backup ${outcome.status}: ${outcome.error instanceof Error ? outcome.error.message : String(outcome.error)}`);
        }
        const s = outcome.summary;
        await metadata.audit.append({ at: Date.now(), actor: 'system', action: 'backup.create', target: dir, detail: { run: outcome.run.id, ...s }, address: null });
        if (json) {
          out.json({ run: outcome.run.id, ...s });
          return;
        }
        out.line(`backed up to ${dir}: snapshot of ${s.snapshotAt}, ${s.repositories} repositories, ${s.manifests} manifests, ${s.tags} tags`);
        out.line(`${s.blobs} blobs, ${formatBytes(s.bytes)} ${s.linked ? 'hard-linked' : 'copied'} and verified; database ${formatBytes(s.databaseBytes)}; ${(s.ms / 1000).toFixed(1)} s`);
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        await metadata.close();
      }
    },
  }),
  defineCommand({
    name: 'restore',
    summary: 'Restore a backup into the configured data directory, which must be empty',
    details: 'Every blob is verified against its digest and the database against backup.json; the restored database is migrated to this version and the restore recorded in it.',
    args: [{ name: 'DIR', description: 'a directory written by `wharf backup`' }],
    options: { link: { type: 'boolean', description: 'hard-link blobs instead of copying them (same file system)' } },
    json: true,
    examples: ['sudo -u wharf WHARF_DATA_DIR=/var/lib/wharf wharf restore /srv/backups/wharf-2026-12-01'],
    async run({ args, options, json, out, runtime }) {
      const dir = resolve(args.DIR);
      const config = runtime.config();
      const { sqlitePath, storeRoot } = embeddedPaths(config);
      const line = progressLine(process.stderr, 'restore');
      const started = Date.now();
      let summary;
      try {
        summary = await restoreBackup({ dataDir: config.dataDir, sqlitePath, storeRoot }, dir, {
          link: options.link,
          onProgress: (p) => line.update(p.phase === 'blobs' ? 'copying' : p.phase, p.phase === 'blobs' || p.phase === 'done' ? copyDetail(p, Date.now() - started) : ''),
        });
      } catch (err) {
        if (err instanceof RestoreRefused) throw new CliError(err.message);
        throw err;
      } finally {
        line.done();
      }
      // The restored database, migrated to this version's schema, records its restore.
      const metadata = await runtime.metadata();
      const id = randomUUID();
      await metadata.jobRuns.start({ id, job: 'restore', trigger: 'cli', actor: 'system', options: { from: dir }, holder: 'wharf restore', now: started });
      await metadata.jobRuns.finish(id, { status: 'succeeded', now: Date.now(), summary });
      await metadata.audit.append({ at: Date.now(), actor: 'system', action: 'backup.restore', target: dir, detail: { run: id, ...summary }, address: null });
      if (json) {
        out.json({ run: id, ...summary });
        return;
      }
      out.line(`restored ${dir} into ${config.dataDir}: snapshot of ${summary.snapshotAt} (Wharf ${summary.wharfVersion}), ${summary.repositories} repositories, ${summary.manifests} manifests, ${summary.tags} tags`);
      out.line(`${summary.blobs} blobs, ${formatBytes(summary.bytes)} verified; ${(summary.ms / 1000).toFixed(1)} s`);
    },
  }),
];
