/**
 * /api/v1 webhooks (docs/webhooks.md):
 *   GET|POST /api/v1/owners/:owner/webhooks                   the owner's webhooks (every package)
 *   GET|POST /api/v1/packages/:owner/:package/webhooks        one package's webhooks
 *   GET|PATCH|DELETE /api/v1/webhooks/:id                     one webhook
 *   POST /api/v1/webhooks/:id/test                            queue a `ping` delivery
 *   GET  /api/v1/webhooks/:id/deliveries                      its delivery log, newest first
 *   GET  /api/v1/webhooks/:id/deliveries/:delivery            one delivery with its payload
 *   POST /api/v1/webhooks/:id/deliveries/:delivery/redeliver  send the same payload again
 * One route() declaration per route (ADR 0019).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { WEBHOOK_EVENTS } from '../../services/webhooks/events.ts';
import type { WebhookService } from '../../services/webhooks/service.ts';
import type { AuthGate } from '../auth-gate.ts';
import { packageName, packageParams, signedIn } from './common.ts';
import { route, serve } from './route.ts';

export interface WebhookRouteDeps {
  gate: AuthGate;
  webhooks: WebhookService;
}

const owner = z.string().min(1).max(255);
const id = z.string().uuid('a webhook id is a UUID');
const eventName = z.enum(WEBHOOK_EVENTS);

const webhookSchema = z
  .object({
    id: z.string(),
    owner: z.string(),
    package: z.string().nullable(),
    url: z.string(),
    events: z.array(eventName),
    active: z.boolean(),
    createdBy: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Webhook' });

const deliverySchema = z
  .object({
    id: z.string(),
    webhookId: z.string(),
    eventId: z.string(),
    event: z.string(),
    status: z.enum(['pending', 'succeeded', 'failed']),
    attempts: z.number().int(),
    nextAttemptAt: z.string().nullable(),
    createdAt: z.string(),
    finishedAt: z.string().nullable(),
    responseStatus: z.number().int().nullable(),
    responseExcerpt: z.string().nullable(),
    latencyMs: z.number().int().nullable(),
    error: z.string().nullable(),
    redeliveryOf: z.string().nullable(),
  })
  .meta({ id: 'WebhookDelivery' });

const createBody = z.object({
  url: z.string().min(1).max(2048),
  /** HMAC key of the signature header; generated (and answered once) when left out. */
  secret: z.string().min(16).max(256).optional(),
  events: z.array(eventName).min(1),
  active: z.boolean().optional(),
});
const created = z.object({ webhook: webhookSchema, secret: z.string() }).meta({ id: 'CreatedWebhook' });
const idParams = z.object({ id });
const deliveryParams = z.object({ id, delivery: z.string().uuid() });
const createExample = { url: 'https://ci.example.com/hooks/wharf', events: ['package.published'] };

