/**
 * Manifests: PUT (end-7, with ?tag=), GET/HEAD (end-3) with content negotiation and ETag,
 * DELETE by tag and by digest (end-9); every manifest kind the core must accept.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { digestOf } from '../../src/oci/digest.ts';
import { MediaType } from '../../src/oci/mediatypes.ts';
import type { RepoName } from '../../src/oci/name.ts';
import { assertError, type Client, json, type Res, withApp } from './support.ts';

const OCI = MediaType.OciManifest;

/** Pushes config and layer blobs and returns an OCI manifest object referencing them. */
async function imageParts(c: Client, repo: string, seed = 'x') {
  const config = `{"architecture":"amd64","os":"linux","seed":"${seed}"}`;
  const layer = `layer-${seed}`;
  const cfg = { mediaType: MediaType.OciConfig, digest: await c.pushBlob(repo, config), size: config.length };
  const lyr = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: await c.pushBlob(repo, layer), size: layer.length };
  return { config: cfg, layer: lyr, manifest: { schemaVersion: 2, mediaType: OCI, config: cfg, layers: [lyr] } };
}

describe('manifest push and pull', () => {
  test('PUT by tag: 201 with Location and the client’s sha256; GET/HEAD by tag and digest', async () => {
    await withApp(async (c) => {
      const { manifest } = await imageParts(c, 'acme/web');
      const bytes = Buffer.from(JSON.stringify(manifest));
      const digest = digestOf(bytes);
      const put = await c.putManifest('acme/web', '1.0.0', bytes, OCI);
      assert.equal(put.statusCode, 201, put.body);
      assert.equal(put.headers.location, `/v2/acme/web/manifests/${digest}`);
      assert.equal(put.headers['docker-content-digest'], digest);
      assert.equal(put.headers['oci-subject'], undefined);

      for (const ref of ['1.0.0', digest]) {
        const get = await c.get(`/v2/acme/web/manifests/${ref}`);
        assert.equal(get.statusCode, 200);
        assert.ok(get.rawPayload.equals(bytes));
        assert.equal(get.headers['content-type'], OCI);
        assert.equal(get.headers['docker-content-digest'], digest);
        assert.equal(get.headers.etag, `"${digest}"`);
        assert.equal(get.headers['content-length'], String(bytes.length));
        const head = await c.head(`/v2/acme/web/manifests/${ref}`);
        assert.equal(head.statusCode, 200);
        assert.equal(head.body, '');
        assert.equal(head.headers['content-length'], String(bytes.length));
        assert.equal(head.headers['docker-content-digest'], digest);
        assert.equal(head.headers['content-type'], OCI);
      }
    });
  });

  test('bytes are returned exactly as pushed (whitespace, key order, escapes) and hashed as sent', async () => {
    await withApp(async (c) => {
      const { config, layer } = await imageParts(c, 'acme/web');
      const weird =
        `\n  {"layers" :[ ${JSON.stringify(layer)} ] ,\t"config":${JSON.stringify(config)},` +
        `"annotations":{"note":"caf\\u00e9 ☕"}, "schemaVersion":2,\r\n "mediaType":"${OCI}"}\n\n`;
      const bytes = Buffer.from(weird);
      const put = await c.putManifest('acme/web', 'weird', bytes, OCI);
      assert.equal(put.statusCode, 201, put.body);
      assert.equal(put.headers['docker-content-digest'], digestOf(bytes));
      const get = await c.get('/v2/acme/web/manifests/weird');
      assert.ok(get.rawPayload.equals(bytes), 'byte-for-byte identical');
    });
  });

  test('PUT by digest, and PUT by sha512 digest', async () => {
    await withApp(async (c) => {
      const { manifest } = await imageParts(c, 'acme/web');
      const bytes = Buffer.from(JSON.stringify(manifest));
      const d256 = digestOf(bytes);
      const put = await c.putManifest('acme/web', d256, bytes, OCI);
      assert.equal(put.statusCode, 201, put.body);
      assert.equal(put.headers['docker-content-digest'], d256);

      const d512 = digestOf(bytes, 'sha512');
      const put512 = await c.putManifest('acme/web', d512, bytes, OCI);
      assert.equal(put512.statusCode, 201, put512.body);
      assert.equal(put512.headers['docker-content-digest'], d512);
      assert.equal(put512.headers.location, `/v2/acme/web/manifests/${d512}`);
      const get = await c.get(`/v2/acme/web/manifests/${d512}`);
      assert.equal(get.statusCode, 200);
      assert.equal(get.headers['docker-content-digest'], d512);
      assert.ok(get.rawPayload.equals(bytes));
    });
  });

  test('a digest in the URL that does not match the body is 400 DIGEST_INVALID and stores nothing', async () => {
    await withApp(async (c) => {
      const { manifest } = await imageParts(c, 'acme/web');
      const bytes = Buffer.from(JSON.stringify(manifest));
      const other = digestOf(Buffer.from('other'));
      assertError(await c.putManifest('acme/web', other, bytes, OCI), 400, 'DIGEST_INVALID');
      assertError(await c.putManifest('acme/web', digestOf(bytes, 'sha512').replace(/.$/, '0'), bytes, OCI), 400, 'DIGEST_INVALID');
      assertError(await c.putManifest('acme/web', 'sha256:abc', bytes, OCI), 400, 'DIGEST_INVALID');
      assertError(await c.get(`/v2/acme/web/manifests/${digestOf(bytes)}`), 404, 'MANIFEST_UNKNOWN');
      assertError(await c.get(`/v2/acme/web/manifests/${other}`), 404, 'MANIFEST_UNKNOWN');
    });
  });

  test('Helm 4 pushes by digest and then by tag', async () => {
    await withApp(async (c) => {
      const { manifest } = await imageParts(c, 'acme/charts/web');
      const bytes = Buffer.from(JSON.stringify(manifest));
      const digest = digestOf(bytes);
      assert.equal((await c.putManifest('acme/charts/web', digest, bytes, OCI)).statusCode, 201);
      assert.equal((await c.putManifest('acme/charts/web', '1.0.0', bytes, OCI)).statusCode, 201);
      assert.equal((await c.get('/v2/acme/charts/web/manifests/1.0.0')).headers['docker-content-digest'], digest);
    });
  });

  test('a Helm chart manifest without mediaType takes its type from Content-Type', async () => {
    await withApp(async (c) => {
      const cfg = '{"name":"web","version":"1.0.0","apiVersion":"v2"}';
      const chart = 'fake-tgz-bytes';
      const manifest = {
        schemaVersion: 2,
        config: { mediaType: MediaType.HelmConfig, digest: await c.pushBlob('acme/charts/web', cfg), size: cfg.length },
        layers: [{ mediaType: MediaType.HelmChart, digest: await c.pushBlob('acme/charts/web', chart), size: chart.length }],
        annotations: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z' },
      };
      const bytes = Buffer.from(JSON.stringify(manifest));
      const put = await c.putManifest('acme/charts/web', '1.0.0_build.1', bytes, OCI);
      assert.equal(put.statusCode, 201, put.body);
      const get = await c.get('/v2/acme/charts/web/manifests/1.0.0_build.1', { accept: OCI });
      assert.equal(get.headers['content-type'], OCI);
      assert.ok(get.rawPayload.equals(bytes));
    });
  });

  test('a Content-Type with parameters is accepted; a contradicting one is MANIFEST_INVALID', async () => {
    await withApp(async (c) => {
      const { manifest } = await imageParts(c, 'acme/web');
      const bytes = Buffer.from(JSON.stringify(manifest));
      assert.equal((await c.putManifest('acme/web', 'a', bytes, `${OCI}; charset=utf-8`)).statusCode, 201);
      assertError(await c.putManifest('acme/web', 'b', bytes, MediaType.DockerManifest), 400, 'MANIFEST_INVALID');
      assertError(await c.get('/v2/acme/web/manifests/b'), 404, 'MANIFEST_UNKNOWN');
    });
  });

  test('Docker schema2 manifest and Docker manifest list', async () => {
    await withApp(async (c) => {
      const amd = await c.pushImage('acme/web', 'amd64', { mediaType: MediaType.DockerManifest, layer: 'amd' });
      const arm = await c.pushImage('acme/web', 'arm64', { mediaType: MediaType.DockerManifest, layer: 'arm' });
      const list = {
        schemaVersion: 2,
        mediaType: MediaType.DockerManifestList,
        manifests: [
          { mediaType: MediaType.DockerManifest, digest: amd.digest, size: amd.size, platform: { architecture: 'amd64', os: 'linux' } },
          { mediaType: MediaType.DockerManifest, digest: arm.digest, size: arm.size, platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } },
        ],
      };
      const bytes = Buffer.from(JSON.stringify(list));
      const put = await c.putManifest('acme/web', 'multi', bytes, MediaType.DockerManifestList);
      assert.equal(put.statusCode, 201, put.body);
      const get = await c.get('/v2/acme/web/manifests/multi', { accept: `${MediaType.DockerManifestList}, ${MediaType.DockerManifest}` });
      assert.equal(get.statusCode, 200);
      assert.equal(get.headers['content-type'], MediaType.DockerManifestList);
      assert.ok(get.rawPayload.equals(bytes));
      assert.equal((await c.get('/v2/acme/web/manifests/amd64')).headers['content-type'], MediaType.DockerManifest);
    });
  });

  test('OCI index over child manifests; a missing child is MANIFEST_BLOB_UNKNOWN', async () => {
    await withApp(async (c) => {
      const amd = await c.pushImage('acme/web', 'amd64', { layer: 'amd' });
      const foreign = await c.pushImage('acme/other', 'x', { layer: 'elsewhere' });
      const entry = (d: { digest: string; size: number }, arch: string) => ({ mediaType: OCI, digest: d.digest, size: d.size, platform: { architecture: arch, os: 'linux' } });
      const index = { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [entry(amd, 'amd64')] };
      const bytes = Buffer.from(JSON.stringify(index));
      assert.equal((await c.putManifest('acme/web', 'multi', bytes, MediaType.OciIndex)).statusCode, 201);
      assert.ok((await c.get('/v2/acme/web/manifests/multi')).rawPayload.equals(bytes));

      const missing = { ...index, manifests: [entry(amd, 'amd64'), entry({ digest: digestOf(Buffer.from('no such manifest')), size: 10 }, 'arm64')] };
      assertError(await c.putManifest('acme/web', 'broken', JSON.stringify(missing), MediaType.OciIndex), 400, 'MANIFEST_BLOB_UNKNOWN');
      const crossRepo = { ...index, manifests: [entry(foreign, 'amd64')] };
      assertError(await c.putManifest('acme/web', 'broken', JSON.stringify(crossRepo), MediaType.OciIndex), 400, 'MANIFEST_BLOB_UNKNOWN');
      assertError(await c.get('/v2/acme/web/manifests/broken'), 404, 'MANIFEST_UNKNOWN');
    });
  });

  test('referenced blobs must be in the repository: MANIFEST_BLOB_UNKNOWN otherwise', async () => {
    await withApp(async (c) => {
      const { manifest, config, layer } = await imageParts(c, 'acme/web');
      const absent = { ...layer, digest: digestOf(Buffer.from('never uploaded')) };
      assertError(await c.putManifest('acme/web', 'a', JSON.stringify({ ...manifest, layers: [layer, absent] }), OCI), 400, 'MANIFEST_BLOB_UNKNOWN');
      assertError(await c.putManifest('acme/web', 'a', JSON.stringify({ ...manifest, config: { ...config, digest: absent.digest } }), OCI), 400, 'MANIFEST_BLOB_UNKNOWN');
      // Linked to another repository only: still unknown here.
      const other = await imageParts(c, 'acme/other', 'other');
      assertError(await c.putManifest('acme/web', 'a', JSON.stringify({ ...manifest, layers: [other.layer] }), OCI), 400, 'MANIFEST_BLOB_UNKNOWN');
      // A descriptor whose size lies about the blob.
      assertError(await c.putManifest('acme/web', 'a', JSON.stringify({ ...manifest, layers: [{ ...layer, size: layer.size + 1 }] }), OCI), 400, 'MANIFEST_INVALID');
      assertError(await c.get('/v2/acme/web/manifests/a'), 404, 'MANIFEST_UNKNOWN');
    });
  });

  test('non-distributable layers with urls need not be uploaded', async () => {
    await withApp(async (c) => {
      const { manifest } = await imageParts(c, 'acme/win');
      const foreign = { mediaType: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip', digest: digestOf(Buffer.from('base')), size: 4, urls: ['https://example.com/base.tgz'] };
      const res = await c.putManifest('acme/win', 'ltsc', JSON.stringify({ ...manifest, layers: [foreign, ...manifest.layers] }), OCI);
      assert.equal(res.statusCode, 201, res.body);
    });
  });

  test('an artifact (artifactType, empty config) is accepted; a missing subject is allowed and echoed in OCI-Subject', async () => {
    await withApp(async (c) => {
      const empty = { mediaType: MediaType.OciEmpty, digest: await c.pushBlob('acme/web', '{}'), size: 2 };
      const sbom = '{"spdxVersion":"SPDX-2.3"}';
      const subject = { mediaType: OCI, digest: digestOf(Buffer.from('image pushed later')), size: 18 };
      const artifact = {
        schemaVersion: 2,
        mediaType: OCI,
        artifactType: 'application/spdx+json',
        config: empty,
        layers: [{ mediaType: 'application/spdx+json', digest: await c.pushBlob('acme/web', sbom), size: sbom.length }],
        subject,
      };
      const bytes = Buffer.from(JSON.stringify(artifact));
      const res = await c.putManifest('acme/web', digestOf(bytes), bytes, OCI);
      assert.equal(res.statusCode, 201, res.body);
      assert.equal(res.headers['oci-subject'], subject.digest);
    });
  });

  test('Docker schema1 is refused as UNSUPPORTED', async () => {
    await withApp(async (c) => {
      const schema1 = { schemaVersion: 1, name: 'acme/web', tag: 'old', architecture: 'amd64', fsLayers: [], history: [], signatures: [] };
      assertError(await c.putManifest('acme/web', 'old', JSON.stringify(schema1), MediaType.DockerSchema1Signed), 415, 'UNSUPPORTED');
      assertError(await c.putManifest('acme/web', 'old', JSON.stringify(schema1), 'application/json'), 415, 'UNSUPPORTED');
    });
  });

  test('malformed or invalid manifests are 400 MANIFEST_INVALID', async () => {
    await withApp(async (c) => {
      const { manifest } = await imageParts(c, 'acme/web');
      for (const body of ['', '{', 'null', '[]', '{"schemaVersion":2}', JSON.stringify({ ...manifest, schemaVersion: 1.5 }), JSON.stringify({ ...manifest, layers: [{ digest: 'x' }] }), '\u0000\u0001']) {
        assertError(await c.putManifest('acme/web', 'bad', body, OCI), 400, 'MANIFEST_INVALID');
      }
      assertError(await c.putManifest('acme/web', 'bad', JSON.stringify({ ...manifest, mediaType: 'text/plain' }), undefined), 400, 'MANIFEST_INVALID');
      assertError(await c.get('/v2/acme/web/manifests/bad'), 404, 'MANIFEST_UNKNOWN');
    });
  });

  test('manifests over 4 MiB are 413, whether declared or streamed; exactly 4 MiB is fine', async () => {
    await withApp(async (c) => {
      const { manifest } = await imageParts(c, 'acme/web');
      const base = JSON.stringify(manifest);
      const limit = 4 * 1024 * 1024;
      const atLimit = Buffer.from(base + ' '.repeat(limit - base.length));
      assert.equal(atLimit.length, limit);
      const ok = await c.putManifest('acme/web', 'big', atLimit, OCI);
      assert.equal(ok.statusCode, 201, ok.body);
      assert.ok((await c.get('/v2/acme/web/manifests/big')).rawPayload.equals(atLimit));

      const over = Buffer.from(base + ' '.repeat(limit - base.length + 1));
      assertError(await c.putManifest('acme/web', 'toobig', over, OCI), 413, 'MANIFEST_INVALID');
      // Streamed without Content-Length: the cap applies while reading.
      const chunks = Array.from({ length: 5 }, () => Buffer.alloc(1024 * 1024, 0x20));
      const res = await c.req({ method: 'PUT', url: '/v2/acme/web/manifests/toobig', headers: { 'content-type': OCI }, body: Readable.from(chunks) });
      assertError(res, 413, 'MANIFEST_INVALID');
      assertError(await c.get('/v2/acme/web/manifests/toobig'), 404, 'MANIFEST_UNKNOWN');
    });
  });

  test('manifests with thousands of descriptors (repeated or distinct) are accepted', async () => {
    await withApp(async (c) => {
      const { config, layer } = await imageParts(c, 'acme/web');
      const repeated = { schemaVersion: 2, mediaType: OCI, config, layers: Array.from({ length: 9000 }, () => layer) };
      const res = await c.putManifest('acme/web', 'repeated', JSON.stringify(repeated), OCI);
      assert.equal(res.statusCode, 201, res.body);

      // Link 9000 distinct blobs directly: validation reads links, not bytes.
      const layers = Array.from({ length: 9000 }, (_, i) => ({ mediaType: 'application/octet-stream', digest: digestOf(Buffer.from(`blob ${i}`)), size: i }));
      await c.wharf.metadata.transaction(async (m) => {
        for (const l of layers) await m.blobLinks.link('acme/web' as RepoName, l.digest, l.size, 1);
      });
      const distinct = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI, config, layers }));
      const put = await c.putManifest('acme/web', 'distinct', distinct, OCI);
      assert.equal(put.statusCode, 201, put.body);
      const child = { mediaType: OCI, digest: digestOf(distinct), size: distinct.length };
      const index = { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: Array.from({ length: 9000 }, () => child) };
      assert.equal((await c.putManifest('acme/web', 'index', JSON.stringify(index), MediaType.OciIndex)).statusCode, 201);
      const missing = { ...index, manifests: [...index.manifests, { mediaType: OCI, digest: digestOf(Buffer.from('absent')), size: 1 }] };
      assertError(await c.putManifest('acme/web', 'index2', JSON.stringify(missing), MediaType.OciIndex), 400, 'MANIFEST_BLOB_UNKNOWN');
    });
  });

  test('an invalid tag in the URL is 400 on PUT and an unknown manifest (404) on GET, HEAD and DELETE', async () => {
    await withApp(async (c) => {
      const { manifest } = await imageParts(c, 'acme/web');
      // The conformance suite reads `.INVALID_MANIFEST_NAME` and expects 404 (spec: "not found ... MUST be 404").
      for (const tag of ['-bad', '.bad', '.INVALID_MANIFEST_NAME', 'a'.repeat(129), 'b%2Bc']) {
        assertError(await c.putManifest('acme/web', tag, JSON.stringify(manifest), OCI), 400, 'MANIFEST_INVALID');
        assertError(await c.get(`/v2/acme/web/manifests/${tag}`), 404, 'MANIFEST_UNKNOWN');
        assert.equal((await c.req({ method: 'HEAD', url: `/v2/acme/web/manifests/${tag}` })).statusCode, 404);
        assertError(await c.req({ method: 'DELETE', url: `/v2/acme/web/manifests/${tag}` }), 404, 'MANIFEST_UNKNOWN');
      }
      // A malformed digest stays a bad request.
      assertError(await c.get('/v2/acme/web/manifests/sha256:totallywrong'), 400, 'DIGEST_INVALID');
    });
  });

  test('unknown manifests are 404 MANIFEST_UNKNOWN, also in unknown repositories', async () => {
    await withApp(async (c) => {
      await c.pushImage('acme/web', 'latest');
      assertError(await c.get('/v2/acme/web/manifests/nope'), 404, 'MANIFEST_UNKNOWN');
      assertError(await c.get(`/v2/acme/web/manifests/${digestOf(Buffer.from('nope'))}`), 404, 'MANIFEST_UNKNOWN');
      assertError(await c.get('/v2/acme/never/manifests/latest'), 404, 'MANIFEST_UNKNOWN');
      assertError(await c.delete('/v2/acme/web/manifests/nope'), 404, 'MANIFEST_UNKNOWN');
      assertError(await c.delete(`/v2/acme/web/manifests/${digestOf(Buffer.from('nope'))}`), 404, 'MANIFEST_UNKNOWN');
    });
  });
});

