import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RegistryError } from '../../errors.ts';
import { parseRepoName, type RepoName } from '../../oci/name.ts';
import { blobRoutes } from './blobs.ts';
import type { V2Deps } from './common.ts';
import { listRoutes } from './lists.ts';
import { manifestRoutes } from './manifests.ts';
import { uploadRoutes } from './uploads.ts';
import { bindLog } from '../log-context.ts';

type Method = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';
type Route = (req: FastifyRequest, reply: FastifyReply, name: RepoName, arg: string) => Promise<unknown>;
type Table = Partial<Record<Method, Route>>;

/**
 * Repository names contain slashes, so /v2/* is matched here rather than by Fastify's router:
 * the endpoint is identified by its suffix, and the name is everything before it.
 */
const PATTERNS: { re: RegExp; area: 'tags' | 'manifests' | 'uploadStart' | 'upload' | 'blob' | 'referrers' }[] = [
  { re: /^(.+)\/tags\/list$/, area: 'tags' },
  { re: /^(.+)\/manifests\/([^/]+)$/, area: 'manifests' },
  { re: /^(.+)\/blobs\/uploads\/?$/, area: 'uploadStart' },
  { re: /^(.+)\/blobs\/uploads\/([^/]+)$/, area: 'upload' },
  { re: /^(.+)\/blobs\/([^/]+)$/, area: 'blob' },
  { re: /^(.+)\/referrers\/([^/]+)$/, area: 'referrers' },
];

/** Metric labels of the endpoints (the route Fastify sees is `/v2/*` for all of them). */
const TEMPLATES: Record<(typeof PATTERNS)[number]['area'], string> = {
  tags: '/v2/<name>/tags/list',
  manifests: '/v2/<name>/manifests/<reference>',
  uploadStart: '/v2/<name>/blobs/uploads/',
  upload: '/v2/<name>/blobs/uploads/<uuid>',
  blob: '/v2/<name>/blobs/<digest>',
  referrers: '/v2/<name>/referrers/<digest>',
};

export function registerV2(app: FastifyInstance, deps: V2Deps): void {
  const blobs = blobRoutes(deps);
  const uploads = uploadRoutes(deps);
  const manifests = manifestRoutes(deps);
  const lists = listRoutes(deps);
  const tables: Record<(typeof PATTERNS)[number]['area'], Table> = {
    tags: { GET: lists.tags, HEAD: lists.tags },
    manifests: { GET: manifests.get, HEAD: manifests.get, PUT: manifests.put, DELETE: manifests.delete },
    uploadStart: { POST: uploads.start },
    upload: { GET: uploads.status, PATCH: uploads.patch, PUT: uploads.put, DELETE: uploads.cancel },
    blob: { GET: blobs.get, HEAD: blobs.get, DELETE: blobs.delete },
    referrers: { GET: lists.referrers },
  };

  // Registry bodies are streams or exact bytes: never let Fastify parse them.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null));

  app.route({
    method: ['GET', 'HEAD'],
    url: '/v2/',
    handler: async (req, reply) => {
      await deps.gate.authorize(req, { type: 'base' });
      return reply.code(200).header('content-type', 'application/json').send('{}');
    },
  });

  app.route({
    method: ['GET', 'HEAD', 'PUT', 'POST', 'PATCH', 'DELETE'],
    url: '/v2/*',
    handler: async (req, reply) => {
      const path = (req.params as { '*': string })['*'];
      const method = req.method as Method;
      if (path === '_catalog') {
        req.routeTemplate = '/v2/_catalog';
        if (method !== 'GET') throw new RegistryError('METHOD_NOT_ALLOWED', 'method not allowed');
        return lists.catalog(req, reply);
      }
      for (const { re, area } of PATTERNS) {
        const m = re.exec(path);
        if (!m) continue;
        req.routeTemplate = TEMPLATES[area];
        const name = parseRepoName(m[1] ?? '');
        bindLog(req, { repo: name });
        const handler = tables[area][method];
        if (!handler) throw new RegistryError('METHOD_NOT_ALLOWED', 'method not allowed', { method, endpoint: area });
        return handler(req, reply, name, m[2] ?? '');
      }
      throw new RegistryError('ROUTE_UNKNOWN', 'unknown registry endpoint', { path: `/v2/${path}` });
    },
  });
}
