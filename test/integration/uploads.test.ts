/**
 * Blob uploads: monolithic POST+PUT and single POST (end-4a/4b, end-6), chunked and streamed
 * PATCH (end-5), status GET (end-13), cancel, and cross-repository mount (end-11) — on both the
 * memory and fs stores.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import pino from 'pino';
import { createWharf } from '../../src/main.ts';
import { digestOf } from '../../src/oci/digest.ts';
import { assertError, Client, DRIVERS, type Res, storageFor, withApp } from './support.ts';

const octet = { 'content-type': 'application/octet-stream' };

async function start(c: Client, repo: string): Promise<{ res: Res; location: string; id: string }> {
  const res = await c.req({ method: 'POST', url: `/v2/${repo}/blobs/uploads/` });
  assert.equal(res.statusCode, 202, res.body);
  const location = String(res.headers.location);
  const id = String(res.headers['docker-upload-uuid']);
  return { res, location, id };
}

function patch(c: Client, location: string, body: string | Buffer | Readable, range?: string): Promise<Res> {
  const headers: Record<string, string> = { ...octet };
  if (range !== undefined) headers['content-range'] = range;
  return c.req({ method: 'PATCH', url: location, headers, body });
}

function put(c: Client, location: string, digest: string, body?: string | Buffer): Promise<Res> {
  const url = `${location}${location.includes('?') ? '&' : '?'}digest=${encodeURIComponent(digest)}`;
  return c.req(body === undefined ? { method: 'PUT', url } : { method: 'PUT', url, headers: octet, body });
}

async function assertBlob(c: Client, repo: string, content: string | Buffer): Promise<void> {
  const digest = digestOf(Buffer.from(content));
  const res = await c.get(`/v2/${repo}/blobs/${digest}`);
  assert.equal(res.statusCode, 200, res.body);
  assert.ok(res.rawPayload.equals(Buffer.from(content)), 'blob bytes differ');
}

/** Sessions the database still knows about (none may leak from a finished or failed upload). */
async function openSessions(c: Client): Promise<string[]> {
  return c.wharf.metadata.uploads.staleSince(Number.MAX_SAFE_INTEGER, 1000);
}

/** A body streamed with chunked transfer encoding (no Content-Length). */
function streamed(...parts: string[]): Readable {
  return Readable.from(parts.map((p) => Buffer.from(p)));
}

