import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { ColumnTypes } from './types.ts';

/**
 * Sign-in throttling per account and source address (docs/adr/0011-request-limits.md): the
 * addresses each account signed in from (whose failures slow down rather than lock out), and the
 * time of the last failure of a counter (for growing delays).
 */
export function loginThrottle(t: ColumnTypes): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('login_known_addresses')
        .addColumn('username', 'text', (c) => c.notNull())
        .addColumn('address', 'text', (c) => c.notNull())
        .addColumn('last_success_at', t.int, (c) => c.notNull())
        .addPrimaryKeyConstraint('login_known_addresses_pk', ['username', 'address'])
        .execute();
      await db.schema.alterTable('login_failures').addColumn('last_at', t.int, (c) => c.notNull().defaultTo(0)).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('login_failures').dropColumn('last_at').execute();
      await db.schema.dropTable('login_known_addresses').execute();
    },
  };
}
