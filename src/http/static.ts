/**
 * The web UI: static files of the built single-page app (ui/dist) and, for any other GET that
 * is not an API path, its index.html so client-side routes (`/acme/web`) load on refresh.
 * Registered last, as a wildcard: every API route matches before it.
 */
import { extname, join, normalize, sep } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RegistryError } from '../errors.ts';
import { SERVER_ROUTES } from '../lib/routes.ts';
import { etagMatches, pickEncoding, StaticFiles } from './static-files.ts';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

/** Paths that belong to the registry and APIs: an unknown one is a JSON 404, never the app. */
const RESERVED = new RegExp(`^/(?:${SERVER_ROUTES.map((r) => r.replace('.', '\\.')).join('|')})(?:/|$)`);

// Scripts only from our origin; README images may come from anywhere over https.
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: https:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

function securityHeaders(reply: FastifyReply): void {
  reply.header('content-security-policy', CSP);
  reply.header('x-content-type-options', 'nosniff');
  reply.header('referrer-policy', 'same-origin');
  reply.header('x-frame-options', 'DENY');
}

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Wharf</title>
<p>The web UI has not been built. Run <code>npm run build:ui</code> and restart Wharf.</p>
<p>The registry API (<code>/v2/</code>) and the JSON API (<code>/api/v1/</code>) work without it.</p>`;

export function registerStaticUi(app: FastifyInstance, opts: { dir: string }): void {
  const root = normalize(opts.dir);
  const files = new StaticFiles();

  /** Sends a file compressed as the client accepts, with its ETag; a matching If-None-Match is a 304. */
  const send = async (req: FastifyRequest, reply: FastifyReply, file: string, type: string): Promise<FastifyReply | null> => {
    const got = await files.get(file, type, pickEncoding(req.headers['accept-encoding']));
    if (!got) return null;
    reply.header('content-type', type);
    reply.header('etag', got.etag);
    reply.header('vary', 'accept-encoding');
    if (etagMatches(req.headers['if-none-match'], got.etag)) return reply.code(304).send();
    if (got.encoding !== 'identity') reply.header('content-encoding', got.encoding);
    reply.header('content-length', String(got.body.length));
    if (req.method === 'HEAD') return reply.code(200).send();
    return reply.code(200).send(got.body);
  };

  const serve = async (req: FastifyRequest, reply: FastifyReply) => {
    let path: string;
    try {
      path = decodeURIComponent(req.url.split('?')[0] ?? '/');
    } catch {
      throw new RegistryError('BAD_REQUEST', 'malformed URL', { url: req.url });
    }
    if (RESERVED.test(path)) throw new RegistryError('ROUTE_UNKNOWN', 'not found', { path: req.url });
    const file = normalize(join(root, path));
    if (file.startsWith(root + sep) && extname(file) !== '') {
      // Vite puts a content hash in every asset name under /assets: cache them for good.
      reply.header('cache-control', path.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
      reply.header('x-content-type-options', 'nosniff');
      const sent = await send(req, reply, file, TYPES[extname(file)] ?? 'application/octet-stream');
      if (sent) return sent;
      reply.removeHeader('cache-control');
      // A missing asset is a real 404, not the app (a stale tab asking for an old bundle).
      if (path.startsWith('/assets/')) throw new RegistryError('NOT_FOUND', 'not found', { path: req.url });
    }
    securityHeaders(reply);
    reply.header('cache-control', 'no-cache');
    const sent = await send(req, reply, join(root, 'index.html'), 'text/html; charset=utf-8');
    if (sent) return sent;
    reply.header('content-type', 'text/html; charset=utf-8');
    return reply.code(503).send(NOT_BUILT);
  };

  app.route({ method: ['GET', 'HEAD'], url: '/*', handler: serve });
}
