/**
 * Durable upload sessions: a chunked upload outlives a restart of the whole app (fs store +
 * SQLite file under one data dir), and abandoned sessions are purged after their age.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { digestOf } from '../../src/oci/digest.ts';
import { buildTestApp } from '../helpers/app.ts';
import { assertError, Client } from './support.ts';

const octet = { 'content-type': 'application/octet-stream' };
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function persistentDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-restart-'));
  dirs.push(dir);
  return dir;
}

/** An app whose blobs and database live in `dir`, so a second app on `dir` is a restart. */
async function boot(dir: string, clock?: () => number): Promise<Client> {
  const overrides = { dataDir: dir, storage: { driver: 'fs' }, database: { sqlite: { path: join(dir, 'wharf.db') } } };
  return new Client(await buildTestApp(overrides, clock ? { clock } : {}));
}

describe('restart', () => {
  test('a chunked upload started before a restart is continued and completed after it', async () => {
    const dir = persistentDir();
    const first = await boot(dir);
    const start = await first.req({ method: 'POST', url: '/v2/acme/web/blobs/uploads/' });
    const location = String(start.headers.location);
    const chunk1 = Buffer.alloc(300_000, 0x31);
    assert.equal((await first.req({ method: 'PATCH', url: location, headers: { ...octet, 'content-range': `0-${chunk1.length - 1}` }, body: chunk1 })).statusCode, 202);
    const img = await first.pushImage('acme/web', 'before');
    await first.wharf.close();

    const second = await boot(dir);
    try {
      const status = await second.get(location);
      assert.equal(status.statusCode, 204);
      assert.equal(status.headers.range, `0-${chunk1.length - 1}`);
      // Out-of-order after the restart is still refused.
      assert.equal((await second.req({ method: 'PATCH', url: location, headers: { ...octet, 'content-range': '0-2' }, body: 'abc' })).statusCode, 416);
      const chunk2 = Buffer.from('second half');
      const res = await second.req({ method: 'PATCH', url: location, headers: { ...octet, 'content-range': `${chunk1.length}-${chunk1.length + chunk2.length - 1}` }, body: chunk2 });
      assert.equal(res.statusCode, 202, res.body);
      const all = Buffer.concat([chunk1, chunk2, Buffer.from('!')]);
      // The new process has no running hash: it must re-hash, and still refuse a wrong digest.
      assertError(await second.req({ method: 'PUT', url: `${location}?digest=${digestOf(chunk1)}` }), 400, 'DIGEST_INVALID');
      const put = await second.req({ method: 'PUT', url: `${location}?digest=${digestOf(all)}`, headers: octet, body: '!' });
      assert.equal(put.statusCode, 201, put.body);
      assert.ok((await second.get(`/v2/acme/web/blobs/${digestOf(all)}`)).rawPayload.equals(all));
      // What was pushed before the restart is all still there.
      assert.ok((await second.get('/v2/acme/web/manifests/before')).rawPayload.equals(img.bytes));
      assert.equal((await second.get(`/v2/acme/web/blobs/${img.layerDigest}`)).statusCode, 200);
    } finally {
      await second.wharf.close();
    }
  });

  test('a session cancelled before a restart stays unknown after it', async () => {
    const dir = persistentDir();
    const first = await boot(dir);
    const location = String((await first.req({ method: 'POST', url: '/v2/acme/web/blobs/uploads/' })).headers.location);
    await first.delete(location);
    await first.wharf.close();
    const second = await boot(dir);
    try {
      assertError(await second.get(location), 404, 'BLOB_UPLOAD_UNKNOWN');
    } finally {
      await second.wharf.close();
    }
  });
});

describe('stale upload purge', () => {
  test('sessions idle for longer than the age are purged, with their bytes; active ones stay', async () => {
    const dir = persistentDir();
    let now = 1_000_000;
    const c = await boot(dir, () => now);
    try {
      const open = async () => {
        const res = await c.req({ method: 'POST', url: '/v2/acme/web/blobs/uploads/', headers: octet, body: 'data' });
        return { location: String(res.headers.location), id: String(res.headers['docker-upload-uuid']) };
      };
      const old = await open(); // created at t0, never touched again
      const touched = await open(); // created at t0, but a chunk arrives later
      now += 50_000;
      assert.equal((await c.req({ method: 'PATCH', url: touched.location, headers: octet, body: '+more' })).statusCode, 202);
      now += 30_000;
      const young = await open();
      now += 30_000; // old: idle 110 s, touched: idle 60 s, young: idle 30 s

      assert.ok(existsSync(join(dir, 'storage', 'uploads', old.id)));
      assert.equal(await c.wharf.uploads.purgeStale(100_000), 1);
      assertError(await c.get(old.location), 404, 'BLOB_UPLOAD_UNKNOWN');
      assert.equal(existsSync(join(dir, 'storage', 'uploads', old.id)), false, 'the bytes are removed too');
      assert.equal((await c.get(touched.location)).headers.range, '0-8');
      assert.equal((await c.get(young.location)).headers.range, '0-3');

      assert.equal(await c.wharf.uploads.purgeStale(100_000), 0, 'nothing else is that old');
      assert.equal(await c.wharf.uploads.purgeStale(45_000), 1);
      assertError(await c.get(touched.location), 404, 'BLOB_UPLOAD_UNKNOWN');
      const put = await c.req({ method: 'PUT', url: `${young.location}?digest=${digestOf(Buffer.from('data'))}` });
      assert.equal(put.statusCode, 201, put.body);
    } finally {
      await c.wharf.close();
    }
  });

  test('a session whose bytes already vanished is still purged from the database', async () => {
    const dir = persistentDir();
    let now = 0;
    const c = await boot(dir, () => now);
    try {
      const res = await c.req({ method: 'POST', url: '/v2/acme/web/blobs/uploads/' });
      rmSync(join(dir, 'storage', 'uploads', String(res.headers['docker-upload-uuid'])), { recursive: true });
      now = 10_000;
      assert.equal(await c.wharf.uploads.purgeStale(1_000), 1);
      assert.deepEqual(await c.wharf.metadata.uploads.staleSince(Number.MAX_SAFE_INTEGER, 10), []);
    } finally {
      await c.wharf.close();
    }
  });
});
