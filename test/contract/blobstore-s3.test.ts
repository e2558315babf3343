/**
 * The blob-store contract on a real S3 implementation (Ceph RGW from
 * ../shared/services/start-services.sh), plus what only the s3 driver promises: multipart parts
 * of bounded size, session state kept in the bucket, conditional writes between replicas,
 * nothing visible before a verified commit, presigned redirects. Skipped when S3_ENDPOINT is unset.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { AbortMultipartUploadCommand, CreateMultipartUploadCommand, GetObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { RegistryError } from '../../src/errors.ts';
import { type Digest, digestOf } from '../../src/oci/digest.ts';
import { S3Store } from '../../src/storage/s3.ts';
import { createS3Client, type S3Options } from '../../src/storage/s3/client.ts';
import { emptyPrefix, s3Missing, s3TestOptions } from '../scale/backends.ts';
import { blobStoreContract, chunks, failing, readAll, slow } from './blobstore.contract.ts';

const MiB = 1024 * 1024;

if (s3Missing) {
  test('s3 blob store contract', { skip: s3Missing }, () => undefined);
} else {
  blobStoreContract('s3 (RGW)', async () => {
    const opts = s3TestOptions();
    const store = await S3Store.open(opts);
    const others: S3Store[] = [];
    return {
      store,
      reopen: async () => {
        const s = await S3Store.open(opts);
        others.push(s);
        return s;
      },
      cleanup: async () => {
        await emptyPrefix(opts);
        for (const s of [store, ...others]) s.close();
      },
    };
  });
  s3Specifics();
}

function pattern(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size + 4);
  for (let i = 0; i < size; i += 4) b.writeUInt32LE((i * 2654435761 + seed) >>> 0, i);
  return b.subarray(0, size);
}

function s3Specifics(): void {
  describe('S3Store specifics (RGW)', () => {
    let opts: S3Options;
    let store: S3Store;
    let peer: S3Store;
    let s3: S3Client;

    before(async () => {
      opts = s3TestOptions();
      store = await S3Store.open(opts);
      peer = await S3Store.open(opts);
      s3 = createS3Client(opts);
    });
    after(async () => {
      await emptyPrefix(opts, s3);
      store.close();
      peer.close();
      s3.destroy();
    });

    async function keys(under: string): Promise<string[]> {
      const res = await s3.send(new ListObjectsV2Command({ Bucket: opts.bucket, Prefix: opts.prefix + under }));
      return (res.Contents ?? []).map((o) => (o.Key ?? '').slice(opts.prefix.length)).sort();
    }
    async function multipartUploads(under: string): Promise<number> {
      const res = await s3.send(new ListMultipartUploadsCommand({ Bucket: opts.bucket, Prefix: opts.prefix + under }));
      return (res.Uploads ?? []).length;
    }
    async function state(id: string): Promise<{ size: number; mpu: { parts: unknown[] } | null; tail: { size: number } | null }> {
      const res = await s3.send(new GetObjectCommand({ Bucket: opts.bucket, Key: `${opts.prefix}uploads/${id}/state` }));
      return JSON.parse(await (res.Body as { transformToString(): Promise<string> }).transformToString()) as never;
    }

    test('RGW honours conditional writes (probed spelling)', () => {
      assert.notEqual(store.conditionalWrites, 'none');
    });

    test('small chunks are buffered in the bucket until they fill a 5 MiB part', async () => {
      const id = randomUUID();
      await store.create(id);
      const all = pattern(13 * MiB + 123, 1);
      const step = 1 * MiB + 7; // never aligned with the part size
      for (let off = 0; off < all.length; off += step) {
        const end = Math.min(off + step, all.length);
        // Alternate replicas: the buffered tail must come from the bucket, not from memory.
        const s = (off / step) % 2 === 0 ? store : peer;
        assert.equal(await s.append(id, off, chunks(all.subarray(off, end))), end);
        const st = await state(id);
        assert.equal(st.size, end);
        assert.equal(st.mpu?.parts.length ?? 0, Math.floor(end / (5 * MiB)), 'only full parts are uploaded');
        assert.equal(st.tail?.size ?? 0, end % (5 * MiB), 'the rest waits in a tail object');
      }
      assert.deepEqual(await keys('blobs/'), [], 'nothing visible before commit');
      const digest = digestOf(all);
      await store.commit(id, digest);
      assert.ok((await readAll(await peer.read(digest))).equals(all));
      assert.deepEqual(await keys(`uploads/${id}/`), [], 'the session is gone after commit');
      assert.equal(await multipartUploads(`uploads/${id}/`), 0, 'no multipart upload left behind');
      const hex = digest.slice('sha256:'.length);
      assert.deepEqual(await keys('blobs/'), [`blobs/sha256/${hex.slice(0, 2)}/${hex}`]);
    });

    test('bytes a killed append left that the state never named: the commit leaves them, they are an abandoned session the GC aborts', async () => {
      const id = randomUUID();
      await store.create(id);
      await store.append(id, 0, chunks('named bytes'));
      // What a process killed inside append leaves: a tail written, a multipart upload begun, and
      // the state never saved.
      const dir = `${opts.prefix}uploads/${id}/`;
      await s3.send(new PutObjectCommand({ Bucket: opts.bucket, Key: `${dir}tail-stray`, Body: 'stray' }));
      await s3.send(new CreateMultipartUploadCommand({ Bucket: opts.bucket, Key: `${dir}data-stray` }));
      const digest = digestOf(Buffer.from('named bytes'));
      await store.commit(id, digest);
      assert.equal((await readAll(await store.read(digest))).toString(), 'named bytes');
      assert.deepEqual(await keys(`uploads/${id}/`), [`uploads/${id}/tail-stray`], 'the commit removed what the state named, and the state');
      const found: string[] = [];
      for await (const s of store.sessions()) found.push(s.id);
      assert.ok(found.includes(id), 'listed as a session, so the GC finds it (collector: abandoned sessions)');
      await store.abort(id);
      assert.deepEqual(await keys(`uploads/${id}/`), []);
      assert.equal(await multipartUploads(`uploads/${id}/`), 0);
    });

    test('a body failing after several parts rolls back; the retry is what gets committed', async () => {
      const id = randomUUID();
      await store.create(id);
      const first = pattern(6 * MiB, 2);
      await store.append(id, 0, chunks(first));
      await assert.rejects(store.append(id, first.length, failing(pattern(11 * MiB, 3))), (e: unknown) => e instanceof RegistryError && e.code === 'SIZE_INVALID');
      assert.equal(await store.size(id), first.length);
      const second = pattern(7 * MiB, 4);
      await peer.append(id, first.length, chunks(second));
      const digest = digestOf(Buffer.concat([first, second]));
      await store.commit(id, digest);
      assert.ok((await readAll(await store.read(digest))).equals(Buffer.concat([first, second])));
      assert.equal(await multipartUploads(`uploads/${id}/`), 0);
    });

    test('a storage failure mid-append surfaces as our error (not the client\'s SIZE_INVALID) and changes nothing', async () => {
      const id = randomUUID();
      await store.create(id);
      await store.append(id, 0, chunks(pattern(6 * MiB, 7)));
      const abortUnderneath = async () => {
        const res = await s3.send(new ListMultipartUploadsCommand({ Bucket: opts.bucket, Prefix: `${opts.prefix}uploads/${id}/` }));
        for (const u of res.Uploads ?? []) {
          await s3.send(new AbortMultipartUploadCommand({ Bucket: opts.bucket, Key: u.Key, UploadId: u.UploadId }));
        }
      };
      async function* body(): AsyncGenerator<Uint8Array> {
        yield pattern(5 * MiB, 8);
        await sleep(300);
        await abortUnderneath(); // the bucket loses the multipart upload while the client sends
        yield pattern(5 * MiB, 9); // this part's upload fails...
        await sleep(300);
        yield pattern(5 * MiB, 10); // ...and the store notices while still reading the body
      }
      await assert.rejects(store.append(id, 6 * MiB, body()), (e: unknown) => !(e instanceof RegistryError), 'a backend error, not a RegistryError');
      assert.equal(await store.size(id), 6 * MiB);
    });

    test('after DIGEST_INVALID on an assembled multipart upload the session can still grow', async () => {
      const id = randomUUID();
      await store.create(id);
      const a = pattern(11 * MiB + 5, 5);
      await store.append(id, 0, chunks(a));
      await assert.rejects(peer.commit(id, digestOf(Buffer.from('wrong'))), (e: unknown) => e instanceof RegistryError && e.code === 'DIGEST_INVALID');
      assert.equal(await store.size(id), a.length, 'the session is untouched');
      const b = pattern(3 * MiB, 6);
      await peer.append(id, a.length, chunks(b));
      const digest = digestOf(Buffer.concat([a, b]));
      await store.commit(id, digest);
      assert.ok((await readAll(await store.read(digest, { start: 11 * MiB - 10, end: 11 * MiB + 20 }))).equals(Buffer.concat([a, b]).subarray(11 * MiB - 10, 11 * MiB + 21)));
    });

    test('two replicas appending at the same offset: exactly one wins (conditional state write)', async () => {
      const id = randomUUID();
      await store.create(id);
      await store.append(id, 0, chunks('base-'));
      const results = await Promise.allSettled([
        store.append(id, 5, slow(30, 'from-', 'store')),
        peer.append(id, 5, slow(30, 'from-', 'peer!')),
      ]);
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      assert.equal(won.length, 1, JSON.stringify(results.map((r) => r.status)));
      assert.ok(lost[0]?.reason instanceof RegistryError && lost[0].reason.code === 'RANGE_INVALID', String(lost[0]?.reason));
      const winner = results[0]?.status === 'fulfilled' ? 'base-from-store' : 'base-from-peer!';
      await peer.commit(id, digestOf(Buffer.from(winner)));
      assert.equal((await readAll(await store.read(digestOf(Buffer.from(winner))))).toString(), winner);
    });

    test('presigned redirect URLs serve the blob when redirect is on', async () => {
      const redirecting = await S3Store.open({ ...opts, redirect: true });
      try {
        const id = randomUUID();
        await redirecting.create(id);
        await redirecting.append(id, 0, chunks('presigned bytes'));
        const digest: Digest = digestOf(Buffer.from('presigned bytes'));
        await redirecting.commit(id, digest);
        assert.equal(await store.redirectUrl(digest), null, 'off by default');
        const url = await redirecting.redirectUrl(digest);
        assert.ok(url);
        const res = await fetch(url);
        assert.equal(res.status, 200);
        assert.equal(await res.text(), 'presigned bytes');
        const ranged = await fetch(url, { headers: { Range: 'bytes=10-14' } });
        assert.equal(ranged.status, 206);
        assert.equal(await ranged.text(), 'bytes');
      } finally {
        redirecting.close();
      }
    });

    test('addressing style follows forcePathStyle (presigned URL shape)', async () => {
      // Presigning is local: no request reaches this endpoint.
      const base = { ...opts, endpoint: 'http://s3.example.test:9000' };
      const Key = `${opts.prefix}blobs/sha256/ab/abc`;
      const url = async (forcePathStyle: boolean) => {
        const client = createS3Client({ ...base, forcePathStyle });
        try {
          return new URL(await getSignedUrl(client, new GetObjectCommand({ Bucket: opts.bucket, Key }), { expiresIn: 60 }));
        } finally {
          client.destroy();
        }
      };
      const p = await url(true);
      const v = await url(false);
      assert.equal(p.host, 's3.example.test:9000');
      assert.equal(p.pathname, `/${opts.bucket}/${Key}`);
      assert.equal(v.host, `${opts.bucket}.s3.example.test:9000`);
      assert.equal(v.pathname, `/${Key}`);
    });

    test('upload ids that could escape the session prefix are unknown', async () => {
      for (const id of ['../blobs', 'a/b', '', '.', 'x'.repeat(200)]) {
        await assert.rejects(store.create(id), (e: unknown) => e instanceof RegistryError && e.code === 'BLOB_UPLOAD_UNKNOWN', id);
      }
    });
  });
}
