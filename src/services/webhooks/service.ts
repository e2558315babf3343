/**
 * Webhook registrations, their delivery log, redelivery and test deliveries. Owner webhooks are
 * managed by the owner's administrators (the user, org owners), package webhooks by the package's
 * admins; site admins manage all. Secrets are write-only: never shown after creation.
 */
import { randomUUID } from 'node:crypto';
import type { Principal } from '../../auth/principal.ts';
import { RegistryError } from '../../errors.ts';
import type { Metadata } from '../../metadata/metadata.ts';
import type { DeliveryRecord, WebhookRecord } from '../../metadata/webhooks.ts';
import { ownerOf, type RepoName } from '../../oci/name.ts';
import { actorFields } from '../audit.ts';
import type { PackageService } from '../packages.ts';
import { buildPayload, isWebhookEvent, type WebhookEvent, WEBHOOK_EVENTS } from './events.ts';
import { newSecret } from './signature.ts';
import { checkTargetUrl, RefusedTargetError } from './target.ts';

export interface WebhookServiceDeps {
  metadata: Metadata;
  packages: Pick<PackageService, 'requireSettingsAccess'>;
  clock: () => number;
  allowPrivateTargets: boolean;
  publicHost: string | null;
  /** Wakes the local delivery worker (test deliveries and redeliveries go at once). */
  onQueued?: () => void;
}

export interface WebhookView {
  id: string;
  owner: string;
  /** null: every package of the owner. */
  package: string | null;
  url: string;
  events: WebhookEvent[];
  active: boolean;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

export interface DeliveryView {
  id: string;
  webhookId: string;
  eventId: string;
  event: string;
  status: 'pending' | 'succeeded' | 'failed';
  attempts: number;
  nextAttemptAt: string | null;
  createdAt: string;
  finishedAt: string | null;
  responseStatus: number | null;
  responseExcerpt: string | null;
  latencyMs: number | null;
  error: string | null;
  redeliveryOf: string | null;
}

export interface WebhookInput {
  url: string;
  secret?: string | undefined;
  events: string[];
  active?: boolean | undefined;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function webhookView(h: WebhookRecord): WebhookView {
  return {
    id: h.id,
    owner: h.owner,
    package: h.repo,
    url: h.url,
    events: h.events.filter(isWebhookEvent),
    active: h.active,
    createdBy: h.createdBy,
    createdAt: iso(h.createdAt),
    updatedAt: iso(h.updatedAt),
  };
}

export function deliveryView(d: DeliveryRecord): DeliveryView {
  return {
    id: d.id,
    webhookId: d.webhookId,
    eventId: d.eventId,
    event: d.event,
    status: d.status,
    attempts: d.attempts,
    nextAttemptAt: d.status === 'pending' ? iso(d.nextAttemptAt) : null,
    createdAt: iso(d.createdAt),
    finishedAt: d.finishedAt === null ? null : iso(d.finishedAt),
    responseStatus: d.responseStatus,
    responseExcerpt: d.responseExcerpt,
    latencyMs: d.latencyMs,
    error: d.error,
    redeliveryOf: d.redeliveryOf,
  };
}

export class WebhookService {
  private readonly deps: WebhookServiceDeps;

  constructor(deps: WebhookServiceDeps) {
    this.deps = deps;
  }

  private checkUrl(url: string): void {
    try {
      checkTargetUrl(url, this.deps.allowPrivateTargets);
    } catch (err) {
      if (err instanceof RefusedTargetError) throw new RegistryError('BAD_REQUEST', err.message, { url });
      throw err;
    }
    if (url.length > 2048) throw new RegistryError('BAD_REQUEST', 'url is longer than 2048 characters');
  }

  private checkEvents(events: readonly string[]): WebhookEvent[] {
    if (events.length === 0) throw new RegistryError('BAD_REQUEST', `name at least one event: ${WEBHOOK_EVENTS.join(', ')}`);
    const unknown = events.filter((e) => !isWebhookEvent(e));
    if (unknown.length > 0) throw new RegistryError('BAD_REQUEST', `unknown event ${unknown.join(', ')}; events are ${WEBHOOK_EVENTS.join(', ')}`, { unknown });
    return [...new Set(events)] as WebhookEvent[];
  }

  private checkSecret(secret: string): void {
    if (secret.length < 16 || secret.length > 256) throw new RegistryError('BAD_REQUEST', 'secret must be 16 to 256 characters (leave it out to have one generated)');
  }

  private async audit(actor: Principal, action: string, h: WebhookRecord, detail: Record<string, unknown>): Promise<void> {
    await this.deps.metadata.audit.append({ at: this.deps.clock(), ...actorFields(actor), action, target: h.repo ?? h.owner, owner: h.owner, detail: { webhook: h.id, ...detail } });
  }

  /** Registers a webhook on `owner` (package null) or one package; the secret is in this answer only. */
  async create(actor: Principal, target: { owner: string; package: RepoName | null }, input: WebhookInput): Promise<{ webhook: WebhookView; secret: string }> {
    if (target.package && ownerOf(target.package) !== target.owner) throw new RegistryError('BAD_REQUEST', `package ${target.package} does not belong to ${target.owner}`);
    await this.deps.packages.requireSettingsAccess(actor, { owner: target.owner, name: target.package });
    this.checkUrl(input.url);
    const events = this.checkEvents(input.events);
    const secret = input.secret ?? newSecret();
    this.checkSecret(secret);
    const h = await this.deps.metadata.webhooks.create({
      owner: target.owner,
      repo: target.package,
      url: input.url,
      secret,
      events,
      active: input.active ?? true,
      createdBy: actor.name || 'anonymous',
      createdAt: this.deps.clock(),
    });
    await this.audit(actor, 'webhook.create', h, { url: h.url, events, active: h.active });
    return { webhook: webhookView(h), secret };
  }

