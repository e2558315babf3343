import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { JobRunRecord } from '../../metadata/jobs.ts';
import type { Metadata } from '../../metadata/metadata.ts';

/** What a running job may report; shown on terminals, in the admin API and stored with the run. */
export type JobProgress = Record<string, string | number | boolean | null>;

export interface JobContext {
  runId: string;
  trigger: RunRequest<unknown>['trigger'];
  /** Who asked for the run (null for the schedule). */
  actor: string | null;
  /** Aborted when the runner stops or the lease is lost; a job checks it between batches. */
  signal: AbortSignal;
  /** Latest progress (phase, counts, bytes); cheap to call often: it is persisted at most every few seconds. */
  progress(p: JobProgress): void;
  log: Logger;
}

/**
 * A unit of background work (GC, retention, trash purge, proxy sync). `run` must be idempotent and
 * resumable after a kill -9 at any point, and bounded in memory; its summary is stored with the run.
 */
export interface Job<Options extends Record<string, unknown> = Record<string, unknown>, Summary extends Record<string, unknown> = Record<string, unknown>> {
  /** Also the lease name: one run of a job at a time across every process on the database. */
  name: string;
  run(ctx: JobContext, options: Options): Promise<Summary>;
}

export interface RunRequest<Options> {
  options: Options;
  trigger: 'schedule' | 'api' | 'cli' | 'startup';
  actor?: string | null;
  /** Called with every progress report (a terminal's progress line). */
  onProgress?: (p: JobProgress) => void;
  /** Called once the lease is held and the run recorded (an API answering with the run id at once). */
  onStart?: (runId: string) => void;
}

export type RunOutcome<Summary> =
  | { status: 'succeeded'; run: JobRunRecord; summary: Summary }
  | { status: 'failed' | 'interrupted'; run: JobRunRecord; error: unknown }
  /** Another process holds the job's lease (it is running there). */
  | { status: 'busy'; holder: string };

/** Told how every run ended (metrics): any job is covered without code of its own. */
export interface JobObserver {
  jobFinished(job: string, status: 'succeeded' | 'failed' | 'interrupted', seconds: number, summary: Record<string, unknown> | null): void;
}

export interface JobRunnerDeps {
  metadata: Metadata;
  clock: () => number;
  log: Logger;
  /** Identifies this process in leases and run records. */
  holder?: string;
  /** Lease length; renewed every third of it while the job runs. */
  leaseMs?: number;
  /** Least time between two progress writes to the database. */
  progressEveryMs?: number;
  observer?: JobObserver;
}

interface Scheduled {
  job: Job<never, Record<string, unknown>>;
  /** Read at every check, so a setting changed at run time (ADR 0025) applies without a restart. */
  intervalMs: () => number;
  options: Record<string, unknown>;
  timer: NodeJS.Timeout | null;
}

/**
 * Runs jobs under a lease and records each run; schedules periodic jobs so that the interval holds
 * across replicas (the clock is the newest run's start time in the database, not a local timer).
 * See docs/adr/0008-background-jobs.md.
 */
export class JobRunner {
  readonly holder: string;
  private readonly deps: JobRunnerDeps;
  private readonly leaseMs: number;
  private readonly progressEveryMs: number;
  private readonly scheduled = new Map<string, Scheduled>();
  private readonly running = new Map<string, { controller: AbortController; done: Promise<unknown> }>();
  private stopped = false;
  /** A job that never ran is first due one interval after the schedule started, not at once. */
  private scheduleStartedAt: number | null = null;

  constructor(deps: JobRunnerDeps) {
    this.deps = deps;
    this.holder = deps.holder ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.leaseMs = deps.leaseMs ?? 60_000;
    this.progressEveryMs = deps.progressEveryMs ?? 2_000;
  }

