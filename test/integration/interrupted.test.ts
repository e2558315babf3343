/**
 * Truncated and interrupted request bodies leave nothing half-visible: bodies shorter than
 * their Content-Length (in-process), and clients that close the socket mid-body (real server).
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { digestOf } from '../../src/oci/digest.ts';
import { MediaType } from '../../src/oci/mediatypes.ts';
import { assertError, type Client, type Driver, DRIVERS, storageFor, withApp } from './support.ts';

const octet = 'application/octet-stream';

/** A body that sends `sent` bytes while declaring `declared`. */
function short(sent: number, declared: number, fill = 0x61): { body: Readable; headers: Record<string, string> } {
  return { body: Readable.from([Buffer.alloc(sent, fill)]), headers: { 'content-length': String(declared), 'content-type': octet } };
}

async function openSessions(c: Client): Promise<string[]> {
  return c.wharf.metadata.uploads.staleSince(Number.MAX_SAFE_INTEGER, 1000);
}

async function eventually(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for: ${what}`);
    await sleep(10);
  }
}

for (const driver of DRIVERS) {
  const withStore = (fn: (c: Client) => Promise<void>) => withApp(fn, storageFor(driver));

  describe(`bodies shorter than Content-Length (${driver} store)`, () => {
    test('PATCH: 400 SIZE_INVALID, the session keeps its previous size and can continue', async () => {
      await withStore(async (c) => {
        const start = await c.req({ method: 'POST', url: '/v2/acme/web/blobs/uploads/' });
        const location = String(start.headers.location);
        assert.equal((await c.req({ method: 'PATCH', url: location, headers: { 'content-type': octet, 'content-range': '0-4' }, body: 'good-' })).statusCode, 202);
        const bad = short(50, 100);
        assertError(await c.req({ method: 'PATCH', url: location, headers: { ...bad.headers, 'content-range': '5-104' }, body: bad.body }), 400, 'SIZE_INVALID');
        const bad2 = short(3 << 20, (3 << 20) + 1); // large enough to have been partly written
        assertError(await c.req({ method: 'PATCH', url: location, headers: bad2.headers, body: bad2.body }), 400, 'SIZE_INVALID');
        assert.equal((await c.get(location)).headers.range, '0-4');
        assert.equal((await c.req({ method: 'PATCH', url: location, headers: { 'content-type': octet, 'content-range': '5-8' }, body: 'rest' })).statusCode, 202);
        const put = await c.req({ method: 'PUT', url: `${location}?digest=${digestOf(Buffer.from('good-rest'))}` });
        assert.equal(put.statusCode, 201, put.body);
      });
    });

    test('final PUT with a truncated last chunk: nothing visible, the session unchanged', async () => {
      await withStore(async (c) => {
        const start = await c.req({ method: 'POST', url: '/v2/acme/web/blobs/uploads/', headers: { 'content-type': octet }, body: 'abc' });
        const location = String(start.headers.location);
        const bad = short(10, 20, 0x64);
        const full = Buffer.concat([Buffer.from('abc'), Buffer.alloc(10, 0x64)]);
        const res = await c.req({ method: 'PUT', url: `${location}?digest=${digestOf(full)}`, headers: bad.headers, body: bad.body });
        assertError(res, 400, 'SIZE_INVALID');
        assertError(await c.head(`/v2/acme/web/blobs/${digestOf(full)}`), 404, 'BLOB_UNKNOWN');
        assert.equal((await c.get(location)).headers.range, '0-2');
      });
    });

    test('single POST ?digest=: nothing visible and no session left', async () => {
      await withStore(async (c) => {
        const bad = short(10, 20);
        const digest = digestOf(Buffer.alloc(20, 0x61));
        assertError(await c.req({ method: 'POST', url: `/v2/acme/web/blobs/uploads/?digest=${digest}`, headers: bad.headers, body: bad.body }), 400, 'SIZE_INVALID');
        assertError(await c.head(`/v2/acme/web/blobs/${digest}`), 404, 'BLOB_UNKNOWN');
        assertError(await c.head(`/v2/acme/web/blobs/${digestOf(Buffer.alloc(10, 0x61))}`), 404, 'BLOB_UNKNOWN');
        assert.deepEqual(await openSessions(c), []);
      });
    });

    test('manifest PUT: 400 SIZE_INVALID and no manifest', async () => {
      await withStore(async (c) => {
        const img = await c.pushImage('acme/web', 'base');
        const res = await c.req({
          method: 'PUT',
          url: '/v2/acme/web/manifests/cut',
          headers: { 'content-type': MediaType.OciManifest, 'content-length': String(img.bytes.length + 10) },
          body: Readable.from([img.bytes]),
        });
        assertError(res, 400, 'SIZE_INVALID');
        assertError(await c.get('/v2/acme/web/manifests/cut'), 404, 'MANIFEST_UNKNOWN');
      });
    });
  });
}

/** A real server on a loopback port, with a signal for each request whose client went away. */
async function withServer(driver: Driver, fn: (c: Client, port: number, aborted: () => Promise<void>) => Promise<void>): Promise<void> {
  await withApp(
    async (c) => {
      const waiters: (() => void)[] = [];
      let pending = 0;
      c.wharf.app.addHook('onRequestAbort', async (_req) => {
        const w = waiters.shift();
        if (w) w();
        else pending++;
      });
      await c.wharf.app.listen({ port: 0, host: '127.0.0.1' });
      const port = (c.wharf.app.server.address() as AddressInfo).port;
      const aborted = () =>
        new Promise<void>((resolve) => {
          if (pending > 0) {
            pending--;
            resolve();
          } else waiters.push(resolve);
        });
      await fn(c, port, aborted);
    },
    storageFor(driver),
  );
}

/** Sends the request head and part of the body, then closes the socket. */
async function sendPartial(port: number, head: string, body: Buffer): Promise<void> {
  const sock = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  sock.on('error', () => undefined);
  await new Promise<void>((resolve) => sock.write(head, () => resolve()));
  await new Promise<void>((resolve) => sock.write(body, () => resolve()));
  await sleep(20); // let the server start consuming before the client disappears
  sock.destroy();
}

function requestHead(method: string, path: string, headers: Record<string, string>): string {
  return `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;
}

