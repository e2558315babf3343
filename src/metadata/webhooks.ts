import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { DB } from './schema.ts';

/** Tables of migration 0011 (webhooks and their delivery outbox). */
export interface WebhooksTable {
  id: string;
  owner: string;
  /** null: every package of the owner. */
  repo: string | null;
  url: string;
  secret: string;
  /** JSON array of event names. */
  events: string;
  active: number;
  created_by: string;
  created_at: number;
  updated_at: number;
}

export interface WebhookDeliveriesTable {
  id: string;
  webhook_id: string;
  event_id: string;
  event: string;
  payload: string;
  status: string;
  attempts: number;
  next_attempt_at: number;
  claimed_until: number;
  claimed_by: string | null;
  created_at: number;
  finished_at: number | null;
  response_status: number | null;
  response_excerpt: string | null;
  latency_ms: number | null;
  error: string | null;
  redelivery_of: string | null;
}

export type WebhookTables = { webhooks: WebhooksTable; webhook_deliveries: WebhookDeliveriesTable };

export interface WebhookRecord {
  id: string;
  owner: string;
  repo: string | null;
  url: string;
  secret: string;
  events: string[];
  active: boolean;
  createdBy: string;
  createdAt: number;
  updatedAt: number;
}

/** pending: waiting for its next attempt; succeeded: a 2xx answer; failed: given up after the last retry. */
export type DeliveryStatus = 'pending' | 'succeeded' | 'failed';

export interface DeliveryRecord {
  id: string;
  webhookId: string;
  eventId: string;
  event: string;
  payload: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: number;
  createdAt: number;
  finishedAt: number | null;
  responseStatus: number | null;
  responseExcerpt: string | null;
  latencyMs: number | null;
  error: string | null;
  redeliveryOf: string | null;
}

