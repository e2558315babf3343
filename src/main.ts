import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import type { Config } from './config/schema.ts';
import { buildHttpApp } from './http/app.ts';
import { EventBus } from './lib/events.ts';
import { type Metadata, openSqlite } from './metadata/metadata.ts';
import type { RegistryEvents } from './services/events.ts';
import { type AccessServices, createAccessServices, ensureAdmin } from './services/access.ts';
import { RegistryService } from './services/registry.ts';
import { UploadService } from './services/uploads.ts';
import { FsStore } from './storage/fs.ts';
import { MemoryStore } from './storage/memory.ts';
import type { BlobStore, UploadStore } from './storage/types.ts';

export interface Wharf {
  app: FastifyInstance;
  config: Config;
  logger: Logger;
  metadata: Metadata;
  events: EventBus<RegistryEvents>;
  registry: RegistryService;
  uploads: UploadService;
  access: AccessServices;
  /** Stops background jobs, waits for in-flight listeners, closes the HTTP app and stores. */
  close(): Promise<void>;
}

export function createLogger(config: Config): Logger {
  return pino({
    level: config.log.level,
    base: { service: 'wharf' },
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', 'password', '*.password', 'token', '*.token'],
      censor: '[redacted]',
    },
  });
}

function openStores(config: Config): BlobStore & UploadStore {
  if (config.storage.driver === 'memory') return new MemoryStore();
  return new FsStore(config.storage.fs.root ?? `${config.dataDir}/storage`, { fsync: config.storage.fs.fsync });
}

function openMetadata(config: Config): Metadata {
  return openSqlite(config.database.sqlite.path ?? `${config.dataDir}/wharf.db`);
}

/** The one composition root: config → logger → stores → services → http. */
export async function createWharf(config: Config, opts: { logger?: Logger; clock?: () => number } = {}): Promise<Wharf> {
  const logger = opts.logger ?? createLogger(config);
  const clock = opts.clock ?? Date.now;
  const metadata = openMetadata(config);
  await metadata.migrate();
  const store = openStores(config);
  const events = new EventBus<RegistryEvents>(logger);
  const registry = new RegistryService({ metadata, blobs: store, events, clock });
  const uploads = new UploadService({
    metadata,
    uploads: store,
    clock,
    log: logger,
    maxBlobBytes: config.limits.blobMaxBytes,
  });
  const access = await createAccessServices(config, { metadata, clock, log: logger });
  if (config.auth.enabled) await ensureAdmin(config, metadata, clock, logger);
  const app = await buildHttpApp({
    logger,
    access,
    baseUrl: config.server.baseUrl,
    authEnabled: config.auth.enabled,
    service: config.auth.service,
    registry,
    uploads,
    manifestMaxBytes: config.limits.manifestMaxBytes,
    trustProxy: config.server.trustProxy,
    ready: () => metadata.ping(),
  });

  const purgeEvery = config.uploads.purgeIntervalSeconds * 1000;
  const purge = setInterval(() => {
    uploads.purgeStale(config.uploads.staleAfterSeconds * 1000).catch((err: unknown) => logger.error({ err }, 'upload purge failed'));
  }, purgeEvery);
  purge.unref();

  return {
    app,
    config,
    logger,
    metadata,
    events,
    registry,
    uploads,
    access,
    async close() {
      clearInterval(purge);
      await app.close();
      await events.settled();
      await metadata.close();
    },
  };
}
