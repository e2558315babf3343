/**
 * /api/v1/openapi.json describes the JSON API: every /api/v1 route the server has is in the
 * document and every documented route exists, so the description cannot drift from the code.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { describedRoutes } from '../../src/http/api/openapi.ts';
import { expect, json, startUiApp, type UiApp } from './ui-api-support.ts';

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
});
