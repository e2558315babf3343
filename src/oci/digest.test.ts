import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { RegistryError } from '../errors.ts';
import { DualHasher, digestAlgorithm, digestHex, digestOf, isDigest, parseDigest } from './digest.ts';

const hex = (alg: 'sha256' | 'sha512', s: string) => createHash(alg).update(s).digest('hex');

function rejects(value: string, message?: RegExp): void {
  assert.throws(
    () => parseDigest(value),
    (err: unknown) => {
      assert.ok(err instanceof RegistryError, `expected RegistryError for ${JSON.stringify(value)}`);
      assert.equal(err.code, 'DIGEST_INVALID');
      if (message) assert.match(err.message, message);
      return true;
    },
  );
  assert.equal(isDigest(value), false);
}

describe('parseDigest', () => {
  test('accepts sha256 and sha512 digests of real content', () => {
    const d256 = `sha256:${hex('sha256', 'hello')}`;
    const d512 = `sha512:${hex('sha512', 'hello')}`;
    assert.equal(parseDigest(d256), d256);
    assert.equal(parseDigest(d512), d512);
    assert.equal(isDigest(d256), true);
    assert.equal(digestAlgorithm(parseDigest(d512)), 'sha512');
    assert.equal(digestHex(parseDigest(d256)), hex('sha256', 'hello'));
  });

  test('rejects bad grammar', () => {
    for (const bad of ['', 'sha256', 'sha256:', ':abc', 'sha256::abc', 'SHA256:' + 'a'.repeat(64), 'sha256 :' + 'a'.repeat(64), 'sha256:a b', 'sha256:' + 'a'.repeat(64) + '\n', '-sha256:' + 'a'.repeat(64), 'sha256:ab/cd']) {
      rejects(bad);
    }
  });

  test('rejects algorithms it does not support, even when well-formed', () => {
    rejects('md5:' + 'a'.repeat(32), /unsupported/);
    rejects('sha384:' + 'a'.repeat(96), /unsupported/);
    rejects('multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8', /unsupported/);
    const err = (() => {
      try {
        parseDigest('sha1:' + 'a'.repeat(40));
      } catch (e) {
        return e;
      }
      return null;
    })();
    assert.ok(err instanceof RegistryError);
    assert.deepEqual((err.detail as { supported: string[] }).supported, ['sha256', 'sha512']);
  });

  test('requires lowercase hex of the exact length for the algorithm', () => {
    rejects('sha256:' + hex('sha256', 'x').toUpperCase());
    rejects('sha256:' + 'A' + hex('sha256', 'x').slice(1));
    rejects('sha256:' + hex('sha256', 'x').slice(1)); // 63 chars
    rejects('sha256:' + hex('sha256', 'x') + 'a'); // 65 chars
    rejects('sha256:' + hex('sha512', 'x')); // sha512-length hex under sha256
    rejects('sha512:' + hex('sha256', 'x')); // sha256-length hex under sha512
    rejects('sha256:' + 'g'.repeat(64)); // not hex
  });
});

describe('digestOf and DualHasher', () => {
  test('digestOf matches node:crypto for both algorithms', () => {
    const bytes = Buffer.from('wharf');
    assert.equal(digestOf(bytes), `sha256:${hex('sha256', 'wharf')}`);
    assert.equal(digestOf(bytes, 'sha512'), `sha512:${hex('sha512', 'wharf')}`);
  });

  test('hashes a stream with both algorithms at once and counts bytes', () => {
    const h = new DualHasher();
    h.update(Buffer.from('wh'));
    h.update(Buffer.from('arf'));
    assert.equal(h.bytes, 5);
    const d = h.digests();
    assert.equal(d.sha256, digestOf(Buffer.from('wharf')));
    assert.equal(d.sha512, digestOf(Buffer.from('wharf'), 'sha512'));
    const only256 = new DualHasher(false);
    only256.update(Buffer.from('wharf'));
    assert.deepEqual(Object.keys(only256.digests()), ['sha256']);
  });
});