const ownerWebhooks = route({
  method: 'GET',
  url: '/api/v1/owners/:owner/webhooks',
  operationId: 'listOwnerWebhooks',
  tags: ['webhooks'],
  summary: "The owner's webhooks, for every package (owner administrators)",
  params: z.object({ owner }),
  responses: { 200: z.array(webhookSchema) },
  errors: [403],
});
const createOwnerWebhook = route({
  method: 'POST',
  url: '/api/v1/owners/:owner/webhooks',
  operationId: 'createOwnerWebhook',
  tags: ['webhooks'],
  summary: 'Register a webhook for every package of the owner; the secret is in this answer only',
  params: z.object({ owner }),
  body: createBody,
  bodyExample: createExample,
  responses: { 201: created },
  errors: [400, 403],
});
const packageWebhooks = route({
  method: 'GET',
  url: '/api/v1/packages/:owner/:package/webhooks',
  operationId: 'listPackageWebhooks',
  tags: ['webhooks'],
  summary: "The package's own webhooks (package admins)",
  params: packageParams,
  responses: { 200: z.array(webhookSchema) },
  errors: [403, 404],
});
const createPackageWebhook = route({
  method: 'POST',
  url: '/api/v1/packages/:owner/:package/webhooks',
  operationId: 'createPackageWebhook',
  tags: ['webhooks'],
  summary: 'Register a webhook for this package; the secret is in this answer only',
  params: packageParams,
  body: createBody,
  bodyExample: createExample,
  responses: { 201: created },
  errors: [400, 403, 404],
});
const getWebhook = route({
  method: 'GET',
  url: '/api/v1/webhooks/:id',
  operationId: 'getWebhook',
  tags: ['webhooks'],
  summary: 'One webhook (never its secret)',
  params: idParams,
  responses: { 200: webhookSchema },
  errors: [404],
});
const updateWebhook = route({
  method: 'PATCH',
  url: '/api/v1/webhooks/:id',
  operationId: 'updateWebhook',
  tags: ['webhooks'],
  summary: 'Change the URL, secret, events or active flag',
  params: idParams,
  body: createBody.partial(),
  bodyExample: { active: false },
  responses: { 200: webhookSchema },
  errors: [400, 403, 404],
});
const deleteWebhook = route({
  method: 'DELETE',
  url: '/api/v1/webhooks/:id',
  operationId: 'deleteWebhook',
  tags: ['webhooks'],
  summary: 'Remove a webhook and its delivery log',
  params: idParams,
  responses: { 204: null },
  errors: [403, 404],
});
const testWebhook = route({
  method: 'POST',
  url: '/api/v1/webhooks/:id/test',
  operationId: 'testWebhook',
  tags: ['webhooks'],
  summary: 'Queue a `ping` delivery (sent within a second); answers with the delivery',
  params: idParams,
  responses: { 202: deliverySchema },
  errors: [403, 404],
});
const listDeliveries = route({
  method: 'GET',
  url: '/api/v1/webhooks/:id/deliveries',
  operationId: 'listWebhookDeliveries',
  tags: ['webhooks'],
  summary: 'The delivery log: status, attempts, latency, response excerpt; newest first',
  params: idParams,
  query: z.object({
    limit: z.coerce.number().int().min(1).max(500).optional(),
    before: z.iso.datetime({ offset: true }).optional(),
  }),
  responses: { 200: z.array(deliverySchema) },
  errors: [403, 404],
});
const getDelivery = route({
  method: 'GET',
  url: '/api/v1/webhooks/:id/deliveries/:delivery',
  operationId: 'getWebhookDelivery',
  tags: ['webhooks'],
  summary: 'One delivery with the payload it sends',
  params: deliveryParams,
  responses: { 200: deliverySchema.extend({ payload: z.unknown() }).meta({ id: 'WebhookDeliveryWithPayload' }) },
  errors: [403, 404],
});
const redeliver = route({
  method: 'POST',
  url: '/api/v1/webhooks/:id/deliveries/:delivery/redeliver',
  operationId: 'redeliverWebhook',
  tags: ['webhooks'],
  summary: 'Send the same payload again as a new delivery',
  params: deliveryParams,
  responses: { 202: deliverySchema },
  errors: [403, 404],
});

export function registerWebhookRoutes(app: FastifyInstance, deps: WebhookRouteDeps): void {
  const { gate, webhooks } = deps;

  serve(app, ownerWebhooks, async ({ req, params }) => webhooks.list(await signedIn(gate, req), { owner: params.owner, package: null }));

  serve(app, createOwnerWebhook, async ({ req, params, body }) => {
    const actor = await signedIn(gate, req);
    return webhooks.create(actor, { owner: params.owner, package: null }, body());
  });

  serve(app, packageWebhooks, async ({ req, params }) => webhooks.list(await signedIn(gate, req), { owner: params.owner, package: packageName(params) }));

  serve(app, createPackageWebhook, async ({ req, params, body }) => {
    const actor = await signedIn(gate, req);
    return webhooks.create(actor, { owner: params.owner, package: packageName(params) }, body());
  });

  serve(app, getWebhook, async ({ req, params }) => webhooks.get(await signedIn(gate, req), params.id));

  serve(app, updateWebhook, async ({ req, params, body }) => {
    const actor = await signedIn(gate, req);
    return webhooks.update(actor, params.id, body());
  });

  serve(app, deleteWebhook, async ({ req, params }) => {
    await webhooks.delete(await signedIn(gate, req), params.id);
    return undefined;
  });

  serve(app, testWebhook, async ({ req, params }) => webhooks.test(await signedIn(gate, req), params.id));

  serve(app, listDeliveries, async ({ req, params, query }) =>
    webhooks.deliveries(await signedIn(gate, req), params.id, { limit: query.limit ?? 50, before: query.before === undefined ? undefined : Date.parse(query.before) }),
  );

  serve(app, getDelivery, async ({ req, params }) => webhooks.delivery(await signedIn(gate, req), params.id, params.delivery));

  serve(app, redeliver, async ({ req, params }) => webhooks.redeliver(await signedIn(gate, req), params.id, params.delivery));
}
