import { type Kysely, sql } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { ColumnTypes } from './types.ts';

/**
 * Policies (docs/adr/0013-policies.md): tag immutability rules, chart overwrite and retention
 * rules of a package, and an owner's defaults for its packages. One row per target (an owner
 * name, or a package's full name — package names always contain a `/`, owner names never do);
 * the settings are one JSON document validated by the service's zod schema on every read, so a
 * new rule kind needs no migration. Every replica reads the rows on each decision.
 */
export function policies(t: ColumnTypes): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('policies')
        .addColumn('target', 'text', (c) => c.primaryKey())
        .addColumn('owner', 'text', (c) => c.notNull())
        // 'owner' or 'package'
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('settings', 'text', (c) => c.notNull())
        // Set when the settings hold retention rules, so the scheduled run finds them without
        // parsing every row.
        .addColumn('has_retention', t.int, (c) => c.notNull().defaultTo(0))
        .addColumn('updated_at', t.int, (c) => c.notNull())
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('policies_owner').on('policies').column('owner').execute();
      await db.schema.createIndex('policies_retention').on('policies').column('has_retention').execute();

      // Quotas (ADR 0013, as ADR 0010 proposed): a per-owner reference count of each blob its
      // manifests reference and the owner's deduplicated bytes, maintained in the transactions
      // that insert and delete manifests, so a push reads one row instead of walking the owner.
      await db.schema
        .createTable('owner_blobs')
        .addColumn('owner', 'text', (c) => c.notNull())
        .addColumn('digest', 'text', (c) => c.notNull())
        .addColumn('size', t.int, (c) => c.notNull())
        .addColumn('refs', t.int, (c) => c.notNull())
        .addPrimaryKeyConstraint('owner_blobs_pk', ['owner', 'digest'])
        .execute();
      await db.schema
        .createTable('owner_usage')
        .addColumn('owner', 'text', (c) => c.primaryKey())
        .addColumn('bytes', t.int, (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('owner_quotas')
        .addColumn('owner', 'text', (c) => c.primaryKey())
        .addColumn('bytes', t.int, (c) => c.notNull())
        .addColumn('updated_at', t.int, (c) => c.notNull())
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .execute();
      // What is already stored: the same figures the exact usage query computes (live + trashed).
      await sql`
        insert into owner_blobs (owner, digest, size, refs)
        select r.owner, mr.child, coalesce(max(rb.size), 0), count(*)
        from repositories r
        join manifest_refs mr on mr.repo = r.name and mr.kind = 'blob'
        left join repo_blobs rb on rb.repo = mr.repo and rb.digest = mr.child
        group by r.owner, mr.child`.execute(db);
      await sql`
        insert into owner_usage (owner, bytes)
        select owner, sum(bytes) from (
          select owner, sum(size) as bytes from owner_blobs group by owner
          union all
          select r.owner as owner, sum(m.size) as bytes from repositories r join manifests m on m.repo = r.name group by r.owner
        ) x group by owner`.execute(db);
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('owner_quotas').execute();
      await db.schema.dropTable('owner_usage').execute();
      await db.schema.dropTable('owner_blobs').execute();
      await db.schema.dropTable('policies').execute();
    },
  };
}
