import assert from 'node:assert/strict';
import { test } from 'node:test';
import { actionsOfRole, actionsOfScopes, intersect, isTokenScope, maxRole, restrictionAllows, roleAtLeast, visibilityRole } from './policy.ts';

const sorted = (s: Set<string>) => [...s].sort();

test('roles rank read < write < admin', () => {
  assert.equal(maxRole([]), null);
  assert.equal(maxRole([null, 'read', null]), 'read');
  assert.equal(maxRole(['write', 'read', 'admin', 'read']), 'admin');
  assert.equal(roleAtLeast('write', 'read'), true);
  assert.equal(roleAtLeast('write', 'admin'), false);
  assert.equal(roleAtLeast(null, 'read'), false);
});

test('what each role may do', () => {
  assert.deepEqual(sorted(actionsOfRole(null)), []);
  assert.deepEqual(sorted(actionsOfRole('read')), ['pull']);
  assert.deepEqual(sorted(actionsOfRole('write')), ['pull', 'push']);
  assert.deepEqual(sorted(actionsOfRole('admin')), ['delete', 'pull', 'push']);
});

test('visibility: public for everyone, internal for signed-in users, private for nobody by itself', () => {
  assert.equal(visibilityRole('public', false), 'read');
  assert.equal(visibilityRole('public', true), 'read');
  assert.equal(visibilityRole('internal', false), null);
  assert.equal(visibilityRole('internal', true), 'read');
  assert.equal(visibilityRole('private', true), null);
});

test('token scopes bound what a token can do', () => {
  assert.deepEqual(sorted(actionsOfScopes([])), []);
  assert.deepEqual(sorted(actionsOfScopes(['read:packages'])), ['pull']);
  assert.deepEqual(sorted(actionsOfScopes(['write:packages'])), ['pull', 'push']);
  assert.deepEqual(sorted(actionsOfScopes(['delete:packages'])), ['delete', 'pull']);
  assert.deepEqual(sorted(actionsOfScopes(['write:packages', 'delete:packages'])), ['delete', 'pull', 'push']);
  assert.deepEqual(sorted(actionsOfScopes(['admin', 'repo'])), [], 'unknown scopes grant nothing');
  assert.equal(isTokenScope('read:packages'), true);
  assert.equal(isTokenScope('read:package'), false);
  // Granted = role ∩ token.
  assert.deepEqual(sorted(intersect(actionsOfRole('admin'), actionsOfScopes(['read:packages']))), ['pull']);
  assert.deepEqual(sorted(intersect(actionsOfRole('read'), actionsOfScopes(['write:packages']))), ['pull']);
});

test('token restrictions to owners and packages', () => {
  assert.equal(restrictionAllows('acme/web', null, null), true, 'unrestricted');
  assert.equal(restrictionAllows('acme/web', ['acme'], null), true);
  assert.equal(restrictionAllows('acme/charts/web', ['acme'], null), true);
  assert.equal(restrictionAllows('acmeco/web', ['acme'], null), false, 'owner match is exact, not a prefix');
  assert.equal(restrictionAllows('acme/web', null, ['acme/web']), true);
  assert.equal(restrictionAllows('acme/web2', null, ['acme/web']), false);
  assert.equal(restrictionAllows('acme/web/sub', null, ['acme/web']), false, 'a package is not its sub-paths');
  assert.equal(restrictionAllows('globex/app', ['acme'], ['acme/web']), false);
  assert.equal(restrictionAllows('acme/api', [], ['acme/web']), false);
});
