import { createRequire } from 'node:module';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { Registry } from 'prom-client';
import type { Config } from './config/schema.ts';
import { buildHttpApp } from './http/app.ts';
import { buildMetricsApp } from './http/metrics.ts';
import { WharfMetrics } from './lib/metrics.ts';
import type { QueryObserver } from './metadata/instrumented-dialect.ts';
import { storageByOwner } from './metadata/usage.ts';
import { EventBus } from './lib/events.ts';
import { type Metadata, openSqlite } from './metadata/metadata.ts';
import type { RegistryEvents } from './services/events.ts';
import { type AccessServices, createAccessServices, ensureAdmin } from './services/access.ts';
import { PackageService } from './services/packages.ts';
import { DownloadCounter } from './services/download-counter.ts';
import { PackageViewService } from './services/package-views.ts';
import { SessionService } from './services/sessions.ts';
import { OidcSignInService } from './services/oidc-sign-in.ts';
import { OidcSignInClient } from './auth/oidc-client.ts';
import { type ChartServices, createChartServices } from './services/charts/index.ts';
import { DEFAULT_ARCHIVE_LIMITS } from './charts/archive.ts';
import { ChartParser } from './charts/parser.ts';
import { join } from 'node:path';
import { Server as TlsServer } from 'node:tls';
import { type TlsFiles, TlsReloader, describeCertificate, httpsOptions } from './http/tls.ts';
import { RegistryService } from './services/registry.ts';
import { JobRunner } from './services/jobs/runner.ts';
import { TrashService } from './services/trash.ts';
import { TagPolicy } from './services/policies/tag-policy.ts';
import { QuotaService } from './services/quotas.ts';
import { PolicyService } from './services/policies/settings.ts';
import { RetentionService } from './services/policies/retention-service.ts';
import { UsageService } from './services/usage.ts';
import { SYSTEM } from './auth/principal.ts';
import { UploadService } from './services/uploads.ts';
import { ProxyDirectory } from './services/proxy/directory.ts';
import { ProxyAdminService } from './services/proxy/admin.ts';
import { ProxyPullService } from './services/proxy/pull.ts';
import { FsStore } from './storage/fs.ts';
import { MemoryStore } from './storage/memory.ts';
import type { BlobStore, UploadStore } from './storage/types.ts';
import { GarbageCollector, touchEveryMs } from './services/gc/collector.ts';
import { GcAdminService } from './services/gc/admin.ts';
import { WebhookOutbox } from './services/webhooks/outbox.ts';
import { WebhookService } from './services/webhooks/service.ts';
import { DeliveryWorker, pruneDeliveriesJob } from './services/webhooks/worker.ts';
import { versionInfo } from './lib/version.ts';
import { RequestActivity } from './lib/request-activity.ts';
import { everyLive } from './lib/live-interval.ts';
import { RuntimeSettings } from './services/settings/service.ts';
import { settingsCatalog, type SettingValues } from './config/runtime-settings.ts';

export interface Wharf {
  app: FastifyInstance;
  config: Config;
  logger: Logger;
  metadata: Metadata;
  events: EventBus<RegistryEvents>;
  registry: RegistryService;
  /** Pull-through cache (ADR 0017). */
  proxy: ProxyPullService;
  proxyAdmin: ProxyAdminService;
  uploads: UploadService;
  access: AccessServices;
  packages: PackageService;
  charts: ChartServices;
  /** Reloads the HTTPS certificate (SIGHUP); null when the server speaks plain HTTP. */
  tls: TlsReloader | null;
  trash: TrashService;
  usage: UsageService;
  policies: PolicyService;
  retention: RetentionService;
  quotas: QuotaService;
  /** Background jobs (GC, trash purge, …), instrumented for metrics. */
  jobs: JobRunner;
  /** Null when `metrics.enabled` is false. */
  metrics: WharfMetrics | null;
  /** The listener of `metrics.port`, when set (only /metrics). */
  metricsApp: FastifyInstance | null;
  /** Starts the metrics listener when `metrics.port` is set; its address, else null. */
  listenMetrics(): Promise<string | null>;
  gc: GarbageCollector;
  gcAdmin: GcAdminService;
  webhooks: WebhookService;
  /** Sends queued webhook deliveries (every replica runs one; rows are claimed in the database). */
  deliveries: DeliveryWorker;
  /** Instance settings changed at run time (ADR 0025): the config file's values unless overridden. */
  settings: Settings;
  /** Stops background jobs, waits for in-flight listeners, closes the HTTP app and stores. */
  close(): Promise<void>;
}

