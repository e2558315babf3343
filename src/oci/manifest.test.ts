import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RegistryError } from '../errors.ts';
import { digestOf } from './digest.ts';
import { parseDescriptor, parseManifest } from './manifest.ts';
import { MediaType } from './mediatypes.ts';

const enc = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
const desc = (content: string, mediaType: string, extra: Record<string, unknown> = {}) => ({
  mediaType,
  digest: digestOf(Buffer.from(content)),
  size: Buffer.byteLength(content),
  ...extra,
});

const config = desc('{"architecture":"amd64","os":"linux"}', MediaType.OciConfig);
const layer = desc('layer-bytes', 'application/vnd.oci.image.layer.v1.tar+gzip');

function ociManifest(extra: Record<string, unknown> = {}) {
  return { schemaVersion: 2, mediaType: MediaType.OciManifest, config, layers: [layer], ...extra };
}

function rejects(bytes: Buffer, contentType: string | undefined, code: string, message?: RegExp): void {
  assert.throws(
    () => parseManifest(bytes, contentType),
    (err: unknown) => {
      assert.ok(err instanceof RegistryError, 'expected a RegistryError');
      assert.equal(err.code, code, `${err.code}: ${err.message}`);
      if (message) assert.match(err.message, message);
      return true;
    },
  );
}

