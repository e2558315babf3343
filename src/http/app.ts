import { randomUUID } from 'node:crypto';
import { type ServerOptions as HttpsOptions, createServer as createHttpsServer } from 'node:https';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyServerFactory, LogController } from 'fastify';
import type { Logger } from 'pino';
import { RegistryError } from '../errors.ts';
import type { RegistryService } from '../services/registry.ts';
import type { AccessServices } from '../services/access.ts';
import type { PackageService } from '../services/packages.ts';
import type { UploadService } from '../services/uploads.ts';
import type { ChartServices } from '../services/charts/index.ts';
import type { PackageViewService } from '../services/package-views.ts';
import type { SessionService } from '../services/sessions.ts';
import { registerMetaRoutes } from './api/meta.ts';
import { registerOpenApi } from './api/openapi.ts';
import { registerPackageViewRoutes } from './api/package-views.ts';
import { registerSessionRoutes, sessionAuthenticator } from './api/session.ts';
import { registerOidcRoutes } from './api/oidc.ts';
import type { OidcSignInService } from '../services/oidc-sign-in.ts';
import { registerStaticUi } from './static.ts';
import { ANONYMOUS } from '../auth/principal.ts';
import { registerCharts } from './charts/index.ts';
import { FileSender } from './send-file.ts';
import { guardApi, principalOf } from './api/common.ts';
import { type AccessGate, openGate } from './access.ts';
import { AuthGate } from './auth-gate.ts';
import { frameworkErrorHandler, sendError } from './errors.ts';
import { registerAccountRoutes } from './api/accounts.ts';
import { registerAdminGcRoutes } from './api/admin-gc.ts';
import { registerAdminAccountRoutes } from './api/admin-accounts.ts';
import type { GcAdminService } from '../services/gc/admin.ts';
import { registerPackageRoutes } from './api/packages.ts';
import { registerTrashRoutes } from './api/trash.ts';
import { registerPolicyRoutes } from './api/policies.ts';
import type { PolicyService } from '../services/policies/settings.ts';
import type { RetentionService } from '../services/policies/retention-service.ts';
import type { QuotaService } from '../services/quotas.ts';
import type { JobRunner } from '../services/jobs/runner.ts';
import type { TrashService } from '../services/trash.ts';
import type { UsageService } from '../services/usage.ts';
import { registerTokenApiRoutes } from './api/tokens.ts';
import { registerTokenRoutes } from './token.ts';
import { registerV2 } from './v2/router.ts';
import { logFields } from './log-context.ts';
import { decorateRouteTemplate, type MetricsEndpoint, registerMetricsRoute, routeTemplate, transferred } from './metrics.ts';
import type { AuthMetrics } from '../services/authn.ts';
import type { TokenMetrics } from './token.ts';
import { watchBody } from './body-watchdog.ts';
import type { RequestActivity } from '../lib/request-activity.ts';
import { registerWebhookRoutes } from './api/webhooks.ts';
import type { WebhookService } from '../services/webhooks/service.ts';
import type { ProxyPullService } from '../services/proxy/pull.ts';
import type { ProxyAdminService } from '../services/proxy/admin.ts';
import { registerProxyRoutes } from './api/proxies.ts';
import { registerAdminSettingsRoutes } from './api/admin-settings.ts';
import type { RuntimeSettings } from '../services/settings/service.ts';
import type { SettingValues } from '../config/runtime-settings.ts';

