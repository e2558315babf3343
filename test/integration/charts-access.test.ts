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
  const setVisibility = async (pkg: string, visibility: string) => {
    const res = await app.app.inject({ method: 'PATCH', url: `/api/v1/packages/acc/${encodeURIComponent(pkg)}`, payload: { visibility }, headers: { authorization: ADMIN } });
    assert.equal(res.statusCode, 200, res.body);
  };

  test('index.yaml is filtered per repository; an anonymous caller gets the public charts whether or not private ones exist', async () => {
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

    // Only private charts left: the same 200 an owner without private charts gives (nothing leaks).
    await setVisibility('charts/pub', 'private');
    try {
      const hidden = await get('/charts/acc/index.yaml');
      assert.equal(hidden.statusCode, 200, hidden.body);
      assert.deepEqual(versionsOf(parse(hidden.body) as IndexJson), {});
      assert.equal(hidden.headers['www-authenticate'], undefined);
      const none = await get('/charts/eve/index.yaml');
      assert.equal(none.statusCode, 200, 'an owner without any chart');
      assert.deepEqual(versionsOf(parse(none.body) as IndexJson), {});
    } finally {
      await setVisibility('charts/pub', 'public');
    }
  });

  test('wrong credentials are anonymous, as on /token: public charts stay readable, private ones say why they are refused', async () => {
    // An unknown user: wrong passwords for admin from this address would slow admin's own requests down.
    const wrong = basic('nobody', 'wrong-password');
    const index = await get('/charts/acc/index.yaml', wrong);
    assert.equal(index.statusCode, 200, index.body);
    assert.deepEqual(versionsOf(parse(index.body) as IndexJson), { pub: ['1.0.0'] });
    assert.equal((await get('/charts/acc/pub-1.0.0.tgz', wrong)).statusCode, 200);
    const priv = await get('/charts/acc/priv-1.0.0.tgz', wrong);
    assert.equal(priv.statusCode, 401);
    assert.deepEqual(JSON.parse(priv.body), { error: 'invalid username or password' });
    assert.equal(priv.headers['www-authenticate'], 'Basic realm="wharf"');
    assert.deepEqual(Object.keys(JSON.parse((await get('/api/acc/charts', wrong)).body) as object), ['pub'], 'ChartMuseum listings alike');
    assert.equal((await get('/api/acc/charts/pub/1.0.0', wrong)).statusCode, 200);
    // /v2 behaves the same way for the registry clients' token flow.
    const token = await get('/token?service=wharf&scope=repository:acc/charts/pub:pull', wrong);
    assert.equal(token.statusCode, 200, token.body);
  });

  test('an unknown owner is 404 on the classic repository and the ChartMuseum API', async () => {
    for (const url of ['/charts/nosuchowner/index.yaml', '/api/nosuchowner/charts', '/api/charts/nosuchowner/charts']) {
      const res = await get(url, ADMIN);
      assert.equal(res.statusCode, 404, url);
      assert.deepEqual(JSON.parse(res.body), { error: 'no user or organization named nosuchowner' }, url);
    }
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