/** The built web UI (`npm run build:ui`); src/ and dist/ sit at the same depth, so both find it. */
export const UI_DIR = join(import.meta.dirname, '..', 'ui', 'dist');

export function createLogger(config: Config): Logger {
  const options = {
    level: config.log.level,
    base: { service: 'wharf' },
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', 'password', '*.password', 'token', '*.token'],
      censor: '[redacted]',
    },
  };
  if (config.log.format === 'json') return pino(options);
  // Loaded only when asked for (a server logging JSON never pays for it), in-process and
  // synchronous, so the last lines before a crash are not lost in a worker thread.
  const pretty = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
  return pino(options, pretty({ sync: true, colorize: process.stdout.isTTY, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' }));
}

export async function openStores(config: Config, metrics: WharfMetrics | null = null): Promise<BlobStore & UploadStore & { close?(): void }> {
  if (config.storage.driver === 'memory') return new MemoryStore();
  if (config.storage.driver === 's3') {
    const s3 = config.storage.s3;
    // Loaded on demand: the AWS SDK costs tens of MiB of memory the embedded profile never needs.
    const { S3Store } = await import('./storage/s3.ts');
    return S3Store.open({ ...s3, region: s3.region ?? 'us-east-1', observe: metrics ? metrics.objectStoreRequest.bind(metrics) : undefined });
  }
  return new FsStore(config.storage.fs.root ?? `${config.dataDir}/storage`, { fsync: config.storage.fs.fsync, directIo: config.storage.fs.directIo });
}

/** The configured metadata database (not yet migrated). */
export async function openMetadata(config: Config, logger?: Logger, observe?: QueryObserver): Promise<Metadata> {
  if (config.database.driver === 'postgres') {
    const pg = config.database.postgres;
    if (!pg.url) throw new Error('database.postgres.url is required');
    const { openPostgres } = await import('./metadata/postgres.ts');
    return openPostgres({
      url: pg.url,
      poolSize: pg.poolSize,
      schema: pg.schema,
      onIdleError: (err) => logger?.warn({ err }, 'postgres idle connection error'),
      observe,
    });
  }
  return openSqlite(config.database.sqlite.path ?? `${config.dataDir}/wharf.db`, { observe });
}

export type Settings = RuntimeSettings<SettingValues>;

/**
 * The instance settings (ADR 0025), overrides read once; the server then re-reads them every few
 * seconds (start()), a CLI command uses them as they were when it started.
 */
export async function openSettings(config: Config, metadata: Metadata, opts: { clock?: () => number; logger?: Logger } = {}): Promise<Settings> {
  const settings = new RuntimeSettings<SettingValues>({ catalog: settingsCatalog(config), metadata, clock: opts.clock ?? Date.now, ...(opts.logger ? { log: opts.logger } : {}) });
  await settings.refresh();
  return settings;
}

/** The configured certificate files, or null for plain HTTP. */
function tlsFiles(config: Config): TlsFiles | null {
  const { certFile, keyFile, clientCaFile } = config.server.tls;
  return certFile && keyFile ? { certFile, keyFile, clientCaFile } : null;
}

/** Garbage collection as the server and `wharf gc` both build it. */
export function createCollector(
  config: Config,
  deps: {
    metadata: Metadata;
    store: BlobStore & UploadStore;
    uploads: UploadService;
    events: EventBus<RegistryEvents>;
    clock: () => number;
    /** The server's requests; `wharf gc` has none and runs flat out. */
    activity?: RequestActivity;
    /** Grace, pacing and stale uploads as set at run time (ADR 0025), read at each run. */
    settings: Settings;
  },
): GarbageCollector {
  const { activity, settings, ...rest } = deps;
  // Getters: the collector reads its deps at each run, so a setting changed at run time applies
  // to the next run without a restart.
  return new GarbageCollector({
    ...rest,
    get loadShare() {
      return settings.get('gc.loadShare');
    },
    busy: activity?.probe(),
    get graceSeconds() {
      return settings.get('gc.graceSeconds');
    },
    referrersGraceSeconds: config.gc.referrersGraceSeconds,
    // The registry's touch interval, fixed by the file's grace (see GcDeps.touchEveryMs).
    touchEveryMs: touchEveryMs(config.gc.graceSeconds),
    get staleUploadSeconds() {
      return settings.get('uploads.staleAfterSeconds');
    },
  });
}

/** The one composition root: config → logger → stores → services → http. */
export async function createWharf(
  config: Config,
  opts: {
    logger?: Logger;
    clock?: () => number;
    /** Where metrics are registered (a fresh one by default). */
    metricsRegistry?: Registry;
    /** False for a command that runs one job itself (`wharf reindex`): no start-up repair run. */
    startupJobs?: boolean;
  } = {},
): Promise<Wharf> {
  const logger = opts.logger ?? createLogger(config);
  const clock = opts.clock ?? Date.now;
  const certificates = tlsFiles(config);
  // Read before anything opens: a wrong path or a key that does not match stops the start.
  const https = certificates ? httpsOptions(certificates) : undefined;
  const metrics = config.metrics.enabled
    ? new WharfMetrics(opts.metricsRegistry ?? new Registry(), {
        storageTopOwners: config.metrics.storageTopOwners,
        storageRefreshMs: config.metrics.storageRefreshSeconds * 1000,
        clock,
        onCollectError: (what, err) => logger.warn({ err, what }, 'metrics collection failed'),
      })
    : null;
  const metadata = await openMetadata(config, logger, metrics ? metrics.dbQuery.bind(metrics) : undefined);
  let store: Awaited<ReturnType<typeof openStores>>;
  try {
    await metadata.migrate();
    store = await openStores(config, metrics);
  } catch (err) {
    await metadata.close();
    throw err;
  }
  metrics?.setSources({ uploadSessions: () => metadata.uploads.count(), storageByOwner: () => storageByOwner(metadata.db) });
  const events = new EventBus<RegistryEvents>(logger);
  // Read once before anything serves, then every few seconds (ADR 0025). Services below get
  // getters in their deps for the settings that may change at run time: they read their deps
  // when they use a value, so every use sees the effective one.
  let settings: Settings;
  try {
    settings = await openSettings(config, metadata, { clock, logger: logger.child({ component: 'settings' }) });
  } catch (err) {
    store.close?.();
    await metadata.close();
    throw err;
  }
  const tagPolicy = new TagPolicy({ allowChartOverwrite: config.charts.allowOverwrite });
  const quotas = new QuotaService({
    metadata,
    clock,
    get defaultBytes() {
      return settings.get('quotas.defaultBytes');
    },
  });
  const wh = config.webhooks;
  const deliveries = new DeliveryWorker({
    metadata,
    clock,
    log: logger.child({ component: 'webhooks' }),
    userAgent: `Wharf-Webhook/${versionInfo().version}`,
    settings: {
      allowPrivateTargets: wh.allowPrivateTargets,
      timeoutMs: wh.timeoutSeconds * 1000,
      get maxAttempts() {
        return settings.get('webhooks.maxAttempts');
      },
      retryBaseMs: wh.retryBaseSeconds * 1000,
      retryMaxMs: wh.retryMaxSeconds * 1000,
      pollMs: wh.pollIntervalSeconds * 1000,
      concurrency: wh.concurrency,
    },
    ...(metrics ? { metrics } : {}),
  });
  const publicHost = config.server.baseUrl ? new URL(config.server.baseUrl).host : null;
  const outbox = new WebhookOutbox({ clock, publicHost, onQueued: () => deliveries.wake() });
  const registry = new RegistryService({
    metadata,
    blobs: store,
    events,
    clock,
    tagPolicy,
    quotas,
    outbox,
    get defaultVisibility() {
      return settings.get('auth.defaultVisibility');
    },
    touchEveryMs: touchEveryMs(config.gc.graceSeconds),
    ...(metrics ? { metrics } : {}),
  });
  const uploads = new UploadService({
    metadata,
    uploads: store,
    clock,
    log: logger,
    maxBlobBytes: config.limits.blobMaxBytes,
    get defaultVisibility() {
      return settings.get('auth.defaultVisibility');
    },
    // An eighth of the idle age a session is purged at, at most 10 s (ADR 0027).
    sessionTouchEveryMs: () => Math.min(10_000, settings.get('uploads.staleAfterSeconds') * 125),
  });
  const loginRateLimit = {
    get windowSeconds() {
      return settings.get('auth.loginRateLimit.windowSeconds');
    },
    get perAccountAddress() {
      return settings.get('auth.loginRateLimit.perAccountAddress');
    },
    get knownAddressMaxDelaySeconds() {
      return settings.get('auth.loginRateLimit.knownAddressMaxDelaySeconds');
    },
    get perAccount() {
      return settings.get('auth.loginRateLimit.perAccount');
    },
    get perAddress() {
      return settings.get('auth.loginRateLimit.perAddress');
    },
  };
  const auth = {
    ...config.auth,
    loginRateLimit,
    get defaultVisibility() {
      return settings.get('auth.defaultVisibility');
    },
    get tokenTtlSeconds() {
      return settings.get('auth.tokenTtlSeconds');
    },
    get ciTokenTtlSeconds() {
      return settings.get('auth.ciTokenTtlSeconds');
    },
    get refreshTokenTtlDays() {
      return settings.get('auth.refreshTokenTtlDays');
    },
  };
  const access = await createAccessServices(auth, { metadata, clock, log: logger, ...(metrics ? { metrics } : {}) });
  if (config.auth.enabled) await ensureAdmin(config.auth, metadata, clock, logger);
  const trash = new TrashService({
    metadata,
    authz: access.authz,
    events,
    clock,
    get days() {
      return settings.get('trash.days');
    },
    tagPolicy,
    outbox,
  });
  const usage = new UsageService({ metadata, authz: access.authz });
  const proxyDirectory = new ProxyDirectory({ metadata, clock, credentialKey: config.proxy.credentialKey, timeoutMs: config.proxy.timeoutSeconds * 1000 });
  const proxyAdmin = new ProxyAdminService({ metadata, directory: proxyDirectory, clock, credentialKey: config.proxy.credentialKey });
  const proxy = new ProxyPullService({
    metadata,
    registry,
    uploads,
    authz: access.authz,
    directory: proxyDirectory,
    clock,
    log: logger.child({ component: 'proxy' }),
    manifestMaxBytes: config.limits.manifestMaxBytes,
    leaseMs: config.proxy.fetchLeaseSeconds * 1000,
    metrics: metrics ?? undefined,
  });
  const packages = new PackageService({ metadata, clock, authz: access.authz, registry, blobs: store, events, trash });
  const webhooks = new WebhookService({ metadata, packages, clock, allowPrivateTargets: wh.allowPrivateTargets, publicHost, onQueued: () => deliveries.wake() });
  const jobs = new JobRunner({ metadata, clock, log: logger, ...(metrics ? { observer: metrics } : {}) });
  jobs.schedule(trash.purgeJob(SYSTEM), () => settings.get('trash.purgeIntervalSeconds') * 1000, {});
  jobs.schedule(proxy.syncJob(), () => settings.get('proxy.syncIntervalSeconds') * 1000, {});
  const policies = new PolicyService({ metadata, authz: access.authz, tagPolicy, clock });
  const parser = new ChartParser({
    workers: config.charts.parseWorkers,
    maxQueue: 32,
    timeoutMs: config.charts.parseTimeoutSeconds * 1000,
    heapMb: 96,
    limits: { ...DEFAULT_ARCHIVE_LIMITS, decompressedBytes: config.charts.maxDecompressedBytes },
  });
  const charts = createChartServices({
    parser,
    maxArchiveBytes: config.charts.maxUploadBytes,
    metadata,
    registry,
    uploads,
    blobs: store,
    events,
    clock,
    log: logger,
    tagPolicy,
    indexCacheDir: config.charts.indexCache ? join(config.dataDir, 'cache', 'charts') : null,
  });
  charts.indexer.listen();
  // A kill -9 between a push's commit and its indexing is repaired here: at once on start (the
  // restarted replica), and on a schedule (a replica that died and stays down).
  const reindex = charts.indexer.reindexJob();
  jobs.schedule(reindex, config.charts.reindexIntervalSeconds * 1000, {});
  if (opts.startupJobs !== false) void jobs.run(reindex, { options: {}, trigger: 'startup' }).catch((err: unknown) => logger.warn({ err }, 'chart reindex at start-up failed'));
  const sessions = new SessionService({ metadata, authn: access.authn, clock });
  const oidcSignIn = oidcSignInOf(config, { metadata, sessions, clock, logger, settings });
  const downloads = new DownloadCounter({ metadata, clock, log: logger });
  const retention = new RetentionService({ metadata, authz: access.authz, trash, tagPolicy, clock, flushPulls: () => downloads.flush() });
  jobs.schedule(retention.job(SYSTEM), () => settings.get('retention.intervalSeconds') * 1000, {});
  const views = new PackageViewService({ metadata, authz: access.authz, blobs: store, events, clock, downloads, charts: charts.catalog });
  const activity = new RequestActivity();
  const gc = createCollector(config, { metadata, store, uploads, events, clock, activity, settings });
  const gcAdmin = new GcAdminService({
    metadata,
    runner: jobs,
    collector: gc,
    clock,
    get graceSeconds() {
      return settings.get('gc.graceSeconds');
    },
    get intervalSeconds() {
      return settings.get('gc.intervalSeconds');
    },
  });
  jobs.schedule(gc, () => settings.get('gc.intervalSeconds') * 1000, { dryRun: false });
  jobs.schedule(pruneDeliveriesJob({ metadata, clock, keepDays: wh.deliveryLogDays }), 3600_000, {});
  const app = await buildHttpApp({
    ui: { sessions, views, dir: UI_DIR, oidc: oidcSignIn },
    charts: { services: charts, maxUploadBytes: config.charts.maxUploadBytes },
    logger,
    access,
    packages,
    trash,
    usage,
    jobs,
    policies,
    retention,
    quotas,
    baseUrl: config.server.baseUrl,
    authEnabled: config.auth.enabled,
    service: config.auth.service,
    registry,
    uploads,
    manifestMaxBytes: config.limits.manifestMaxBytes,
    trustProxy: config.server.trustProxy || (config.server.trustedProxies.length > 0 ? config.server.trustedProxies : false),
    https,
    timeouts: { headersMs: config.server.headersTimeoutSeconds * 1000, bodyMs: config.server.bodyTimeoutSeconds * 1000 },
    ready: () => metadata.ping(),
    gcAdmin,
    webhooks,
    proxy,
    proxyAdmin,
    activity,
    settings,
    ...(metrics ? { metrics: { metrics, token: config.metrics.token, serve: config.metrics.port === undefined, auth: metrics, tokens: metrics } } : {}),
  });
  const server = app.server;
  const tls =
    certificates && server instanceof TlsServer
      ? new TlsReloader({ server, files: certificates, log: logger, watchIntervalMs: config.server.tls.watchIntervalSeconds * 1000 })
      : null;
  if (tls && https) {
    tls.start();
    logger.info({ certificate: describeCertificate(https.cert instanceof Buffer ? https.cert : undefined), mutualTls: certificates?.clientCaFile !== undefined }, 'tls enabled');
  }
  const metricsApp = metrics && config.metrics.port !== undefined ? await buildMetricsApp({ metrics, token: config.metrics.token }, logger) : null;

  // Each replica purges abandoned uploads on its own timer (the rows are shared, a purge is
  // idempotent). Interval and age are run-time settings (ADR 0025): a changed interval re-arms the
  // timer within the settings' refresh period instead of waiting out the old one.
  const purge = everyLive({
    intervalMs: () => settings.get('uploads.purgeIntervalSeconds') * 1000,
    run: () => uploads.purgeStale(settings.get('uploads.staleAfterSeconds') * 1000),
    checkMs: settings.refreshMs,
    onError: (err) => logger.error({ err }, 'upload purge failed'),
  });
  settings.start();
  jobs.start();
  deliveries.start();

  return {
    app,
    config,
    logger,
    metadata,
    events,
    registry,
    proxy,
    proxyAdmin,
    uploads,
    access,
    packages,
    charts,
    tls,
    trash,
    usage,
    jobs,
    policies,
    retention,
    quotas,
    gc,
    gcAdmin,
    webhooks,
    deliveries,
    settings,
    metrics,
    metricsApp,
    async listenMetrics() {
      if (!metricsApp || config.metrics.port === undefined) return null;
      return metricsApp.listen({ host: config.metrics.host ?? config.server.host, port: config.metrics.port });
    },
    async close() {
      const purgeStopped = purge.stop();
      settings.stop();
      tls?.stop();
      await jobs.stop();
      await proxy.close();
      await deliveries.stop();
      await purgeStopped;
      await metricsApp?.close();
      await app.close();
      await events.settled();
      await parser.close();
      await downloads.close();
      await metadata.close();
      store.close?.();
    },
  };
}

/** Web sign-in with an OpenID provider when `auth.oidcSignIn` is configured (docs/adr/0021-oidc-sign-in.md). */
function oidcSignInOf(
  config: Config,
  deps: { metadata: Metadata; sessions: SessionService; clock: () => number; logger: Logger; settings: Settings },
): { service: OidcSignInService; redirectUri: string | undefined } | undefined {
  const o = config.auth.oidcSignIn;
  if (!o) return undefined;
  const client = new OidcSignInClient({ issuer: o.issuer, clientId: o.clientId, clientSecret: o.clientSecret, scopes: o.scopes, allowInsecure: config.auth.oidc.allowInsecureIssuers });
  const service = new OidcSignInService({
    metadata: deps.metadata,
    sessions: deps.sessions,
    clock: deps.clock,
    client,
    log: deps.logger.child({ component: 'oidc-sign-in' }),
    settings: {
      displayName: o.displayName,
      get createAccounts() {
        return deps.settings.get('auth.oidcSignIn.createAccounts');
      },
      usernameClaim: o.usernameClaim, groupsClaim: o.groupsClaim, teamMappings: o.teamMappings },
  });
  return { service, redirectUri: o.redirectUri };
}