describe('content negotiation and caching', () => {
  test('Accept decides whether the stored type may be served; it is never converted', async () => {
    await withApp(async (c) => {
      const img = await c.pushImage('acme/web', 'latest');
      const ok = [OCI, `${MediaType.DockerManifest}, ${OCI}`, `${OCI};q=0.5`, '*/*', 'application/*', 'application/json', `${MediaType.DockerManifest},${MediaType.OciIndex}, ${OCI}`];
      for (const accept of ok) {
        const res = await c.get('/v2/acme/web/manifests/latest', { accept });
        assert.equal(res.statusCode, 200, accept);
        assert.equal(res.headers['content-type'], OCI);
        assert.ok(res.rawPayload.equals(img.bytes));
      }
      for (const accept of [MediaType.DockerManifest, `${MediaType.DockerManifest}, ${MediaType.DockerManifestList}`, MediaType.OciIndex]) {
        assertError(await c.get('/v2/acme/web/manifests/latest', { accept }), 404, 'MANIFEST_UNKNOWN');
      }
    });
  });

  test('If-None-Match with the ETag answers 304 on GET and HEAD', async () => {
    await withApp(async (c) => {
      const img = await c.pushImage('acme/web', 'latest');
      for (const etag of [`"${img.digest}"`, img.digest, `"sha256:${'0'.repeat(64)}", "${img.digest}"`]) {
        const res = await c.get('/v2/acme/web/manifests/latest', { 'if-none-match': etag });
        assert.equal(res.statusCode, 304, etag);
        assert.equal(res.body, '');
        assert.equal(res.headers.etag, `"${img.digest}"`);
        assert.equal((await c.head(`/v2/acme/web/manifests/${img.digest}`, { 'if-none-match': etag })).statusCode, 304);
      }
      const stale = await c.get('/v2/acme/web/manifests/latest', { 'if-none-match': `"sha256:${'0'.repeat(64)}"` });
      assert.equal(stale.statusCode, 200);
      assert.ok(stale.rawPayload.equals(img.bytes));
    });
  });
});

