/**
 * Sends queued webhook deliveries (docs/adr/0016-webhooks-and-audit.md). Every process runs one
 * worker; each claims due rows in the database before sending them, so with N replicas a delivery
 * goes out once, and one killed mid-attempt leaves its rows to be claimed again when the claim
 * expires (at-least-once; receivers dedupe on X-Wharf-Delivery). Failed attempts are retried with
 * exponential backoff until `maxAttempts`. Nothing here runs in the request that made the change.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { WebhookOutcome } from '../../lib/metrics.ts';
import type { DeliveryRecord } from '../../metadata/webhooks.ts';
import type { Metadata } from '../../metadata/metadata.ts';
import type { Job } from '../jobs/runner.ts';
import { sendWebhook, type SendResult } from './send.ts';
import { signBody } from './signature.ts';

export interface WebhookMetrics {
  webhookDelivery(outcome: WebhookOutcome, seconds: number): void;
  webhookGaveUp(): void;
}

export interface DeliverySettings {
  allowPrivateTargets: boolean;
  timeoutMs: number;
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** How often a worker looks for deliveries queued by other processes or due for a retry. */
  pollMs: number;
  /** Deliveries sent at the same time by one process. */
  concurrency: number;
}

export interface WorkerDeps {
  metadata: Metadata;
  clock: () => number;
  log: Logger;
  settings: DeliverySettings;
  metrics?: WebhookMetrics;
  userAgent: string;
  holder?: string;
}

/**
 * The `webhooks.prune` job: removes finished deliveries older than `keepDays` from the log, in
 * batches (idempotent; a kill -9 leaves the rest for the next run). Pending ones are never touched.
 */
export function pruneDeliveriesJob(deps: { metadata: Metadata; clock: () => number; keepDays: number }): Job<Record<string, never>, { deleted: number }> {
  return {
    name: 'webhooks.prune',
    async run(ctx) {
      const before = deps.clock() - deps.keepDays * 86_400_000;
      let deleted = 0;
      for (;;) {
        if (ctx.signal.aborted) throw new Error('interrupted');
        const n = await deps.metadata.deliveries.pruneFinished(before, 1000);
        deleted += n;
        ctx.progress({ deleted });
        if (n < 1000) return { deleted };
      }
    },
  };
}

/** Delay before attempt `n + 1` after `n` failed attempts: base · 2^(n-1), capped, with ±20 % jitter. */
export function backoffMs(failedAttempts: number, base: number, max: number, random: () => number = Math.random): number {
  const raw = Math.min(max, base * 2 ** Math.max(0, failedAttempts - 1));
  return Math.round(raw * (0.8 + 0.4 * random()));
}

export class DeliveryWorker {
  readonly holder: string;
  private readonly deps: WorkerDeps;
  private stopped = true;
  private wakeUp: (() => void) | null = null;
  private woken = false;
  private loop: Promise<void> | null = null;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(deps: WorkerDeps) {
    this.deps = deps;
    this.holder = deps.holder ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = this.run();
  }

  /** Something was queued here: look now rather than at the next poll. */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /** Stops claiming and waits for attempts in flight (their results are recorded). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeUp?.();
    await this.loop;
    await Promise.all([...this.inFlight]);
  }

  /** Claims and sends what is due now; resolves when those attempts are recorded. Returns how many. */
  async runOnce(): Promise<number> {
    const started = await this.claimAndStart();
    await Promise.all(started);
    return started.length;
  }

  /** Claims as many due rows as there are free slots and starts their attempts (not awaited). */
  private async claimAndStart(): Promise<Promise<void>[]> {
    const { metadata, clock, settings } = this.deps;
    const free = settings.concurrency - this.inFlight.size;
    if (free <= 0) return [];
    const now = clock();
    // The claim outlives the attempt's time limit, so no other process takes a row still being sent.
    const claimed = await metadata.deliveries.claim(this.holder, now, now + settings.timeoutMs * 2 + 10_000, free);
    return claimed.map((d) => this.track(this.attempt(d)));
  }

  private track(attempt: Promise<void>): Promise<void> {
    // Never rejects: a database error while recording leaves the claim to expire and the row to be retried.
    const p = attempt.catch((err: unknown) => this.deps.log.warn({ err }, 'webhook delivery attempt failed to record'));
    this.inFlight.add(p);
    return p.finally(() => {
      this.inFlight.delete(p);
      // A free slot: look for more (a slow receiver never holds up the others).
      this.wakeUp?.();
    });
  }

  private async run(): Promise<void> {
    const { concurrency } = this.deps.settings;
    while (!this.stopped) {
      let started = 0;
      try {
        this.woken = false;
        started = (await this.claimAndStart()).length;
      } catch (err) {
        this.deps.log.warn({ err }, 'webhook delivery poll failed');
      }
      if (this.stopped) break;
      if ((started > 0 || this.woken) && this.inFlight.size < concurrency) continue;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.deps.settings.pollMs);
        t.unref();
        this.wakeUp = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wakeUp = null;
    }
  }

  private async attempt(d: DeliveryRecord): Promise<void> {
    const { metadata, clock, settings, log, metrics } = this.deps;
    const hook = await metadata.webhooks.get(d.webhookId);
    let result: SendResult;
    if (!hook) {
      result = { outcome: 'refused', status: null, excerpt: null, error: 'webhook deleted', ms: 0 };
    } else {
      result = await sendWebhook({
        url: hook.url,
        body: d.payload,
        timeoutMs: settings.timeoutMs,
        allowPrivate: settings.allowPrivateTargets,
        headers: {
          'user-agent': this.deps.userAgent,
          'x-wharf-event': d.event,
          'x-wharf-delivery': d.id,
          'x-wharf-hook-id': hook.id,
          'x-wharf-signature-256': signBody(hook.secret, d.payload),
          'x-hub-signature-256': signBody(hook.secret, d.payload),
        },
      });
    }
    metrics?.webhookDelivery(result.outcome, result.ms / 1000);
    const now = clock();
    const attempts = d.attempts + 1;
    // A refused target is refused again on every retry until the URL or the config changes.
    const final = result.outcome === 'success' || result.outcome === 'refused' || attempts >= settings.maxAttempts;
    const status = result.outcome === 'success' ? 'succeeded' : final ? 'failed' : 'pending';
    if (status === 'failed') metrics?.webhookGaveUp();
    const kept = await metadata.deliveries.finishAttempt(d.id, this.holder, {
      status,
      now,
      nextAttemptAt: status === 'pending' ? now + backoffMs(attempts, settings.retryBaseMs, settings.retryMaxMs) : d.nextAttemptAt,
      responseStatus: result.status,
      responseExcerpt: result.excerpt,
      latencyMs: result.ms,
      error: result.error,
    });
    const fields = { delivery: d.id, webhook: d.webhookId, event: d.event, attempt: attempts, outcome: result.outcome, status: result.status, ms: result.ms };
    if (!kept) log.warn(fields, 'webhook delivery claim lost during the attempt');
    else if (status === 'succeeded') log.info(fields, 'webhook delivered');
    else log.warn({ ...fields, error: result.error, final: status === 'failed' }, 'webhook delivery failed');
  }
}
