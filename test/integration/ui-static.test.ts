/**
 * The UI's files go out compressed (brotli, else gzip, as the client accepts) with an ETag; a
 * revisit with If-None-Match is a 304 without a body; client routes get index.html the same way.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import Fastify, { type FastifyInstance } from 'fastify';
import { registerStaticUi } from '../../src/http/static.ts';

describe('static UI files', () => {
  let dir: string;
  let app: FastifyInstance;
  const js = `export const x = ${JSON.stringify('wharf '.repeat(2000))};\n`;
  const html = `<!doctype html><title>Wharf</title><script type="module" src="/assets/app-1.js"></script>${'<!-- pad -->'.repeat(100)}`;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wharf-static-'));
    await mkdir(join(dir, 'assets'));
    await writeFile(join(dir, 'assets', 'app-1.js'), js);
    await writeFile(join(dir, 'index.html'), html);
    await writeFile(join(dir, 'tiny.txt'), 'hi');
    app = Fastify();
    registerStaticUi(app, { dir });
    await app.ready();
  });
  after(async () => {
    await app.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('brotli when accepted, else gzip, else plain; the same ETag family; cache headers kept', async () => {
    const br = await app.inject({ url: '/assets/app-1.js', headers: { 'accept-encoding': 'gzip, deflate, br' } });
    assert.equal(br.statusCode, 200);
    assert.equal(br.headers['content-encoding'], 'br');
    assert.equal(br.headers['vary'], 'accept-encoding');
    assert.equal(br.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal(brotliDecompressSync(br.rawPayload).toString(), js);
    assert.ok(br.rawPayload.length < js.length / 10, `compressed ${br.rawPayload.length} of ${js.length}`);
    const gz = await app.inject({ url: '/assets/app-1.js', headers: { 'accept-encoding': 'gzip' } });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.equal(gunzipSync(gz.rawPayload).toString(), js);
    const plain = await app.inject({ url: '/assets/app-1.js' });
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(plain.body, js);
    const refused = await app.inject({ url: '/assets/app-1.js', headers: { 'accept-encoding': 'br;q=0, gzip;q=0' } });
    assert.equal(refused.headers['content-encoding'], undefined);
    const tags = new Set([br, gz, plain].map((r) => String(r.headers['etag'])));
    assert.equal(tags.size, 3, 'each representation has its own ETag');
    const tiny = await app.inject({ url: '/tiny.txt', headers: { 'accept-encoding': 'br' } });
    assert.equal(tiny.headers['content-encoding'], undefined, 'not worth compressing');
  });

  test('If-None-Match answers 304 with no body, for assets and for index.html on a client route', async () => {
    const first = await app.inject({ url: '/acme/web', headers: { 'accept-encoding': 'gzip' } });
    assert.equal(first.statusCode, 200);
    assert.equal(first.headers['content-encoding'], 'gzip');
    assert.match(String(first.headers['content-security-policy']), /default-src 'self'/);
    assert.equal(gunzipSync(first.rawPayload).toString(), html);
    const etag = String(first.headers['etag']);
    assert.match(etag, /^"[A-Za-z0-9_-]+-gzip"$/);
    const again = await app.inject({ url: '/acme/web', headers: { 'accept-encoding': 'gzip', 'if-none-match': etag } });
    assert.equal(again.statusCode, 304);
    assert.equal(again.rawPayload.length, 0);
    const asset = await app.inject({ url: '/assets/app-1.js' });
    const cached = await app.inject({ url: '/assets/app-1.js', headers: { 'if-none-match': `W/${String(asset.headers['etag'])}` } });
    assert.equal(cached.statusCode, 304);
    // A changed file gets a new ETag.
    await writeFile(join(dir, 'assets', 'app-1.js'), `${js}// changed\n`);
    const changed = await app.inject({ url: '/assets/app-1.js', headers: { 'if-none-match': String(asset.headers['etag']) } });
    assert.equal(changed.statusCode, 200);
    assert.notEqual(changed.headers['etag'], asset.headers['etag']);
  });
});