describe('pull accounting', () => {
  test('a GET of the manifest counts as a pull; HEAD, 304 and misses do not', async () => {
    await withApp(async (c) => {
      const pulls: string[] = [];
      c.wharf.events.on('manifest.pulled', (e) => {
        pulls.push(`${e.repo}@${e.digest}`);
      });
      const img = await c.pushImage('acme/web', 'latest');
      await c.head('/v2/acme/web/manifests/latest');
      await c.get('/v2/acme/web/manifests/latest', { 'if-none-match': `"${img.digest}"` });
      await c.get('/v2/acme/web/manifests/missing');
      await c.get('/v2/acme/web/manifests/latest', { accept: MediaType.DockerManifest });
      await c.wharf.events.settled();
      assert.deepEqual(pulls, []);
      await c.get('/v2/acme/web/manifests/latest');
      await c.get(`/v2/acme/web/manifests/${img.digest}`);
      await c.wharf.events.settled();
      assert.deepEqual(pulls, [`acme/web@${img.digest}`, `acme/web@${img.digest}`]);
    });
  });
});

describe('tags on PUT and DELETE', () => {
  test('several tags in one PUT with ?tag=', async () => {
    await withApp(async (c) => {
      const { manifest } = await imageParts(c, 'acme/web');
      const bytes = Buffer.from(JSON.stringify(manifest));
      const digest = digestOf(bytes);
      const res = await c.putManifest('acme/web', digest, bytes, OCI, { tag: ['1.0', '1', 'latest'] });
      assert.equal(res.statusCode, 201, res.body);
      for (const tag of ['1.0', '1', 'latest']) {
        assert.equal((await c.get(`/v2/acme/web/manifests/${tag}`)).headers['docker-content-digest'], digest);
      }
      // With a tag in the path as well.
      assert.equal((await c.putManifest('acme/web', 'stable', bytes, OCI, { tag: 'extra' })).statusCode, 201);
      assert.deepEqual((json(await c.get('/v2/acme/web/tags/list')) as { tags: string[] }).tags, ['1', '1.0', 'extra', 'latest', 'stable']);
    });
  });

  test('a PUT with ?tag= answers one OCI-Tag per tag applied (spec, "Pushing manifests with tags")', async () => {
    await withApp(async (c) => {
      const { manifest } = await imageParts(c, 'acme/web');
      const bytes = Buffer.from(JSON.stringify(manifest));
      const digest = digestOf(bytes);
      const ociTags = (res: Res): string[] => {
        const raw = res.headers['oci-tag'];
        const values = raw === undefined ? [] : Array.isArray(raw) ? raw : [String(raw)];
        return values.flatMap((v) => v.split(',')).map((v) => v.trim()).sort();
      };
      const res = await c.putManifest('acme/web', digest, bytes, OCI, { tag: ['1.0', '1', 'latest', '1'] });
      assert.equal(res.statusCode, 201, res.body);
      assert.ok(Array.isArray(res.headers['oci-tag']), 'one header line per tag');
      assert.deepEqual(ociTags(res), ['1', '1.0', 'latest'], 'each tag once');
      // A tag in the path is applied too, so it is named with the parameters' tags.
      const both = await c.putManifest('acme/web', 'stable', bytes, OCI, { tag: 'extra' });
      assert.deepEqual(ociTags(both), ['extra', 'stable']);
      // Without tag parameters there is nothing to report.
      assert.deepEqual(ociTags(await c.putManifest('acme/web', digest, bytes, OCI)), []);
      assert.deepEqual(ociTags(await c.putManifest('acme/web', 'plain', bytes, OCI)), []);
    });
  });

  test('an invalid ?tag= rejects the whole PUT', async () => {
    await withApp(async (c) => {
      const { manifest } = await imageParts(c, 'acme/web');
      const bytes = Buffer.from(JSON.stringify(manifest));
      assertError(await c.putManifest('acme/web', digestOf(bytes), bytes, OCI, { tag: ['ok', '-bad'] }), 400, 'MANIFEST_INVALID');
      assertError(await c.get('/v2/acme/web/manifests/ok'), 404, 'MANIFEST_UNKNOWN');
      assertError(await c.get(`/v2/acme/web/manifests/${digestOf(bytes)}`), 404, 'MANIFEST_UNKNOWN');
    });
  });

  test('re-tagging moves the tag; re-pushing identical bytes is idempotent', async () => {
    await withApp(async (c) => {
      const v1 = await c.pushImage('acme/web', 'latest', { layer: 'v1' });
      const again = await c.putManifest('acme/web', 'latest', v1.bytes, OCI);
      assert.equal(again.statusCode, 201);
      assert.equal(again.headers['docker-content-digest'], v1.digest);
      const v2 = await c.pushImage('acme/web', 'latest', { layer: 'v2' });
      assert.equal((await c.get('/v2/acme/web/manifests/latest')).headers['docker-content-digest'], v2.digest);
      assert.equal((await c.get(`/v2/acme/web/manifests/${v1.digest}`)).statusCode, 200, 'the old manifest stays by digest');
    });
  });

  test('DELETE by tag removes only that tag', async () => {
    await withApp(async (c) => {
      const img = await c.pushImage('acme/web', 'a');
      await c.putManifest('acme/web', 'b', img.bytes, OCI);
      const del = await c.delete('/v2/acme/web/manifests/a');
      assert.equal(del.statusCode, 202);
      assertError(await c.get('/v2/acme/web/manifests/a'), 404, 'MANIFEST_UNKNOWN');
      assert.equal((await c.get('/v2/acme/web/manifests/b')).statusCode, 200);
      assert.equal((await c.get(`/v2/acme/web/manifests/${img.digest}`)).statusCode, 200);
      assertError(await c.delete('/v2/acme/web/manifests/a'), 404, 'MANIFEST_UNKNOWN');
    });
  });

  test('DELETE by digest removes the manifest and every tag on it', async () => {
    await withApp(async (c) => {
      const img = await c.pushImage('acme/web', 'a');
      await c.putManifest('acme/web', 'b', img.bytes, OCI);
      const keep = await c.pushImage('acme/web', 'keep', { layer: 'other' });
      const del = await c.delete(`/v2/acme/web/manifests/${img.digest}`);
      assert.equal(del.statusCode, 202);
      assertError(await c.get(`/v2/acme/web/manifests/${img.digest}`), 404, 'MANIFEST_UNKNOWN');
      assertError(await c.get('/v2/acme/web/manifests/a'), 404, 'MANIFEST_UNKNOWN');
      assertError(await c.head('/v2/acme/web/manifests/b'), 404, 'MANIFEST_UNKNOWN');
      assert.deepEqual((json(await c.get('/v2/acme/web/tags/list')) as { tags: string[] }).tags, ['keep']);
      assert.equal((await c.get(`/v2/acme/web/manifests/${keep.digest}`)).statusCode, 200);
      // The blobs stay linked: the image can be pushed again without re-uploading them.
      assert.equal((await c.putManifest('acme/web', 'a', img.bytes, OCI)).statusCode, 201);
    });
  });
});
