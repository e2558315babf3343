import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { ColumnTypes } from './types.ts';

/**
 * A per-repository counter bumped by every change to its tags, so that a replica may keep a
 * repository's tag list in memory and check with one indexed read that it is still current.
 */
export function tagVersion(t: ColumnTypes): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable('repositories')
        .addColumn('tag_version', t.int, (c) => c.notNull().defaultTo(0))
        .execute();
    },
  };
}
