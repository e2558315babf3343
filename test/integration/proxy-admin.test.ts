/**
 * Managing proxy organizations (ADR 0017) through /api/v1/admin/proxies and `wharf proxy …`:
 * site admins only; credentials need proxy.credentialKey and are never returned; update, unbind;
 * pushes into a proxy organization are refused (DENIED) without creating the package. The pull
 * path with real upstreams and clients is test/e2e/proxy-cache.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli } from '../../src/cli/main.ts';
import { buildTestApp, type TestApp } from '../helpers/app.ts';

const ADMIN = `Basic ${Buffer.from('admin:admin-password').toString('base64')}`;
let app: TestApp;
let noKey: TestApp;

before(async () => {
  app = await buildTestApp({ auth: { enabled: 'true', admin: { password: 'admin-password' } }, proxy: { credentialKey: 'integration-credential-key' } });
  noKey = await buildTestApp({ auth: { enabled: 'true', admin: { password: 'admin-password' } } });
});
after(async () => {
  await app.close();
  await noKey.close();
});

const call = (a: TestApp, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown, authorization = ADMIN) =>
  a.app.inject({ method, url, headers: { authorization, ...(payload !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(payload !== undefined ? { payload: JSON.stringify(payload) } : {}) });

test('site admins create, read, update and unbind proxies; the password is write-only', async () => {
  const created = await call(app, 'POST', '/api/v1/admin/proxies', { name: 'ghcr', url: 'https://ghcr.io/', username: 'bot', password: 'gh-secret', allow: ['acme/*'], tagTtlSeconds: 60 });
  assert.equal(created.statusCode, 201, created.body);
  const view = created.json<Record<string, unknown>>();
  assert.equal(view['url'], 'https://ghcr.io');
  assert.equal(view['hasPassword'], true);
  assert.equal(created.body.includes('gh-secret'), false);
  assert.equal((await call(app, 'POST', '/api/v1/admin/proxies', { name: 'ghcr', url: 'https://ghcr.io' })).statusCode, 409);

  const patched = await call(app, 'PATCH', '/api/v1/admin/proxies/ghcr', { password: null, deny: ['acme/secret'] });
  assert.equal(patched.statusCode, 200, patched.body);
  assert.equal(patched.json<{ hasPassword: boolean }>().hasPassword, false);
  assert.deepEqual(patched.json<{ allow: string[]; deny: string[] }>().deny, ['acme/secret']);
  assert.deepEqual(patched.json<{ allow: string[] }>().allow, ['acme/*'], 'unchanged fields stay');

  const audit = await app.metadata.db.selectFrom('audit_log').select(['action', 'detail']).where('target', '=', 'ghcr').execute();
  assert.deepEqual(audit.map((a) => a.action).sort(), ['proxy.create', 'proxy.update']);
  assert.ok(audit.every((a) => !String(a.detail).includes('gh-secret')));

  // The organization's page: members and admins see the upstream and the counters; others nothing.
  const page = await call(app, 'GET', '/api/v1/owners/ghcr/proxy');
  assert.equal(page.statusCode, 200, page.body);
  assert.deepEqual(page.json(), { name: 'ghcr', url: 'https://ghcr.io', tagTtlSeconds: 60, hits: 0, misses: 0, lastError: null, lastErrorAt: null, packages: 0 });
  assert.equal((await app.app.inject({ method: 'GET', url: '/api/v1/owners/ghcr/proxy' })).statusCode, 404);

  assert.equal((await call(app, 'DELETE', '/api/v1/admin/proxies/ghcr')).statusCode, 204);
  assert.equal((await call(app, 'GET', '/api/v1/admin/proxies/ghcr')).statusCode, 404);
  assert.ok(await app.metadata.accounts.get('ghcr'), 'the organization stays');
});

test('non-admins are refused; credentials without proxy.credentialKey are refused with the fix', async () => {
  await call(app, 'POST', '/api/v1/users', { username: 'carol', password: 'carol-password-1' });
  const carol = `Basic ${Buffer.from('carol:carol-password-1').toString('base64')}`;
  const refused = await call(app, 'POST', '/api/v1/admin/proxies', { name: 'mine', url: 'https://quay.io' }, carol);
  assert.equal(refused.statusCode, 403);
  assert.match(refused.body, /site administrators/);
  assert.equal((await call(app, 'GET', '/api/v1/admin/proxies', undefined, carol)).statusCode, 403);

  const keyless = await call(noKey, 'POST', '/api/v1/admin/proxies', { name: 'hub', url: 'https://registry-1.docker.io', username: 'u', password: 'p' });
  assert.equal(keyless.statusCode, 400);
  assert.match(keyless.body, /proxy\.credentialKey/);
  // Anonymous upstreams need no key.
  assert.equal((await call(noKey, 'POST', '/api/v1/admin/proxies', { name: 'hub', url: 'https://registry-1.docker.io' })).statusCode, 201);
});

test("a package not cached yet already has the proxy's visibility: internal lets any signed-in user pull, private only members", async () => {
  // The upstream is unreachable: a pull that is allowed gets 503 from it, a refused one 403.
  assert.equal((await call(app, 'POST', '/api/v1/admin/proxies', { name: 'open', url: 'http://127.0.0.1:9', visibility: 'internal' })).statusCode, 201);
  assert.equal((await call(app, 'POST', '/api/v1/admin/proxies', { name: 'closed', url: 'http://127.0.0.1:9' })).statusCode, 201);
  await call(app, 'POST', '/api/v1/users', { username: 'dave', password: 'dave-password-1' });
  const dave = `Basic ${Buffer.from('dave:dave-password-1').toString('base64')}`;
  const pull = (path: string, authorization?: string) => app.app.inject({ method: 'GET', url: `/v2/${path}/manifests/1`, headers: authorization ? { authorization } : {} });
  const allowed = await pull('open/library/app', dave);
  assert.equal(allowed.statusCode, 503, allowed.body);
  assert.match(allowed.body, /unreachable/);
  assert.equal((await pull('open/library/app')).statusCode, 401, 'anonymous callers are asked to sign in');
  assert.equal((await pull('closed/library/app', dave)).statusCode, 403);
  assert.equal(await app.metadata.packages.get('open/library/app'), null, 'nothing is created by a failed pull');
});

test('pushes into a proxy organization are refused before authorization and create nothing', async () => {
  assert.equal((await call(app, 'POST', '/api/v1/admin/proxies', { name: 'quay', url: 'https://quay.io' })).statusCode, 201);
  const start = await app.app.inject({ method: 'POST', url: '/v2/quay/team/app/blobs/uploads/', headers: { authorization: ADMIN } });
  assert.equal(start.statusCode, 403);
  const body = start.json<{ errors: { code: string; message: string }[] }>();
  assert.equal(body.errors[0]?.code, 'DENIED');
  assert.match(body.errors[0]?.message ?? '', /quay is a proxy organization mirroring https:\/\/quay\.io: pushes are refused/);
  const put = await app.app.inject({ method: 'PUT', url: '/v2/quay/team/app/manifests/1', headers: { authorization: ADMIN, 'content-type': 'application/vnd.oci.image.manifest.v1+json' }, payload: '{}' });
  assert.equal(put.statusCode, 403);
  assert.equal(await app.metadata.packages.get('quay/team/app'), null);
});

test('wharf proxy create, list, update, delete', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'wharf-cli-proxy-'));
  const wharf = async (argv: string[], stdin = '') => {
    let stdout = '';
    let stderr = '';
    const code = await runCli(argv, { env: { WHARF_DATA_DIR: dataDir, WHARF_PROXY__CREDENTIAL_KEY: 'cli-credential-key-0123' }, stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), stdin: async () => stdin });
    return { code, stdout, stderr };
  };
  try {
    const created = await wharf(['proxy', 'create', 'hub', 'https://registry-1.docker.io', '--username', 'bot', '--password-stdin', '--allow', 'library/*,bitnami/**', '--tag-ttl', '600'], 'hub-token\n');
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /created proxy organization hub mirroring https:\/\/registry-1\.docker\.io/);
    const list = JSON.parse((await wharf(['proxy', 'list', '--json'])).stdout) as { name: string; allow: string[]; tagTtlSeconds: number; hasPassword: boolean }[];
    assert.deepEqual(list.map((p) => [p.name, p.allow, p.tagTtlSeconds, p.hasPassword]), [['hub', ['library/*', 'bitnami/**'], 600, true]]);
    assert.match((await wharf(['proxy', 'list'])).stdout, /hub\s+https:\/\/registry-1\.docker\.io\s+bot\s+600s/i);
    assert.equal((await wharf(['proxy', 'update', 'hub', '--tag-ttl', '60'])).code, 0);
    const bad = await wharf(['proxy', 'update', 'hub', '--tag-ttl', 'soon']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--tag-ttl takes a number of seconds/);
    assert.equal((await wharf(['proxy', 'delete', 'hub'])).code, 0);
    assert.deepEqual(JSON.parse((await wharf(['proxy', 'list', '--json'])).stdout), []);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
