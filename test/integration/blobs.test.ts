/** Blobs: GET/HEAD with Range (end-2) and DELETE (end-10), on the memory and fs stores. */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { digestOf } from '../../src/oci/digest.ts';
import { assertError, DRIVERS, storageFor, withApp } from './support.ts';

for (const driver of DRIVERS) {
  const withStore = (fn: Parameters<typeof withApp>[0]) => withApp(fn, storageFor(driver));

  describe(`blobs (${driver} store)`, () => {
    const content = 'The quick brown fox jumps over the lazy dog';
    const size = Buffer.byteLength(content);

    test('GET returns the bytes with digest, length and type headers; HEAD the headers only', async () => {
      await withStore(async (c) => {
        const digest = await c.pushBlob('acme/web', content);
        const get = await c.get(`/v2/acme/web/blobs/${digest}`);
        assert.equal(get.statusCode, 200);
        assert.equal(get.body, content);
        assert.equal(get.headers['docker-content-digest'], digest);
        assert.equal(get.headers['content-length'], String(size));
        assert.equal(get.headers['content-type'], 'application/octet-stream');
        assert.equal(get.headers['accept-ranges'], 'bytes');
        assert.equal(digestOf(get.rawPayload), digest);

        const head = await c.head(`/v2/acme/web/blobs/${digest}`);
        assert.equal(head.statusCode, 200);
        assert.equal(head.body, '');
        assert.equal(head.headers['content-length'], String(size));
        assert.equal(head.headers['docker-content-digest'], digest);
      });
    });

    test('Range requests answer 206 with Content-Range', async () => {
      await withStore(async (c) => {
        const digest = await c.pushBlob('acme/web', content);
        const url = `/v2/acme/web/blobs/${digest}`;
        const cases: [string, number, number][] = [
          ['bytes=0-3', 0, 3],
          ['bytes=4-8', 4, 8],
          ['bytes=40-', 40, size - 1],
          ['bytes=-3', size - 3, size - 1],
          ['bytes=-1000', 0, size - 1], // a suffix longer than the blob is the whole blob
          ['bytes=10-9999', 10, size - 1], // an end past the blob is clamped
          [`bytes=${size - 1}-${size - 1}`, size - 1, size - 1],
        ];
        for (const [range, start, end] of cases) {
          const res = await c.get(url, { range });
          assert.equal(res.statusCode, 206, range);
          assert.equal(res.headers['content-range'], `bytes ${start}-${end}/${size}`, range);
          assert.equal(res.headers['content-length'], String(end - start + 1), range);
          assert.equal(res.body, content.slice(start, end + 1), range);
          assert.equal(res.headers['docker-content-digest'], digest);
        }
        const head = await c.head(url, { range: 'bytes=0-3' });
        assert.equal(head.statusCode, 206);
        assert.equal(head.headers['content-length'], '4');
        assert.equal(head.body, '');
      });
    });

    test('unsatisfiable or malformed ranges are 416 with Content-Range: bytes */size', async () => {
      await withStore(async (c) => {
        const digest = await c.pushBlob('acme/web', content);
        for (const range of [`bytes=${size}-`, `bytes=${size + 10}-${size + 20}`, 'bytes=5-2', 'bytes=-0', 'bytes=-', 'items=0-1', 'bytes=0-1,3-4', 'bytes=a-b', 'garbage']) {
          const res = await c.get(`/v2/acme/web/blobs/${digest}`, { range });
          assert.equal(res.statusCode, 416, range);
          assert.equal(res.headers['content-range'], `bytes */${size}`, range);
          assert.ok(JSON.parse(res.body).errors[0].code, range);
        }
      });
    });

    test('a large blob streams whole and in ranges', async () => {
      await withStore(async (c) => {
        const big = Buffer.alloc(3 * 1024 * 1024 + 17);
        for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
        const digest = await c.pushBlob('acme/big', big);
        const whole = await c.get(`/v2/acme/big/blobs/${digest}`);
        assert.ok(whole.rawPayload.equals(big));
        const part = await c.get(`/v2/acme/big/blobs/${digest}`, { range: 'bytes=1048570-2097160' });
        assert.equal(part.statusCode, 206);
        assert.ok(part.rawPayload.equals(big.subarray(1048570, 2097161)));
      });
    });

    test('an empty blob', async () => {
      await withStore(async (c) => {
        const digest = await c.pushBlob('acme/web', '');
        const res = await c.get(`/v2/acme/web/blobs/${digest}`);
        assert.equal(res.statusCode, 200);
        assert.equal(res.headers['content-length'], '0');
        assert.equal(res.body, '');
        assert.equal((await c.get(`/v2/acme/web/blobs/${digest}`, { range: 'bytes=0-' })).statusCode, 416);
      });
    });

    test('a blob is readable only through a repository it is linked to', async () => {
      await withStore(async (c) => {
        const digest = await c.pushBlob('acme/web', content);
        assertError(await c.get(`/v2/acme/other/blobs/${digest}`), 404, 'BLOB_UNKNOWN');
        assertError(await c.get(`/v2/acme/web/blobs/${digestOf(Buffer.from('never pushed'))}`), 404, 'BLOB_UNKNOWN');
        const head = await c.head(`/v2/acme/other/blobs/${digest}`);
        assert.equal(head.statusCode, 404);
        assert.equal(head.body, '');
      });
    });

    // Only the fs store can lose bytes behind metadata's back (e.g. restored from an older backup).
    if (driver === 'fs') test('a blob linked to the repository but missing from the store is a clean 404', async () => {
      await withStore(async (c) => {
        const digest = await c.pushBlob('acme/web', content);
        await rm(join(c.wharf.dataDir, 'storage', 'blobs'), { recursive: true, force: true });
        const res = await c.get(`/v2/acme/web/blobs/${digest}`);
        assertError(res, 404, 'BLOB_UNKNOWN');
        assert.equal(res.headers['docker-content-digest'], undefined);
      });
    });

    test('an invalid or unsupported digest in the URL is 400 DIGEST_INVALID', async () => {
      await withStore(async (c) => {
        for (const bad of ['sha256:abc', `sha256:${'A'.repeat(64)}`, `md5:${'a'.repeat(32)}`, 'notadigest', `sha512:${'a'.repeat(64)}`]) {
          assertError(await c.get(`/v2/acme/web/blobs/${bad}`), 400, 'DIGEST_INVALID');
          assertError(await c.delete(`/v2/acme/web/blobs/${bad}`), 400, 'DIGEST_INVALID');
        }
      });
    });

    test('sha512 blobs are pushed and read by their sha512 digest', async () => {
      await withStore(async (c) => {
        const bytes = Buffer.from('sha512 content');
        const digest = digestOf(bytes, 'sha512');
        const res = await c.req({ method: 'POST', url: `/v2/acme/web/blobs/uploads/?digest=${digest}`, body: bytes, headers: { 'content-type': 'application/octet-stream' } });
        assert.equal(res.statusCode, 201, res.body);
        assert.equal(res.headers['docker-content-digest'], digest);
        const get = await c.get(`/v2/acme/web/blobs/${digest}`);
        assert.equal(get.body, 'sha512 content');
        assert.equal(get.headers['docker-content-digest'], digest);
        assertError(await c.get(`/v2/acme/web/blobs/${digestOf(bytes)}`), 404, 'BLOB_UNKNOWN');
      });
    });

    test('DELETE unlinks the blob from that repository only', async () => {
      await withStore(async (c) => {
        const digest = await c.pushBlob('acme/web', content);
        await c.pushBlob('acme/api', content);
        const del = await c.delete(`/v2/acme/web/blobs/${digest}`);
        assert.equal(del.statusCode, 202);
        assert.equal(del.headers['docker-content-digest'], digest);
        assertError(await c.get(`/v2/acme/web/blobs/${digest}`), 404, 'BLOB_UNKNOWN');
        assertError(await c.delete(`/v2/acme/web/blobs/${digest}`), 404, 'BLOB_UNKNOWN');
        const other = await c.get(`/v2/acme/api/blobs/${digest}`);
        assert.equal(other.statusCode, 200);
        assert.equal(other.body, content);
      });
    });
  });
}
