/**
 * Authorize before reading a body, on every surface: a request that may not do what it asks is
 * refused with the surface's auth error while its body is still on the wire. Each request below
 * declares a large body but sends only its first bytes (garbage, not what the route would accept)
 * and keeps the connection open: a server that read or parsed the body first would either wait
 * for the rest (no answer) or judge the garbage (400). After the refusal the server closes the
 * connection instead of reading and discarding the rest.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { rawExchange } from '../helpers/raw-http.ts';

const ADMIN = 'Basic ' + Buffer.from('admin:admin-password').toString('base64');
const EVE = 'Basic ' + Buffer.from('eve:eve-password-123').toString('base64');
const WRONG = 'Basic ' + Buffer.from('eve:not-her-password').toString('base64');
const GARBAGE = Buffer.alloc(4096, 'x');
const DIGEST = `sha256:${'a'.repeat(64)}`;

describe('unauthorized requests are refused before their body is read', () => {
  let app: TestApp;
  let port: number;
  before(async () => {
    app = await buildTestApp({ auth: { enabled: 'true', admin: { password: 'admin-password' } } });
    const inject = (method: 'POST' | 'PUT', url: string, payload: unknown) =>
      app.app.inject({ method, url, headers: { authorization: ADMIN, 'content-type': 'application/json' }, payload: JSON.stringify(payload) });
    assert.equal((await inject('POST', '/api/v1/orgs', { name: 'acme' })).statusCode, 201);
    assert.equal((await inject('POST', '/api/v1/users', { username: 'eve', password: 'eve-password-123' })).statusCode, 201);
    await app.app.listen({ port: 0, host: '127.0.0.1' });
    const addr = app.app.server.address();
    port = typeof addr === 'object' && addr ? addr.port : 0;
  });
  after(async () => app.close());

  const send = (method: string, path: string, headers: Record<string, string>, declared = 64 * 1024 * 1024) =>
    rawExchange(port, { method, path, headers: { 'content-length': String(declared), ...headers }, body: GARBAGE });

  /** The registry's error body: `{"errors":[{code,…}]}`. */
  const code = (body: string) => (JSON.parse(body) as { errors: { code: string }[] }).errors[0]?.code;

  test('/v2: manifest PUT, monolithic and chunked blob uploads', async () => {
    const cases = [
      { method: 'PUT', path: '/v2/acme/app/manifests/v1', headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } },
      { method: 'POST', path: `/v2/acme/app/blobs/uploads/?digest=${DIGEST}`, headers: { 'content-type': 'application/octet-stream' } },
      { method: 'PATCH', path: '/v2/acme/app/blobs/uploads/0b8f6f9e-8bd4-4a43-9a38-3a2b1b0e5f4c', headers: { 'content-type': 'application/octet-stream' } },
      { method: 'PUT', path: `/v2/acme/app/blobs/uploads/0b8f6f9e-8bd4-4a43-9a38-3a2b1b0e5f4c?digest=${DIGEST}`, headers: {} },
    ];
    for (const c of cases) {
      const anon = await send(c.method, c.path, c.headers);
      assert.equal(anon.status, 401, `${c.method} ${c.path}: ${anon.body}`);
      assert.equal(code(anon.body), 'UNAUTHORIZED');
      assert.match(anon.headers['www-authenticate'] ?? '', /^Bearer realm=/);
      assert.equal(anon.closedAfter, true, `${c.method} ${c.path}: the connection is closed, the rest of the body not read`);
      const eve = await send(c.method, c.path, { ...c.headers, authorization: EVE });
      assert.equal(eve.status, 403, `${c.method} ${c.path} as a user without push: ${eve.body}`);
      assert.equal(code(eve.body), 'DENIED');
    }
  });

  test('/api/v1: state-changing routes, with no, wrong or insufficient credentials', async () => {
    const json = { 'content-type': 'application/json' };
    const routes = [
      ['POST', '/api/v1/users'],
      ['PUT', '/api/v1/users/eve/password'],
      ['PATCH', '/api/v1/users/eve'],
      ['POST', '/api/v1/orgs'],
      ['POST', '/api/v1/orgs/acme/teams'],
      ['POST', '/api/v1/user/tokens'],
      ['PUT', '/api/v1/packages/acme/app/grants'],
      ['POST', '/api/v1/owners/acme/trusts'],
    ] as const;
    for (const [method, path] of routes) {
      // Within the API's body cap, so only authorization can explain an early answer.
      const anon = await send(method, path, json, 200 * 1024);
      assert.equal(anon.status, 401, `${method} ${path}: ${anon.body}`);
      assert.equal(code(anon.body), 'UNAUTHORIZED');
      assert.equal(anon.closedAfter, true);
    }
    for (const [method, path] of routes.slice(0, 2)) {
      const wrong = await send(method, path, { ...json, authorization: WRONG }, 200 * 1024);
      assert.equal(wrong.status, 401, `${method} ${path} with a wrong password: ${wrong.body}`);
      assert.match(wrong.body, /invalid username or password/);
    }
    // A session cookie without its CSRF token is refused before the body too.
    const session = await app.app.inject({ method: 'POST', url: '/api/v1/session', payload: { username: 'eve', password: 'eve-password-123' } });
    const cookie = String(session.headers['set-cookie']).split(';')[0] ?? '';
    const csrf = await send('POST', '/api/v1/user/tokens', { ...json, cookie }, 200 * 1024);
    assert.equal(csrf.status, 403, csrf.body);
    assert.match(csrf.body, /CSRF/);
    // Bodies over the API's cap are refused by their declared length, before authorization matters.
    const big = await send('POST', '/api/v1/users', { ...json, authorization: ADMIN });
    assert.equal(big.status, 413, big.body);
  });

  test('ChartMuseum upload: 401 (not "not a valid tar") without credentials, 403 without push on the owner', async () => {
    for (const path of ['/api/acme/charts', '/api/charts/acme/charts']) {
      const anon = await send('POST', path, { 'content-type': 'application/gzip' }, 8 * 1024 * 1024);
      assert.equal(anon.status, 401, `${path}: ${anon.body}`);
      assert.deepEqual(JSON.parse(anon.body), { error: 'authentication required' });
      assert.equal(anon.headers['www-authenticate'], 'Basic realm="wharf"');
      assert.equal(anon.closedAfter, true);
      const eve = await send('POST', path, { 'content-type': 'application/gzip', authorization: EVE }, 8 * 1024 * 1024);
      assert.equal(eve.status, 403, `${path} as eve: ${eve.body}`);
      assert.deepEqual(JSON.parse(eve.body), { error: 'not allowed to push to acme/charts/*' });
      const wrong = await send('POST', path, { 'content-type': 'multipart/form-data; boundary=x', authorization: WRONG }, 8 * 1024 * 1024);
      assert.equal(wrong.status, 401, `${path} with a wrong password: ${wrong.body}`);
    }
  });

  test('/token: the body is the credential, so only a small form is read; anything else is refused unread', async () => {
    const big = await send('POST', '/token', { 'content-type': 'application/x-www-form-urlencoded' });
    assert.equal(big.status, 413, big.body);
    assert.equal(big.closedAfter, true);
    const json = await send('POST', '/token', { 'content-type': 'application/json' }, 200 * 1024);
    assert.equal(json.status, 415, json.body);
  });

  test('the classic repository and other reads answer without reading a body sent along', async () => {
    const index = await send('GET', '/charts/acme/index.yaml', {}, 1024 * 1024);
    assert.equal(index.status, 200, index.body);
    const base = await send('GET', '/v2/', {}, 1024 * 1024);
    assert.equal(base.status, 401);
  });
});