for (const driver of DRIVERS) {
  const withStore = (fn: (c: Client) => Promise<void>, limits?: Record<string, string>) =>
    withApp(fn, limits ? { ...storageFor(driver), limits } : storageFor(driver));

  describe(`uploads (${driver} store)`, () => {
    test('POST opens a session: 202 with Location, Range, Docker-Upload-UUID', async () => {
      await withStore(async (c) => {
        const { res, location, id } = await start(c, 'acme/web');
        assert.match(id, /^[0-9a-f-]{36}$/);
        assert.equal(location, `/v2/acme/web/blobs/uploads/${id}`);
        assert.equal(res.headers.range, '0-0');
        assert.equal(res.headers['content-length'], '0');
        assert.deepEqual(await openSessions(c), [id]);
        // Without the trailing slash too.
        assert.equal((await c.req({ method: 'POST', url: '/v2/acme/web/blobs/uploads' })).statusCode, 202);
      });
    });

    test('monolithic upload: POST then PUT ?digest= with the whole body', async () => {
      await withStore(async (c) => {
        const { location } = await start(c, 'acme/web');
        const digest = digestOf(Buffer.from('monolithic'));
        const res = await put(c, location, digest, 'monolithic');
        assert.equal(res.statusCode, 201, res.body);
        assert.equal(res.headers.location, `/v2/acme/web/blobs/${digest}`);
        assert.equal(res.headers['docker-content-digest'], digest);
        await assertBlob(c, 'acme/web', 'monolithic');
        assertError(await c.get(location), 404, 'BLOB_UPLOAD_UNKNOWN');
        assert.deepEqual(await openSessions(c), []);
      });
    });

    test('single POST with ?digest= uploads in one request', async () => {
      await withStore(async (c) => {
        const digest = digestOf(Buffer.from('one shot'));
        const res = await c.req({ method: 'POST', url: `/v2/acme/web/blobs/uploads/?digest=${digest}`, headers: octet, body: 'one shot' });
        assert.equal(res.statusCode, 201, res.body);
        assert.equal(res.headers.location, `/v2/acme/web/blobs/${digest}`);
        assert.equal(res.headers['docker-content-digest'], digest);
        await assertBlob(c, 'acme/web', 'one shot');
        assert.deepEqual(await openSessions(c), []);
      });
    });

    test('single POST with a wrong digest is 400 DIGEST_INVALID and leaves nothing behind', async () => {
      await withStore(async (c) => {
        const claimed = digestOf(Buffer.from('something else'));
        const res = await c.req({ method: 'POST', url: `/v2/acme/web/blobs/uploads/?digest=${claimed}`, headers: octet, body: 'one shot' });
        assertError(res, 400, 'DIGEST_INVALID');
        assertError(await c.head(`/v2/acme/web/blobs/${claimed}`), 404, 'BLOB_UNKNOWN');
        assertError(await c.head(`/v2/acme/web/blobs/${digestOf(Buffer.from('one shot'))}`), 404, 'BLOB_UNKNOWN');
        assert.deepEqual(await openSessions(c), []);
        assertError(await c.req({ method: 'POST', url: '/v2/acme/web/blobs/uploads/?digest=sha256:nope', body: 'x', headers: octet }), 400, 'DIGEST_INVALID');
        assert.deepEqual(await openSessions(c), []);
      });
    });

    test('a POST carrying a first chunk keeps it', async () => {
      await withStore(async (c) => {
        const res = await c.req({ method: 'POST', url: '/v2/acme/web/blobs/uploads/', headers: octet, body: 'first-' });
        assert.equal(res.statusCode, 202);
        assert.equal(res.headers.range, '0-5');
        const location = String(res.headers.location);
        assert.equal((await put(c, location, digestOf(Buffer.from('first-last')), 'last')).statusCode, 201);
        await assertBlob(c, 'acme/web', 'first-last');
      });
    });

    test('chunked upload with Content-Range, status GET, and a final PUT carrying the last chunk', async () => {
      await withStore(async (c) => {
        const { location, id } = await start(c, 'acme/web');
        let res = await patch(c, location, 'chunk', '0-4');
        assert.equal(res.statusCode, 202, res.body);
        assert.equal(res.headers.range, '0-4');
        assert.equal(res.headers.location, location);
        assert.equal(res.headers['docker-upload-uuid'], id);
        res = await patch(c, location, '-two-', 'bytes 5-9'); // the "bytes " prefix some clients send
        assert.equal(res.statusCode, 202, res.body);
        assert.equal(res.headers.range, '0-9');

        const status = await c.get(location);
        assert.equal(status.statusCode, 204);
        assert.equal(status.headers.range, '0-9');
        assert.equal(status.headers.location, location);
        assert.equal(status.headers['docker-upload-uuid'], id);
        assert.equal(status.body, '');

        const all = 'chunk-two-last';
        res = await put(c, location, digestOf(Buffer.from(all)), 'last');
        assert.equal(res.statusCode, 201, res.body);
        await assertBlob(c, 'acme/web', all);
        assert.deepEqual(await openSessions(c), []);
      });
    });

    test('out-of-order or overlapping chunks are 416 and change nothing', async () => {
      await withStore(async (c) => {
        const { location } = await start(c, 'acme/web');
        assert.equal((await patch(c, location, '01234', '0-4')).statusCode, 202);
        for (const [body, range] of [
          ['abcde', '10-14'], // a gap
          ['abcde', '3-7'], // overlap
          ['abcde', '0-4'], // the same chunk again
          ['abc', '5-9'], // Content-Range disagrees with the body length
          ['abcde', '9-5'], // backwards
          ['abcde', 'five-nine'], // malformed
        ] as const) {
          const res = await patch(c, location, body, range);
          assert.equal(res.statusCode, 416, `${range}: ${res.body}`);
          assert.ok(JSON.parse(res.body).errors[0].code);
        }
        const status = await c.get(location);
        assert.equal(status.headers.range, '0-4');
        assert.equal((await patch(c, location, '56789', '5-9')).statusCode, 202);
        assert.equal((await put(c, location, digestOf(Buffer.from('0123456789')))).statusCode, 201);
        await assertBlob(c, 'acme/web', '0123456789');
      });
    });

    test('a last chunk in the closing PUT out of order is 416 like a PATCH; the session stays resumable', async () => {
      await withStore(async (c) => {
        const { location } = await start(c, 'acme/web');
        assert.equal((await patch(c, location, '01234', '0-4')).statusCode, 202);
        assert.equal((await patch(c, location, '56789', '5-9')).statusCode, 202);
        const all = '0123456789abcde';
        const digest = digestOf(Buffer.from(all));
        const putChunk = (body: string, range: string) =>
          c.req({ method: 'PUT', url: `${location}?digest=${encodeURIComponent(digest)}`, headers: { ...octet, 'content-range': range }, body });
        // As the conformance suite sends it: the first chunk again, in the PUT; then a gap.
        for (const [body, range] of [
          ['01234', '0-4'],
          ['abcde', '12-16'],
          ['abcde', '3-7'],
        ] as const) {
          const res = await putChunk(body, range);
          assertError(res, 416, 'BLOB_UPLOAD_INVALID');
          const status = await c.get(location);
          assert.equal(status.statusCode, 204, `the session survives ${range}`);
          assert.equal(status.headers.range, '0-9', `nothing of ${range} was written`);
        }
        assertError(await c.head(`/v2/acme/web/blobs/${digest}`), 404, 'BLOB_UNKNOWN');
        // Resumed at the offset GET reports, the same PUT finishes the upload.
        const res = await putChunk('abcde', '10-14');
        assert.equal(res.statusCode, 201, res.body);
        assert.equal(res.headers['docker-content-digest'], digest);
        await assertBlob(c, 'acme/web', all);
        assert.deepEqual(await openSessions(c), []);
      });
    });

    test('a closing PUT racing a DELETE of the same session: 201 or 404 BLOB_UPLOAD_UNKNOWN, never 500', async () => {
      await withStore(async (c) => {
        for (let i = 0; i < (driver === 'profile' ? 10 : 20); i++) {
          const content = `raced upload ${i} `.repeat(50);
          const digest = digestOf(Buffer.from(content));
          const { location } = await start(c, 'acme/race');
          const half = content.length / 2;
          assert.equal((await patch(c, location, content.slice(0, half), `0-${half - 1}`)).statusCode, 202);
          // Alternate which request goes first; both run concurrently (Client.req fails on any 5xx).
          const closing = put(c, location, digest, content.slice(half));
          const cancel = c.delete(location);
          const [p, d] = i % 2 === 0 ? await Promise.all([closing, cancel]) : (await Promise.all([cancel, closing])).reverse();
          if (p === undefined || d === undefined) throw new Error('unreachable');
          if (p.statusCode !== 201) assertError(p, 404, 'BLOB_UPLOAD_UNKNOWN');
          if (d.statusCode !== 204) assertError(d, 404, 'BLOB_UPLOAD_UNKNOWN');
          // Whoever won, the session is gone and the blob exists exactly when the PUT said 201.
          assertError(await c.get(location), 404, 'BLOB_UPLOAD_UNKNOWN');
          const blob = await c.head(`/v2/acme/race/blobs/${digest}`);
          assert.equal(blob.statusCode, p.statusCode === 201 ? 200 : 404, `blob after put ${p.statusCode}`);
          if (p.statusCode === 201) await assertBlob(c, 'acme/race', content);
        }
        assert.deepEqual(await openSessions(c), []);
      });
    });

    test(
      'a closing PUT on one replica racing a DELETE on another: 201 or 404 BLOB_UPLOAD_UNKNOWN, never 500',
      { skip: driver === 'profile' ? false : 'replicas share S3 + PostgreSQL: runs on the scale profile' },
      async () => {
        await withStore(async (a) => {
          // A second Wharf on the same object store and database, as a second replica would be.
          const other = await createWharf(a.wharf.config, { logger: pino({ level: 'silent' }) });
          const b = new Client({ ...other, dataDir: a.wharf.dataDir });
          try {
            for (let i = 0; i < 10; i++) {
              const content = `replica race ${i} `.repeat(4000);
              const digest = digestOf(Buffer.from(content));
              const { location } = await start(a, 'acme/replicas');
              const half = content.length / 2;
              assert.equal((await patch(a, location, content.slice(0, half), `0-${half - 1}`)).statusCode, 202);
              const [p, d] = await Promise.all([put(a, location, digest, content.slice(half)), b.delete(location)]);
              if (p.statusCode !== 201) assertError(p, 404, 'BLOB_UPLOAD_UNKNOWN');
              if (d.statusCode !== 204) assertError(d, 404, 'BLOB_UPLOAD_UNKNOWN');
              assertError(await b.get(location), 404, 'BLOB_UPLOAD_UNKNOWN');
              if (p.statusCode === 201) await assertBlob(b, 'acme/replicas', content);
            }
          } finally {
            await other.close();
          }
        });
      },
    );

    test('streamed PATCHes without Content-Range or Content-Length append in order', async () => {
      await withStore(async (c) => {
        const { location } = await start(c, 'acme/web');
        let res = await patch(c, location, streamed('stre', 'amed '));
        assert.equal(res.statusCode, 202, res.body);
        assert.equal(res.headers.range, '0-8');
        res = await patch(c, location, streamed('twice'));
        assert.equal(res.headers.range, '0-13');
        res = await patch(c, location, '');
        assert.equal(res.statusCode, 202, 'an empty chunk is harmless');
        assert.equal(res.headers.range, '0-13');
        res = await put(c, location, digestOf(Buffer.from('streamed twice')));
        assert.equal(res.statusCode, 201, res.body);
        await assertBlob(c, 'acme/web', 'streamed twice');
      });
    });

    test('a final PUT without a digest, or with a wrong one, is 400 DIGEST_INVALID and the session survives', async () => {
      await withStore(async (c) => {
        const { location } = await start(c, 'acme/web');
        await patch(c, location, 'payload', '0-6');
        assertError(await c.req({ method: 'PUT', url: location }), 400, 'DIGEST_INVALID');
        assertError(await put(c, location, 'sha256:1234'), 400, 'DIGEST_INVALID');
        const wrong = digestOf(Buffer.from('not the payload'));
        assertError(await put(c, location, wrong), 400, 'DIGEST_INVALID');
        assertError(await c.head(`/v2/acme/web/blobs/${wrong}`), 404, 'BLOB_UNKNOWN');
        assert.equal((await c.get(location)).headers.range, '0-6');
        assert.equal((await put(c, location, digestOf(Buffer.from('payload')))).statusCode, 201);
        await assertBlob(c, 'acme/web', 'payload');
      });
    });

    test('a final PUT by sha512 digest', async () => {
      await withStore(async (c) => {
        const { location } = await start(c, 'acme/web');
        await patch(c, location, 'five-twelve');
        const digest = digestOf(Buffer.from('five-twelve'), 'sha512');
        const res = await put(c, location, digest);
        assert.equal(res.statusCode, 201, res.body);
        assert.equal(res.headers['docker-content-digest'], digest);
        assert.equal((await c.get(`/v2/acme/web/blobs/${digest}`)).body, 'five-twelve');
      });
    });

    test('uploading a blob that already exists succeeds', async () => {
      await withStore(async (c) => {
        const first = await c.pushBlob('acme/web', 'duplicate');
        const second = await c.pushBlob('acme/web', 'duplicate');
        assert.equal(first, second);
        await c.pushBlob('acme/other', 'duplicate');
        await assertBlob(c, 'acme/other', 'duplicate');
      });
    });

    test('DELETE cancels the session; afterwards it is BLOB_UPLOAD_UNKNOWN', async () => {
      await withStore(async (c) => {
        const { location } = await start(c, 'acme/web');
        await patch(c, location, 'abandoned', '0-8');
        const del = await c.delete(location);
        assert.equal(del.statusCode, 204);
        assertError(await c.get(location), 404, 'BLOB_UPLOAD_UNKNOWN');
        assertError(await patch(c, location, 'more'), 404, 'BLOB_UPLOAD_UNKNOWN');
        assertError(await put(c, location, digestOf(Buffer.from('abandoned'))), 404, 'BLOB_UPLOAD_UNKNOWN');
        assertError(await c.delete(location), 404, 'BLOB_UPLOAD_UNKNOWN');
        assertError(await c.head(`/v2/acme/web/blobs/${digestOf(Buffer.from('abandoned'))}`), 404, 'BLOB_UNKNOWN');
        assert.deepEqual(await openSessions(c), []);
      });
    });

    test('unknown upload ids are 404 BLOB_UPLOAD_UNKNOWN on every method', async () => {
      await withStore(async (c) => {
        for (const id of ['00000000-0000-0000-0000-000000000000', 'not-a-uuid', 'a%20b', 'a.b', 'x'.repeat(300)]) {
          const location = `/v2/acme/web/blobs/uploads/${id}`;
          assertError(await c.get(location), 404, 'BLOB_UPLOAD_UNKNOWN');
          assertError(await patch(c, location, 'x'), 404, 'BLOB_UPLOAD_UNKNOWN');
          assertError(await put(c, location, digestOf(Buffer.from('x')), 'x'), 404, 'BLOB_UPLOAD_UNKNOWN');
          assertError(await c.delete(location), 404, 'BLOB_UPLOAD_UNKNOWN');
        }
      });
    });

    test('an upload id used through another repository is 404 and the session is unharmed', async () => {
      await withStore(async (c) => {
        const { location, id } = await start(c, 'acme/web');
        await patch(c, location, 'mine', '0-3');
        const foreign = `/v2/evil/repo/blobs/uploads/${id}`;
        assertError(await c.get(foreign), 404, 'BLOB_UPLOAD_UNKNOWN');
        assertError(await patch(c, foreign, 'theirs', '4-9'), 404, 'BLOB_UPLOAD_UNKNOWN');
        assertError(await put(c, foreign, digestOf(Buffer.from('mine'))), 404, 'BLOB_UPLOAD_UNKNOWN');
        assertError(await c.delete(foreign), 404, 'BLOB_UPLOAD_UNKNOWN');
        assertError(await c.head(`/v2/evil/repo/blobs/${digestOf(Buffer.from('mine'))}`), 404, 'BLOB_UNKNOWN');
        assert.equal((await c.get(location)).headers.range, '0-3');
        assert.equal((await put(c, location, digestOf(Buffer.from('mine')))).statusCode, 201);
        await assertBlob(c, 'acme/web', 'mine');
      });
    });

    test('concurrent pushes, including identical blobs committed at the same time, all succeed', async () => {
      await withStore(async (c) => {
        const same = await Promise.all(Array.from({ length: 8 }, () => c.pushBlob('acme/web', 'identical bytes')));
        assert.equal(new Set(same).size, 1);
        await assertBlob(c, 'acme/web', 'identical bytes');
        const images = await Promise.all(Array.from({ length: 24 }, (_, i) => c.pushImage(`acme/r${i % 3}`, `t${i}`, { layer: `shared layer ${i % 4}` })));
        for (const [i, img] of images.entries()) {
          const res = await c.get(`/v2/acme/r${i % 3}/manifests/t${i}`);
          assert.ok(res.rawPayload.equals(img.bytes));
        }
        assert.equal((JSON.parse((await c.get('/v2/acme/r0/tags/list')).body) as { tags: string[] }).tags.length, 8);
        assert.deepEqual(await openSessions(c), []);
      });
    });

    test('blobMaxBytes caps uploads with SIZE_INVALID, across chunks', async () => {
      await withStore(
        async (c) => {
          const digest = digestOf(Buffer.from('12345678901'));
          assertError(await c.req({ method: 'POST', url: `/v2/acme/web/blobs/uploads/?digest=${digest}`, headers: octet, body: '12345678901' }), 400, 'SIZE_INVALID');
          const { location } = await start(c, 'acme/web');
          assert.equal((await patch(c, location, '123456', '0-5')).statusCode, 202);
          assertError(await patch(c, location, '78901', '6-10'), 400, 'SIZE_INVALID');
          assert.equal((await c.get(location)).headers.range, '0-5');
          assert.equal((await put(c, location, digestOf(Buffer.from('1234567890')), '7890')).statusCode, 201);
        },
        { blobMaxBytes: '10' },
      );
    });
  });

  describe(`cross-repository mount (${driver} store)`, () => {
    test('mounting a blob the source repository has is 201 without any upload', async () => {
      await withStore(async (c) => {
        const digest = await c.pushBlob('acme/src', 'shared layer');
        const res = await c.req({ method: 'POST', url: `/v2/acme/dst/blobs/uploads/?mount=${digest}&from=acme/src` });
        assert.equal(res.statusCode, 201, res.body);
        assert.equal(res.headers.location, `/v2/acme/dst/blobs/${digest}`);
        assert.equal(res.headers['docker-content-digest'], digest);
        await assertBlob(c, 'acme/dst', 'shared layer');
        assert.deepEqual(await openSessions(c), []);
      });
    });

    test('when the mount is not possible the answer is 202 with a usable new session', async () => {
      await withStore(async (c) => {
        const elsewhere = await c.pushBlob('acme/third', 'only in third');
        const absent = digestOf(Buffer.from('nowhere'));
        const cases = [
          `mount=${elsewhere}&from=acme/src`, // the source does not have it (another repo does)
          `mount=${absent}&from=acme/third`, // nobody has it
          `mount=${elsewhere}`, // no from
          `mount=${elsewhere}&from=`, // empty from
          `mount=${elsewhere}&from=Not/A/Valid/Name`, // invalid from
          `mount=${elsewhere}&from=acme/src&from=acme/third`, // ambiguous: the first one counts
        ];
        for (const q of cases) {
          const res = await c.req({ method: 'POST', url: `/v2/acme/dst/blobs/uploads/?${q}` });
          assert.equal(res.statusCode, 202, `${q}: ${res.body}`);
          const location = String(res.headers.location);
          assert.match(location, /^\/v2\/acme\/dst\/blobs\/uploads\/[0-9a-f-]{36}$/);
          assert.equal(res.headers.range, '0-0');
          assert.ok(res.headers['docker-upload-uuid']);
          await c.delete(location);
        }
        assertError(await c.head(`/v2/acme/dst/blobs/${elsewhere}`), 404, 'BLOB_UNKNOWN');
        // The fallback session is a normal one: finish the upload through it.
        const res = await c.req({ method: 'POST', url: `/v2/acme/dst/blobs/uploads/?mount=${absent}&from=acme/src` });
        assert.equal((await put(c, String(res.headers.location), absent, 'nowhere')).statusCode, 201);
        await assertBlob(c, 'acme/dst', 'nowhere');
      });
    });

    test('a mount with a malformed digest is 400 DIGEST_INVALID', async () => {
      await withStore(async (c) => {
        assertError(await c.req({ method: 'POST', url: '/v2/acme/dst/blobs/uploads/?mount=sha256:zz&from=acme/src' }), 400, 'DIGEST_INVALID');
        assert.deepEqual(await openSessions(c), []);
      });
    });
  });
}
