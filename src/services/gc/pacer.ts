import { setImmediate as yieldToOthers, setTimeout as sleep } from 'node:timers/promises';

export interface PacerOptions {
  /**
   * The share of wall time a run may take while requests are being served (config
   * gc.loadShare): after a batch that took W ms it pauses W × (1 − share) / share. 1 = never pause.
   */
  share: number;
  /** True when someone was served since the previous call (RequestActivity.probe); absent = idle. */
  busy?: (() => boolean) | undefined;
  /** The longest single pause, so a slow batch does not park the run for minutes. */
  maxPauseMs?: number;
}

/**
 * Gives way to requests between GC batches. GC shares the server's event loop (and, on the
 * embedded profile, SQLite's one connection) with pulls; on an idle server it runs flat out, on a
 * busy one it takes at most `share` of the time (docs/adr/0009-garbage-collection.md).
 * Wall time, not the injected clock: tests move that one by days.
 */
export class Pacer {
  private readonly share: number;
  private readonly busy: (() => boolean) | undefined;
  private readonly maxPauseMs: number;
  private since = performance.now();
  /** Total time spent paused for requests. */
  pausedMs = 0;

  constructor(opts: PacerOptions) {
    this.share = Math.min(1, Math.max(0.01, opts.share));
    this.busy = opts.busy;
    this.maxPauseMs = opts.maxPauseMs ?? 5000;
  }

  /** Between batches: pause in proportion to the work since the last call when requests wait. */
  async pace(signal: AbortSignal): Promise<void> {
    const worked = performance.now() - this.since;
    const pause = this.share < 1 && this.busy?.() ? Math.min(this.maxPauseMs, (worked * (1 - this.share)) / this.share) : 0;
    if (pause >= 1) {
      await sleep(pause, undefined, { signal });
      this.pausedMs += pause;
    } else {
      await yieldToOthers();
    }
    this.since = performance.now();
  }
}
