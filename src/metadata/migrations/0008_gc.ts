import { type Kysely, sql } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { ColumnTypes } from './types.ts';

/**
 * Garbage collection (docs/adr/0009-garbage-collection.md):
 * - `repo_blobs.touched_at`: when the blob was last uploaded, mounted or checked (HEAD/GET) in the
 *   repository, at the granularity the ADR explains; links unreferenced and untouched for the
 *   grace are removed. Existing links start at their creation time.
 * - `uploads.digest`: set while a session commits into that digest (a pin: GC keeps those bytes
 *   until the commit has linked them or the session is gone).
 * - `blob_locks`: empty at rest. A GC batch and a pinning commit each insert the digest's row and
 *   delete it in the same transaction, so they serialise on it (PostgreSQL row lock, SQLite's
 *   single writer) without a lock held across requests.
 * - Indexes for "who references this digest" in any repository.
 */
export function gc(t: ColumnTypes): Migration {
  const id = t.dialect === 'postgres' ? sql`text collate "C"` : sql`text`;
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('repo_blobs').addColumn('touched_at', t.int).execute();
      await sql`update repo_blobs set touched_at = created_at`.execute(db);
      await db.schema.alterTable('uploads').addColumn('digest', id).execute();
      await db.schema.createIndex('uploads_digest').on('uploads').column('digest').execute();
      await db.schema.createIndex('manifest_refs_any_child').on('manifest_refs').column('child').execute();
      await db.schema.createTable('blob_locks').addColumn('digest', id, (c) => c.primaryKey()).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('blob_locks').execute();
      await db.schema.dropIndex('manifest_refs_any_child').execute();
      await db.schema.dropIndex('uploads_digest').execute();
      await db.schema.alterTable('uploads').dropColumn('digest').execute();
      await db.schema.alterTable('repo_blobs').dropColumn('touched_at').execute();
    },
  };
}