for (const driver of DRIVERS) {
  describe(`clients that disconnect mid-body (${driver} store, real socket)`, () => {
    test('PATCH: the partial chunk is rolled back and the upload can continue', async () => {
      await withServer(driver, async (c, port, aborted) => {
        const start = await c.req({ method: 'POST', url: '/v2/acme/web/blobs/uploads/', headers: { 'content-type': octet }, body: 'kept|' });
        const location = String(start.headers.location);
        await sendPartial(port, requestHead('PATCH', location, { 'content-type': octet, 'content-length': String(4 << 20), 'content-range': `5-${5 + (4 << 20) - 1}` }), Buffer.alloc(1536 * 1024, 0x78));
        await aborted();
        // The next chunk is serialised behind the interrupted one, so it sees the rolled-back size.
        const next = await c.req({ method: 'PATCH', url: location, headers: { 'content-type': octet, 'content-range': '5-9' }, body: 'after' });
        assert.equal(next.statusCode, 202, next.body);
        assert.equal(next.headers.range, '0-9');
        const put = await c.req({ method: 'PUT', url: `${location}?digest=${digestOf(Buffer.from('kept|after'))}` });
        assert.equal(put.statusCode, 201, put.body);
        assert.equal((await c.get(`/v2/acme/web/blobs/${digestOf(Buffer.from('kept|after'))}`)).body, 'kept|after');
      });
    });

    test('single POST ?digest=: nothing visible, the session is cleaned up', async () => {
      await withServer(driver, async (c, port, aborted) => {
        const full = Buffer.alloc(2 << 20, 0x79);
        const digest = digestOf(full);
        await sendPartial(port, requestHead('POST', `/v2/acme/web/blobs/uploads/?digest=${digest}`, { 'content-type': octet, 'content-length': String(full.length) }), full.subarray(0, 1 << 20));
        await aborted();
        await eventually('the interrupted session to be cancelled', async () => (await openSessions(c)).length === 0);
        assertError(await c.head(`/v2/acme/web/blobs/${digest}`), 404, 'BLOB_UNKNOWN');
        assertError(await c.get('/v2/acme/web/tags/list'), 404, 'NAME_UNKNOWN');
      });
    });

    test('final PUT with a last chunk: nothing visible, the session keeps its bytes', async () => {
      await withServer(driver, async (c, port, aborted) => {
        const start = await c.req({ method: 'POST', url: '/v2/acme/web/blobs/uploads/', headers: { 'content-type': octet }, body: 'head|' });
        const location = String(start.headers.location);
        const tail = Buffer.alloc(2 << 20, 0x7a);
        const digest = digestOf(Buffer.concat([Buffer.from('head|'), tail]));
        await sendPartial(port, requestHead('PUT', `${location}?digest=${digest}`, { 'content-type': octet, 'content-length': String(tail.length) }), tail.subarray(0, 1200 * 1024));
        await aborted();
        // Completing properly afterwards proves the session was rolled back to exactly 'head|'.
        const put = await c.req({ method: 'PUT', url: `${location}?digest=${digest}`, headers: { 'content-type': octet }, body: tail });
        assert.equal(put.statusCode, 201, put.body);
        assert.equal((await c.get(`/v2/acme/web/blobs/${digest}`)).headers['content-length'], String(5 + tail.length));
      });
    });

    test('manifest PUT: no manifest, no tag', async () => {
      await withServer(driver, async (c, port, aborted) => {
        const img = await c.pushImage('acme/web', 'base');
        await sendPartial(port, requestHead('PUT', '/v2/acme/web/manifests/cut', { 'content-type': MediaType.OciManifest, 'content-length': String(img.bytes.length) }), img.bytes.subarray(0, 40));
        await aborted();
        assertError(await c.get('/v2/acme/web/manifests/cut'), 404, 'MANIFEST_UNKNOWN');
        assert.deepEqual(JSON.parse((await c.get('/v2/acme/web/tags/list')).body), { name: 'acme/web', tags: ['base'] });
      });
    });
  });
}
