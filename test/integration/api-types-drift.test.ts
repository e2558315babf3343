/**
 * ui/src/api.gen.ts is generated from the /api/v1 route schemas (ADR 0019): a schema changed
 * without regenerating fails here, so the UI's types cannot drift from the API. Also checks
 * that every example in the document is valid for its schema, and that operationIds are unique.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { API_TYPES_FILE, apiTypesSource } from '../../scripts/gen-api-types.ts';
import { definedRoutes, successStatus } from '../../src/http/api/route.ts';

describe('generated API types', () => {
  test('ui/src/api.gen.ts matches the route schemas', () => {
    const expected = apiTypesSource();
    const actual = readFileSync(API_TYPES_FILE, 'utf8');
    assert.ok(actual === expected, 'ui/src/api.gen.ts is stale: run npm run gen:api-types and commit the result');
  });

  test('every route example is valid for its schema', () => {
    const routes = definedRoutes();
    assert.ok(routes.length >= 60, `found ${routes.length} routes`);
    for (const r of routes) {
      if (r.bodyExample !== undefined) {
        assert.ok(r.body, `${r.operationId}: a body example without a body schema`);
        const res = r.body.safeParse(r.bodyExample);
        assert.ok(res.success, `${r.operationId}: body example: ${res.error?.message}`);
      }
      if (r.responseExample !== undefined) {
        const schema = r.responses[successStatus(r)];
        assert.ok(schema, `${r.operationId}: a response example without a response schema`);
        const res = schema.safeParse(r.responseExample);
        assert.ok(res.success, `${r.operationId}: response example: ${res.error?.message}`);
      }
    }
  });

  test('operationIds are unique and tagged', () => {
    const ids = definedRoutes().map((r) => r.operationId);
    assert.equal(new Set(ids).size, ids.length);
    for (const r of definedRoutes()) assert.ok(r.tags.length > 0, `${r.operationId} has no tag`);
  });
});
