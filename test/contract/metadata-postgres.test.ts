/**
 * The metadata contract on PostgreSQL (../shared/services/start-services.sh up postgres).
 * Every test gets its own schema in one fresh database whose default collation is ICU en-US,
 * so byte-wise ordering has to come from the schema, not from a lucky server default.
 * Skipped when DATABASE_URL is unset.
 */
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { after, before, describe, test } from 'node:test';
import { openPostgres } from '../../src/metadata/postgres.ts';
import { freshDatabase, postgresMissing, uniqueName } from '../scale/backends.ts';
import { metadataContract } from './metadata.contract.ts';

if (postgresMissing) {
  test('postgres metadata contract', { skip: postgresMissing }, () => undefined);
} else {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  before(async () => {
    db = await freshDatabase();
  });
  after(async () => {
    await db.drop();
  });

  metadataContract('postgres', async () => {
    const schema = uniqueName('c');
    const metadata = await openPostgres({ url: db.url, poolSize: 4, schema });
    await metadata.migrate();
    return {
      metadata,
      cleanup: async () => {
        await metadata.db.schema.dropSchema(schema).cascade().execute();
        await metadata.close();
      },
    };
  });

  describe('postgres specifics', () => {
    test('the test database really sorts text unlike bytes (so the contract is meaningful)', async (t) => {
      if (db.collation !== 'icu en-US') return t.skip(`could not create an ICU database (${db.collation})`);
      const m = await openPostgres({ url: db.url, poolSize: 1 });
      try {
        const { rows } = await sql<{ v: string }>`select v from (values ('a'), ('B')) as x(v) order by v`.execute(m.db);
        assert.deepEqual(rows.map((r) => r.v), ['a', 'B'], 'ICU puts a before B; bytes put B first');
      } finally {
        await m.close();
      }
    });

    test('replicas migrating at the same time: one applies, the others wait on the advisory lock', async () => {
      const schema = uniqueName('race');
      const replicas = await Promise.all(Array.from({ length: 4 }, () => openPostgres({ url: db.url, poolSize: 2, schema })));
      try {
        const applied = await Promise.all(replicas.map((m) => m.migrate()));
        const nonEmpty = applied.filter((a) => a.length > 0);
        assert.equal(nonEmpty.length, 1, JSON.stringify(applied));
        assert.ok(nonEmpty[0]?.includes('0001_registry_core'));
        for (const m of replicas) await m.ping();
      } finally {
        await replicas[0]?.db.schema.dropSchema(schema).cascade().execute();
        for (const m of replicas) await m.close();
      }
    });

    test('a transaction PostgreSQL picks to break a deadlock is run again, so both writers commit', async () => {
      const schema = uniqueName('dl');
      const m = await openPostgres({ url: db.url, poolSize: 4, schema });
      try {
        await sql`create table ${sql.table(`${schema}.pair`)} (k text primary key, n int not null)`.execute(m.db);
        await sql`insert into ${sql.table(`${schema}.pair`)} values ('a', 0), ('b', 0)`.execute(m.db);
        let attempts = 0;
        // Each holds its first row until the other has its own: a lock cycle on the first round.
        let arrived = 0;
        let release!: () => void;
        const bothHold = new Promise<void>((r) => (release = r));
        const writer = (first: string, second: string) =>
          m.transaction(async (t) => {
            attempts++;
            await sql`update ${sql.table(`${schema}.pair`)} set n = n + 1 where k = ${first}`.execute(t.db);
            if (++arrived === 2) release();
            await Promise.race([bothHold, new Promise((r) => setTimeout(r, 2000))]);
            await sql`update ${sql.table(`${schema}.pair`)} set n = n + 1 where k = ${second}`.execute(t.db);
          });
        await Promise.all([writer('a', 'b'), writer('b', 'a')]);
        const { rows } = await sql<{ k: string; n: number }>`select k, n from ${sql.table(`${schema}.pair`)} order by k`.execute(m.db);
        assert.deepEqual(rows.map((r) => [r.k, Number(r.n)]), [['a', 2], ['b', 2]], 'each writer committed exactly once');
        assert.equal(attempts, 3, 'the deadlock victim ran a second time');
      } finally {
        await m.db.schema.dropSchema(schema).cascade().execute();
        await m.close();
      }
    });

    test('bigint and bytea come back as number and Buffer on this pool only', async () => {
      const m = await openPostgres({ url: db.url, poolSize: 1 });
      try {
        const { rows } = await sql<{ n: unknown; b: unknown }>`select 9007199254740991::bigint as n, ${Buffer.from([0, 255, 16])}::bytea as b`.execute(m.db);
        assert.equal(rows[0]?.n, 9007199254740991);
        assert.ok(Buffer.isBuffer(rows[0]?.b) && rows[0].b.equals(Buffer.from([0, 255, 16])));
        const pg = (await import('pg')).default;
        assert.equal(typeof pg.types.getTypeParser(20)('1'), 'string', 'the global pg parser is untouched');
      } finally {
        await m.close();
      }
    });
  });
}
