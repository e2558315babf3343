import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Caps a long copy at `bytesPerSecond` on average (like rsync's --bwlimit), so a backup taken
 * beside a busy server leaves it disk bandwidth. 0 = no cap.
 */
export class RateLimiter {
  private readonly bytesPerSecond: number;
  private readonly started = performance.now();
  private total = 0;

  constructor(bytesPerSecond: number) {
    this.bytesPerSecond = bytesPerSecond;
  }

  /** Counts `bytes` and waits as long as the average would otherwise exceed the cap. */
  async take(bytes: number, signal?: AbortSignal): Promise<void> {
    this.total += bytes;
    if (this.bytesPerSecond <= 0) return;
    const due = (this.total / this.bytesPerSecond) * 1000 - (performance.now() - this.started);
    if (due > 1) await sleep(due, undefined, signal ? { signal } : {});
  }
}

/** `100M`, `1.5GiB`, `2048k`, `500000` → bytes (k/M/G are binary, as rsync and curl read them). */
export function parseByteSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(text);
  if (!m?.[1]) throw new Error(`not a size: ${JSON.stringify(text)} (e.g. 50M, 1G, 200k)`);
  const unit = (m[2] ?? '').toLowerCase();
  const factor = unit === '' ? 1 : 1024 ** ('kmgt'.indexOf(unit) + 1);
  return Math.floor(Number(m[1]) * factor);
}
