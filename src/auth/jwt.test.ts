import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import { openSqlite } from '../metadata/metadata.ts';
import { checkTimes, decodeJwt, keyFromJwk, looksLikeJwt, signJwt, verifySignature } from './jwt.ts';
import { KeyRing } from './keyring.ts';

const ec = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });

function tamper(token: string, part: 0 | 1 | 2, edit: (json: Record<string, unknown>) => void): string {
  const parts = token.split('.');
  if (part === 2) {
    const sig = Buffer.from(parts[2] ?? '', 'base64url');
    sig[0] = (sig[0] ?? 0) ^ 1;
    parts[2] = sig.toString('base64url');
  } else {
    const json = JSON.parse(Buffer.from(parts[part] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
    edit(json);
    parts[part] = Buffer.from(JSON.stringify(json)).toString('base64url');
  }
  return parts.join('.');
}

test('an ES256 token signs, decodes and verifies with its public key', () => {
  const { privateKey, publicKey } = ec();
  const token = signJwt({ sub: 'alice', exp: 2_000_000_000, access: [{ type: 'repository', name: 'a/b', actions: ['pull'] }] }, privateKey, 'k1');
  assert.equal(looksLikeJwt(token), true);
  const jwt = decodeJwt(token);
  assert.ok(jwt);
  assert.deepEqual(jwt.header, { alg: 'ES256', kid: 'k1' });
  assert.equal(jwt.claims['sub'], 'alice');
  assert.equal(jwt.signature.length, 64, 'JOSE (r||s) signature, not DER');
  assert.equal(verifySignature(jwt, publicKey), true);
  // Through a JWK, as JWKS consumers do.
  assert.equal(verifySignature(jwt, keyFromJwk(publicKey.export({ format: 'jwk' }))), true);
});

test('tampered claims, headers or signatures and foreign keys fail verification', () => {
  const { privateKey, publicKey } = ec();
  const token = signJwt({ sub: 'alice', exp: 2_000_000_000 }, privateKey, 'k1');
  const claims = decodeJwt(tamper(token, 1, (c) => (c['sub'] = 'admin')));
  assert.ok(claims);
  assert.equal(verifySignature(claims, publicKey), false, 'changed sub');
  const sig = decodeJwt(tamper(token, 2, () => {}));
  assert.ok(sig);
  assert.equal(verifySignature(sig, publicKey), false, 'flipped signature bit');
  const none = decodeJwt(tamper(token, 0, (h) => (h['alg'] = 'none')));
  assert.ok(none);
  assert.equal(verifySignature(none, publicKey), false, 'alg none');
  const hs = decodeJwt(tamper(token, 0, (h) => (h['alg'] = 'HS256')));
  assert.ok(hs);
  assert.equal(verifySignature(hs, publicKey), false, 'alg HS256 is never accepted');
  const original = decodeJwt(token);
  assert.ok(original);
  assert.equal(verifySignature(original, ec().publicKey), false, 'another key');
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  assert.equal(verifySignature({ ...original, header: { alg: 'RS256' } }, rsa.publicKey), false, 'algorithm confusion with an RSA key');
});

test('decodeJwt rejects what is not a compact JWT', () => {
  for (const bad of ['', 'a.b', 'a.b.c.d', 'not-base64!.x.y', `${Buffer.from('"str"').toString('base64url')}.${Buffer.from('{}').toString('base64url')}.x`, `${Buffer.from('{}').toString('base64url')}.${Buffer.from('{}').toString('base64url')}.x`]) {
    assert.equal(decodeJwt(bad), null, bad);
  }
  assert.equal(looksLikeJwt('wharf_pat_abc'), false);
  assert.equal(looksLikeJwt('a password with spaces'), false);
});

test('expiry and not-before are checked with the given skew', () => {
  assert.equal(checkTimes({ exp: 100 }, 100, 0), null);
  assert.equal(checkTimes({ exp: 100 }, 101, 0), 'token expired');
  assert.equal(checkTimes({ exp: 100 }, 120, 30), null, 'within skew');
  assert.equal(checkTimes({ exp: 100 }, 131, 30), 'token expired');
  assert.equal(checkTimes({}, 1, 0), 'missing exp');
  assert.equal(checkTimes({ exp: '200' }, 1, 0), 'missing exp', 'a string exp is not a time');
  assert.equal(checkTimes({ exp: 200, nbf: 150 }, 100, 0), 'token not yet valid');
  assert.equal(checkTimes({ exp: 200, nbf: 150 }, 150, 0), null);
});

test('the key ring persists its key, rotates, and keeps verifying tokens of retired keys', async () => {
  const metadata = openSqlite(':memory:');
  await metadata.migrate();
  try {
    let now = 1_000_000;
    const ring = new KeyRing(metadata.signingKeys, () => now);
    await ring.load();
    const first = ring.signing();
    const oldToken = signJwt({ sub: 'a', exp: 2_000_000_000 }, first.key, first.kid);

    // A second replica (another KeyRing on the same database) uses the same key.
    const replica = new KeyRing(metadata.signingKeys, () => now);
    await replica.load();
    assert.equal(replica.signing().kid, first.kid);
    const oldJwt = decodeJwt(oldToken);
    assert.ok(oldJwt);
    assert.equal(await replica.verify(oldJwt), true);

    now += 1000;
    const kid = await ring.rotate();
    assert.notEqual(kid, first.kid);
    assert.equal(ring.signing().kid, kid, 'new tokens use the new key');
    assert.equal(await ring.verify(oldJwt), true, 'tokens of the retired key still verify');
    assert.deepEqual(ring.jwks().keys.map((k) => k.kid).sort(), [first.kid, kid].sort(), 'both keys are published');
    for (const k of ring.jwks().keys) assert.equal('d' in k, false, 'no private parts in the JWKS');

    // The replica learns about the rotation when it meets the new kid.
    const newToken = signJwt({ sub: 'a', exp: 2_000_000_000 }, ring.signing().key, kid);
    const newJwt = decodeJwt(newToken);
    assert.ok(newJwt);
    assert.equal(await replica.verify(newJwt), true);

    // Unknown kids, missing kids and other algorithms are refused.
    assert.equal(await ring.verify({ ...newJwt, header: { alg: 'ES256', kid: 'nope' } }), false);
    assert.equal(await ring.verify({ ...newJwt, header: { alg: 'ES256' } }), false);
    assert.equal(await ring.verify({ ...newJwt, header: { alg: 'RS256', kid } }), false);

    // Removing a retired key stops its tokens.
    await metadata.signingKeys.remove(first.kid);
    const fresh = new KeyRing(metadata.signingKeys, () => now);
    await fresh.load();
    assert.equal(await fresh.verify(oldJwt), false);
  } finally {
    await metadata.close();
  }
});
