/**
 * The one contract every `BlobStore & UploadStore` implementation must pass (fs, memory, s3…).
 * It speaks only through the interfaces in src/storage/types.ts, so a new driver proves itself
 * by calling `blobStoreContract('s3', factory)` from its own test file.
 *
 * The factory returns a fresh, empty store and a cleanup. When the driver keeps sessions in
 * durable storage it also returns `reopen()`: a NEW store instance on the same backing storage
 * (a restarted process or another replica), whose in-memory hash state is therefore empty.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, test } from 'node:test';
import { RegistryError } from '../../src/errors.ts';
import { type Digest, digestOf } from '../../src/oci/digest.ts';
import type { BlobStore, UploadStore } from '../../src/storage/types.ts';

export type StoreUnderTest = BlobStore & UploadStore;

export interface StoreHandle {
  store: StoreUnderTest;
  /** A second instance over the same storage, as after a restart or on another replica. */
  reopen?: () => Promise<StoreUnderTest>;
  cleanup: () => Promise<void>;
}

export type StoreFactory = () => Promise<StoreHandle>;

// ---- body helpers ------------------------------------------------------------------------------

export async function* chunks(...parts: (string | Uint8Array)[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield typeof p === 'string' ? Buffer.from(p) : p;
}

/** A body whose client goes away after sending `parts`. */
export async function* failing(...parts: (string | Uint8Array)[]): AsyncGenerator<Uint8Array> {
  yield* chunks(...parts);
  throw Object.assign(new Error('aborted'), { code: 'ECONNRESET' });
}

/** A body that trickles, so concurrent operations overlap with it. */
export async function* slow(ms: number, ...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) {
    await sleep(ms);
    yield Buffer.from(p);
  }
}

export async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of stream) out.push(Buffer.isBuffer(c) ? c : Buffer.from(c as Uint8Array));
  return Buffer.concat(out);
}

const sha256 = (s: string | Buffer): Digest => digestOf(Buffer.from(s));
const sha512 = (s: string | Buffer): Digest => digestOf(Buffer.from(s), 'sha512');

