import { type Kysely, sql } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { ColumnTypes } from './types.ts';

/** Repositories, blob links, manifests (bytes inline), references, tags, upload sessions. */
export function registryCore(t: ColumnTypes): Migration {
  // Names, tags and digests compare and sort byte-wise on both dialects (SQLite's BINARY is
  // byte order; a PostgreSQL database's default collation usually is not), so tag and catalog
  // pagination agree across dialects and btree indexes also serve prefix LIKE queries.
  const id = t.dialect === 'postgres' ? sql`text collate "C"` : sql`text`;
  return {
    async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('repositories')
          .addColumn('name', id, (c) => c.primaryKey())
          .addColumn('owner', id, (c) => c.notNull())
          .addColumn('created_at', t.int, (c) => c.notNull())
          .addColumn('updated_at', t.int, (c) => c.notNull())
          .execute();
        await db.schema.createIndex('repositories_owner').on('repositories').columns(['owner', 'name']).execute();

        await db.schema
          .createTable('repo_blobs')
          .addColumn('repo', id, (c) => c.notNull())
          .addColumn('digest', id, (c) => c.notNull())
          .addColumn('size', t.int, (c) => c.notNull())
          .addColumn('created_at', t.int, (c) => c.notNull())
          .addPrimaryKeyConstraint('repo_blobs_pk', ['repo', 'digest'])
          .execute();
        await db.schema.createIndex('repo_blobs_digest').on('repo_blobs').column('digest').execute();

        await db.schema
          .createTable('manifests')
          .addColumn('repo', id, (c) => c.notNull())
          .addColumn('digest', id, (c) => c.notNull())
          .addColumn('media_type', 'text', (c) => c.notNull())
          .addColumn('size', t.int, (c) => c.notNull())
          .addColumn('content', t.bytes, (c) => c.notNull())
          .addColumn('artifact_type', 'text')
          .addColumn('config_media_type', 'text')
          .addColumn('config_digest', id)
          .addColumn('subject', id)
          .addColumn('annotations', 'text')
          .addColumn('created_at', t.int, (c) => c.notNull())
          .addPrimaryKeyConstraint('manifests_pk', ['repo', 'digest'])
          .execute();
        await db.schema.createIndex('manifests_subject').on('manifests').columns(['repo', 'subject']).execute();

        await db.schema
          .createTable('manifest_refs')
          .addColumn('repo', id, (c) => c.notNull())
          .addColumn('digest', id, (c) => c.notNull())
          .addColumn('child', id, (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('manifest_refs_pk', ['repo', 'digest', 'child'])
          .execute();
        await db.schema.createIndex('manifest_refs_child').on('manifest_refs').columns(['repo', 'child']).execute();

        await db.schema
          .createTable('tags')
          .addColumn('repo', id, (c) => c.notNull())
          .addColumn('name', id, (c) => c.notNull())
          .addColumn('digest', id, (c) => c.notNull())
          .addColumn('updated_at', t.int, (c) => c.notNull())
          .addPrimaryKeyConstraint('tags_pk', ['repo', 'name'])
          .execute();
        await db.schema.createIndex('tags_digest').on('tags').columns(['repo', 'digest']).execute();

        await db.schema
          .createTable('uploads')
          .addColumn('id', id, (c) => c.primaryKey())
          .addColumn('repo', id, (c) => c.notNull())
          .addColumn('created_at', t.int, (c) => c.notNull())
          .addColumn('updated_at', t.int, (c) => c.notNull())
          .execute();
        await db.schema.createIndex('uploads_updated').on('uploads').column('updated_at').execute();
      },
  };
}
