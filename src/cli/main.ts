/**
 * The `wharf` command: serve | migrate | config check. Exit codes: 0 ok, 1 failure, 2 usage.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, redactConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { createLogger, createWharf, openMetadata } from '../main.ts';
import { ACCOUNT_USAGE, accountsCli } from './accounts.ts';

const USAGE = `usage: wharf <command> [--config FILE]

commands:
  serve          start the registry (default: http://0.0.0.0:5000, data in ./data)
  migrate        apply database migrations and exit
  config check   validate the configuration and print it (secrets redacted)

${ACCOUNT_USAGE}

Configuration: YAML file (--config or WHARF_CONFIG) overlaid by WHARF_* environment variables,
e.g. WHARF_SERVER__PORT=5001 WHARF_DATA_DIR=/var/lib/wharf.`;

async function serve(config: Config): Promise<void> {
  const wharf = await createWharf(config);
  const { logger } = wharf;
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    // In-flight requests get a bounded time to finish; uploads never become visible half-written
    // because blobs are only renamed into place after verification.
    const force = setTimeout(() => {
      logger.warn('shutdown timeout reached, exiting');
      process.exit(1);
    }, config.server.shutdownTimeoutSeconds * 1000);
    force.unref();
    wharf.close().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  const address = await wharf.app.listen({ host: config.server.host, port: config.server.port });
  logger.info({ address, storage: config.storage.driver, database: config.database.driver, dataDir: config.dataDir }, 'wharf listening');
}

async function migrate(config: Config): Promise<void> {
  // SQLite or PostgreSQL; on PostgreSQL the migrator holds an advisory lock, so running this
  // while replicas start is safe.
  const metadata = await openMetadata(config);
  try {
    const applied = await metadata.migrate();
    console.log(applied.length > 0 ? `applied: ${applied.join(', ')}` : 'database is up to date');
  } finally {
    await metadata.close();
  }
}

const ACCOUNT_GROUPS = new Set(['user', 'org', 'team', 'token', 'keys']);

export async function main(argv: string[]): Promise<number> {
  if (ACCOUNT_GROUPS.has(argv[0] ?? '')) {
    try {
      return await accountsCli(argv, (file) => loadConfig({ file }));
    } catch (err) {
      if (err instanceof ConfigError || (err instanceof Error && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'))) {
        console.error(err.message);
        return 2;
      }
      throw err;
    }
  }
  const { values, positionals } = parseArgs({
    args: argv,
    options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: true,
  });
  const [command, sub] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return command || values.help ? 0 : 2;
  }
  let config: Config;
  try {
    config = loadConfig({ file: values.config });
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 1;
    }
    throw err;
  }
  switch (command) {
    case 'serve':
      await serve(config);
      return -1;
    case 'migrate':
      await migrate(config);
      return 0;
    case 'config':
      if (sub !== 'check') break;
      console.log(JSON.stringify(redactConfig(config), null, 2));
      console.error('configuration is valid');
      return 0;
  }
  console.error(`unknown command: ${positionals.join(' ')}\n\n${USAGE}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    createLogger(loadConfig({ env: {} })).fatal({ err }, 'wharf failed');
    process.exit(1);
  },
);