async function rejectsWith(p: Promise<unknown>, code: string): Promise<RegistryError> {
  let caught: unknown;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof RegistryError, `expected RegistryError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  return caught;
}

/** Registers the contract suites for `name`; each test gets a fresh store from `factory`. */
export function blobStoreContract(name: string, factory: StoreFactory): void {
  describe(`BlobStore & UploadStore contract: ${name}`, () => {
    let handle: StoreHandle;
    let store: StoreUnderTest;
    const handles: StoreHandle[] = [];

    /** A fresh store per test, so no test sees another's blobs. */
    async function fresh(): Promise<StoreUnderTest> {
      handle = await factory();
      handles.push(handle);
      store = handle.store;
      return store;
    }

    async function upload(content: string | Buffer, s: StoreUnderTest = store): Promise<Digest> {
      const id = randomUUID();
      await s.create(id);
      const buf = Buffer.from(content);
      await s.append(id, 0, chunks(buf));
      const digest = sha256(buf);
      await s.commit(id, digest);
      return digest;
    }

    after(async () => {
      for (const h of handles) await h.cleanup();
    });

    describe('sessions', () => {
      test('create, append, size, commit: the blob becomes visible only at commit', async () => {
        const s = await fresh();
        const id = randomUUID();
        await s.create(id);
        assert.equal(await s.size(id), 0);
        assert.equal(await s.append(id, 0, chunks('hello ', 'wor')), 9);
        assert.equal(await s.size(id), 9);
        assert.equal(await s.append(id, 9, chunks('ld')), 11);
        const digest = sha256('hello world');
        assert.equal(await s.stat(digest), null, 'nothing is visible before commit');
        assert.deepEqual(await s.commit(id, digest), { size: 11 });
        assert.deepEqual(await s.stat(digest), { size: 11 });
        assert.equal((await readAll(await s.read(digest))).toString(), 'hello world');
        await rejectsWith(s.size(id), 'BLOB_UPLOAD_UNKNOWN');
      });

      test('an empty blob can be uploaded and committed', async () => {
        const s = await fresh();
        const id = randomUUID();
        await s.create(id);
        assert.equal(await s.append(id, 0, chunks()), 0);
        const digest = sha256('');
        assert.deepEqual(await s.commit(id, digest), { size: 0 });
        assert.deepEqual(await s.stat(digest), { size: 0 });
        assert.equal((await readAll(await s.read(digest))).length, 0);
      });

      test('a large body in many chunks is stored byte for byte', async () => {
        const s = await fresh();
        const id = randomUUID();
        await s.create(id);
        const parts: Buffer[] = [];
        for (let i = 0; i < 48; i++) parts.push(Buffer.alloc(64 * 1024 + i, i));
        const all = Buffer.concat(parts);
        const half = Math.floor(parts.length / 2);
        const first = Buffer.concat(parts.slice(0, half));
        assert.equal(await s.append(id, 0, chunks(...parts.slice(0, half))), first.length);
        assert.equal(await s.append(id, first.length, chunks(...parts.slice(half))), all.length);
        const digest = sha256(all);
        await s.commit(id, digest);
        assert.ok((await readAll(await s.read(digest))).equals(all));
      });

      test('abort discards the session; aborting an unknown session is not an error', async () => {
        const s = await fresh();
        const id = randomUUID();
        await s.create(id);
        await s.append(id, 0, chunks('doomed'));
        await s.abort(id);
        await rejectsWith(s.size(id), 'BLOB_UPLOAD_UNKNOWN');
        await rejectsWith(s.append(id, 0, chunks('x')), 'BLOB_UPLOAD_UNKNOWN');
        await rejectsWith(s.commit(id, sha256('doomed')), 'BLOB_UPLOAD_UNKNOWN');
        assert.equal(await s.stat(sha256('doomed')), null);
        await s.abort(id);
        await s.abort(randomUUID());
      });

      test('unknown sessions are BLOB_UPLOAD_UNKNOWN', async () => {
        const s = await fresh();
        const id = randomUUID();
        await rejectsWith(s.size(id), 'BLOB_UPLOAD_UNKNOWN');
        await rejectsWith(s.append(id, 0, chunks('x')), 'BLOB_UPLOAD_UNKNOWN');
        await rejectsWith(s.commit(id, sha256('x')), 'BLOB_UPLOAD_UNKNOWN');
      });

      test('sessions are independent of each other', async () => {
        const s = await fresh();
        const a = randomUUID();
        const b = randomUUID();
        await s.create(a);
        await s.create(b);
        await s.append(a, 0, chunks('aaa'));
        await s.append(b, 0, chunks('b'));
        assert.equal(await s.size(a), 3);
        assert.equal(await s.size(b), 1);
        await s.abort(a);
        await s.commit(b, sha256('b'));
        assert.deepEqual(await s.stat(sha256('b')), { size: 1 });
      });
    });

    describe('append failures leave the session as it was', () => {
      test('append at the wrong offset is RANGE_INVALID and changes nothing', async () => {
        const s = await fresh();
        const id = randomUUID();
        await s.create(id);
        await rejectsWith(s.append(id, 1, chunks('x')), 'RANGE_INVALID');
        await s.append(id, 0, chunks('abc'));
        const err = await rejectsWith(s.append(id, 2, chunks('zz')), 'RANGE_INVALID');
        assert.deepEqual(err.detail, { offset: 2, size: 3 });
        await rejectsWith(s.append(id, 4, chunks('zz')), 'RANGE_INVALID');
        await rejectsWith(s.append(id, 0, chunks('zz')), 'RANGE_INVALID');
        assert.equal(await s.size(id), 3);
        await s.append(id, 3, chunks('def'));
        await s.commit(id, sha256('abcdef'));
        assert.equal((await readAll(await s.read(sha256('abcdef')))).toString(), 'abcdef');
      });

      test('a body that errors midway is SIZE_INVALID and rolls back to the previous size', async () => {
        const s = await fresh();
        const id = randomUUID();
        await s.create(id);
        await rejectsWith(s.append(id, 0, failing('partial', 'bytes')), 'SIZE_INVALID');
        assert.equal(await s.size(id), 0);
        await s.append(id, 0, chunks('first-'));
        await rejectsWith(s.append(id, 6, failing('x'.repeat(100_000), 'y'.repeat(3 << 20))), 'SIZE_INVALID');
        assert.equal(await s.size(id), 6);
        // The client retries the chunk; the failed bytes must not be part of the blob or its hash.
        await s.append(id, 6, chunks('second'));
        const digest = sha256('first-second');
        await s.commit(id, digest);
        assert.equal((await readAll(await s.read(digest))).toString(), 'first-second');
      });

      test('a body that fails before its first byte is SIZE_INVALID', async () => {
        const s = await fresh();
        const id = randomUUID();
        await s.create(id);
        await rejectsWith(s.append(id, 0, failing()), 'SIZE_INVALID');
        assert.equal(await s.size(id), 0);
      });

      test('a body shorter or longer than expectedLength is SIZE_INVALID and rolled back', async () => {
        const s = await fresh();
        const id = randomUUID();
        await s.create(id);
        await s.append(id, 0, chunks('ok'), { expectedLength: 2 });
        await rejectsWith(s.append(id, 2, chunks('short'), { expectedLength: 10 }), 'SIZE_INVALID');
        assert.equal(await s.size(id), 2);
        await rejectsWith(s.append(id, 2, chunks('much', 'too long'), { expectedLength: 4 }), 'SIZE_INVALID');
        assert.equal(await s.size(id), 2);
        await s.append(id, 2, chunks('!'), { expectedLength: 1 });
        await s.commit(id, sha256('ok!'));
        assert.deepEqual(await s.stat(sha256('ok!')), { size: 3 });
      });

      test('maxSize caps the whole session, across appends', async () => {
        const s = await fresh();
        const id = randomUUID();
        await s.create(id);
        await s.append(id, 0, chunks('12345'), { maxSize: 8 });
        await rejectsWith(s.append(id, 5, chunks('6789'), { maxSize: 8 }), 'SIZE_INVALID');
        assert.equal(await s.size(id), 5);
        assert.equal(await s.append(id, 5, chunks('678'), { maxSize: 8 }), 8, 'exactly the cap is allowed');
        await rejectsWith(s.append(id, 8, chunks('9'), { maxSize: 8 }), 'SIZE_INVALID');
        await s.commit(id, sha256('12345678'));
      });
    });

    describe('commit', () => {
      test('a digest mismatch is DIGEST_INVALID and leaves the session untouched', async () => {
        const s = await fresh();
        const id = randomUUID();
        await s.create(id);
        await s.append(id, 0, chunks('content'));
        const wrong = sha256('other content');
        const err = await rejectsWith(s.commit(id, wrong), 'DIGEST_INVALID');
        assert.equal((err.detail as { actual: string }).actual, sha256('content'));
        assert.equal(await s.stat(wrong), null, 'nothing visible under the wrong digest');
        assert.equal(await s.stat(sha256('content')), null, 'nor under the right one');
        assert.equal(await s.size(id), 7);
        // A second wrong digest, of the other algorithm, fails the same way.
        await rejectsWith(s.commit(id, sha512('other')), 'DIGEST_INVALID');
        await s.commit(id, sha256('content'));
        assert.equal((await readAll(await s.read(sha256('content')))).toString(), 'content');
      });

      test('the session can still grow after a failed commit', async () => {
        const s = await fresh();
        const id = randomUUID();
        await s.create(id);
        await s.append(id, 0, chunks('part1'));
        await rejectsWith(s.commit(id, sha256('part1part2')), 'DIGEST_INVALID');
        await s.append(id, 5, chunks('part2'));
        await s.commit(id, sha256('part1part2'));
        assert.deepEqual(await s.stat(sha256('part1part2')), { size: 10 });
      });

      test('sha512 digests are verified and addressed', async () => {
        const s = await fresh();
        const id = randomUUID();
        await s.create(id);
        await s.append(id, 0, chunks('five', '-twelve'));
        await rejectsWith(s.commit(id, sha512('nope')), 'DIGEST_INVALID');
        const digest = sha512('five-twelve');
        assert.deepEqual(await s.commit(id, digest), { size: 11 });
        assert.deepEqual(await s.stat(digest), { size: 11 });
        assert.equal(await s.stat(sha256('five-twelve')), null, 'addressed only by the digest it was committed with');
        assert.equal((await readAll(await s.read(digest))).toString(), 'five-twelve');
      });

      test('committing a blob that already exists succeeds and keeps one copy', async () => {
        const s = await fresh();
        const digest = await upload('same bytes');
        const id = randomUUID();
        await s.create(id);
        await s.append(id, 0, chunks('same ', 'bytes'));
        assert.deepEqual(await s.commit(id, digest), { size: 10 });
        await rejectsWith(s.size(id), 'BLOB_UPLOAD_UNKNOWN');
        assert.equal((await readAll(await s.read(digest))).toString(), 'same bytes');
        const seen: Digest[] = [];
        for await (const d of s.walk()) seen.push(d);
        assert.deepEqual(seen, [digest]);
      });

      test('commit waits for an append in progress on the same session', async () => {
        const s = await fresh();
        const id = randomUUID();
        await s.create(id);
        const appending = s.append(id, 0, slow(10, 'a', 'b', 'c', 'd'));
        await sleep(5);
        const committing = s.commit(id, sha256('abcd'));
        assert.equal(await appending, 4);
        assert.deepEqual(await committing, { size: 4 });
      });
    });

    describe('reading and listing blobs', () => {
      test('ranged reads return exactly the inclusive range', async () => {
        const s = await fresh();
        const content = '0123456789abcdef';
        const digest = await upload(content);
        const read = async (start: number, end: number) => (await readAll(await s.read(digest, { start, end }))).toString();
        assert.equal(await read(0, 15), content);
        assert.equal(await read(0, 0), '0');
        assert.equal(await read(3, 7), '34567');
        assert.equal(await read(15, 15), 'f');
        assert.equal(await read(10, 15), 'abcdef');
      });

      test('ranged reads of a blob larger than one stream chunk', async () => {
        const s = await fresh();
        const big = Buffer.alloc(3 * 1024 * 1024);
        for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
        const digest = await upload(big);
        const got = await readAll(await s.read(digest, { start: 1_000_000, end: 2_500_000 }));
        assert.ok(got.equals(big.subarray(1_000_000, 2_500_001)));
      });

      test('stat and read of an unknown blob', async () => {
        const s = await fresh();
        assert.equal(await s.stat(sha256('never')), null);
        await rejectsWith(s.read(sha256('never')), 'BLOB_UNKNOWN');
      });

      test('delete removes a blob once; walk lists exactly the committed blobs', async () => {
        const s = await fresh();
        const a = await upload('alpha');
        const b = await upload('beta');
        const id = randomUUID();
        await s.create(id);
        await s.append(id, 0, chunks('gamma'));
        await s.commit(id, sha512('gamma'));
        const pending = randomUUID();
        await s.create(pending);
        await s.append(pending, 0, chunks('not committed'));

        const listed = async () => {
          const out: string[] = [];
          for await (const d of s.walk()) out.push(d);
          return out.sort();
        };
        assert.deepEqual(await listed(), [a, b, sha512('gamma')].sort());
        assert.equal(await s.delete(a), true);
        assert.equal(await s.delete(a), false);
        assert.equal(await s.stat(a), null);
        await rejectsWith(s.read(a), 'BLOB_UNKNOWN');
        assert.deepEqual(await listed(), [b, sha512('gamma')].sort());
        assert.equal(await s.delete(sha256('never existed')), false);
      });

      test('redirectUrl is either null or a URL', async () => {
        const s = await fresh();
        const digest = await upload('redirect me');
        const url = await s.redirectUrl(digest);
        if (url !== null) assert.doesNotThrow(() => new URL(url));
      });
    });

    describe('concurrency', () => {
      test('concurrent appends to one session are serialised in call order', async () => {
        const s = await fresh();
        const id = randomUUID();
        await s.create(id);
        const first = s.append(id, 0, slow(5, 'aa', 'bb', 'cc'));
        const second = s.append(id, 6, chunks('dd'));
        assert.equal(await first, 6);
        assert.equal(await second, 8);
        await s.commit(id, sha256('aabbccdd'));
        assert.equal((await readAll(await s.read(sha256('aabbccdd')))).toString(), 'aabbccdd');
      });

      test('of two concurrent appends at the same offset exactly one wins', async () => {
        const s = await fresh();
        const id = randomUUID();
        await s.create(id);
        const results = await Promise.allSettled([s.append(id, 0, slow(5, 'one', '-1')), s.append(id, 0, slow(1, 'two', '-2'))]);
        const ok = results.filter((r) => r.status === 'fulfilled');
        const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        assert.equal(ok.length, 1);
        assert.equal(failed.length, 1);
        assert.ok(failed[0]?.reason instanceof RegistryError && failed[0].reason.code === 'RANGE_INVALID');
        assert.equal(await s.size(id), 5);
        const first = results[0]?.status === 'fulfilled' ? 'one-1' : 'two-2';
        await s.commit(id, sha256(first));
      });

      test('many sessions in parallel each get their own bytes', async () => {
        const s = await fresh();
        const contents = Array.from({ length: 16 }, (_, i) => `blob-${i}-${'x'.repeat(i * 1000)}`);
        const digests = await Promise.all(contents.map((c) => upload(c)));
        for (const [i, d] of digests.entries()) {
          assert.equal((await readAll(await s.read(d))).toString(), contents[i]);
        }
      });
    });

    describe('durable sessions (restart / another replica)', () => {
      test('a session started by one instance is continued and committed by a new one', async (t) => {
        const s = await fresh();
        if (!handle.reopen) return t.skip(`${name} sessions do not outlive the instance`);
        const id = randomUUID();
        await s.create(id);
        await s.append(id, 0, chunks('before restart|'));
        const s2 = await handle.reopen();
        assert.equal(await s2.size(id), 15);
        await rejectsWith(s2.append(id, 3, chunks('x')), 'RANGE_INVALID');
        await s2.append(id, 15, chunks('after restart'));
        const digest = sha256('before restart|after restart');
        // The new instance has no hash state: it must re-hash what is stored, and catch a lie.
        await rejectsWith(s2.commit(id, sha256('before restart|')), 'DIGEST_INVALID');
        await s2.commit(id, digest);
        assert.equal((await readAll(await s2.read(digest))).toString(), 'before restart|after restart');
        assert.deepEqual(await s.stat(digest), { size: 28 }, 'the first instance sees the committed blob too');
      });

      test('chunks alternating between two instances, then a commit on the first', async (t) => {
        const a = await fresh();
        if (!handle.reopen) return t.skip(`${name} sessions do not outlive the instance`);
        const b = await handle.reopen();
        const id = randomUUID();
        await a.create(id);
        await a.append(id, 0, chunks('1'));
        await b.append(id, 1, chunks('22'));
        await a.append(id, 3, chunks('333')); // a's running hash missed b's bytes
        await b.append(id, 6, chunks('4444'));
        const digest = sha256('1223334444');
        await a.commit(id, digest);
        assert.equal((await readAll(await b.read(digest))).toString(), '1223334444');
      });

      test('a session aborted by one instance is gone for the other', async (t) => {
        const a = await fresh();
        if (!handle.reopen) return t.skip(`${name} sessions do not outlive the instance`);
        const b = await handle.reopen();
        const id = randomUUID();
        await a.create(id);
        await a.append(id, 0, chunks('x'));
        await b.abort(id);
        await rejectsWith(a.size(id), 'BLOB_UPLOAD_UNKNOWN');
      });
    });
  });
}