export interface HttpDeps {
  logger: Logger;
  registry: RegistryService;
  uploads: UploadService;
  access: AccessServices;
  packages: PackageService;
  trash: TrashService;
  usage: UsageService;
  jobs: JobRunner;
  policies: PolicyService;
  retention: RetentionService;
  quotas: QuotaService;
  /** false = no authentication at all (throwaway local use). */
  authEnabled: boolean;
  baseUrl: string | undefined;
  service: string | undefined;
  manifestMaxBytes: number;
  /** Fastify's trustProxy: true (any peer) or the proxies whose X-Forwarded-* headers are believed. */
  trustProxy: boolean | string[];
  /** Listen with HTTPS (src/http/tls.ts) instead of plain HTTP. */
  https?: HttpsOptions | undefined;
  /** Request metrics, and the /metrics endpoint unless it has a port of its own (`serve: false`). */
  metrics?: MetricsEndpoint & { serve: boolean; auth?: AuthMetrics; tokens?: TokenMetrics };
  /** Slow-client limits: headers within `headersMs`; a body must advance every `bodyMs` (body-watchdog.ts). */
  timeouts?: { headersMs: number; bodyMs: number };
  /** Readiness of backing stores, for /readyz. */
  ready: () => Promise<void>;
  /** Helm chart surfaces (classic repository, ChartMuseum API, /api/v1 charts). */
  charts?: { services: ChartServices; maxUploadBytes: number };
  /** Web UI: sign-in sessions, package pages, and the built single-page app (served from `dir` when set). */
  ui?: { sessions: SessionService; views: PackageViewService; dir: string | null; oidc?: { service: OidcSignInService; redirectUri: string | undefined } | undefined };
  /** Garbage collection for site admins (/api/v1/admin/gc). */
  gcAdmin?: GcAdminService;
  webhooks?: WebhookService;
  /** Pull-through cache: the /v2 pull path of proxy organizations and their admin routes. */
  proxy?: ProxyPullService;
  proxyAdmin?: ProxyAdminService;
  /** Told of every request, so background work can give way to them (GC's pacing). */
  activity?: RequestActivity;
  /** Instance settings changed at run time (ADR 0025). */
  settings?: RuntimeSettings<SettingValues>;
}

