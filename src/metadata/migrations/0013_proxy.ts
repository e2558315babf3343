import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { ColumnTypes } from './types.ts';

/**
 * Pull-through cache (docs/adr/0017-pull-through-cache.md):
 * - `proxy_upstreams`: an organization bound to an upstream registry (one row per proxy org).
 *   The password is sealed with `proxy.credentialKey` (AES-256-GCM) and never leaves the server;
 *   hit/miss counters and the last upstream error are what the proxy's page shows;
 * - `proxy_tag_checks`: when a cached tag was last confirmed against the upstream, so its TTL
 *   is the same on every replica and survives restarts.
 * The cross-replica fetch lease of a blob is a row of the existing `leases` table
 * (`proxy.blob:<digest>`), which already expires when its holder dies.
 */
export function proxy(t: ColumnTypes): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('proxy_upstreams')
        .addColumn('owner', 'text', (c) => c.primaryKey())
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('username', 'text')
        .addColumn('sealed_password', 'text')
        // JSON arrays of glob patterns over the repository path below the organization.
        .addColumn('allow', 'text', (c) => c.notNull())
        .addColumn('deny', 'text', (c) => c.notNull())
        .addColumn('tag_ttl_seconds', t.int, (c) => c.notNull())
        // JSON array of `path:tag` the periodic `proxy.sync` job keeps fetched ahead of pulls.
        .addColumn('sync', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('hits', t.int, (c) => c.notNull().defaultTo(0))
        .addColumn('misses', t.int, (c) => c.notNull().defaultTo(0))
        .addColumn('last_error', 'text')
        .addColumn('last_error_at', t.int)
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', t.int, (c) => c.notNull())
        .addColumn('updated_at', t.int, (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('proxy_tag_checks')
        .addColumn('repo', 'text', (c) => c.notNull())
        .addColumn('tag', 'text', (c) => c.notNull())
        .addColumn('digest', 'text', (c) => c.notNull())
        .addColumn('checked_at', t.int, (c) => c.notNull())
        .addPrimaryKeyConstraint('proxy_tag_checks_pk', ['repo', 'tag'])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('proxy_tag_checks').execute();
      await db.schema.dropTable('proxy_upstreams').execute();
    },
  };
}
