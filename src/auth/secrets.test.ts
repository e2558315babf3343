import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { hashSecret, looksLikeSecret, newSecret, PAT_PREFIX, REFRESH_PREFIX, secretHint } from './secrets.ts';

test('secrets carry their prefix, a base62 body and a checksum', () => {
  const pat = newSecret(PAT_PREFIX);
  assert.match(pat, /^wharf_pat_[0-9A-Za-z]{38}$/);
  assert.equal(looksLikeSecret(pat, PAT_PREFIX), true);
  const rt = newSecret(REFRESH_PREFIX);
  assert.match(rt, /^wharf_rt_[0-9A-Za-z]{38}$/);
  assert.equal(looksLikeSecret(rt, REFRESH_PREFIX), true);
  assert.notEqual(newSecret(PAT_PREFIX), pat, 'random');
});

test('a secret of one kind is not taken for the other', () => {
  assert.equal(looksLikeSecret(newSecret(PAT_PREFIX), REFRESH_PREFIX), false);
  assert.equal(looksLikeSecret(newSecret(REFRESH_PREFIX), PAT_PREFIX), false);
});

test('typos are caught by the checksum, without a database lookup', () => {
  const pat = newSecret(PAT_PREFIX);
  const body = pat.slice(PAT_PREFIX.length);
  // Change one body character, keeping the checksum.
  const i = 5;
  const swapped = body[i] === 'a' ? 'b' : 'a';
  const typo = PAT_PREFIX + body.slice(0, i) + swapped + body.slice(i + 1);
  assert.equal(looksLikeSecret(typo, PAT_PREFIX), false);
  assert.equal(looksLikeSecret(pat.slice(0, -1), PAT_PREFIX), false, 'truncated');
  assert.equal(looksLikeSecret(`${pat}x`, PAT_PREFIX), false, 'too long');
  assert.equal(looksLikeSecret('', PAT_PREFIX), false);
  assert.equal(looksLikeSecret('password123', PAT_PREFIX), false);
  assert.equal(looksLikeSecret(`wharf_pat_${'A'.repeat(38)}`, PAT_PREFIX), false, 'right shape, wrong checksum');
});

test('only a sha256 of the secret is stored; the hint shows its prefix and last characters', () => {
  const pat = newSecret(PAT_PREFIX);
  assert.equal(hashSecret(pat), createHash('sha256').update(pat).digest('hex'));
  assert.equal(hashSecret(pat).includes(pat.slice(PAT_PREFIX.length, PAT_PREFIX.length + 8)), false);
  const hint = secretHint(pat);
  assert.ok(hint.startsWith('wharf_pat_'), hint);
  assert.ok(hint.endsWith(pat.slice(-4)), hint);
  // The hint reveals at most 8 of the 38 random characters.
  assert.ok(hint.length <= 'wharf_pat_'.length + 4 + 1 + 4, hint);
});
