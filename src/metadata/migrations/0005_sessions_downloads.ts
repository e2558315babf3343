import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { ColumnTypes } from './types.ts';

/**
 * Web UI sessions (in the database so every replica recognises the cookie) and per-day
 * download counters of manifests (one row per repository, digest and day, bumped on each pull).
 */
export function sessionsDownloads(t: ColumnTypes): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('sessions')
        // sha256 of the cookie's secret: a database leak does not hand out live sessions.
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('username', 'text', (c) => c.notNull())
        .addColumn('csrf', 'text', (c) => c.notNull())
        .addColumn('created_at', t.int, (c) => c.notNull())
        .addColumn('last_seen_at', t.int, (c) => c.notNull())
        .addColumn('expires_at', t.int, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('sessions_user').on('sessions').column('username').execute();
      await db.schema.createIndex('sessions_expires').on('sessions').column('expires_at').execute();

      await db.schema
        .createTable('downloads')
        .addColumn('repo', 'text', (c) => c.notNull())
        .addColumn('digest', 'text', (c) => c.notNull())
        // Days since the Unix epoch (UTC).
        .addColumn('day', t.int, (c) => c.notNull())
        .addColumn('count', t.int, (c) => c.notNull())
        .addPrimaryKeyConstraint('downloads_pk', ['repo', 'digest', 'day'])
        .execute();
      await db.schema.createIndex('downloads_repo_day').on('downloads').columns(['repo', 'day']).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('downloads').execute();
      await db.schema.dropTable('sessions').execute();
    },
  };
}
