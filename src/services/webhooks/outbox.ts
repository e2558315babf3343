/**
 * The webhook outbox: a change writes one delivery row per subscribed webhook in its own
 * transaction (`m` is the transaction's stores), so a crash right after the commit loses no event
 * and a rolled-back change sends none. The delivery worker sends the rows afterwards
 * (docs/adr/0016-webhooks-and-audit.md).
 */
import { randomUUID } from 'node:crypto';
import type { Metadata } from '../../metadata/metadata.ts';
import { buildPayload, type Change, eventFor } from './events.ts';

export interface OutboxOptions {
  clock: () => number;
  /** Host of the public base URL (pull commands in payloads); else the Host the client addressed. */
  publicHost: string | null;
  /** Told after a commit that wrote deliveries, so this process sends them at once. */
  onQueued?: () => void;
}

export class WebhookOutbox {
  private readonly opts: OutboxOptions;

  constructor(opts: OutboxOptions) {
    this.opts = opts;
  }

  /** Queues the deliveries of `changes`; returns how many. Call inside the change's transaction. */
  async record(m: Metadata, changes: readonly Change[]): Promise<number> {
    if (changes.length === 0) return 0;
    const now = this.opts.clock();
    let queued = 0;
    const byRepo = new Map<string, Awaited<ReturnType<Metadata['webhooks']['subscribers']>>>();
    for (const c of changes) {
      let hooks = byRepo.get(c.repo);
      if (!hooks) {
        hooks = await m.webhooks.subscribers(c.owner, c.repo);
        byRepo.set(c.repo, hooks);
      }
      if (hooks.length === 0) continue;
      const eventId = randomUUID();
      const host = this.opts.publicHost ?? c.actor.client?.host ?? null;
      for (const h of hooks) {
        const event = eventFor(h.events, c.event, c.kind);
        if (!event) continue;
        const payload = JSON.stringify(buildPayload(eventId, event, now, c, host));
        await m.deliveries.add({ webhookId: h.id, eventId, event, payload, now });
        queued++;
      }
    }
    return queued;
  }

  /** After the transaction committed: wakes the local worker when something was queued. */
  committed(queued: number): void {
    if (queued > 0) this.opts.onQueued?.();
  }
}