  async list(actor: Principal, target: { owner: string; package: RepoName | null }): Promise<WebhookView[]> {
    await this.deps.packages.requireSettingsAccess(actor, { owner: target.owner, name: target.package });
    return (await this.deps.metadata.webhooks.list(target.owner, target.package)).map(webhookView);
  }

  /** The webhook if the caller manages it; NOT_FOUND otherwise (no hint that it exists). */
  private async managed(actor: Principal, id: string): Promise<WebhookRecord> {
    const h = await this.deps.metadata.webhooks.get(id);
    if (!h) throw new RegistryError('NOT_FOUND', 'webhook not found', { id });
    try {
      await this.deps.packages.requireSettingsAccess(actor, { owner: h.owner, name: h.repo as RepoName | null });
    } catch (err) {
      if (err instanceof RegistryError && err.code === 'NOT_FOUND') throw new RegistryError('NOT_FOUND', 'webhook not found', { id });
      throw err;
    }
    return h;
  }

  async get(actor: Principal, id: string): Promise<WebhookView> {
    return webhookView(await this.managed(actor, id));
  }

  async update(actor: Principal, id: string, input: { [K in keyof WebhookInput]?: WebhookInput[K] | undefined }): Promise<WebhookView> {
    const h = await this.managed(actor, id);
    if (input.url !== undefined) this.checkUrl(input.url);
    const events = input.events !== undefined ? this.checkEvents(input.events) : undefined;
    if (input.secret !== undefined) this.checkSecret(input.secret);
    await this.deps.metadata.webhooks.update(
      id,
      {
        ...(input.url !== undefined ? { url: input.url } : {}),
        ...(input.secret !== undefined ? { secret: input.secret } : {}),
        ...(events !== undefined ? { events } : {}),
        ...(input.active !== undefined ? { active: input.active } : {}),
      },
      this.deps.clock(),
    );
    await this.audit(actor, 'webhook.update', h, { url: input.url, events, active: input.active, secretChanged: input.secret !== undefined });
    return this.get(actor, id);
  }

  async delete(actor: Principal, id: string): Promise<void> {
    const h = await this.managed(actor, id);
    await this.deps.metadata.webhooks.delete(id);
    await this.audit(actor, 'webhook.delete', h, { url: h.url });
  }

  async deliveries(actor: Principal, id: string, opts: { limit: number; before?: number | undefined }): Promise<DeliveryView[]> {
    await this.managed(actor, id);
    return (await this.deps.metadata.deliveries.list(id, opts.limit, opts.before)).map(deliveryView);
  }

  /** One delivery with the payload it sent. */
  async delivery(actor: Principal, id: string, deliveryId: string): Promise<DeliveryView & { payload: unknown }> {
    await this.managed(actor, id);
    const d = await this.deps.metadata.deliveries.get(deliveryId);
    if (!d || d.webhookId !== id) throw new RegistryError('NOT_FOUND', 'delivery not found', { id: deliveryId });
    return { ...deliveryView(d), payload: JSON.parse(d.payload) as unknown };
  }

  /** Queues the same payload again as a new delivery (same event id: receivers can tell). */
  async redeliver(actor: Principal, id: string, deliveryId: string): Promise<DeliveryView> {
    const h = await this.managed(actor, id);
    const d = await this.deps.metadata.deliveries.get(deliveryId);
    if (!d || d.webhookId !== id) throw new RegistryError('NOT_FOUND', 'delivery not found', { id: deliveryId });
    const newId = await this.deps.metadata.deliveries.add({ webhookId: id, eventId: d.eventId, event: d.event, payload: d.payload, now: this.deps.clock(), redeliveryOf: d.id });
    await this.audit(actor, 'webhook.redeliver', h, { delivery: d.id, redelivery: newId });
    this.deps.onQueued?.();
    const created = await this.deps.metadata.deliveries.get(newId);
    if (!created) throw new RegistryError('INTERNAL', 'redelivery vanished');
    return deliveryView(created);
  }

  /** Queues a `ping` delivery (the test button). */
  async test(actor: Principal, id: string): Promise<DeliveryView> {
    const h = await this.managed(actor, id);
    const now = this.deps.clock();
    const eventId = randomUUID();
    const payload = buildPayload(eventId, 'ping', now, { actor, owner: h.owner, repo: h.repo ?? '', kind: null, tag: null, digest: null, mediaType: null }, this.deps.publicHost);
    const newId = await this.deps.metadata.deliveries.add({ webhookId: id, eventId, event: 'ping', payload: JSON.stringify({ ...payload, package: h.repo, hook: { id: h.id, events: h.events } }), now });
    this.deps.onQueued?.();
    const created = await this.deps.metadata.deliveries.get(newId);
    if (!created) throw new RegistryError('INTERNAL', 'test delivery vanished');
    return deliveryView(created);
  }
}
