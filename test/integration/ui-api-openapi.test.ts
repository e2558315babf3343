/**
 * /api/v1/openapi.json describes the JSON API: every /api/v1 route the server has is in the
 * document and every documented route exists, so the description cannot drift from the code.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { describedRoutes } from '../../src/http/api/openapi.ts';
import { adminAuth, errorCode, expect, json, startUiApp, type UiApp } from './ui-api-support.ts';

/** `METHOD /path/:param` for every route in Fastify's printRoutes() tree. */
function routesOf(tree: string): string[] {
  const out: string[] = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const m = /^((?:│ {3}| {4})*)[├└]── (.*) \(([^)]+)\)$/.exec(line);
    if (!m) continue;
    const depth = (m[1] ?? '').length / 4;
    stack.length = depth;
    const path = (stack[depth - 1] ?? '') + (m[2] ?? '');
    stack[depth] = path;
    for (const method of (m[3] ?? '').split(', ')) if (method !== 'HEAD') out.push(`${method} ${path}`);
  }
  return out;
}

const toFastify = (route: string) => route.replace(/\{([^}]+)\}/g, ':$1');

describe('OpenAPI description', () => {
  let app: UiApp;
  before(async () => {
    app = await startUiApp();
  });
  after(() => app.close());

  test('is served as JSON, OpenAPI 3.1, without authentication', async () => {
    const res = await app.req({ url: '/api/v1/openapi.json' });
    expect(res, 200, 'openapi');
    assert.match(String(res.headers['content-type']), /^application\/json/);
    const doc = json<{ openapi: string; paths: Record<string, Record<string, { responses: Record<string, unknown> }>>; components: { schemas: Record<string, unknown> } }>(res);
    assert.equal(doc.openapi, '3.1.0');
    assert.ok(doc.paths['/api/v1/packages/{owner}/{package}/view']?.['get']?.responses['200']);
    // Every $ref points at a defined schema.
    for (const [, name] of JSON.stringify(doc).matchAll(/"#\/components\/schemas\/([^"]+)"/g)) assert.ok(doc.components.schemas[name ?? ''], `schema ${name}`);
  });

  test('every documented route exists', () => {
    for (const route of describedRoutes()) {
      const [method, path] = route.split(' ') as [string, string];
      const url = path === '/api/v1/charts/{repository}' ? '/api/v1/charts/*' : toFastify(path);
      assert.ok(app.wharf.app.hasRoute({ method: method as 'GET', url }), `documented but missing: ${route}`);
    }
  });

  test('every /api/v1 route is documented', () => {
    const documented = new Set(describedRoutes().map(toFastify));
    const routes = routesOf(app.wharf.app.printRoutes({ commonPrefix: false })).filter((r) => r.split(' ')[1]?.startsWith('/api/v1/'));
    assert.ok(routes.length >= 30, `found ${routes.length} routes`);
    const missing = routes.filter((r) => !documented.has(r));
    assert.deepEqual(missing, [], 'routes missing from /api/v1/openapi.json');
  });

  test('every operation has an operationId, tags and a summary; named schemas are components', async () => {
    const doc = json<{ paths: Record<string, Record<string, { operationId?: string; tags?: string[]; summary?: string }>>; components: { schemas: Record<string, unknown> } }>(
      await app.req({ url: '/api/v1/openapi.json' }),
    );
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        assert.match(op.operationId ?? '', /^[a-z][A-Za-z]+$/, `${method} ${path}`);
        assert.ok((op.tags ?? []).length > 0 && op.summary, `${method} ${path}`);
      }
    }
    for (const name of ['Error', 'PackageView', 'ChartDetail', 'ChartVersion', 'TrashEntry', 'GcRun', 'Org']) assert.ok(doc.components.schemas[name], name);
    // The fields that had drifted between the server, the document and the UI.
    assert.ok(JSON.stringify(doc.components.schemas['ChartVersion']).includes('"chartDigest"'));
    assert.ok(JSON.stringify(doc.components.schemas['ChartDetail']).includes('"omitted"'));
  });

  test('the docs page is served self-contained, with a strict CSP', async () => {
    const res = await app.req({ url: '/api/v1/docs' });
    expect(res, 200, 'docs');
    assert.match(String(res.headers['content-type']), /^text\/html/);
    assert.match(String(res.headers['content-security-policy']), /default-src 'none'; script-src 'sha256-/);
    assert.ok(res.body.includes('"operationId":"getPackageView"'));
    assert.doesNotMatch(res.body, /<script[^>]+src=|<link[^>]+href=/);
  });

  test('requests are validated from the route schemas, errors in the API format', async () => {
    const auth = adminAuth();
    let res = await app.req({ url: '/api/v1/audit?limit=0', auth });
    expect(res, 400, 'audit limit', 'BAD_REQUEST');
    assert.deepEqual(json<{ errors: { detail: { issues: { path: string; message: string }[] } }[] }>(res).errors[0]?.detail.issues[0], { path: 'limit', message: 'limit must be 1-10000' });
    res = await app.req({ url: '/api/v1/owners/admin/package-views?kind=bogus', auth });
    expect(res, 400, 'kind', 'BAD_REQUEST');
    res = await app.req({ url: '/api/v1/users', method: 'POST', payload: { username: 'x' }, auth });
    expect(res, 400, 'body', 'BAD_REQUEST');
    assert.equal(json<{ errors: { message: string }[] }>(res).errors[0]?.message, 'invalid request body');
    res = await app.req({ url: '/api/v1/trash/nothex', auth });
    expect(res, 400, 'trash id', 'BAD_REQUEST');
    assert.equal(errorCode(res), 'BAD_REQUEST');
  });
});
