/**
 * Migration 0012 backfills the maintained quota usage from what a database already stores, to the
 * figure the exact usage query (the oracle, ADR 0010) computes; afterwards the bookkeeping follows
 * manifest inserts and deletes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Kysely } from 'kysely';
import { type Migration, type MigrationProvider, Migrator } from 'kysely/migration';
import type { Digest } from '../../src/oci/digest.ts';
import type { RepoName } from '../../src/oci/name.ts';
import { freshSchema, postgresMissing } from '../scale/backends.ts';
import { type Metadata, openSqlite } from '../../src/metadata/metadata.ts';
import { migrations } from '../../src/metadata/migrations/index.ts';
import { openPostgres } from '../../src/metadata/postgres.ts';
import { ensurePackage } from '../helpers/packages.ts';

const d = (n: string) => `sha256:${n.padEnd(64, '0')}` as Digest;

function provider(all: Record<string, Migration>): MigrationProvider {
  return { getMigrations: async () => all };
}

async function backfill(m: Metadata, schema?: string): Promise<void> {
    const all = migrations(m.dialect);
    const { '0012_policies': later, ...before } = all;
    assert.ok(later);
    const db = m.db as unknown as Kysely<unknown>;
    const pin = schema ? { migrationTableSchema: schema } : {};
    const first = await new Migrator({ db, provider: provider(before), allowUnorderedMigrations: true, ...pin }).migrateToLatest();
    assert.equal(first.error, undefined);

    // An owner with two packages sharing a layer, one manifest in each, one more referencing it twice over.
    const now = 1;
    for (const repo of ['acme/a', 'acme/b'] as RepoName[]) {
      await ensurePackage(m, repo, 'acme', now);
      await m.blobLinks.link(repo, d('layer'), 1000, now);
      await m.blobLinks.link(repo, d(`cfg-${repo.slice(-1)}`), 10, now);
      await m.manifests.put(
        { repo, digest: d(`m-${repo.slice(-1)}`), mediaType: 'x', size: 300, content: Buffer.alloc(300), artifactType: null, configMediaType: null, configDigest: null, subject: null, annotations: null, createdAt: now },
        [
          { digest: d('layer'), kind: 'blob' },
          { digest: d(`cfg-${repo.slice(-1)}`), kind: 'blob' },
        ],
      );
    }
    await ensurePackage(m, 'other/x' as RepoName, 'other', now);

    const second = await new Migrator({ db, provider: provider(all), allowUnorderedMigrations: true, ...pin }).migrateToLatest();
    assert.equal(second.error, undefined);
    const exact = await m.usage.ofOwner('acme');
    assert.equal(await m.quotas.used('acme'), exact.liveBytes + exact.trashedBytes);
    assert.equal(await m.quotas.used('acme'), 1000 + 10 + 10 + 300 + 300);
    assert.deepEqual([...(await m.quotas.held('acme', [d('layer'), d('nope')]))], [d('layer')]);

    // A delete gives back its manifest and what only it referenced; the shared layer stays.
    await m.transaction((t) => t.manifests.delete('acme/a' as RepoName, d('m-a')));
    const after = await m.usage.ofOwner('acme');
    assert.equal(await m.quotas.used('acme'), after.liveBytes + after.trashedBytes);
    assert.equal(await m.quotas.used('acme'), 1000 + 10 + 300);
    // A package deleted with its rows.
    await m.transaction((t) => t.packages.delete('acme/b'));
    assert.equal(await m.quotas.used('acme'), 0);
    assert.deepEqual([...(await m.quotas.held('acme', [d('layer')]))], []);
}

test('migration 0012 backfills owner usage equal to the exact usage; later inserts and deletes keep it equal (SQLite)', async () => {
  const m = openSqlite(':memory:');
  try {
    await backfill(m);
  } finally {
    await m.close();
  }
});

test('the same on PostgreSQL', { skip: postgresMissing }, async () => {
  const fresh = await freshSchema();
  const m = await openPostgres({ url: fresh.url, poolSize: 2, schema: fresh.schema });
  try {
    await backfill(m, fresh.schema);
  } finally {
    await m.close();
    await fresh.drop();
  }
});
