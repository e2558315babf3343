import { type Kysely, sql } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { ColumnTypes } from './types.ts';

/**
 * The trash (ADR 0010): a package or version deleted from the UI/API keeps its manifest rows and
 * their references (so garbage collection keeps its bytes) and is hidden by `trashed_at`; a
 * trash entry remembers which manifests and tags it took, so a restore puts back exactly those.
 */
export function trash(t: ColumnTypes): Migration {
  const id = t.dialect === 'postgres' ? sql`text collate "C"` : sql`text`;
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('manifests').addColumn('trashed_at', t.int).execute();
      await db.schema.alterTable('repositories').addColumn('trashed_at', t.int).execute();
      // Storage usage walks a package's blob references: a covering index makes it an index-only
      // range scan (repo, kind) instead of a table lookup per reference.
      await db.schema.createIndex('manifest_refs_usage').on('manifest_refs').columns(['repo', 'kind', 'child', 'digest']).execute();

      await db.schema
        .createTable('trash')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('owner', id, (c) => c.notNull())
        .addColumn('repo', id, (c) => c.notNull())
        // 'package' or 'version'
        .addColumn('kind', 'text', (c) => c.notNull())
        // The version's manifest digest; null for a package.
        .addColumn('digest', id)
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('trashed_at', t.int, (c) => c.notNull())
        .addColumn('expires_at', t.int, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('trash_owner').on('trash').columns(['owner', 'trashed_at']).execute();
      await db.schema.createIndex('trash_repo').on('trash').column('repo').execute();
      await db.schema.createIndex('trash_expires').on('trash').column('expires_at').execute();

      // Every manifest hidden by an entry; a manifest belongs to at most one entry.
      await db.schema
        .createTable('trash_manifests')
        .addColumn('repo', id, (c) => c.notNull())
        .addColumn('digest', id, (c) => c.notNull())
        .addColumn('trash_id', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('trash_manifests_pk', ['repo', 'digest'])
        .execute();
      await db.schema.createIndex('trash_manifests_entry').on('trash_manifests').column('trash_id').execute();

      // The tags the entry took away, put back on restore unless the name was re-used meanwhile.
      await db.schema
        .createTable('trash_tags')
        .addColumn('trash_id', 'text', (c) => c.notNull())
        .addColumn('name', id, (c) => c.notNull())
        .addColumn('digest', id, (c) => c.notNull())
        .addColumn('updated_at', t.int, (c) => c.notNull())
        .addPrimaryKeyConstraint('trash_tags_pk', ['trash_id', 'name'])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropIndex('manifest_refs_usage').execute();
      await db.schema.dropTable('trash_tags').execute();
      await db.schema.dropTable('trash_manifests').execute();
      await db.schema.dropTable('trash').execute();
      await db.schema.alterTable('repositories').dropColumn('trashed_at').execute();
      await db.schema.alterTable('manifests').dropColumn('trashed_at').execute();
    },
  };
}
