import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RegistryError } from '../errors.ts';
import { consumeBody } from './body.ts';

async function* chunks(parts: string[], failAfter?: number): AsyncIterable<Uint8Array> {
  let i = 0;
  for (const p of parts) {
    if (failAfter !== undefined && i++ === failAfter) throw new Error('socket hang up');
    yield Buffer.from(p);
  }
}

test('a body that fails midway is the client’s fault: SIZE_INVALID', async () => {
  await assert.rejects(
    consumeBody(chunks(['aa', 'bb', 'cc'], 2), async () => undefined, {}),
    (err: unknown) => err instanceof RegistryError && err.code === 'SIZE_INVALID',
  );
});

test('a failing sink (disk full) is the server’s fault and propagates unchanged', async () => {
  const diskFull = Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
  await assert.rejects(
    consumeBody(chunks(['aaaa', 'bbbb']), async () => Promise.reject(diskFull), { batchBytes: 4 }),
    (err: unknown) => err === diskFull,
  );
});

test('declared length and cap are enforced; batches reach the sink in order', async () => {
  const seen: string[] = [];
  const n = await consumeBody(chunks(['ab', 'cd', 'e']), async (batch) => void seen.push(Buffer.concat(batch).toString()), { batchBytes: 4, expectedLength: 5 });
  assert.equal(n, 5);
  assert.deepEqual(seen, ['abcd', 'e']);
  await assert.rejects(consumeBody(chunks(['abc']), async () => undefined, { expectedLength: 4 }), /does not match/);
  await assert.rejects(consumeBody(chunks(['abc']), async () => undefined, { remaining: 2 }), /maximum blob size/);
});
