/** Referrers API (end-12a/12b) and OCI-Subject on manifest PUT. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Digest, digestOf } from '../../src/oci/digest.ts';
import { MediaType } from '../../src/oci/mediatypes.ts';
import { assertError, type Client, json, type Res, withApp } from './support.ts';

interface Index {
  schemaVersion: number;
  mediaType: string;
  manifests: { mediaType: string; digest: string; size: number; artifactType?: string; annotations?: Record<string, string> }[];
}

const index = (res: Res) => json(res) as Index;

/** Pushes an artifact manifest whose subject is `subject`; returns its digest and size. */
async function pushReferrer(
  c: Client,
  repo: string,
  subject: { digest: Digest; size: number; mediaType?: string },
  opts: { artifactType?: string; configMediaType?: string; annotations?: Record<string, string>; payload: string },
): Promise<{ digest: Digest; size: number; res: Res }> {
  const configBytes = opts.configMediaType ? `{"kind":"${opts.payload}"}` : '{}';
  const config = { mediaType: opts.configMediaType ?? MediaType.OciEmpty, digest: await c.pushBlob(repo, configBytes), size: configBytes.length };
  const layer = { mediaType: 'application/octet-stream', digest: await c.pushBlob(repo, opts.payload), size: opts.payload.length };
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    ...(opts.artifactType ? { artifactType: opts.artifactType } : {}),
    config,
    layers: [layer],
    subject: { mediaType: subject.mediaType ?? MediaType.OciManifest, digest: subject.digest, size: subject.size },
    ...(opts.annotations ? { annotations: opts.annotations } : {}),
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  const digest = digestOf(bytes);
  const res = await c.putManifest(repo, digest, bytes, MediaType.OciManifest);
  assert.equal(res.statusCode, 201, res.body);
  return { digest, size: bytes.length, res };
}

