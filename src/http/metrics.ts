/**
 * HTTP side of the metrics: the `/metrics` endpoint (on the registry's port or a port of its own,
 * optionally behind a bearer token), route templates as labels, and the bytes each request moved.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Socket } from 'node:net';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import type { Logger } from 'pino';
import { RegistryError } from '../errors.ts';
import { HttpHeadersError, sendError } from './errors.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** A finer route template than Fastify's, set by routers that match paths themselves (/v2/*). */
    routeTemplate: string;
  }
}

/** What the HTTP layer needs of lib/metrics.ts. */
export interface HttpMetrics {
  request(route: string, method: string, status: number, seconds: number, bytesIn: number, bytesOut: number): void;
  scrape(): Promise<{ contentType: string; body: string }>;
}

export interface MetricsEndpoint {
  metrics: HttpMetrics;
  /** When set, a scrape must send `Authorization: Bearer <token>`. */
  token?: string | undefined;
}

export const METRICS_PATH = '/metrics';

/** The label of a request's route: a template such as `/v2/<name>/manifests/<reference>`, never the raw path. */
export function routeTemplate(req: FastifyRequest): string {
  return req.routeTemplate || req.routeOptions.url || 'unmatched';
}

export function decorateRouteTemplate(app: FastifyInstance): void {
  app.decorateRequest('routeTemplate', '');
}

/**
 * Socket counters where the previous request on each connection ended. A WeakMap rather than
 * properties on the socket: adding properties to Node's sockets changes their shape, which makes
 * Node's own code on every socket slower.
 */
const counted = new WeakMap<Socket, { read: number; written: number }>();
const NOTHING = { bytesIn: 0, bytesOut: 0 } as const;

/**
 * Bytes the request moved on its connection: what the socket read and wrote since the previous
 * request on it ended (keep-alive requests on one connection run one after another). Counts
 * request and status lines, headers and bodies, as they cross the wire; a body the server never
 * read is counted with the next request on that connection, or not at all if it closes.
 */
export function transferred(req: FastifyRequest): { bytesIn: number; bytesOut: number } {
  const socket = req.raw.socket as Socket | null;
  const read: unknown = socket?.bytesRead;
  const written: unknown = socket?.bytesWritten;
  // Injected requests (tests) have a stand-in socket without counters.
  if (!socket || typeof read !== 'number' || typeof written !== 'number') return NOTHING;
  const last = counted.get(socket);
  if (!last) {
    counted.set(socket, { read, written });
    return { bytesIn: read, bytesOut: written };
  }
  const bytesIn = read - last.read;
  const bytesOut = written - last.written;
  last.read = read;
  last.written = written;
  return { bytesIn, bytesOut };
}

function digestOf(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** Compares in constant time whatever the lengths (both sides hashed to 32 bytes first). */
function tokenMatches(header: string | undefined, expected: Buffer): boolean {
  const m = header ? /^bearer\s+(.+)$/i.exec(header.trim()) : null;
  return timingSafeEqual(digestOf(m?.[1] ?? ''), expected) && m !== null;
}

export function registerMetricsRoute(app: FastifyInstance, endpoint: MetricsEndpoint): void {
  const expected = endpoint.token === undefined ? null : digestOf(endpoint.token);
  app.get(METRICS_PATH, async (req: FastifyRequest, reply: FastifyReply) => {
    if (expected && !tokenMatches(req.headers.authorization, expected)) {
      throw new HttpHeadersError('UNAUTHORIZED', 'metrics require the bearer token configured as metrics.token', {
        'www-authenticate': 'Bearer realm="wharf-metrics"',
      });
    }
    const { contentType, body } = await endpoint.metrics.scrape();
    return reply.code(200).header('content-type', contentType).header('cache-control', 'no-store').send(body);
  });
}

/** The metrics listener of `metrics.port`: only /metrics, nothing of the registry. */
export async function buildMetricsApp(endpoint: MetricsEndpoint, logger: Logger): Promise<FastifyInstance> {
  const loggerInstance: FastifyBaseLogger = logger.child({ listener: 'metrics' });
  const app = Fastify({
    loggerInstance,
    logController: new LogController({ disableRequestLogging: true }),
    forceCloseConnections: true,
  });
  app.setErrorHandler((err, req, reply) => sendError(err, req, reply));
  app.setNotFoundHandler((req, reply) => sendError(new RegistryError('ROUTE_UNKNOWN', 'not found', { path: req.url }), req, reply));
  registerMetricsRoute(app, endpoint);
  await app.ready();
  return app;
}
