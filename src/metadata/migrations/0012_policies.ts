import type { Kysely } from 'kysely';
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
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('policies').execute();
    },
  };
}
