/**
 * Chart surfaces behind access control (authentication on): owner-wide listings are filtered
 * per repository, single charts need pull, uploads need push, deletes need delete.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { chartTgz, injectHttp, pushChart } from '../helpers/charts.ts';
import { versionsOf, type IndexJson } from './charts-support.ts';
import { parse } from 'yaml';

const ADMIN = basic('admin', 'admin-password');
const EVE = basic('eve', 'eve-password-123');

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

describe('charts with access control', () => {
  let app: TestApp;
  const get = (url: string, auth?: string, headers: Record<string, string> = {}) => app.app.inject({ url, headers: { ...headers, ...(auth ? { authorization: auth } : {}) } });

  before(async () => {
    app = await buildTestApp({ auth: { enabled: 'true', admin: { password: 'admin-password' } } });
    const ok = async (res: { statusCode: number; body: string }, what: string) => assert.ok(res.statusCode < 300, `${what}: ${res.statusCode} ${res.body}`);
    await ok(await app.app.inject({ method: 'POST', url: '/api/v1/orgs', payload: { name: 'acc' }, headers: { authorization: ADMIN } }), 'create org');
    await ok(await app.app.inject({ method: 'POST', url: '/api/v1/users', payload: { username: 'eve', password: 'eve-password-123' }, headers: { authorization: ADMIN } }), 'create user');
    const h = injectHttp(app.app, ADMIN);
    await pushChart(h, 'acc/charts/pub', { name: 'pub', version: '1.0.0' });
    await pushChart(h, 'acc/charts/priv', { name: 'priv', version: '1.0.0' });
    await app.events.settled();
    await ok(
      await app.app.inject({ method: 'PATCH', url: `/api/v1/packages/acc/${encodeURIComponent('charts/pub')}`, payload: { visibility: 'public' }, headers: { authorization: ADMIN } }),
      'make pub public',
    );
  });
  after(async () => app.close());

  test('index.yaml is filtered per repository; anonymous callers of an owner they cannot see get a Basic challenge', async () => {
    const admin = await get('/charts/acc/index.yaml', ADMIN);
    assert.equal(admin.statusCode, 200);
    assert.deepEqual(versionsOf(parse(admin.body) as IndexJson), { priv: ['1.0.0'], pub: ['1.0.0'] });

    const anon = await get('/charts/acc/index.yaml');
    assert.equal(anon.statusCode, 200);
    assert.deepEqual(versionsOf(parse(anon.body) as IndexJson), { pub: ['1.0.0'] });
    assert.notEqual(anon.headers['etag'], admin.headers['etag'], 'a filtered index has its own validator');
    assert.equal((await get('/charts/acc/index.yaml', undefined, { 'if-none-match': String(admin.headers['etag']) })).statusCode, 200, "the full index's ETag does not validate a filtered one");
    assert.equal((await get('/charts/acc/index.yaml', undefined, { 'if-none-match': String(anon.headers['etag']) })).statusCode, 304);

    const eve = await get('/charts/acc/index.yaml', EVE);
    assert.deepEqual(versionsOf(parse(eve.body) as IndexJson), { pub: ['1.0.0'] });

    await app.app.inject({ method: 'PATCH', url: `/api/v1/packages/acc/${encodeURIComponent('charts/pub')}`, payload: { visibility: 'private' }, headers: { authorization: ADMIN } });
    const denied = await get('/charts/acc/index.yaml');
    assert.equal(denied.statusCode, 401);
    assert.equal(denied.headers['www-authenticate'], 'Basic realm="wharf"');
    assert.equal((await get('/charts/acc/index.yaml', basic('admin', 'wrong'))).statusCode, 401, 'wrong credentials are refused');
    await app.app.inject({ method: 'PATCH', url: `/api/v1/packages/acc/${encodeURIComponent('charts/pub')}`, payload: { visibility: 'public' }, headers: { authorization: ADMIN } });
  });

  test('archives need pull on their repository', async () => {
    assert.equal((await get('/charts/acc/pub-1.0.0.tgz')).statusCode, 200);
    assert.equal((await get('/charts/acc/priv-1.0.0.tgz')).statusCode, 401);
    assert.equal((await get('/charts/acc/priv-1.0.0.tgz', EVE)).statusCode, 403);
    assert.equal((await get('/charts/acc/priv-1.0.0.tgz', ADMIN)).statusCode, 200);
  });

  test('API listings are filtered and single charts need pull', async () => {
    const anon = JSON.parse((await get('/api/v1/owners/acc/charts')).body) as { charts: { repository: string }[] };
    assert.deepEqual(anon.charts.map((c) => c.repository), ['acc/charts/pub']);
    const admin = JSON.parse((await get('/api/v1/owners/acc/charts', ADMIN)).body) as { charts: { repository: string }[] };
    assert.deepEqual(admin.charts.map((c) => c.repository), ['acc/charts/priv', 'acc/charts/pub']);
    assert.equal((await get('/api/v1/charts/acc/charts/priv/versions')).statusCode, 401);
    assert.equal((await get('/api/v1/charts/acc/charts/priv/versions/1.0.0', EVE)).statusCode, 403);
    assert.equal((await get('/api/v1/charts/acc/charts/pub/versions')).statusCode, 200);
    assert.deepEqual(Object.keys(JSON.parse((await get('/api/acc/charts')).body) as object), ['pub']);
    assert.equal((await get('/api/acc/charts/priv')).statusCode, 404);
  });

  test('uploads need push and deletes need delete', async () => {
    const tgz = chartTgz({ name: 'newchart', version: '1.0.0' });
    assert.equal((await app.app.inject({ method: 'POST', url: '/api/acc/charts', payload: tgz })).statusCode, 401);
    assert.equal((await app.app.inject({ method: 'POST', url: '/api/acc/charts', payload: tgz, headers: { authorization: EVE } })).statusCode, 403);
    assert.equal((await app.app.inject({ method: 'POST', url: '/api/acc/charts', payload: tgz, headers: { authorization: ADMIN } })).statusCode, 201);
    assert.equal((await app.app.inject({ method: 'DELETE', url: '/api/acc/charts/pub/1.0.0', headers: { authorization: EVE } })).statusCode, 403);
    assert.equal((await app.app.inject({ method: 'DELETE', url: '/api/acc/charts/pub/1.0.0' })).statusCode, 401);
    assert.equal((await app.app.inject({ method: 'DELETE', url: '/api/acc/charts/newchart/1.0.0', headers: { authorization: ADMIN } })).statusCode, 200);
  });
});
