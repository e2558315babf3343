/**
 * A repeating timer whose interval may change while it runs (a run-time setting, ADR 0025), for
 * work each process does on its own (the stale-upload purge); work done once across replicas goes
 * through the job runner's schedule instead.
 *
 * setInterval fixes its period when it is armed, so a shorter interval set later would wait for
 * the old one to elapse first. Here the interval is asked again at least every `checkMs`: a change
 * applies within `checkMs`, and counts from the start of the last run (a run already overdue under
 * the new interval starts at the next check). Runs never overlap; 0 or less pauses until it is set
 * again. The timer is unref'd: it never keeps a process alive.
 */
export interface LiveIntervalOptions {
  /** Milliseconds between the starts of two runs, asked at every check. */
  intervalMs: () => number;
  run: () => Promise<unknown>;
  /** Longest wait before the interval is asked again: how soon a change applies. */
  checkMs: number;
  onError: (err: unknown) => void;
  /** Monotonic milliseconds (real time even where the application's clock is a test's). */
  now?: () => number;
}

export interface LiveInterval {
  /** No further run starts; resolves once a run in progress has ended. */
  stop(): Promise<void>;
}

export function everyLive(opts: LiveIntervalOptions): LiveInterval {
  const now = opts.now ?? (() => performance.now());
  // The first run is one interval after the start, as with setInterval.
  let last = now();
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let stopped = false;

  const arm = (): void => {
    if (stopped) return;
    const interval = opts.intervalMs();
    const due = interval > 0 ? last + interval - now() : opts.checkMs;
    timer = setTimeout(tick, Math.max(0, Math.min(due, opts.checkMs)));
    timer.unref();
  };

  const tick = (): void => {
    timer = null;
    if (stopped) return;
    const interval = opts.intervalMs();
    if (interval <= 0 || now() - last < interval) {
      arm();
      return;
    }
    last = now();
    running = opts
      .run()
      .then(
        () => undefined,
        (err: unknown) => opts.onError(err),
      )
      .finally(() => {
        running = null;
        arm();
      });
  };

  arm();
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await running;
    },
  };
}
