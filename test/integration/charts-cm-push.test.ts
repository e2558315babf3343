/**
 * Migrating from ChartMuseum: `helm cm-push CHART https://HOST/charts/<owner>` (chartmuseum/
 * helm-push) must work against Wharf with the repository URL the docs give. The plugin cannot be
 * installed here, so this test sends its exact requests over a real socket:
 *   1. GET  <repo URL>/index.yaml, credentials up front, to read `serverInfo.contextPath`;
 *   2. POST /api/<repo URL path>/charts (`path.Join(contextPath, "api", urlPath, "charts")`),
 *      a Go `mime/multipart` body with one `chart` file part named by its temp path, sent with
 *      chunked transfer encoding (the plugin sets the body without a length), `?force` with -f;
 *   3. on a status other than 201/202 it prints `<status>: <error>` from `{"error": "…"}`.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { parse } from 'yaml';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { chartTgz } from '../helpers/charts.ts';

const ADMIN = { username: 'admin', password: 'admin-password' };

interface Reply {
  status: number;
  body: string;
}

/** One HTTP/1.1 exchange as Go's net/http client makes it; `chunks` are written as they come (chunked). */
function goRequest(base: string, method: string, path: string, headers: Record<string, string>, chunks: Buffer[] = []): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, base), { method, headers: { 'user-agent': 'Go-http-client/1.1', 'accept-encoding': 'gzip', ...headers } }, (res) => {
      const out: Buffer[] = [];
      res.on('data', (c: Buffer) => out.push(c));
      // Go's transport asks for gzip itself, so it also undoes it.
      res.on('end', () => {
        const raw = Buffer.concat(out);
        resolve({ status: res.statusCode ?? 0, body: (res.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (chunks.length > 0) req.setHeader('transfer-encoding', 'chunked');
    for (const c of chunks) req.write(c);
    req.end();
  });
}

type Auth = { basic: { username: string; password: string } } | { token: string } | null;

function authHeader(auth: Auth): Record<string, string> {
  if (auth === null) return {};
  if ('token' in auth) return { authorization: `Bearer ${auth.token}` };
  return { authorization: `Basic ${Buffer.from(`${auth.basic.username}:${auth.basic.password}`).toString('base64')}` };
}

/** What `helm cm-push <chart.tgz> <repoUrl>` prints, from the requests it sends. */
async function cmPush(repoUrl: string, file: string, tgz: Buffer, auth: Auth, opts: { force?: boolean } = {}): Promise<{ output: string; requests: string[] }> {
  const requests: string[] = [];
  const url = new URL(repoUrl);
  const chartmuseumError = (r: Reply): string => {
    try {
      const e = (JSON.parse(r.body) as { error?: unknown }).error;
      if (typeof e === 'string' && e !== '') return `${r.status}: ${e}`;
    } catch {
      // falls through to the plugin's own message
    }
    return `${r.status}: could not properly parse response JSON: ${r.body}`;
  };
  // 1. The index, for serverInfo.contextPath.
  const indexPath = `${url.pathname.replace(/\/$/, '')}/index.yaml`;
  requests.push(`GET ${indexPath}`);
  const index = await goRequest(url.origin, 'GET', indexPath, authHeader(auth));
  if (index.status !== 200) return { output: chartmuseumError(index), requests };
  const contextPath = ((parse(index.body) as { serverInfo?: { contextPath?: string } } | null)?.serverInfo?.contextPath ?? '').replace(/\/$/, '');
  // 2. The upload: path.Join(contextPath, "api", strings.TrimPrefix(u.Path, contextPath), "charts").
  const uploadPath = `${contextPath}/api/${url.pathname.slice(contextPath.length).replace(/^\/+|\/+$/g, '')}/charts`.replace(/\/+/g, '/') + (opts.force ? '?force' : '');
  const boundary = randomBytes(30).toString('hex');
  const body = [
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="chart"; filename="${file}"\r\nContent-Type: application/octet-stream\r\n\r\n`),
    tgz,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ];
  requests.push(`POST ${uploadPath}`);
  const res = await goRequest(url.origin, 'POST', uploadPath, { 'content-type': `multipart/form-data; boundary=${boundary}`, ...authHeader(auth) }, body);
  // 3. Its verdict.
  if (res.status !== 201 && res.status !== 202) return { output: chartmuseumError(res), requests };
  return { output: 'Done.', requests };
}

describe('helm cm-push against the documented repository URL', () => {
  let app: TestApp;
  let base: string;
  before(async () => {
    app = await buildTestApp({ auth: { enabled: 'true', admin: { password: ADMIN.password } } });
    await app.app.listen({ port: 0, host: '127.0.0.1' });
    const addr = app.app.server.address();
    base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  });
  after(async () => app.close());

  test('pushes to /api/charts/<owner>/charts and the chart is served by the classic repository', async () => {
    const tgz = chartTgz({ name: 'web', version: '1.0.0' });
    const r = await cmPush(`${base}/charts/admin`, '/tmp/helm-push-4007/web-1.0.0.tgz', tgz, { basic: ADMIN });
    assert.deepEqual(r.requests, ['GET /charts/admin/index.yaml', 'POST /api/charts/admin/charts']);
    assert.equal(r.output, 'Done.');
    const index = await goRequest(base, 'GET', '/charts/admin/index.yaml', authHeader({ basic: ADMIN }));
    assert.deepEqual(Object.keys((parse(index.body) as { entries: Record<string, unknown> }).entries), ['web']);
    const file = await goRequest(base, 'GET', '/charts/admin/web-1.0.0.tgz', authHeader({ basic: ADMIN }));
    assert.equal(file.status, 200);
  });

  test('a personal access token sent as the access token works too', async () => {
    const created = await app.app.inject({
      method: 'POST',
      url: '/api/v1/user/tokens',
      headers: { ...authHeader({ basic: ADMIN }), 'content-type': 'application/json' },
      payload: { name: 'ci', scopes: ['write:packages'] },
    });
    assert.equal(created.statusCode, 201, created.body);
    const { token } = JSON.parse(created.body) as { token: string };
    const r = await cmPush(`${base}/charts/admin`, '/tmp/helm-push-1/api-0.1.0.tgz', chartTgz({ name: 'api', version: '0.1.0' }), { token });
    assert.equal(r.output, 'Done.');
  });

  test("refusals print ChartMuseum's error text: an existing version, no credentials, a wrong password, a bad archive", async () => {
    const tgz = chartTgz({ name: 'db', version: '2.0.0' });
    assert.equal((await cmPush(`${base}/charts/admin`, '/tmp/x/db-2.0.0.tgz', tgz, { basic: ADMIN })).output, 'Done.');
    assert.equal((await cmPush(`${base}/charts/admin`, '/tmp/x/db-2.0.0.tgz', tgz, { basic: ADMIN })).output, '409: db-2.0.0.tgz already exists and chart versions are immutable (site setting charts.allowOverwrite: false)');
    assert.equal((await cmPush(`${base}/charts/admin`, '/tmp/x/db-2.0.0.tgz', tgz, { basic: ADMIN }, { force: true })).output, '409: db-2.0.0.tgz already exists and chart versions are immutable (site setting charts.allowOverwrite: false)');
    assert.equal((await cmPush(`${base}/charts/admin`, '/tmp/x/db-2.0.1.tgz', chartTgz({ name: 'db', version: '2.0.1' }), null)).output, '401: authentication required');
    assert.equal(
      (await cmPush(`${base}/charts/admin`, '/tmp/x/db-2.0.1.tgz', chartTgz({ name: 'db', version: '2.0.1' }), { basic: { username: 'admin', password: 'wrong' } })).output,
      '401: invalid username or password',
    );
    assert.equal((await cmPush(`${base}/charts/admin`, '/tmp/x/junk.tgz', Buffer.from('not a chart'), { basic: ADMIN })).output, '400: chart archive is not valid gzip data');
    assert.equal((await cmPush(`${base}/charts/nosuchowner`, '/tmp/x/db-2.0.1.tgz', tgz, { basic: ADMIN })).output, '404: no user or organization named nosuchowner');
  });

  test('every ChartMuseum route answers under /api/charts/<owner> as under /api/<owner>', async () => {
    const auth = authHeader({ basic: ADMIN });
    for (const base2 of ['/api/admin', '/api/charts/admin']) {
      const list = await goRequest(base, 'GET', `${base2}/charts`, auth);
      assert.equal(list.status, 200, `${base2}: ${list.body}`);
      assert.ok('web' in (JSON.parse(list.body) as object));
      assert.equal((await goRequest(base, 'GET', `${base2}/charts/web`, auth)).status, 200);
      assert.equal((await goRequest(base, 'GET', `${base2}/charts/web/1.0.0`, auth)).status, 200);
      const missing = await goRequest(base, 'GET', `${base2}/charts/web/9.9.9`, auth);
      assert.equal(missing.status, 404);
      assert.deepEqual(JSON.parse(missing.body), { error: 'chart web 9.9.9 not found' });
    }
    assert.equal((await goRequest(base, 'DELETE', '/api/charts/admin/charts/web/1.0.0', auth)).status, 200);
  });
});
