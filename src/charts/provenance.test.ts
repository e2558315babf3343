import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkProvenance } from './provenance.ts';

const SHA = 'a'.repeat(64);

// The layout `helm package --sign` writes: the signed Chart.yaml, `...`, then the files map.
function prov(files: string): Buffer {
  return Buffer.from(`-----BEGIN PGP SIGNED MESSAGE-----
Hash: SHA512

apiVersion: v2
name: web
version: 1.0.0

...
files:
${files}
-----BEGIN PGP SIGNATURE-----

wsBcBAEBCgAQBQJlAAAAAAkQAAAAAAAAAAAAAA==
=AAAA
-----END PGP SIGNATURE-----
`);
}

describe('provenance files', () => {
  test('accepts the .prov of this archive', () => {
    checkProvenance(prov(`  web-1.0.0.tgz: sha256:${SHA}`), 'web-1.0.0.tgz', SHA);
  });

  test('refuses a .prov of another version, another digest, or not a signed message', () => {
    assert.throws(() => checkProvenance(prov(`  web-0.9.0.tgz: sha256:${SHA}`), 'web-1.0.0.tgz', SHA), /for web-0\.9\.0\.tgz, not web-1\.0\.0\.tgz/);
    assert.throws(() => checkProvenance(prov(`  web-1.0.0.tgz: sha256:${'b'.repeat(64)}`), 'web-1.0.0.tgz', SHA), /digest does not match/);
    assert.throws(() => checkProvenance(Buffer.from('hello'), 'web-1.0.0.tgz', SHA), /not a PGP signed message/);
    assert.throws(() => checkProvenance(prov(''), 'web-1.0.0.tgz', SHA), /lists no chart archive digest/);
  });
});
