/**
 * `wharf reindex [--json]`: checks the chart index against the registry and repairs what a crash
 * left behind (a chart pushed but never indexed, a deleted or untagged version still listed). The
 * servers run the same job at start-up and every `charts.reindexIntervalSeconds`; it holds the
 * `charts.reindex` lease, so it never runs twice at once.
 */
import { userInfo } from 'node:os';
import pino from 'pino';
import { createWharf } from '../../main.ts';
import { CliError, type Command, defineCommand } from '../command.ts';
import { EXIT_BUSY } from './gc.ts';

export const reindexCommands: readonly Command[] = [
  defineCommand({
    name: 'reindex',
    summary: 'Repair the chart index where it disagrees with the registry (after a crash)',
    details: 'Safe beside running servers: pushes of the last minute are left to the server that took them. Exit 75 when another process is running it.',
    options: {},
    json: true,
    examples: ['wharf reindex', 'wharf reindex --json'],
    async run({ json, out, runtime }) {
      const config = runtime.config();
      const logger = pino({ level: 'warn', base: { service: 'wharf-reindex' } }, pino.destination(2));
      const wharf = await createWharf(config, { logger, startupJobs: false });
      try {
        let actor = 'cli';
        try {
          actor = `cli:${userInfo().username}`;
        } catch {
          // No passwd entry (some containers): keep the generic name.
        }
        const outcome = await wharf.jobs.run(wharf.charts.indexer.reindexJob(), {
          options: {},
          trigger: 'cli',
          actor,
          onProgress: (p) => out.diagnostic(`reindex: ${String(p['checked'])} checked, ${String(p['repaired'])} repaired, ${String(p['failed'])} failed`),
        });
        if (outcome.status === 'busy') {
          out.error(`the chart index is being repaired by another process (${outcome.holder}); try again later`);
          return EXIT_BUSY;
        }
        if (outcome.status !== 'succeeded') throw new CliError(`reindex ${outcome.status}: ${outcome.run.error ?? 'unknown error'}`);
        const s = outcome.summary;
        if (json) out.json({ id: outcome.run.id, status: outcome.status, ...s });
        else out.line(s.checked === 0 ? 'the chart index agrees with the registry' : `chart index: ${s.repaired} of ${s.checked} disagreements repaired${s.failed > 0 ? `, ${s.failed} failed (see the log)` : ''}`);
        return s.failed > 0 ? 1 : 0;
      } finally {
        await wharf.close();
      }
    },
  }),
];