function hook(r: WebhooksTable): WebhookRecord {
  return {
    id: r.id,
    owner: r.owner,
    repo: r.repo,
    url: r.url,
    secret: r.secret,
    events: JSON.parse(r.events) as string[],
    active: Number(r.active) === 1,
    createdBy: r.created_by,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

function delivery(r: WebhookDeliveriesTable): DeliveryRecord {
  return {
    id: r.id,
    webhookId: r.webhook_id,
    eventId: r.event_id,
    event: r.event,
    payload: r.payload,
    status: r.status as DeliveryStatus,
    attempts: Number(r.attempts),
    nextAttemptAt: Number(r.next_attempt_at),
    createdAt: Number(r.created_at),
    finishedAt: r.finished_at === null ? null : Number(r.finished_at),
    responseStatus: r.response_status === null ? null : Number(r.response_status),
    responseExcerpt: r.response_excerpt,
    latencyMs: r.latency_ms === null ? null : Number(r.latency_ms),
    error: r.error,
    redeliveryOf: r.redelivery_of,
  };
}

/** Registered webhooks. */
export class WebhookStore {
  private readonly db: Kysely<DB & WebhookTables>;
  constructor(db: Kysely<DB>) {
    this.db = db.withTables<WebhookTables>();
  }

  async create(h: Omit<WebhookRecord, 'id' | 'updatedAt'>): Promise<WebhookRecord> {
    const id = randomUUID();
    await this.db
      .insertInto('webhooks')
      .values({ id, owner: h.owner, repo: h.repo, url: h.url, secret: h.secret, events: JSON.stringify(h.events), active: h.active ? 1 : 0, created_by: h.createdBy, created_at: h.createdAt, updated_at: h.createdAt })
      .execute();
    return { ...h, id, updatedAt: h.createdAt };
  }

  async get(id: string): Promise<WebhookRecord | null> {
    const r = await this.db.selectFrom('webhooks').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? hook(r) : null;
  }

  /** The owner's webhooks (repo = undefined: all of them; null: the owner-wide ones; a name: that package's). */
  async list(owner: string, repo?: string | null): Promise<WebhookRecord[]> {
    let q = this.db.selectFrom('webhooks').selectAll().where('owner', '=', owner).orderBy('created_at').orderBy('id');
    if (repo === null) q = q.where('repo', 'is', null);
    else if (repo !== undefined) q = q.where('repo', '=', repo);
    return (await q.execute()).map(hook);
  }

  /** Active webhooks that hear about changes to `repo`: the owner's and the package's own. */
  async subscribers(owner: string, repo: string): Promise<WebhookRecord[]> {
    const rows = await this.db
      .selectFrom('webhooks')
      .selectAll()
      .where('owner', '=', owner)
      .where('active', '=', 1)
      .where((eb) => eb.or([eb('repo', 'is', null), eb('repo', '=', repo)]))
      .execute();
    return rows.map(hook);
  }

  async update(id: string, fields: Partial<Pick<WebhookRecord, 'url' | 'secret' | 'events' | 'active'>>, now: number): Promise<void> {
    await this.db
      .updateTable('webhooks')
      .set({
        updated_at: now,
        ...(fields.url !== undefined ? { url: fields.url } : {}),
        ...(fields.secret !== undefined ? { secret: fields.secret } : {}),
        ...(fields.events !== undefined ? { events: JSON.stringify(fields.events) } : {}),
        ...(fields.active !== undefined ? { active: fields.active ? 1 : 0 } : {}),
      })
      .where('id', '=', id)
      .execute();
  }

  /** Removes the webhook and its delivery log (pending deliveries are dropped with it). */
  async delete(id: string): Promise<boolean> {
    await this.db.deleteFrom('webhook_deliveries').where('webhook_id', '=', id).execute();
    const r = await this.db.deleteFrom('webhooks').where('id', '=', id).executeTakeFirst();
    return r.numDeletedRows > 0n;
  }
}

export interface NewDelivery {
  webhookId: string;
  eventId: string;
  event: string;
  payload: string;
  now: number;
  redeliveryOf?: string | null;
}

export interface AttemptResult {
  status: DeliveryStatus;
  now: number;
  nextAttemptAt: number;
  responseStatus: number | null;
  responseExcerpt: string | null;
  latencyMs: number | null;
  error: string | null;
}

/**
 * The delivery outbox and log. Rows are inserted in the transaction of the change they report;
 * `claim` hands each due row to one process at a time (the claim expires, so a process killed
 * mid-attempt leaves it to the next claimer: at-least-once).
 */
export class DeliveryStore {
  private readonly db: Kysely<DB & WebhookTables>;
  private readonly rowLocks: boolean;
  constructor(db: Kysely<DB>, opts: { rowLocks: boolean }) {
    this.db = db.withTables<WebhookTables>();
    this.rowLocks = opts.rowLocks;
  }

  async add(d: NewDelivery): Promise<string> {
    const id = randomUUID();
    await this.db
      .insertInto('webhook_deliveries')
      .values({
        id,
        webhook_id: d.webhookId,
        event_id: d.eventId,
        event: d.event,
        payload: d.payload,
        status: 'pending',
        attempts: 0,
        next_attempt_at: d.now,
        claimed_until: 0,
        claimed_by: null,
        created_at: d.now,
        finished_at: null,
        response_status: null,
        response_excerpt: null,
        latency_ms: null,
        error: null,
        redelivery_of: d.redeliveryOf ?? null,
      })
      .execute();
    return id;
  }

  /**
   * Claims up to `limit` due deliveries for `holder` until `until`, in one statement: on PostgreSQL
   * the candidates are locked with SKIP LOCKED (concurrent claimers take different rows); SQLite
   * has a single writer, so the UPDATE itself is atomic.
   */
  async claim(holder: string, now: number, until: number, limit: number): Promise<DeliveryRecord[]> {
    let candidates = this.db
      .selectFrom('webhook_deliveries')
      .select('id')
      .where('status', '=', 'pending')
      .where('next_attempt_at', '<=', now)
      .where('claimed_until', '<=', now)
      .orderBy('next_attempt_at')
      .limit(limit);
    if (this.rowLocks) candidates = candidates.forUpdate().skipLocked();
    const rows = await this.db
      .updateTable('webhook_deliveries')
      .set({ claimed_by: holder, claimed_until: until })
      .where('id', 'in', candidates)
      .where('status', '=', 'pending')
      .where('claimed_until', '<=', now)
      .returningAll()
      .execute();
    return rows.map(delivery).sort((a, b) => a.nextAttemptAt - b.nextAttemptAt);
  }

  /** Records an attempt and releases the claim; false when the claim was lost meanwhile (another process may have sent it too). */
  async finishAttempt(id: string, holder: string, r: AttemptResult): Promise<boolean> {
    const res = await this.db
      .updateTable('webhook_deliveries')
      .set({
        status: r.status,
        attempts: sql<number>`attempts + 1`,
        next_attempt_at: r.nextAttemptAt,
        claimed_until: 0,
        claimed_by: null,
        finished_at: r.status === 'pending' ? null : r.now,
        response_status: r.responseStatus,
        response_excerpt: r.responseExcerpt,
        latency_ms: r.latencyMs,
        error: r.error,
      })
      .where('id', '=', id)
      .where('claimed_by', '=', holder)
      .executeTakeFirst();
    return res.numUpdatedRows > 0n;
  }

  async get(id: string): Promise<DeliveryRecord | null> {
    const r = await this.db.selectFrom('webhook_deliveries').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? delivery(r) : null;
  }

  /** A webhook's deliveries, newest first. */
  async list(webhookId: string, limit: number, before?: number): Promise<DeliveryRecord[]> {
    let q = this.db.selectFrom('webhook_deliveries').selectAll().where('webhook_id', '=', webhookId).orderBy('created_at', 'desc').orderBy('id').limit(limit);
    if (before !== undefined) q = q.where('created_at', '<', before);
    return (await q.execute()).map(delivery);
  }

  /** Deletes up to `limit` finished deliveries that ended before `before`; returns how many. */
  async pruneFinished(before: number, limit: number): Promise<number> {
    const old = this.db
      .selectFrom('webhook_deliveries')
      .select('id')
      .where('status', 'in', ['succeeded', 'failed'])
      .where('finished_at', '<', before)
      .limit(limit);
    const r = await this.db.deleteFrom('webhook_deliveries').where('id', 'in', old).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  /** Deliveries still waiting (tests, metrics). */
  async pendingCount(): Promise<number> {
    const r = await this.db.selectFrom('webhook_deliveries').select((eb) => eb.fn.countAll<number>().as('n')).where('status', '=', 'pending').executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  /** The earliest next attempt of a pending delivery (the worker sleeps until then). */
  async nextDue(): Promise<number | null> {
    const r = await this.db.selectFrom('webhook_deliveries').select((eb) => eb.fn.min('next_attempt_at').as('t')).where('status', '=', 'pending').executeTakeFirst();
    return r?.t === null || r?.t === undefined ? null : Number(r.t);
  }
}