/** The Fastify app as a value (no listen), so tests can `inject` and two registries can coexist. */
export async function buildHttpApp(deps: HttpDeps): Promise<FastifyInstance> {
  const https = deps.https;
  const serverFactory: FastifyServerFactory | undefined = https ? (handler) => createHttpsServer(https, handler) : undefined;
  const timeouts = deps.timeouts ?? { headersMs: 30_000, bodyMs: 30_000 };
  // Typed as Fastify's base logger so the instance's type is the one every route module takes.
  const loggerInstance: FastifyBaseLogger = deps.logger;
  const app = Fastify({
    loggerInstance,
    logController: new LogController({ disableRequestLogging: true }),
    // Fastify makes a pino child per request; most requests never log, so make it on first use.
    childLoggerFactory: (logger, bindings, opts) => {
      let child: FastifyBaseLogger | undefined;
      return new Proxy(logger, {
        get(target, prop) {
          if (prop === 'level') return target.level;
          child ??= logger.child(bindings, opts);
          const value: unknown = Reflect.get(child, prop);
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(child) : value;
        },
      });
    },
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    trustProxy: deps.trustProxy,
    return503OnClosing: true,
    frameworkErrors: frameworkErrorHandler,
    forceCloseConnections: 'idle',
    // Uploads can be slow: no limit on a whole request; the body watchdog cuts stalled ones.
    requestTimeout: 0,
    http: {
      headersTimeout: timeouts.headersMs,
      // How often Node checks headersTimeout (its default, 30 s, would let short limits slip).
      connectionsCheckingInterval: Math.max(100, Math.min(30_000, Math.floor(timeouts.headersMs / 4))),
    },
    routerOptions: { maxParamLength: 4096 },
    ...(serverFactory ? { serverFactory } : {}),
  });
  // A server from serverFactory (HTTPS) does not get the `http` options above.
  if (serverFactory) app.server.headersTimeout = timeouts.headersMs;

  const activity = deps.activity;
  app.addHook('onRequest', async (req, reply) => {
    // 'close' fires once whether the response finished or the client went away.
    if (activity) reply.raw.once('close', activity.begin());
    watchBody(req, timeouts.bodyMs);
    reply.header('docker-distribution-api-version', 'registry/2.0');
    reply.header('x-request-id', req.id);
  });
  decorateRouteTemplate(app);

  const authGate = new AuthGate({
    ...deps.access,
    baseUrl: deps.baseUrl,
    service: deps.service,
    ...(deps.ui ? { session: sessionAuthenticator(deps.ui.sessions) } : {}),
    ...(deps.metrics?.auth ? { metrics: deps.metrics.auth } : {}),
  });

  // Metrics of every request, and one log line with the repository and digest bound by the
  // handlers, who called (never a credential), from where, and the bytes moved.
  const metrics = deps.metrics?.metrics;
  app.addHook('onResponse', async (req, reply) => {
    const { bytesIn, bytesOut } = transferred(req);
    const status = reply.statusCode;
    metrics?.request(routeTemplate(req), req.method, status, reply.elapsedTime / 1000, bytesIn, bytesOut);
    const level = status >= 500 ? 'error' : 'info';
    if (!deps.logger.isLevelEnabled(level)) return;
    req.log[level](
      {
        ...logFields(req),
        ...authGate.logFields(req),
        method: req.method,
        url: req.url,
        status,
        ms: Math.round(reply.elapsedTime * 10) / 10,
        client: req.ip,
        userAgent: req.headers['user-agent'],
        bytesIn,
        bytesOut,
      },
      'request',
    );
  });

  app.setErrorHandler((err, req, reply) => sendError(err, req, reply));
  app.setNotFoundHandler((req, reply) => sendError(new RegistryError('ROUTE_UNKNOWN', 'not found', { path: req.url }), req, reply));

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    try {
      await deps.ready();
      return { status: 'ready' };
    } catch (err) {
      reply.log.warn({ err }, 'not ready');
      return reply.code(503).send({ status: 'unavailable' });
    }
  });

  if (deps.metrics?.serve) registerMetricsRoute(app, deps.metrics);

  const gate: AccessGate = deps.authEnabled ? authGate : openGate;
  await app.register(async (token) =>
    registerTokenRoutes(token, { ...deps.access, gate: authGate, ...(deps.metrics?.tokens ? { metrics: deps.metrics.tokens } : {}) }),
  );
  await app.register(async (api) => {
    guardApi(api, authGate);
    registerAccountRoutes(api, { gate: authGate, accounts: deps.access.accounts, authn: deps.access.authn });
    registerAdminAccountRoutes(api, { gate: authGate, accounts: deps.access.accounts });
    registerTokenApiRoutes(api, {
      gate: authGate,
      tokens: deps.access.personalTokens,
      registryHost: (req) => (deps.baseUrl ? new URL(deps.baseUrl).host : req.host),
    });
    registerPackageRoutes(api, { gate: authGate, packages: deps.packages });
    registerTrashRoutes(api, { gate: authGate, trash: deps.trash, usage: deps.usage, jobs: deps.jobs });
    registerPolicyRoutes(api, { gate: authGate, policies: deps.policies, retention: deps.retention, jobs: deps.jobs, quotas: deps.quotas });
    if (deps.gcAdmin) registerAdminGcRoutes(api, { gate: authGate, gc: deps.gcAdmin });
    if (deps.webhooks) registerWebhookRoutes(api, { gate: authGate, webhooks: deps.webhooks });
    if (deps.proxyAdmin) registerProxyRoutes(api, { gate: authGate, proxies: deps.proxyAdmin });
    if (deps.settings) registerAdminSettingsRoutes(api, { gate: authGate, settings: deps.settings });
    if (deps.ui) {
      registerSessionRoutes(api, { sessions: deps.ui.sessions, accounts: deps.access.accounts, baseUrl: deps.baseUrl });
      registerOidcRoutes(api, { oidc: deps.ui.oidc?.service ?? null, redirectUri: deps.ui.oidc?.redirectUri, accounts: deps.access.accounts, baseUrl: deps.baseUrl });
      registerPackageViewRoutes(api, { gate: authGate, views: deps.ui.views, baseUrl: deps.baseUrl });
    }
    registerMetaRoutes(api);
    registerOpenApi(api);
  });

  const files = new FileSender();
  if (deps.charts) {
    await registerCharts(app, {
      charts: deps.charts.services.catalog,
      index: deps.charts.services.index,
      museum: deps.charts.services.museum,
      gate,
      principal: (req) => (deps.authEnabled ? principalOf(authGate, req) : Promise.resolve(ANONYMOUS)),
      baseUrl: deps.baseUrl,
      maxUploadBytes: deps.charts.maxUploadBytes,
      files,
    });
  }

  await app.register(async (v2) => {
    registerV2(v2, {
      registry: deps.registry,
      uploads: deps.uploads,
      gate,
      manifestMaxBytes: deps.manifestMaxBytes,
      files,
      quotas: deps.quotas,
      proxy: deps.proxy,
    });
  });
  // Last: the UI's wildcard must not shadow any API route.
  if (deps.ui?.dir) {
    const dir = deps.ui.dir;
    await app.register(async (ui) => registerStaticUi(ui, { dir }));
  }
  return app;
}