describe('parseManifest: image manifests', () => {
  test('OCI image manifest: config and layers are the blobs to check', () => {
    const p = parseManifest(enc(ociManifest()), MediaType.OciManifest);
    assert.equal(p.mediaType, MediaType.OciManifest);
    assert.equal(p.kind, 'image');
    assert.deepEqual(p.config, config);
    assert.deepEqual(p.blobs.map((d) => d.digest), [config.digest, layer.digest]);
    assert.deepEqual(p.manifests, []);
    assert.equal(p.subject, null);
    assert.equal(p.artifactType, MediaType.OciConfig, 'artifactType falls back to the config media type');
    assert.deepEqual(p.annotations, {});
  });

  test('Docker schema2 manifest', () => {
    const m = {
      schemaVersion: 2,
      mediaType: MediaType.DockerManifest,
      config: { ...config, mediaType: MediaType.DockerConfig },
      layers: [{ ...layer, mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip' }],
    };
    const p = parseManifest(enc(m), MediaType.DockerManifest);
    assert.equal(p.mediaType, MediaType.DockerManifest);
    assert.equal(p.kind, 'image');
    assert.equal(p.blobs.length, 2);
  });

  test('parses bytes that are a view into a larger buffer', () => {
    const inner = enc(ociManifest());
    const outer = Buffer.concat([Buffer.from('garbage'), inner, Buffer.from('more')]);
    const view = new Uint8Array(outer.buffer, outer.byteOffset + 7, inner.length);
    assert.equal(parseManifest(view, undefined).mediaType, MediaType.OciManifest);
  });

  test('artifact with artifactType and the empty config', () => {
    const empty = desc('{}', MediaType.OciEmpty);
    const sbom = desc('sbom', 'application/spdx+json');
    const m = ociManifest({ artifactType: 'application/vnd.example.sbom.v1', config: empty, layers: [sbom] });
    const p = parseManifest(enc(m), MediaType.OciManifest);
    assert.equal(p.artifactType, 'application/vnd.example.sbom.v1');
    assert.deepEqual(p.blobs.map((d) => d.digest), [empty.digest, sbom.digest]);
  });

  test('any config media type is accepted (Helm chart)', () => {
    const helm = {
      schemaVersion: 2,
      config: desc('{"name":"web","version":"1.0.0"}', MediaType.HelmConfig),
      layers: [desc('tgz', MediaType.HelmChart)],
      annotations: { 'org.opencontainers.image.title': 'web' },
    };
    const p = parseManifest(enc(helm), MediaType.OciManifest);
    assert.equal(p.artifactType, MediaType.HelmConfig);
    assert.deepEqual(p.annotations, { 'org.opencontainers.image.title': 'web' });
  });

  test('without a top-level mediaType the Content-Type decides (as Helm pushes)', () => {
    const { mediaType: _omit, ...noType } = ociManifest();
    assert.equal(parseManifest(enc(noType), MediaType.OciManifest).mediaType, MediaType.OciManifest);
    assert.equal(parseManifest(enc(noType), `${MediaType.OciManifest}; charset=utf-8`).mediaType, MediaType.OciManifest);
    assert.equal(parseManifest(enc(noType), 'Application/Vnd.Oci.Image.Manifest.V1+Json').mediaType, MediaType.OciManifest);
    assert.equal(parseManifest(enc(noType), MediaType.DockerManifest).mediaType, MediaType.DockerManifest);
    // Neither field nor header: the structure decides.
    assert.equal(parseManifest(enc(noType), undefined).mediaType, MediaType.OciManifest);
    assert.equal(parseManifest(enc(noType), 'application/octet-stream').mediaType, MediaType.OciManifest);
  });

  test('a mediaType that contradicts a manifest Content-Type is MANIFEST_INVALID', () => {
    rejects(enc(ociManifest()), MediaType.DockerManifest, 'MANIFEST_INVALID', /Content-Type/);
    rejects(enc(ociManifest()), MediaType.OciIndex, 'MANIFEST_INVALID', /Content-Type/);
    // A generic Content-Type does not contradict anything.
    assert.equal(parseManifest(enc(ociManifest()), 'application/json').mediaType, MediaType.OciManifest);
  });

  test('a non-string mediaType is MANIFEST_INVALID', () => {
    rejects(enc(ociManifest({ mediaType: 42 })), MediaType.OciManifest, 'MANIFEST_INVALID');
    rejects(enc(ociManifest({ mediaType: null })), MediaType.OciManifest, 'MANIFEST_INVALID');
  });

  test('an unknown manifest media type is MANIFEST_INVALID', () => {
    rejects(enc(ociManifest({ mediaType: 'application/vnd.example.thing+json' })), undefined, 'MANIFEST_INVALID', /unsupported/);
  });

  test('an image manifest needs a config descriptor and schemaVersion 2', () => {
    const { config: _c, ...noConfig } = ociManifest();
    rejects(enc(noConfig), MediaType.OciManifest, 'MANIFEST_INVALID', /config/);
    rejects(enc(ociManifest({ schemaVersion: 3 })), MediaType.OciManifest, 'MANIFEST_INVALID', /schemaVersion/);
    rejects(enc(ociManifest({ schemaVersion: '2' })), MediaType.OciManifest, 'MANIFEST_INVALID', /schemaVersion/);
    rejects(enc(ociManifest({ layers: 'nope' })), MediaType.OciManifest, 'MANIFEST_INVALID', /layers/);
  });

  test('non-distributable layers with urls are not required to be in the registry', () => {
    const foreign = desc('windows-base', 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', { urls: ['https://example.com/base'] });
    const nondist = desc('nd', 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip', { urls: ['https://example.com/nd'] });
    const nondistNoUrls = desc('nd2', 'application/vnd.oci.image.layer.nondistributable.v1.tar');
    const p = parseManifest(enc(ociManifest({ layers: [foreign, layer, nondist, nondistNoUrls] })), undefined);
    assert.deepEqual(
      p.blobs.map((d) => d.digest),
      [config.digest, layer.digest, nondistNoUrls.digest],
      'a non-distributable layer without urls can only come from this registry',
    );
  });

  test('subject is parsed; manifest annotations are kept', () => {
    const subject = desc('some manifest', MediaType.OciManifest);
    const p = parseManifest(enc(ociManifest({ subject, annotations: { a: '1', 'org.example/b': 'two' } })), undefined);
    assert.deepEqual(p.subject, subject);
    assert.deepEqual(p.annotations, { a: '1', 'org.example/b': 'two' });
  });
});

describe('parseManifest: indexes', () => {
  const child = desc('{"child":1}', MediaType.OciManifest, { platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } });

  test('OCI index: the children are manifests, no blobs', () => {
    const p = parseManifest(enc({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [child] }), MediaType.OciIndex);
    assert.equal(p.kind, 'index');
    assert.equal(p.config, null);
    assert.deepEqual(p.blobs, []);
    assert.deepEqual(p.manifests, [child]);
    assert.equal(p.artifactType, null);
  });

  test('Docker manifest list', () => {
    const p = parseManifest(
      enc({ schemaVersion: 2, mediaType: MediaType.DockerManifestList, manifests: [{ ...child, mediaType: MediaType.DockerManifest }] }),
      MediaType.DockerManifestList,
    );
    assert.equal(p.kind, 'index');
    assert.equal(p.manifests[0]?.platform?.variant, 'v8');
  });

  test('index with artifactType, subject and annotations; no mediaType but an index Content-Type', () => {
    const subject = desc('s', MediaType.OciManifest);
    const p = parseManifest(enc({ schemaVersion: 2, artifactType: 'application/x.sig', manifests: [], subject, annotations: { k: 'v' } }), MediaType.OciIndex);
    assert.equal(p.mediaType, MediaType.OciIndex);
    assert.equal(p.artifactType, 'application/x.sig');
    assert.deepEqual(p.subject, subject);
    assert.deepEqual(p.annotations, { k: 'v' });
  });

  test('an index without a manifests array is MANIFEST_INVALID', () => {
    rejects(enc({ schemaVersion: 2, mediaType: MediaType.OciIndex }), undefined, 'MANIFEST_INVALID', /manifests/);
    rejects(enc({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: {} }), undefined, 'MANIFEST_INVALID', /manifests/);
  });

  test('an index with an invalid platform is MANIFEST_INVALID', () => {
    rejects(enc({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [{ ...child, platform: { os: 'linux' } }] }), undefined, 'MANIFEST_INVALID', /platform/);
  });
});

describe('parseManifest: rejected input', () => {
  test('malformed JSON and non-objects are MANIFEST_INVALID', () => {
    for (const bad of ['', '{', 'not json', '[]', 'null', '42', '"str"', '{"schemaVersion":2,}']) {
      rejects(enc(bad), MediaType.OciManifest, 'MANIFEST_INVALID');
    }
    rejects(enc('['.repeat(200_000)), MediaType.OciManifest, 'MANIFEST_INVALID');
  });

  test('a manifest of unknown shape and no usable type is MANIFEST_INVALID', () => {
    rejects(enc({ schemaVersion: 2 }), undefined, 'MANIFEST_INVALID', /media type/);
  });

  test('Docker schema1 is UNSUPPORTED, whether declared by Content-Type, mediaType or shape', () => {
    const schema1 = { schemaVersion: 1, name: 'acme/web', tag: 'latest', architecture: 'amd64', fsLayers: [{ blobSum: layer.digest }], history: [] };
    rejects(enc(schema1), MediaType.DockerSchema1Signed, 'UNSUPPORTED');
    rejects(enc(schema1), MediaType.DockerSchema1, 'UNSUPPORTED');
    rejects(enc({ ...schema1, mediaType: MediaType.DockerSchema1 }), undefined, 'UNSUPPORTED');
    rejects(enc(schema1), undefined, 'UNSUPPORTED');
    rejects(enc(schema1), 'application/json', 'UNSUPPORTED');
  });

  test('bad descriptors are MANIFEST_INVALID and name the field', () => {
    const cases: [unknown, RegExp][] = [
      [null, /config must be a descriptor/],
      [[], /config must be a descriptor/],
      [{ ...config, mediaType: undefined }, /config\.mediaType/],
      [{ ...config, mediaType: '' }, /config\.mediaType/],
      [{ ...config, digest: 42 }, /config\.digest/],
      [{ ...config, digest: 'sha256:short' }, /config\.digest/],
      [{ ...config, digest: `md5:${'a'.repeat(32)}` }, /config\.digest/],
      [{ ...config, size: -1 }, /config\.size/],
      [{ ...config, size: 1.5 }, /config\.size/],
      [{ ...config, size: '12' }, /config\.size/],
      [{ ...config, size: 2 ** 60 }, /config\.size/],
      [{ ...config, annotations: 'x' }, /annotations/],
      [{ ...config, annotations: { a: 1 } }, /annotations\.a/],
    ];
    for (const [bad, message] of cases) {
      rejects(enc(ociManifest({ config: bad })), undefined, 'MANIFEST_INVALID', message);
    }
    rejects(enc(ociManifest({ layers: [layer, { ...layer, size: -5 }] })), undefined, 'MANIFEST_INVALID', /layers\[1\]\.size/);
    rejects(enc(ociManifest({ subject: { mediaType: MediaType.OciManifest, digest: 'nope', size: 1 } })), undefined, 'MANIFEST_INVALID', /subject\.digest/);
    rejects(enc(ociManifest({ annotations: ['a'] })), undefined, 'MANIFEST_INVALID', /annotations/);
    rejects(enc(ociManifest({ annotations: { a: null } })), undefined, 'MANIFEST_INVALID', /annotations/);
  });

  test('parseDescriptor keeps optional fields and drops non-string urls', () => {
    const d = parseDescriptor({ ...layer, artifactType: 'x/y', urls: ['https://a', 3], annotations: { k: 'v' }, platform: { architecture: 'amd64', os: 'linux', 'os.version': '10' } }, 'd');
    assert.deepEqual(d.urls, ['https://a']);
    assert.equal(d.artifactType, 'x/y');
    assert.deepEqual(d.annotations, { k: 'v' });
    assert.equal(d.platform?.['os.version'], '10');
  });
});
