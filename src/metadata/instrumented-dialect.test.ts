import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CompiledQuery, Kysely, sql } from 'kysely';
import { instrumentDialect, operationOf } from './instrumented-dialect.ts';
import { NodeSqliteDialect } from './sqlite-dialect.ts';

test('statements are labelled by operation, never by text', async () => {
  const seen: [string, boolean][] = [];
  const db = new Kysely<{ t: { id: number; v: string } }>({ dialect: instrumentDialect(new NodeSqliteDialect(':memory:'), (op, seconds, ok) => {
    assert.ok(seconds >= 0);
    seen.push([op, ok]);
  }) });
  try {
    await db.schema.createTable('t').addColumn('id', 'integer').addColumn('v', 'text').execute();
    await db.transaction().execute(async (trx) => {
      await trx.insertInto('t').values({ id: 1, v: 'a' }).execute();
      await trx.updateTable('t').set({ v: 'b' }).where('id', '=', 1).execute();
    });
    await db.selectFrom('t').selectAll().execute();
    await db.executeQuery(CompiledQuery.raw('  SELECT count(*) FROM t'));
    await sql`with x as (select 1) select * from x`.execute(db);
    await db.deleteFrom('t').execute();
    await assert.rejects(db.selectFrom('t').select(sql`nope(1)`.as('x')).execute());
  } finally {
    await db.destroy();
  }
  assert.deepEqual(seen, [
    ['create', true],
    ['begin', true],
    ['insert', true],
    ['update', true],
    ['commit', true],
    ['select', true],
    ['select', true],
    ['with', true],
    ['delete', true],
    ['select', false],
  ]);
});

test('operationOf: an unknown first word is "other"', () => {
  assert.equal(operationOf(CompiledQuery.raw('VACUUM')), 'other');
  assert.equal(operationOf(CompiledQuery.raw('(select 1)')), 'select');
  assert.equal(operationOf(CompiledQuery.raw('')), 'other');
});
