import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { RegistryError } from '../errors.ts';
import { consumeBody, consumeChunks } from './body.ts';

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

describe('Node streams (read with data events and pause/resume)', () => {
  test('chunks arrive in order; a sink that returns a promise pauses the stream until it settles', async () => {
    const parts = Array.from({ length: 20 }, (_, i) => Buffer.from(`part${i};`));
    const stream = Readable.from(parts, { objectMode: false });
    const seen: string[] = [];
    let busy = false;
    const n = await consumeChunks(
      stream,
      (chunk) => {
        assert.equal(busy, false, 'no chunk arrives while the sink is busy');
        seen.push(Buffer.from(chunk).toString());
        if (seen.length % 3 !== 0) return undefined;
        busy = true;
        return new Promise<void>((resolve) =>
          setTimeout(() => {
            busy = false;
            resolve();
          }, 2),
        );
      },
      { expectedLength: Buffer.concat(parts).length },
    );
    assert.equal(n, Buffer.concat(parts).length);
    assert.equal(seen.join(''), Buffer.concat(parts).toString());
  });

  test('a stream that errors or closes midway is SIZE_INVALID; the stream is destroyed', async () => {
    const erroring = new Readable({ read() {} });
    erroring.push(Buffer.from('abc'));
    setTimeout(() => erroring.destroy(new Error('socket hang up')), 5);
    await assert.rejects(consumeChunks(erroring, () => undefined, {}), (err: unknown) => err instanceof RegistryError && err.code === 'SIZE_INVALID');
    const closing = new Readable({ read() {} });
    closing.push(Buffer.from('abc'));
    setTimeout(() => closing.destroy(), 5);
    await assert.rejects(consumeChunks(closing, () => undefined, {}), (err: unknown) => err instanceof RegistryError && err.code === 'SIZE_INVALID');
  });

  test('limits and sink failures: the cap is SIZE_INVALID, a sink error propagates unchanged', async () => {
    await assert.rejects(consumeChunks(Readable.from([Buffer.from('abcdef')]), () => undefined, { remaining: 3 }), /maximum blob size/);
    const diskFull = Object.assign(new Error('ENOSPC'), { code: 'ENOSPC' });
    const sync = Readable.from([Buffer.from('ab'), Buffer.from('cd')]);
    await assert.rejects(
      consumeChunks(sync, () => {
        throw diskFull;
      }, {}),
      (err: unknown) => err === diskFull,
    );
    assert.ok(sync.destroyed, 'the rest of the body is not read');
    await assert.rejects(consumeChunks(Readable.from([Buffer.from('ab')]), () => Promise.reject(diskFull), {}), (err: unknown) => err === diskFull);
  });

  test('an already-ended stream is an empty body', async () => {
    const ended = Readable.from([]);
    ended.resume();
    await new Promise((resolve) => ended.once('end', resolve));
    assert.equal(await consumeChunks(ended, () => undefined, { expectedLength: 0 }), 0);
  });
});
