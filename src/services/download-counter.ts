import type { Logger } from 'pino';
import type { Metadata } from '../metadata/metadata.ts';
import { dayOf } from '../metadata/downloads.ts';

/**
 * Counts manifest pulls in memory and adds them to the database in batches, so a pull costs no
 * write on the hot path. Increments are additive, so replicas flushing independently never
 * lose counts; at most one flush interval of counts is unseen by other replicas, and pending
 * counts are flushed before this replica reads them and when it shuts down.
 */
export class DownloadCounter {
  private pending = new Map<string, { repo: string; digest: string; day: number; n: number }>();
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();
  private readonly deps: { metadata: Metadata; clock: () => number; log: Logger };

  constructor(deps: { metadata: Metadata; clock: () => number; log: Logger }, intervalMs = 2000) {
    this.deps = deps;
    this.timer = setInterval(() => void this.flush().catch((err: unknown) => deps.log.error({ err }, 'download count flush failed')), intervalMs);
    this.timer.unref();
  }

  count(repo: string, digest: string): void {
    const day = dayOf(this.deps.clock());
    const key = `${repo}\0${digest}\0${day}`;
    const entry = this.pending.get(key);
    if (entry) entry.n++;
    else this.pending.set(key, { repo, digest, day, n: 1 });
  }

  /** Writes everything counted so far; concurrent callers share one flush at a time. */
  async flush(): Promise<void> {
    const run = this.flushing.then(async () => {
      if (this.pending.size === 0) return;
      const batch = this.pending;
      this.pending = new Map();
      await this.deps.metadata.transaction(async (m) => {
        for (const e of batch.values()) await m.downloads.bump(e.repo, e.digest, e.day, e.n);
      });
    });
    this.flushing = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
