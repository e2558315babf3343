import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DUMMY_HASH, generatePassword, hashPassword, verifyPassword } from './passwords.ts';

test('a hashed password verifies; a wrong one does not', async () => {
  const hash = await hashPassword('correct horse battery');
  assert.match(hash, /^scrypt\$32768\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
  assert.equal(hash.includes('correct horse'), false, 'the hash does not contain the password');
  assert.equal(await verifyPassword('correct horse battery', hash), true);
  assert.equal(await verifyPassword('correct horse batterY', hash), false);
  assert.equal(await verifyPassword('', hash), false);
});

test('the same password hashes differently each time (random salt)', async () => {
  const [a, b] = await Promise.all([hashPassword('same-password'), hashPassword('same-password')]);
  assert.notEqual(a, b);
  assert.equal(await verifyPassword('same-password', b), true);
});

test('passwords are compared after NFKC normalisation', async () => {
  // U+FB01 (the "fi" ligature) normalises to "fi"; keyboards and paste produce either.
  const hash = await hashPassword('\uFB01le-password');
  assert.equal(await verifyPassword('file-password', hash), true);
});

test('malformed or foreign hashes never verify and never throw', async () => {
  const good = await hashPassword('pw-12345678');
  const [, n, r, p, salt, key] = good.split('$');
  const cases = [
    '',
    'garbage',
    `bcrypt$${n}$${r}$${p}$${salt}$${key}`, // another scheme
    `scrypt$${n}$${r}$${p}$${salt}`, // missing field
    `scrypt$${n}$${r}$${p}$${salt}$${key}$extra`,
    `scrypt$abc$${r}$${p}$${salt}$${key}`, // non-numeric cost
    `scrypt$0$${r}$${p}$${salt}$${key}`,
    `scrypt$-2$${r}$${p}$${salt}$${key}`,
    `scrypt$3$${r}$${p}$${salt}$${key}`, // N not a power of two: scrypt refuses
    `scrypt$1073741824$${r}$${p}$${salt}$${key}`, // over the memory cap
    `scrypt$${n}$${r}$${p}$${salt}$`, // empty key
    `scrypt$${n}$${r}$${p}$${salt}$${key?.slice(0, 20)}`, // truncated key
  ];
  for (const h of cases) assert.equal(await verifyPassword('pw-12345678', h), false, h);
});

test('the dummy hash used for unknown users is well-formed but matches nothing', async () => {
  const parts = DUMMY_HASH.split('$');
  assert.equal(parts.length, 6);
  assert.equal(Buffer.from(parts[5] ?? '', 'base64url').length, 32, 'same key length as real hashes, so it costs a full derivation');
  for (const guess of ['', 'admin', 'password', 'AAAAAAAA']) assert.equal(await verifyPassword(guess, DUMMY_HASH), false);
});

test('generated passwords are long and random', () => {
  const a = generatePassword();
  assert.match(a, /^[A-Za-z0-9_-]{24}$/);
  assert.notEqual(a, generatePassword());
});
