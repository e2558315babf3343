/**
 * `wharf gc [--dry-run] [--json]`: one garbage collection run on the server's configuration
 * (database and storage), beside running servers or not (docs/adr/0009-garbage-collection.md). It
 * takes the same `gc` lease as the servers' schedule and the admin API, so it never overlaps
 * another run or a backup holding the lease: it says so and exits 75 (EX_TEMPFAIL).
 */
import { userInfo } from 'node:os';
import pino from 'pino';
import { EventBus } from '../../lib/events.ts';
import { createCollector, openSettings, openStores } from '../../main.ts';
import type { RegistryEvents } from '../../services/events.ts';
import type { GcSummary } from '../../services/gc/collector.ts';
import { type JobProgress, JobRunner } from '../../services/jobs/runner.ts';
import { UploadService } from '../../services/uploads.ts';
import { CliError, type Command, defineCommand } from '../command.ts';
import type { Output } from '../output.ts';
import { formatBytes } from '../../lib/bytes.ts';

/** Exit code when another process holds the gc lease: try again later. */
export const EXIT_BUSY = 75;

export function progressLine(p: JobProgress): string {
  const bytes = typeof p['bytes'] === 'number' && p['bytes'] > 0 ? `, ${formatBytes(p['bytes'])}` : '';
  return `gc${p['dryRun'] ? ' (dry run)' : ''}: ${String(p['phase'])}: ${String(p['scanned'])} scanned, ${String(p['found'])} ${p['dryRun'] ? 'to remove' : 'removed'}${bytes}`;
}

interface Terminal {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

/**
 * Progress on stderr: one live line rewritten in place on a terminal; otherwise plain lines, at a
 * phase change and at most every 5 s within a phase.
 */
export function progressPrinter(out: Output, tty: Terminal, now: () => number = Date.now): { update(p: JobProgress): void; done(): void } {
  let lastPhase: unknown = null;
  let lastAt = 0;
  let live = false;
  return {
    update(p) {
      const line = progressLine(p);
      if (tty.isTTY) {
        const width = Math.max(20, (tty.columns ?? 80) - 1);
        tty.write(`\r${line.slice(0, width).padEnd(width)}`);
        live = true;
        return;
      }
      if (p['phase'] === lastPhase && now() - lastAt < 5000) return;
      lastPhase = p['phase'];
      lastAt = now();
      out.diagnostic(line);
    },
    done() {
      if (live) tty.write('\n');
      live = false;
    },
  };
}

export function summaryLines(s: GcSummary): string[] {
  const verb = s.dryRun ? 'would free' : 'freed';
  const lines = [
    `garbage collection ${s.dryRun ? 'dry run ' : ''}finished in ${(s.durationMs / 1000).toFixed(1)} s (grace ${s.graceSeconds} s${s.pausedMs > 0 ? `, ${(s.pausedMs / 1000).toFixed(1)} s paused for requests` : ''})`,
    `  blobs:     ${s.blobsDeleted} of ${s.blobsScanned} ${verb}, ${formatBytes(s.bytesFreed)} (${s.bytesFreed} bytes)`,
    `  manifests: ${s.manifestsDeleted} orphaned referrers ${s.dryRun ? 'to delete' : 'deleted'}`,
    `  links:     ${s.linksRemoved} repository links ${s.dryRun ? 'to remove' : 'removed'}`,
    `  uploads:   ${s.uploadsRemoved} abandoned sessions${s.multipartAborted > 0 ? `, ${s.multipartAborted} multipart uploads aborted` : ''}`,
  ];
  if (!s.exact) lines.push('  (approximate: more orphaned referrers than a dry run follows)');
  for (const e of s.errors) lines.push(`  error: ${e}`);
  return lines;
}

export const gcCommands: readonly Command[] = [
  defineCommand({
    name: 'gc',
    summary: 'Free blobs, links and upload sessions nothing needs (--dry-run: only report)',
    details:
      'Runs beside live servers: bytes uploaded or checked within gc.graceSeconds stay. One run at a time across servers and CLIs (the gc lease); exit 75 when another run or a backup holds it.',
    options: { 'dry-run': { type: 'boolean', description: 'report what a run would free now; free nothing' } },
    json: true,
    examples: ['wharf gc --dry-run', 'wharf gc --json'],
    async run({ options, json, out, runtime }) {
      const config = runtime.config();
      const verbose = config.log.level === 'debug' || config.log.level === 'trace';
      const logger = pino({ level: verbose ? config.log.level : 'warn', base: { service: 'wharf-gc' } }, pino.destination(2));
      const metadata = await runtime.metadata();
      const store = await openStores(config);
      try {
        const clock = Date.now;
        const events = new EventBus<RegistryEvents>(logger);
        const uploads = new UploadService({ metadata, uploads: store, clock, log: logger, maxBlobBytes: config.limits.blobMaxBytes });
        // The grace and stale-upload age a site admin set at run time (ADR 0025) apply here too.
        const collector = createCollector(config, { metadata, store, uploads, events, clock, settings: await openSettings(config, metadata, { clock }) });
        const runner = new JobRunner({ metadata, clock, log: logger, holder: `cli:${process.pid}` });
        const printer = progressPrinter(out, process.stderr);
        const stop = () => void runner.stop();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        let actor = 'cli';
        try {
          actor = `cli:${userInfo().username}`;
        } catch {
          // No passwd entry (some containers): keep the generic name.
        }
        const dryRun = options['dry-run'];
        const outcome = await runner.run(collector, { options: { dryRun }, trigger: 'cli', actor, onProgress: (p) => printer.update(p) });
        printer.done();
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        await events.settled();
        if (outcome.status === 'busy') {
          out.error(`garbage collection is already running, or a backup holds its lease (holder ${outcome.holder}); try again later`);
          return EXIT_BUSY;
        }
        if (outcome.status !== 'succeeded') throw new CliError(`garbage collection ${outcome.status}: ${outcome.run.error ?? 'unknown error'}`);
        if (json) out.json({ id: outcome.run.id, status: outcome.status, ...outcome.summary });
        else for (const line of summaryLines(outcome.summary)) out.line(line);
        return outcome.summary.errors.length > 0 ? 1 : 0;
      } finally {
        store.close?.();
      }
    },
  }),
];
