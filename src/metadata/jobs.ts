import { sql, type Kysely } from 'kysely';
import type { DB } from './schema.ts';

/** Tables of migration 0007_jobs. */
export interface LeasesTable {
  name: string;
  holder: string;
  expires_at: number;
}

export interface JobRunsTable {
  id: string;
  job: string;
  trigger: string;
  actor: string | null;
  options: string | null;
  holder: string;
  status: string;
  started_at: number;
  finished_at: number | null;
  progress: string | null;
  summary: string | null;
  error: string | null;
}

export type JobTables = { leases: LeasesTable; job_runs: JobRunsTable };

/**
 * Named leases with an expiry, shared by every process on the database: whoever holds an
 * unexpired lease runs the job; a holder that dies (kill -9) loses it when it expires.
 */
export class LeaseStore {
  private readonly db: Kysely<DB & JobTables>;
  constructor(db: Kysely<DB>) {
    this.db = db.withTables<JobTables>();
  }

  /** Takes `name` for `holder` until `expiresAt` if it is free, expired, or already `holder`'s. */
  async acquire(name: string, holder: string, now: number, expiresAt: number): Promise<boolean> {
    // One statement: concurrent acquirers serialise on the row, and the loser's update matches nothing.
    await this.db
      .insertInto('leases')
      .values({ name, holder, expires_at: expiresAt })
      .onConflict((oc) =>
        oc
          .column('name')
          .doUpdateSet({ holder, expires_at: expiresAt })
          .where((eb) => eb.or([eb('leases.expires_at', '<=', now), eb('leases.holder', '=', holder)])),
      )
      .execute();
    return (await this.holder(name)) === holder;
  }

  /** Extends a lease still held by `holder`; false when it was lost (expired and taken). */
  async renew(name: string, holder: string, expiresAt: number): Promise<boolean> {
    const res = await this.db.updateTable('leases').set({ expires_at: expiresAt }).where('name', '=', name).where('holder', '=', holder).executeTakeFirst();
    return res.numUpdatedRows > 0n;
  }

  async release(name: string, holder: string): Promise<void> {
    await this.db.deleteFrom('leases').where('name', '=', name).where('holder', '=', holder).execute();
  }

  async holder(name: string): Promise<string | null> {
    const row = await this.db.selectFrom('leases').select('holder').where('name', '=', name).executeTakeFirst();
    return row?.holder ?? null;
  }

  /** The unexpired holder of `name`, or null. */
  async current(name: string, now: number): Promise<{ holder: string; expiresAt: number } | null> {
    const row = await this.db.selectFrom('leases').selectAll().where('name', '=', name).where('expires_at', '>', now).executeTakeFirst();
    return row ? { holder: row.holder, expiresAt: Number(row.expires_at) } : null;
  }
}

export type JobStatus = 'running' | 'succeeded' | 'failed' | 'interrupted';

export interface JobRunRecord {
  id: string;
  job: string;
  trigger: string;
  actor: string | null;
  options: Record<string, unknown> | null;
  holder: string;
  status: JobStatus;
  startedAt: number;
  finishedAt: number | null;
  progress: Record<string, unknown> | null;
  summary: Record<string, unknown> | null;
  error: string | null;
}

function parse(text: string | null): Record<string, unknown> | null {
  return text ? (JSON.parse(text) as Record<string, unknown>) : null;
}

function toRecord(r: JobRunsTable): JobRunRecord {
  return {
    id: r.id,
    job: r.job,
    trigger: r.trigger,
    actor: r.actor,
    options: parse(r.options),
    holder: r.holder,
    status: r.status as JobStatus,
    startedAt: Number(r.started_at),
    finishedAt: r.finished_at === null ? null : Number(r.finished_at),
    progress: parse(r.progress),
    summary: parse(r.summary),
    error: r.error,
  };
}

/** One row per run of a background job: the history admins see and the schedule's clock. */
export class JobRunStore {
  private readonly db: Kysely<DB & JobTables>;
  constructor(db: Kysely<DB>) {
    this.db = db.withTables<JobTables>();
  }

  async start(r: { id: string; job: string; trigger: string; actor: string | null; options: Record<string, unknown> | null; holder: string; now: number }): Promise<void> {
    await this.db
      .insertInto('job_runs')
      .values({
        id: r.id,
        job: r.job,
        trigger: r.trigger,
        actor: r.actor,
        options: r.options ? JSON.stringify(r.options) : null,
        holder: r.holder,
        status: 'running',
        started_at: r.now,
        finished_at: null,
        progress: null,
        summary: null,
        error: null,
      })
      .execute();
  }

  async progress(id: string, progress: Record<string, unknown>): Promise<void> {
    await this.db.updateTable('job_runs').set({ progress: JSON.stringify(progress) }).where('id', '=', id).execute();
  }

  async finish(id: string, r: { status: Exclude<JobStatus, 'running'>; now: number; summary?: Record<string, unknown> | null; error?: string | null }): Promise<void> {
    await this.db
      .updateTable('job_runs')
      .set({ status: r.status, finished_at: r.now, summary: r.summary ? JSON.stringify(r.summary) : null, error: r.error ?? null })
      .where('id', '=', id)
      .execute();
  }

  /**
   * Runs of `job` still marked running by a holder other than `holder`: their process died (the
   * caller holds the job's lease, so nobody else is running it). Marks them interrupted.
   */
  async interruptOrphans(job: string, holder: string, now: number): Promise<number> {
    const res = await this.db
      .updateTable('job_runs')
      .set({ status: 'interrupted', finished_at: now, error: sql<string>`coalesce(error, 'the process running it stopped')` })
      .where('job', '=', job)
      .where('status', '=', 'running')
      .where('holder', '!=', holder)
      .executeTakeFirst();
    return Number(res.numUpdatedRows);
  }

  async get(id: string): Promise<JobRunRecord | null> {
    const row = await this.db.selectFrom('job_runs').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toRecord(row) : null;
  }

  /** Newest first. */
  async list(job: string, opts: { limit: number; before?: number | undefined }): Promise<JobRunRecord[]> {
    let q = this.db.selectFrom('job_runs').selectAll().where('job', '=', job).orderBy('started_at', 'desc').orderBy('id').limit(opts.limit);
    if (opts.before !== undefined) q = q.where('started_at', '<', opts.before);
    return (await q.execute()).map(toRecord);
  }

  /** When the newest run of `job` started (scheduled or not), or null. */
  async lastStarted(job: string): Promise<number | null> {
    const row = await this.db.selectFrom('job_runs').select('started_at').where('job', '=', job).orderBy('started_at', 'desc').limit(1).executeTakeFirst();
    return row ? Number(row.started_at) : null;
  }
}
