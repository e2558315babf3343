import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { ColumnTypes } from './types.ts';

/**
 * Instance settings changed at run time (docs/adr/0025-runtime-settings.md): one row per key a
 * site admin overrode, its value as JSON. No row = the config file's value. The table is tiny
 * (one row per overridden key, a dozen at most), so every replica reads it whole every few seconds.
 */
export function settings(t: ColumnTypes): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('settings')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .addColumn('updated_at', t.int, (c) => c.notNull())
        .execute();
      // Whether an owner chose its default visibility. Accounts created from now on have not
      // (0): their new packages get the site's auth.defaultVisibility as it is when they are
      // created. Existing accounts keep the value they have (1), as before this migration.
      await db.schema
        .alterTable('accounts')
        .addColumn('default_visibility_chosen', t.int, (c) => c.notNull().defaultTo(1))
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('accounts').dropColumn('default_visibility_chosen').execute();
      await db.schema.dropTable('settings').execute();
    },
  };
}
