import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseChangelog } from './changelog.ts';

test('artifacthub.io/changes: structured entries, plain strings, and anything else as none', () => {
  assert.deepEqual(parseChangelog('- kind: Added\n  description: A cache\n- kind: fixed\n  description: The probe\n'), [
    { kind: 'added', description: 'A cache' },
    { kind: 'fixed', description: 'The probe' },
  ]);
  assert.deepEqual(parseChangelog('- First release\n- Second line\n'), [
    { kind: null, description: 'First release' },
    { kind: null, description: 'Second line' },
  ]);
  assert.deepEqual(parseChangelog(undefined), []);
  assert.deepEqual(parseChangelog('not: a list'), []);
  assert.deepEqual(parseChangelog('- [unclosed'), []);
});
