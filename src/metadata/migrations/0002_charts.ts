import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { ColumnTypes } from './types.ts';

/**
 * Helm chart index: one row per chart manifest (with its pre-rendered index.yaml entry), the
 * bulky texts (README, values) apart so index scans stay small, and a per-owner generation
 * counter that versions each owner's index.yaml. Booleans are 0/1 integers on both dialects.
 */
export function charts(t: ColumnTypes): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('chart_versions')
        .addColumn('repo', 'text', (c) => c.notNull())
        .addColumn('digest', 'text', (c) => c.notNull())
        .addColumn('owner', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('error', 'text')
        .addColumn('name', 'text')
        .addColumn('version', 'text')
        .addColumn('sort_key', 'text')
        .addColumn('prerelease', t.int, (c) => c.notNull().defaultTo(0))
        .addColumn('listed', t.int, (c) => c.notNull().defaultTo(0))
        .addColumn('filename', 'text')
        .addColumn('app_version', 'text')
        .addColumn('description', 'text')
        .addColumn('deprecated', t.int, (c) => c.notNull().defaultTo(0))
        .addColumn('chart_digest', 'text')
        .addColumn('chart_size', t.int)
        .addColumn('tgz_sha256', 'text')
        .addColumn('prov_digest', 'text')
        .addColumn('prov_size', t.int)
        .addColumn('metadata', 'text')
        .addColumn('index_entry', 'text')
        .addColumn('index_key', 'text')
        .addColumn('created_at', t.int, (c) => c.notNull())
        .addColumn('indexed_at', t.int, (c) => c.notNull())
        .addPrimaryKeyConstraint('chart_versions_pk', ['repo', 'digest'])
        .execute();
      // The index.yaml scan: an owner's listed versions in document order (one key column, so
      // keyset pages are plain index range scans).
      await db.schema.createIndex('chart_versions_index').on('chart_versions').columns(['owner', 'listed', 'index_key']).execute();
      // Lookups of one chart version by name (upload conflicts, ChartMuseum API).
      await db.schema.createIndex('chart_versions_name').on('chart_versions').columns(['owner', 'name', 'version']).execute();
      // .tgz / .prov downloads by file name.
      await db.schema.createIndex('chart_versions_file').on('chart_versions').columns(['owner', 'filename']).execute();

      await db.schema
        .createTable('chart_contents')
        .addColumn('repo', 'text', (c) => c.notNull())
        .addColumn('digest', 'text', (c) => c.notNull())
        .addColumn('readme_path', 'text')
        .addColumn('readme', 'text')
        .addColumn('values_yaml', 'text')
        .addColumn('values_schema', 'text')
        .addColumn('omitted', 'text')
        .addPrimaryKeyConstraint('chart_contents_pk', ['repo', 'digest'])
        .execute();

      await db.schema
        .createTable('chart_owners')
        .addColumn('owner', 'text', (c) => c.primaryKey())
        .addColumn('generation', t.int, (c) => c.notNull())
        .addColumn('epoch', 'text', (c) => c.notNull())
        .addColumn('updated_at', t.int, (c) => c.notNull())
        .execute();
    },
  };
}
