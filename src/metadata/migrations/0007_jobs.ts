import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { ColumnTypes } from './types.ts';

/**
 * Background work shared by every replica: a lease row per job name (one runner at a time across
 * replicas and CLI processes) and one row per run (what ran, when, its progress and summary).
 */
export function jobs(t: ColumnTypes): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('leases')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('holder', 'text', (c) => c.notNull())
        .addColumn('expires_at', t.int, (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('job_runs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('job', 'text', (c) => c.notNull())
        .addColumn('trigger', 'text', (c) => c.notNull())
        .addColumn('actor', 'text')
        .addColumn('options', 'text')
        .addColumn('holder', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('started_at', t.int, (c) => c.notNull())
        .addColumn('finished_at', t.int)
        .addColumn('progress', 'text')
        .addColumn('summary', 'text')
        .addColumn('error', 'text')
        .execute();
      await db.schema.createIndex('job_runs_job_started').on('job_runs').columns(['job', 'started_at']).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('job_runs').execute();
      await db.schema.dropTable('leases').execute();
    },
  };
}
