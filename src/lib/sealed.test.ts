import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seal, unseal } from './sealed.ts';

const KEY = 'a-credential-key-of-the-config';

test('a sealed secret opens with its key, and the sealed text does not contain it', () => {
  const sealed = seal('upstream-password', KEY);
  assert.equal(sealed.includes('upstream-password'), false);
  assert.equal(unseal(sealed, KEY), 'upstream-password');
});

test('sealing twice gives different texts (random IV)', () => {
  assert.notEqual(seal('same', KEY), seal('same', KEY));
});

test('another key, a tampered text or garbage open to null, never to wrong plain text', () => {
  const sealed = seal('upstream-password', KEY);
  assert.equal(unseal(sealed, 'another-key-of-16-chars'), null);
  const parts = sealed.split('.');
  const ct = Buffer.from(parts[3] ?? '', 'base64url');
  ct[0] = (ct[0] ?? 0) ^ 1;
  assert.equal(unseal([parts[0], parts[1], parts[2], ct.toString('base64url')].join('.'), KEY), null);
  assert.equal(unseal('not sealed', KEY), null);
  assert.equal(unseal('v2.a.b.c', KEY), null);
});