  /** Runs `job` now if no other process is running it; resolves when the run ends. */
  async run<O extends Record<string, unknown>, S extends Record<string, unknown>>(job: Job<O, S>, req: RunRequest<O>): Promise<RunOutcome<S>> {
    const { metadata, clock, log } = this.deps;
    if (this.stopped) throw new Error('job runner stopped');
    const now = clock();
    if (this.running.has(job.name) || !(await metadata.leases.acquire(job.name, this.holder, now, now + this.leaseMs))) {
      const current = await metadata.leases.current(job.name, clock());
      return { status: 'busy', holder: current?.holder ?? this.holder };
    }
    const controller = new AbortController();
    const id = randomUUID();
    const jobLog = log.child({ job: job.name, run: id });
    let finish!: () => void;
    this.running.set(job.name, { controller, done: new Promise<void>((r) => (finish = r)) });
    try {
      const orphans = await metadata.jobRuns.interruptOrphans(job.name, this.holder, now);
      if (orphans > 0) jobLog.warn({ orphans }, 'earlier runs were interrupted');
      await metadata.jobRuns.start({ id, job: job.name, trigger: req.trigger, actor: req.actor ?? null, options: req.options, holder: this.holder, now });
      jobLog.info({ trigger: req.trigger, options: req.options }, 'job started');
      req.onStart?.(id);

      const renew = setInterval(() => {
        metadata.leases.renew(job.name, this.holder, clock() + this.leaseMs).then(
          (held) => {
            if (!held) controller.abort(new Error('lease lost'));
          },
          (err: unknown) => jobLog.warn({ err }, 'lease renewal failed'),
        );
      }, Math.max(10, Math.floor(this.leaseMs / 3)));
      renew.unref();

      let latest: JobProgress | null = null;
      let lastWrite = 0;
      let writing: Promise<void> = Promise.resolve();
      const ctx: JobContext = {
        runId: id,
        trigger: req.trigger,
        actor: req.actor ?? null,
        signal: controller.signal,
        log: jobLog,
        progress: (p) => {
          latest = p;
          req.onProgress?.(p);
          const t = clock();
          if (t - lastWrite < this.progressEveryMs) return;
          lastWrite = t;
          writing = writing.then(() => metadata.jobRuns.progress(id, p)).catch((err: unknown) => jobLog.warn({ err }, 'progress write failed'));
        },
      };
      try {
        const summary = await job.run(ctx, req.options);
        await writing;
        if (latest) await metadata.jobRuns.progress(id, latest);
        await metadata.jobRuns.finish(id, { status: 'succeeded', now: clock(), summary });
        jobLog.info({ summary, ms: clock() - now }, 'job finished');
        this.deps.observer?.jobFinished(job.name, 'succeeded', (clock() - now) / 1000, summary);
        return { status: 'succeeded', run: await this.record(id), summary };
      } catch (err) {
        await writing;
        const message = err instanceof Error ? err.message : String(err);
        // Stopped by shutdown or a lost lease: the work is resumable, the next run picks it up.
        const status = controller.signal.aborted ? 'interrupted' : 'failed';
        await metadata.jobRuns.finish(id, { status, now: clock(), error: message }).catch(() => undefined);
        jobLog.error({ err, status }, 'job did not finish');
        this.deps.observer?.jobFinished(job.name, status, (clock() - now) / 1000, null);
        return { status, run: await this.record(id), error: err };
      } finally {
        clearInterval(renew);
      }
    } finally {
      await metadata.leases.release(job.name, this.holder).catch((err: unknown) => jobLog.warn({ err }, 'lease release failed'));
      this.running.delete(job.name);
      finish();
    }
  }

  /**
   * Runs `job` every `intervalMs` (0 = never) across all processes sharing the database: each
   * process checks now and then whether the newest run started at least `intervalMs` ago.
   * A function is asked at every check (a run-time setting, ADR 0025): a new interval applies
   * within the next check (at most 30 s), and 0 pauses the schedule until it is set again.
   */
  schedule<O extends Record<string, unknown>>(job: Job<O, Record<string, unknown>>, intervalMs: number | (() => number), options: O): void {
    if (typeof intervalMs === 'number') {
      if (intervalMs <= 0) return;
      const fixed = intervalMs;
      this.scheduled.set(job.name, { job, intervalMs: () => fixed, options, timer: null });
      return;
    }
    this.scheduled.set(job.name, { job, intervalMs, options, timer: null });
  }

  /** Starts the schedule's timers. */
  start(): void {
    this.scheduleStartedAt = this.deps.clock();
    for (const s of this.scheduled.values()) this.arm(s, this.checkEvery(s) * Math.random());
  }

  /** When the next scheduled run of `name` is due (ms since epoch), or null when not scheduled. */
  async nextRun(name: string): Promise<number | null> {
    const s = this.scheduled.get(name);
    const interval = s?.intervalMs() ?? 0;
    if (interval <= 0) return null;
    const last = (await this.deps.metadata.jobRuns.lastStarted(name)) ?? this.scheduleStartedAt ?? this.deps.clock();
    return last + interval;
  }

  isRunningHere(name: string): boolean {
    return this.running.has(name);
  }

  /** Stops scheduling, aborts jobs running in this process and waits for them to end. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const s of this.scheduled.values()) if (s.timer) clearTimeout(s.timer);
    for (const r of this.running.values()) r.controller.abort(new Error('shutting down'));
    await Promise.all([...this.running.values()].map((r) => r.done));
  }

  private checkEvery(s: Scheduled): number {
    const interval = s.intervalMs();
    return interval > 0 ? Math.min(interval, 30_000) : 30_000;
  }

  private arm(s: Scheduled, delayMs: number): void {
    if (this.stopped) return;
    s.timer = setTimeout(() => {
      this.tick(s)
        .catch((err: unknown) => this.deps.log.error({ err, job: s.job.name }, 'scheduled job check failed'))
        .finally(() => this.arm(s, this.checkEvery(s)));
    }, delayMs);
    s.timer.unref();
  }

  private async tick(s: Scheduled): Promise<void> {
    const interval = s.intervalMs();
    if (this.stopped || interval <= 0 || this.running.has(s.job.name)) return;
    const last = (await this.deps.metadata.jobRuns.lastStarted(s.job.name)) ?? this.scheduleStartedAt;
    if (last !== null && this.deps.clock() - last < interval) return;
    await this.run(s.job, { options: s.options as never, trigger: 'schedule' });
  }

  private async record(id: string): Promise<JobRunRecord> {
    const r = await this.deps.metadata.jobRuns.get(id);
    if (!r) throw new Error(`job run ${id} vanished`);
    return r;
  }
}
