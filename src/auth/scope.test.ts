import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatScope, isRepoAction, parseScope, parseScopes } from './scope.ts';

test('type:name:actions', () => {
  assert.deepEqual(parseScope('repository:acme/web:pull,push'), { type: 'repository', name: 'acme/web', actions: ['pull', 'push'] });
  assert.deepEqual(parseScope('repository:acme/charts/web:pull'), { type: 'repository', name: 'acme/charts/web', actions: ['pull'] });
  assert.deepEqual(parseScope('registry:catalog:*'), { type: 'registry', name: 'catalog', actions: ['*'] });
  assert.deepEqual(parseScope('repository:acme/web: pull , push ,'), { type: 'repository', name: 'acme/web', actions: ['pull', 'push'] });
  assert.deepEqual(parseScope('repository:acme/web:'), { type: 'repository', name: 'acme/web', actions: [] });
});

test("names may contain ':' (a host with a port): the type is the first field and the actions the last", () => {
  assert.deepEqual(parseScope('repository:localhost:5000/acme/web:pull'), { type: 'repository', name: 'localhost:5000/acme/web', actions: ['pull'] });
  assert.deepEqual(parseScope('repository(plugin):a:b/c:pull'), { type: 'repository(plugin)', name: 'a:b/c', actions: ['pull'] });
});

test('malformed scopes are dropped', () => {
  for (const bad of ['', 'repository', 'repository:acme/web', ':acme/web:pull', 'repository::pull']) assert.equal(parseScope(bad), null, bad);
});

test('several scopes: repeated parameters and space-separated lists', () => {
  const scopes = parseScopes(['repository:a/b:pull repository:c/d:pull,push', 'registry:catalog:*', '', 'junk']);
  assert.deepEqual(scopes.map(formatScope), ['repository:a/b:pull', 'repository:c/d:pull,push', 'registry:catalog:*']);
  assert.deepEqual(parseScopes([]), []);
});

test('repository actions', () => {
  for (const a of ['pull', 'push', 'delete']) assert.equal(isRepoAction(a), true);
  for (const a of ['*', 'PULL', 'admin', '']) assert.equal(isRepoAction(a), false);
});
