/** `wharf serve`, `wharf migrate`, `wharf config check`, `wharf version`. */
import cluster from 'node:cluster';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { ConfigError, redactConfig } from '../../config/load.ts';
import { startupWarnings } from '../../config/warnings.ts';
import { versionInfo, versionLine } from '../../lib/version.ts';
import { createLogger, createWharf, openMetadata, UI_DIR } from '../../main.ts';
import { TlsConfigError } from '../../http/tls.ts';
import { type Command, CliError, defineCommand } from '../command.ts';
import { clusterScrape, isWorker, runPrimary, stopWithPrimary, workerCount } from '../cluster.ts';

const uiBuilt = () => existsSync(join(UI_DIR, 'index.html'));

export const serverCommands: readonly Command[] = [
  defineCommand({
    name: 'serve',
    summary: 'Start the registry (default http://0.0.0.0:5000, data in ./data)',
    details:
      'Runs server.workers processes on the port (0 = one per core). Stops on SIGTERM or SIGINT: in-flight requests get server.shutdownTimeoutSeconds to finish. SIGHUP re-reads the TLS certificate (server.tls).',
    async run({ runtime }) {
      const config = runtime.config();
      const workers = workerCount(config.server.workers);
      if (workers > 1 && !isWorker()) {
        return runPrimary({
          workers,
          logger: createLogger(config),
          shutdownTimeoutMs: config.server.shutdownTimeoutSeconds * 1000,
          prepare: async () => {
            const metadata = await openMetadata(config);
            try {
              await metadata.migrate();
            } finally {
              await metadata.close();
            }
          },
        });
      }
      let wharf;
      try {
        wharf = await createWharf(config);
      } catch (err) {
        // A certificate that cannot be read or does not match its key: one line naming the file.
        if (err instanceof TlsConfigError) throw new CliError(err.message);
        throw err;
      }
      const { logger } = wharf;
      for (const w of startupWarnings(config, { uiBuilt: uiBuilt() })) logger.warn({ check: w.check }, w.message);
      const stopped = new Promise<number>((resolve) => {
        let stopping = false;
        const stop = (signal: string) => {
          if (stopping) return;
          stopping = true;
          logger.info({ signal }, 'shutting down');
          // In-flight requests get a bounded time to finish; uploads never become visible
          // half-written because blobs are only renamed into place after verification.
          const force = setTimeout(() => {
            logger.warn('shutdown timeout reached, exiting');
            resolve(1);
          }, config.server.shutdownTimeoutSeconds * 1000);
          force.unref();
          wharf.close().then(
            () => {
              logger.info('stopped');
              resolve(0);
            },
            (err: unknown) => {
              logger.error({ err }, 'shutdown failed');
              resolve(1);
            },
          );
        };
        process.on('SIGTERM', () => stop('SIGTERM'));
        process.on('SIGINT', () => stop('SIGINT'));
        if (isWorker()) stopWithPrimary(() => stop('primary gone'));
      });
      if (isWorker() && wharf.metrics) wharf.metrics.scrapeWith(clusterScrape(wharf.metrics.registry));
      // SIGHUP re-reads the TLS certificate (instead of ending the process, its default action).
      process.on('SIGHUP', () => {
        if (wharf.tls) wharf.tls.reload('SIGHUP');
        else logger.info('SIGHUP: nothing to reload (no server.tls configured)');
      });
      const address = await wharf.app.listen({ host: config.server.host, port: config.server.port });
      const metricsAddress = await wharf.listenMetrics();
      logger.info({ address, metricsAddress, worker: isWorker() ? cluster.worker?.id : undefined, version: versionInfo().version, storage: config.storage.driver, database: config.database.driver, dataDir: config.dataDir }, 'wharf listening');
      return await stopped;
    },
  }),
  defineCommand({
    name: 'migrate',
    summary: 'Apply database migrations and exit',
    details: 'Safe while replicas start: on PostgreSQL the migrator holds an advisory lock.',
    json: true,
    async run({ json, out, runtime }) {
      const metadata = await openMetadata(runtime.config());
      try {
        const applied = await metadata.migrate();
        if (json) out.json({ applied });
        else out.line(applied.length > 0 ? `applied migrations ${applied.join(', ')}` : 'database is up to date');
      } finally {
        await metadata.close();
      }
    },
  }),
  defineCommand({
    name: 'config check',
    summary: 'Validate the configuration and print it, secrets redacted',
    details: 'Every problem is listed at once, one line each (exit 1); warnings do not fail the check.',
    json: true,
    async run({ json, out, runtime }) {
      let config;
      try {
        config = runtime.config();
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        if (json) out.json({ valid: false, errors: err.problems, warnings: [] });
        else for (const p of err.problems) out.error(p);
        return 1;
      }
      const warnings = startupWarnings(config, { uiBuilt: uiBuilt() });
      if (json) {
        out.json({ valid: true, errors: [], warnings, config: redactConfig(config) });
        return;
      }
      out.line(toYaml(redactConfig(config)).trimEnd());
      for (const w of warnings) out.warning(w.message);
      out.note('configuration is valid');
    },
  }),
  defineCommand({
    name: 'version',
    summary: 'Print the version (also: wharf --version)',
    config: false,
    json: true,
    async run({ json, out }) {
      const v = versionInfo();
      if (json) out.json(v);
      else out.line(versionLine(v));
    },
  }),
];
