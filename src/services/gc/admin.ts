import type { Principal } from '../../auth/principal.ts';
import { RegistryError } from '../../errors.ts';
import type { JobRunRecord } from '../../metadata/jobs.ts';
import type { Metadata } from '../../metadata/metadata.ts';
import type { JobRunner, RunOutcome } from '../jobs/runner.ts';
import { GC_JOB, type GarbageCollector, type GcSummary } from './collector.ts';
import { actorFields } from '../audit.ts';

export interface GcRunView {
  id: string;
  trigger: string;
  actor: string | null;
  dryRun: boolean;
  status: JobRunRecord['status'];
  startedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
  progress: Record<string, unknown> | null;
  summary: Record<string, unknown> | null;
  error: string | null;
}

export interface GcStatusView {
  graceSeconds: number;
  intervalSeconds: number;
  /** When the schedule runs GC next (null: no schedule). */
  nextRunAt: string | null;
  /** The run in progress on any replica, with its latest persisted progress. */
  running: GcRunView | null;
  /** Newest first. */
  runs: GcRunView[];
}

export interface GcAdminDeps {
  metadata: Metadata;
  runner: JobRunner;
  collector: GarbageCollector;
  clock: () => number;
  graceSeconds: number;
  intervalSeconds: number;
}

export function runView(r: JobRunRecord): GcRunView {
  return {
    id: r.id,
    trigger: r.trigger,
    actor: r.actor,
    dryRun: r.options?.['dryRun'] === true,
    status: r.status,
    startedAt: new Date(r.startedAt).toISOString(),
    finishedAt: r.finishedAt === null ? null : new Date(r.finishedAt).toISOString(),
    durationMs: r.finishedAt === null ? null : r.finishedAt - r.startedAt,
    progress: r.progress,
    summary: r.summary,
    error: r.error,
  };
}

/** Site administrators' view of garbage collection: history, progress, schedule, and starting runs. */
export class GcAdminService {
  private readonly deps: GcAdminDeps;

  constructor(deps: GcAdminDeps) {
    this.deps = deps;
  }

  /** Throws unless `actor` may start a run (checked before a request body is read). */
  authorizeStart(actor: Principal): void {
    this.requireAdmin(actor);
  }

  private requireAdmin(actor: Principal): void {
    if (actor.kind !== 'user' && actor.kind !== 'system') throw new RegistryError('UNAUTHORIZED', 'sign in required');
    // Personal access tokens never carry the site-admin flag (services/authn.ts).
    if (!actor.admin) throw new RegistryError('DENIED', 'site administrators only (personal access tokens never carry site-admin rights)');
  }

  async status(actor: Principal, limit: number): Promise<GcStatusView> {
    this.requireAdmin(actor);
    const { metadata, runner } = this.deps;
    const runs = (await metadata.jobRuns.list(GC_JOB, { limit })).map(runView);
    const running = runs.find((r) => r.status === 'running') ?? (await this.runningElsewhere(runs));
    const next = await runner.nextRun(GC_JOB);
    return {
      graceSeconds: this.deps.graceSeconds,
      intervalSeconds: this.deps.intervalSeconds,
      nextRunAt: next === null ? null : new Date(Math.max(next, this.deps.clock())).toISOString(),
      running,
      runs,
    };
  }

  /** A running run older than the listed page (a long run while many short ones were listed). */
  private async runningElsewhere(listed: GcRunView[]): Promise<GcRunView | null> {
    if (listed.length === 0) return null;
    const [newest] = await this.deps.metadata.jobRuns.list(GC_JOB, { limit: 1 });
    return newest?.status === 'running' ? runView(newest) : null;
  }

  /**
   * Starts a run in the background and answers once it holds the lease, with its id. CONFLICT
   * when a run (or a backup, which holds the same lease) is in progress anywhere.
   */
  async start(actor: Principal, dryRun: boolean): Promise<{ id: string; outcome: Promise<RunOutcome<GcSummary>> }> {
    this.requireAdmin(actor);
    const { runner, collector } = this.deps;
    let started!: (id: string) => void;
    const id = new Promise<string>((resolve) => (started = resolve));
    const outcome = runner.run(collector, {
      options: { dryRun },
      trigger: 'api',
      actor: actor.name,
      onStart: started,
    });
    // The run records and audits itself; a failure is in its run row, not an unhandled rejection.
    outcome.catch(() => undefined);
    const first = await Promise.race([id, outcome]);
    if (typeof first === 'string') {
      // Who started it, from where (the run's own gc.run row records how it ended).
      await this.deps.metadata.audit.append({ at: this.deps.clock(), ...actorFields(actor), action: 'gc.start', target: GC_JOB, owner: null, detail: { run: first, dryRun } });
      return { id: first, outcome };
    }
    if (first.status === 'busy') {
      throw new RegistryError('CONFLICT', 'garbage collection (or a backup holding its lease) is already running', { holder: first.holder });
    }
    return { id: first.run.id, outcome };
  }
}
