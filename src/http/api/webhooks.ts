/**
 * /api/v1 webhooks (docs/webhooks.md):
 *   GET|POST /api/v1/owners/:owner/webhooks                   the owner's webhooks (every package)
 *   GET|POST /api/v1/packages/:owner/:package/webhooks        one package's webhooks
 *   GET|PATCH|DELETE /api/v1/webhooks/:id                     one webhook
 *   POST /api/v1/webhooks/:id/test                            queue a `ping` delivery
 *   GET  /api/v1/webhooks/:id/deliveries                      its delivery log, newest first
 *   GET  /api/v1/webhooks/:id/deliveries/:delivery            one delivery with its payload
 *   POST /api/v1/webhooks/:id/deliveries/:delivery/redeliver  send the same payload again
 * One exported zod schema object per route (params, query, body, response).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { RegistryError } from '../../errors.ts';
import { WEBHOOK_EVENTS } from '../../services/webhooks/events.ts';
import type { WebhookService } from '../../services/webhooks/service.ts';
import type { AuthGate } from '../auth-gate.ts';
import { packageName, signedIn } from './common.ts';

export interface WebhookRouteDeps {
  gate: AuthGate;
  webhooks: WebhookService;
}

const owner = z.string().min(1).max(255);
const id = z.string().uuid('a webhook id is a UUID');
const eventName = z.enum(WEBHOOK_EVENTS);

export const webhookSchema = z.object({
  id: z.string(),
  owner: z.string(),
  package: z.string().nullable(),
  url: z.string(),
  events: z.array(eventName),
  active: z.boolean(),
  createdBy: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const deliverySchema = z.object({
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
});

const createBody = z.object({
  url: z.string().min(1).max(2048),
  /** HMAC key of the signature header; generated (and answered once) when left out. */
  secret: z.string().min(16).max(256).optional(),
  events: z.array(eventName).min(1),
  active: z.boolean().optional(),
});

export const ownerWebhooksRoute = { params: z.object({ owner }), response: z.array(webhookSchema) };
export const packageWebhooksRoute = { params: z.object({ owner, package: z.string().min(1) }), response: z.array(webhookSchema) };
export const createWebhookRoute = { body: createBody, response: z.object({ webhook: webhookSchema, secret: z.string() }) };
export const webhookRoute = { params: z.object({ id }), response: webhookSchema };
export const updateWebhookRoute = { params: z.object({ id }), body: createBody.partial(), response: webhookSchema };
export const deliveriesRoute = {
  params: z.object({ id }),
  query: z.object({
    limit: z.coerce.number().int().min(1).max(500).optional(),
    before: z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'before must be an ISO 8601 time').optional(),
  }),
  response: z.array(deliverySchema),
};
export const deliveryRoute = { params: z.object({ id, delivery: z.string().uuid() }), response: deliverySchema.extend({ payload: z.unknown() }) };
export const redeliverRoute = { params: z.object({ id, delivery: z.string().uuid() }), response: deliverySchema };
export const testWebhookRoute = { params: z.object({ id }), response: deliverySchema };

function parse<T extends z.ZodType>(schema: T, value: unknown, what: string): z.infer<T> {
  const r = schema.safeParse(value ?? {});
  if (!r.success) throw new RegistryError('BAD_REQUEST', `invalid ${what}`, { issues: r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) });
  return r.data;
}

const params = <T extends z.ZodType>(schema: T, req: FastifyRequest): z.infer<T> => parse(schema, req.params, 'path parameters');

export function registerWebhookRoutes(app: FastifyInstance, deps: WebhookRouteDeps): void {
  const { gate, webhooks } = deps;

  app.get('/api/v1/owners/:owner/webhooks', async (req) => {
    const p = params(ownerWebhooksRoute.params, req);
    return webhooks.list(await signedIn(gate, req), { owner: p.owner, package: null });
  });

  app.post('/api/v1/owners/:owner/webhooks', async (req, reply) => {
    const p = params(ownerWebhooksRoute.params, req);
    const actor = await signedIn(gate, req);
    const b = parse(createWebhookRoute.body, req.body, 'request body');
    return reply.code(201).send(await webhooks.create(actor, { owner: p.owner, package: null }, b));
  });

  app.get('/api/v1/packages/:owner/:package/webhooks', async (req) => {
    const p = params(packageWebhooksRoute.params, req);
    return webhooks.list(await signedIn(gate, req), { owner: p.owner, package: packageName(req) });
  });

  app.post('/api/v1/packages/:owner/:package/webhooks', async (req, reply) => {
    const p = params(packageWebhooksRoute.params, req);
    const actor = await signedIn(gate, req);
    const b = parse(createWebhookRoute.body, req.body, 'request body');
    return reply.code(201).send(await webhooks.create(actor, { owner: p.owner, package: packageName(req) }, b));
  });

  app.get('/api/v1/webhooks/:id', async (req) => {
    const p = params(webhookRoute.params, req);
    return webhooks.get(await signedIn(gate, req), p.id);
  });

  app.patch('/api/v1/webhooks/:id', async (req) => {
    const p = params(updateWebhookRoute.params, req);
    const actor = await signedIn(gate, req);
    return webhooks.update(actor, p.id, parse(updateWebhookRoute.body, req.body, 'request body'));
  });

  app.delete('/api/v1/webhooks/:id', async (req, reply) => {
    const p = params(webhookRoute.params, req);
    await webhooks.delete(await signedIn(gate, req), p.id);
    return reply.code(204).send();
  });

  app.post('/api/v1/webhooks/:id/test', async (req, reply) => {
    const p = params(testWebhookRoute.params, req);
    return reply.code(202).send(await webhooks.test(await signedIn(gate, req), p.id));
  });

  app.get('/api/v1/webhooks/:id/deliveries', async (req) => {
    const p = params(deliveriesRoute.params, req);
    const q = parse(deliveriesRoute.query, req.query, 'query');
    return webhooks.deliveries(await signedIn(gate, req), p.id, { limit: q.limit ?? 50, before: q.before === undefined ? undefined : Date.parse(q.before) });
  });

  app.get('/api/v1/webhooks/:id/deliveries/:delivery', async (req) => {
    const p = params(deliveryRoute.params, req);
    return webhooks.delivery(await signedIn(gate, req), p.id, p.delivery);
  });

  app.post('/api/v1/webhooks/:id/deliveries/:delivery/redeliver', async (req, reply) => {
    const p = params(redeliverRoute.params, req);
    return reply.code(202).send(await webhooks.redeliver(await signedIn(gate, req), p.id, p.delivery));
  });
}
