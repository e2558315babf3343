/**
 * /api/v1/admin/proxies — proxy organizations (pull-through cache, docs/adr/0017-pull-through-cache.md),
 * for site administrators:
 *   GET    the proxies with their upstream, hit/miss counts and last upstream error
 *   POST   create a proxy organization bound to an upstream
 *   GET    /:name one proxy
 *   PATCH  /:name change the upstream, credentials, patterns or tag TTL
 *   DELETE /:name unbind the upstream (the organization and its cached packages stay)
 * The upstream password is write-only: answers say only whether one is stored.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ProxyAdminService } from '../../services/proxy/admin.ts';
import type { AuthGate } from '../auth-gate.ts';
import { principalOf, signedIn } from './common.ts';
import { route, serve } from './route.ts';

const proxySchema = z
  .object({
    name: z.string(),
    url: z.string(),
    username: z.string().nullable(),
    hasPassword: z.boolean(),
    allow: z.array(z.string()),
    deny: z.array(z.string()),
    tagTtlSeconds: z.number(),
    sync: z.array(z.string()),
    hits: z.number(),
    misses: z.number(),
    lastError: z.string().nullable(),
    lastErrorAt: z.iso.datetime().nullable(),
    createdBy: z.string(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: 'Proxy' });

const patterns = z.array(z.string().min(1).max(255)).max(100);
const settings = {
  url: z.string().min(1).max(2048),
  username: z.string().min(1).max(255).nullable().optional(),
  password: z.string().min(1).max(4096).nullable().optional(),
  allow: patterns.optional(),
  deny: patterns.optional(),
  tagTtlSeconds: z.number().int().min(0).max(365 * 86_400).optional(),
  /** `path:tag` references the periodic `proxy.sync` job keeps fetched ahead of pulls. */
  sync: z.array(z.string().min(3).max(512)).max(1000).optional(),
};

const nameParams = z.object({ name: z.string().min(1).max(255) });

const listProxies = route({
  method: 'GET',
  url: '/api/v1/admin/proxies',
  operationId: 'listProxies',
  tags: ['admin'],
  summary: 'Proxy organizations: upstream, hit/miss counts, last upstream error (site admins)',
  responses: { 200: z.array(proxySchema) },
  errors: [403],
});

const createProxy = route({
  method: 'POST',
  url: '/api/v1/admin/proxies',
  operationId: 'createProxy',
  tags: ['admin'],
  summary: 'Create a proxy organization bound to an upstream registry (site admins)',
  body: z
    .object({
      name: z.string().min(1).max(255),
      ...settings,
      /** The organization's default visibility for its cached packages. */
      visibility: z.enum(['private', 'internal', 'public']).default('private'),
    })
    .strict(),
  bodyExample: { name: 'dockerhub', url: 'https://registry-1.docker.io', allow: ['library/*'], tagTtlSeconds: 3600 },
  responses: { 201: proxySchema },
  errors: [403, 409],
});

const getProxy = route({
  method: 'GET',
  url: '/api/v1/admin/proxies/:name',
  operationId: 'getProxy',
  tags: ['admin'],
  summary: 'One proxy organization (site admins)',
  params: nameParams,
  responses: { 200: proxySchema },
  errors: [403, 404],
});

const updateProxy = route({
  method: 'PATCH',
  url: '/api/v1/admin/proxies/:name',
  operationId: 'updateProxy',
  tags: ['admin'],
  summary: 'Change the upstream, credentials (password null removes it), patterns or tag TTL (site admins)',
  params: nameParams,
  body: z.object({ ...settings, url: settings.url.optional() }).strict(),
  bodyExample: { tagTtlSeconds: 600 },
  responses: { 200: proxySchema },
  errors: [403, 404],
});

const ownerProxy = route({
  method: 'GET',
  url: '/api/v1/owners/:owner/proxy',
  operationId: 'getOwnerProxy',
  tags: ['orgs'],
  summary: "The upstream a proxy organization mirrors, its hit/miss counts, last upstream error and cached packages (members and site admins)",
  params: z.object({ owner: z.string().min(1).max(255) }),
  responses: {
    200: z
      .object({
        name: z.string(),
        url: z.string(),
        tagTtlSeconds: z.number(),
        hits: z.number(),
        misses: z.number(),
        lastError: z.string().nullable(),
        lastErrorAt: z.iso.datetime().nullable(),
        packages: z.number(),
      })
      .meta({ id: 'OwnerProxy' }),
  },
  errors: [404],
});

const deleteProxy = route({
  method: 'DELETE',
  url: '/api/v1/admin/proxies/:name',
  operationId: 'deleteProxy',
  tags: ['admin'],
  summary: 'Unbind the upstream; the organization and its cached packages stay (site admins)',
  params: nameParams,
  responses: { 204: null },
  errors: [403, 404],
});

export interface ProxyRouteDeps {
  gate: AuthGate;
  proxies: ProxyAdminService;
}

export function registerProxyRoutes(app: FastifyInstance, deps: ProxyRouteDeps): void {
  const { gate, proxies } = deps;
  serve(app, listProxies, async ({ req }) => proxies.list(await signedIn(gate, req)));

  serve(app, createProxy, async ({ req, body }) => {
    const actor = await signedIn(gate, req);
    const { name, visibility, ...input } = body();
    return proxies.create(actor, name, input, visibility);
  });

  serve(app, getProxy, async ({ req, params }) => proxies.get(await signedIn(gate, req), params.name));

  serve(app, ownerProxy, async ({ req, params }) => proxies.ownerView(await principalOf(gate, req), params.owner));

  serve(app, updateProxy, async ({ req, params, body }) => {
    const actor = await signedIn(gate, req);
    return proxies.update(actor, params.name, body());
  });

  serve(app, deleteProxy, async ({ req, params }) => {
    await proxies.remove(await signedIn(gate, req), params.name);
    return undefined;
  });
}