describe('referrers', () => {
  test('no referrers is an empty image index, never a 404', async () => {
    await withApp(async (c) => {
      const img = await c.pushImage('acme/web', 'latest');
      for (const url of [`/v2/acme/web/referrers/${img.digest}`, `/v2/acme/web/referrers/${digestOf(Buffer.from('unknown'))}`, `/v2/acme/never/referrers/${img.digest}`]) {
        const res = await c.get(url);
        assert.equal(res.statusCode, 200, url);
        assert.equal(res.headers['content-type'], MediaType.OciIndex);
        assert.deepEqual(json(res), { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] });
        assert.equal(res.headers['oci-filters-applied'], undefined);
      }
    });
  });

  test('lists referrers with artifactType (explicit or from the config) and annotations', async () => {
    await withApp(async (c) => {
      const img = await c.pushImage('acme/web', 'latest');
      const sig = await pushReferrer(c, 'acme/web', img, { artifactType: 'application/vnd.example.signature', annotations: { 'org.opencontainers.image.created': '2024-05-01T00:00:00Z', who: 'ci' }, payload: 'sig' });
      assert.equal(sig.res.headers['oci-subject'], img.digest);
      const sbom = await pushReferrer(c, 'acme/web', img, { configMediaType: 'application/vnd.example.sbom.config.v1+json', payload: 'sbom' });
      // An index can refer to a subject too.
      const idxBytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, artifactType: 'application/vnd.example.bundle', manifests: [], subject: { mediaType: MediaType.OciManifest, digest: img.digest, size: img.size } }));
      const idxPut = await c.putManifest('acme/web', digestOf(idxBytes), idxBytes, MediaType.OciIndex);
      assert.equal(idxPut.statusCode, 201, idxPut.body);
      assert.equal(idxPut.headers['oci-subject'], img.digest);

      const res = await c.get(`/v2/acme/web/referrers/${img.digest}`);
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['content-type'], MediaType.OciIndex);
      const got = index(res);
      assert.equal(got.schemaVersion, 2);
      assert.equal(got.mediaType, MediaType.OciIndex);
      const byDigest = new Map(got.manifests.map((m) => [m.digest, m]));
      assert.equal(got.manifests.length, 3);
      assert.deepEqual(byDigest.get(sig.digest), {
        mediaType: MediaType.OciManifest,
        digest: sig.digest,
        size: sig.size,
        artifactType: 'application/vnd.example.signature',
        annotations: { 'org.opencontainers.image.created': '2024-05-01T00:00:00Z', who: 'ci' },
      });
      assert.deepEqual(byDigest.get(sbom.digest), { mediaType: MediaType.OciManifest, digest: sbom.digest, size: sbom.size, artifactType: 'application/vnd.example.sbom.config.v1+json' });
      assert.deepEqual(byDigest.get(digestOf(idxBytes)), { mediaType: MediaType.OciIndex, digest: digestOf(idxBytes), size: idxBytes.length, artifactType: 'application/vnd.example.bundle' });
      // The image itself has no subject, so it is nobody's referrer.
      assert.deepEqual(index(await c.get(`/v2/acme/web/referrers/${sig.digest}`)).manifests, []);
    });
  });

  test('artifactType filter, with OCI-Filters-Applied', async () => {
    await withApp(async (c) => {
      const img = await c.pushImage('acme/web', 'latest');
      const sig = await pushReferrer(c, 'acme/web', img, { artifactType: 'application/vnd.example.signature', payload: 'sig' });
      await pushReferrer(c, 'acme/web', img, { artifactType: 'application/vnd.example.sbom', payload: 'sbom' });
      const sig2 = await pushReferrer(c, 'acme/web', img, { artifactType: 'application/vnd.example.signature', payload: 'sig2' });

      const res = await c.get(`/v2/acme/web/referrers/${img.digest}?artifactType=${encodeURIComponent('application/vnd.example.signature')}`);
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['oci-filters-applied'], 'artifactType');
      assert.deepEqual(index(res).manifests.map((m) => m.digest).sort(), [sig.digest, sig2.digest].sort());

      const none = await c.get(`/v2/acme/web/referrers/${img.digest}?artifactType=application/x-nothing`);
      assert.equal(none.headers['oci-filters-applied'], 'artifactType');
      assert.deepEqual(index(none).manifests, []);
      assert.equal(index(await c.get(`/v2/acme/web/referrers/${img.digest}`)).manifests.length, 3);
    });
  });

  test('a referrer pushed before its subject is listed, and the subject may come later', async () => {
    await withApp(async (c) => {
      const future = { digest: digestOf(Buffer.from('image pushed later')), size: 18 };
      const sig = await pushReferrer(c, 'acme/web', future, { artifactType: 'application/vnd.example.signature', payload: 'early' });
      assert.equal(sig.res.headers['oci-subject'], future.digest);
      assert.deepEqual(index(await c.get(`/v2/acme/web/referrers/${future.digest}`)).manifests.map((m) => m.digest), [sig.digest]);
    });
  });

  test('referrers are per repository, and a deleted referrer disappears', async () => {
    await withApp(async (c) => {
      const img = await c.pushImage('acme/web', 'latest');
      await c.pushImage('acme/mirror', 'latest'); // same subject digest is possible in another repo
      const sig = await pushReferrer(c, 'acme/web', img, { artifactType: 'application/vnd.example.signature', payload: 'sig' });
      assert.deepEqual(index(await c.get(`/v2/acme/mirror/referrers/${img.digest}`)).manifests, []);
      assert.equal((await c.delete(`/v2/acme/web/manifests/${sig.digest}`)).statusCode, 202);
      assert.deepEqual(index(await c.get(`/v2/acme/web/referrers/${img.digest}`)).manifests, []);
    });
  });

  test('a Docker manifest list subject (any manifest type) works; a bad digest is 400 DIGEST_INVALID', async () => {
    await withApp(async (c) => {
      const img = await c.pushImage('acme/web', 'latest');
      await pushReferrer(c, 'acme/web', { ...img, mediaType: MediaType.DockerManifestList }, { artifactType: 'application/x.a', payload: 'a' });
      assert.equal(index(await c.get(`/v2/acme/web/referrers/${img.digest}`)).manifests.length, 1);
      assertError(await c.get('/v2/acme/web/referrers/sha256:short'), 400, 'DIGEST_INVALID');
      assertError(await c.get('/v2/acme/web/referrers/latest'), 400, 'DIGEST_INVALID');
    });
  });
});
