/** Port of conformance/02_push_test.go: the Push workflow. */
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import type { Response } from './client.ts';
import { deleteExpect, putManifest } from './common.ts';
import { client, expectNonEmpty, expectStatus, RunOnlyIf, RunOnlyIfNot, SkipIfDisabled, specify, warn } from './harness.ts';
import {
  chunked,
  configs,
  dummyDigest,
  emptyLayerManifestContent,
  emptyLayerManifestDigest,
  emptyLayerTestTag,
  layerBlobContentLength,
  layerBlobData,
  layerBlobDigest,
  manifestAt,
  nonexistentManifest,
  PUSH,
  settings,
  setupChunkedBlob,
  testBlobA,
  testBlobADigest,
  testBlobALength,
  titlePush,
} from './setup.ts';

const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

export function test02Push(): void {
  describe(titlePush, () => {
    let lastResponse: Response | undefined;
    let prevResponse: Response | undefined;
    let emptyLayerManifestRef = '';
    const config1 = configs[1];
    const manifest1 = manifestAt(1);
    if (config1 === undefined) throw new Error('missing config slot 1');
    const last = (): Response => {
      assert.ok(lastResponse, 'no response from the previous check');
      return lastResponse;
    };
    const prev = (): Response => {
      assert.ok(prevResponse, 'no response from the previous check');
      return prevResponse;
    };
    const openSession = (): Promise<Response> => client.do(client.newRequest('POST', '/v2/<name>/blobs/uploads/').setHeader('Content-Length', '0'));

    describe('Setup', () => {
      // No setup required at this time for push tests
    });

    describe('Blob Upload Streamed', () => {
      specify('PATCH request with blob in body should yield 202 response', async () => {
        SkipIfDisabled(PUSH);
        const post = await client.do(client.newRequest('POST', '/v2/<name>/blobs/uploads/'));
        expectNonEmpty(post.header('Location'), 'Location', post);
        // A streamed upload: no Content-Range, the whole blob in one PATCH.
        const resp = await client.do(client.newRequest('PATCH', post.relativeLocation()).setHeader('Content-Type', 'application/octet-stream').setBody(testBlobA));
        expectStatus(resp, 202);
        lastResponse = resp;
      });

      specify('PUT request to session URL with digest should yield 201 response', async () => {
        SkipIfDisabled(PUSH);
        // No body: the Content-Length header never reaches the wire, net/http sends 0 (client.ts).
        const resp = await client.do(
          client
            .newRequest('PUT', last().relativeLocation())
            .setQueryParam('digest', testBlobADigest)
            .setHeader('Content-Type', 'application/octet-stream')
            .setHeader('Content-Length', testBlobALength),
        );
        expectStatus(resp, 201);
        expectNonEmpty(resp.header('Location'), 'Location', resp);
      });
    });

    describe('Blob Upload Monolithic', () => {
      specify('GET nonexistent blob should result in 404 response', async () => {
        SkipIfDisabled(PUSH);
        expectStatus(await client.do(client.newRequest('GET', '/v2/<name>/blobs/<digest>', { digest: dummyDigest })), 404);
      });

      specify('POST request with digest and blob should yield a 201 or 202', async () => {
        SkipIfDisabled(PUSH);
        const resp = await client.do(
          client
            .newRequest('POST', '/v2/<name>/blobs/uploads/')
            .setHeader('Content-Length', config1.contentLength)
            .setHeader('Content-Type', 'application/octet-stream')
            .setQueryParam('digest', config1.digest)
            .setBody(config1.content),
        );
        expectNonEmpty(resp.header('Location'), 'Location', resp);
        expectStatus(resp, 201, 202);
        lastResponse = resp;
      });

      specify('GET request to blob URL from prior request should yield 200 or 404 based on response code', async () => {
        SkipIfDisabled(PUSH);
        const prior = last();
        const resp = await client.do(client.newRequest('GET', '/v2/<name>/blobs/<digest>', { digest: config1.digest }));
        expectStatus(resp, prior.status === 202 ? 404 : 200);
      });

      specify('POST request should yield a session ID', async () => {
        SkipIfDisabled(PUSH);
        const resp = await client.do(client.newRequest('POST', '/v2/<name>/blobs/uploads/'));
        expectStatus(resp, 202);
        lastResponse = resp;
      });

      specify('PUT upload of a blob should yield a 201 Response', async () => {
        SkipIfDisabled(PUSH);
        const resp = await client.do(
          client
            .newRequest('PUT', last().relativeLocation())
            .setHeader('Content-Length', config1.contentLength)
            .setHeader('Content-Type', 'application/octet-stream')
            .setQueryParam('digest', config1.digest)
            .setBody(config1.content),
        );
        expectNonEmpty(resp.header('Location'), 'Location', resp);
        expectStatus(resp, 201);
      });

      specify('GET request to existing blob should yield 200 response', async () => {
        SkipIfDisabled(PUSH);
        expectStatus(await client.do(client.newRequest('GET', '/v2/<name>/blobs/<digest>', { digest: config1.digest })), 200);
      });

      specify('PUT upload of a layer blob should yield a 201 Response', async () => {
        SkipIfDisabled(PUSH);
        const post = await client.do(client.newRequest('POST', '/v2/<name>/blobs/uploads/'));
        const resp = await client.do(
          client
            .newRequest('PUT', post.relativeLocation())
            .setHeader('Content-Length', layerBlobContentLength)
            .setHeader('Content-Type', 'application/octet-stream')
            .setQueryParam('digest', layerBlobDigest)
            .setBody(layerBlobData),
        );
        expectNonEmpty(resp.header('Location'), 'Location', resp);
        expectStatus(resp, 201);
      });

      specify('GET request to existing layer should yield 200 response', async () => {
        SkipIfDisabled(PUSH);
        expectStatus(await client.do(client.newRequest('GET', '/v2/<name>/blobs/<digest>', { digest: layerBlobDigest })), 200);
      });
    });

    describe('Blob Upload Chunked', () => {
      specify('Out-of-order blob upload should return 416', async () => {
        SkipIfDisabled(PUSH);
        const post = await openSession();
        expectNonEmpty(post.header('Location'), 'Location', post);
        // Rebuild the chunked blob if the registry's minimum chunk is above our chunk size.
        const minSizeStr = post.header('OCI-Chunk-Min-Length');
        if (minSizeStr !== '') {
          const minSize = Number.parseInt(minSizeStr, 10);
          assert.ok(Number.isInteger(minSize), `OCI-Chunk-Min-Length ${minSizeStr}`);
          if (minSize > chunked.current.chunk1.length) chunked.current = setupChunkedBlob(minSize * 2 - 2);
        }
        const b = chunked.current;
        const resp = await client.do(
          client
            .newRequest('PATCH', post.relativeLocation())
            .setHeader('Content-Type', 'application/octet-stream')
            .setHeader('Content-Length', b.chunk2Length)
            .setHeader('Content-Range', b.chunk2Range)
            .setBody(b.chunk2),
        );
        expectStatus(resp, 416);
      });

      specify('PATCH request with first chunk should return 202', async () => {
        SkipIfDisabled(PUSH);
        const post = await openSession();
        expectNonEmpty(post.header('Location'), 'Location', post);
        prevResponse = post;
        const b = chunked.current;
        const resp = await client.do(
          client
            .newRequest('PATCH', post.relativeLocation())
            .setHeader('Content-Type', 'application/octet-stream')
            .setHeader('Content-Length', b.chunk1Length)
            .setHeader('Content-Range', b.chunk1Range)
            .setBody(b.chunk1),
        );
        expectStatus(resp, 202);
        assert.equal(resp.header('Range'), b.chunk1Range, resp.describe());
        lastResponse = resp;
      });

      specify('Retry previous blob chunk should return 416', async () => {
        SkipIfDisabled(PUSH);
        const b = chunked.current;
        const resp = await client.do(
          client
            .newRequest('PATCH', prev().relativeLocation())
            .setHeader('Content-Type', 'application/octet-stream')
            .setHeader('Content-Length', b.chunk1Length)
            .setHeader('Content-Range', b.chunk1Range)
            .setBody(b.chunk1),
        );
        expectStatus(resp, 416);
      });

      specify('Get on stale blob upload should return 204 with a range and location', async () => {
        SkipIfDisabled(PUSH);
        const resp = await client.do(client.newRequest('GET', prev().relativeLocation()));
        expectStatus(resp, 204);
        expectNonEmpty(resp.header('Location'), 'Location', resp);
        assert.equal(resp.header('Range'), chunked.current.chunk1Range, resp.describe());
        lastResponse = resp;
      });

      specify('PATCH request with second chunk should return 202', async () => {
        SkipIfDisabled(PUSH);
        const b = chunked.current;
        const resp = await client.do(
          client
            .newRequest('PATCH', last().relativeLocation())
            .setHeader('Content-Length', b.chunk2Length)
            .setHeader('Content-Range', b.chunk2Range)
            .setHeader('Content-Type', 'application/octet-stream')
            .setBody(b.chunk2),
        );
        expectStatus(resp, 202);
        expectNonEmpty(resp.header('Location'), 'Location', resp);
        lastResponse = resp;
      });

      specify('PUT request with digest should return 201', async () => {
        SkipIfDisabled(PUSH);
        const resp = await client.do(
          client
            .newRequest('PUT', last().relativeLocation())
            .setHeader('Content-Length', '0')
            .setHeader('Content-Type', 'application/octet-stream')
            .setQueryParam('digest', chunked.current.digest),
        );
        expectStatus(resp, 201);
        expectNonEmpty(resp.header('Location'), 'Location', resp);
      });
    });

    describe('Cross-Repository Blob Mount', () => {
      const mountRequest = (digest: string, from?: string) => {
        const req = client.newRequest('POST', '/v2/<name>/blobs/uploads/', { name: settings.crossmountNamespace }).setQueryParam('mount', digest);
        return from === undefined ? req : req.setQueryParam('from', from);
      };

      specify('Cross-mounting of a blob without the from argument should yield session id', async () => {
        SkipIfDisabled(PUSH);
        const resp = await client.do(mountRequest(dummyDigest));
        expectStatus(resp, 202);
        expectNonEmpty(resp.absoluteLocation(), 'Location', resp);
      });

      specify("POST request to mount another repository's blob should return 201 or 202", async () => {
        SkipIfDisabled(PUSH);
        const resp = await client.do(mountRequest(testBlobADigest, client.config.defaultName));
        expectStatus(resp, 201, 202);
        lastResponse = resp;
      });

      specify('GET request to test digest within cross-mount namespace should return 200', async () => {
        SkipIfDisabled(PUSH);
        RunOnlyIf(last().status === 201);
        assert.equal(last().relativeLocation(), `/v2/${settings.crossmountNamespace}/blobs/${testBlobADigest}`);
        expectStatus(await client.do(client.newRequest('GET', last().relativeLocation())), 200);
      });

      specify('Cross-mounting of nonexistent blob should yield session id', async () => {
        SkipIfDisabled(PUSH);
        RunOnlyIf(last().status === 202);
        assert.ok(last().relativeLocation().startsWith(`/v2/${settings.crossmountNamespace}/blobs/uploads/`), last().describe());
      });

      specify('Cross-mounting without from, and automatic content discovery enabled should return a 201', async () => {
        SkipIfDisabled(PUSH);
        RunOnlyIf(settings.runAutomaticCrossmountTest);
        RunOnlyIf(last().status === 201);
        RunOnlyIf(settings.automaticCrossmountEnabled);
        expectStatus(await client.do(mountRequest(testBlobADigest)), 201);
      });

      specify('Cross-mounting without from, and automatic content discovery disabled should return a 202', async () => {
        SkipIfDisabled(PUSH);
        RunOnlyIf(settings.runAutomaticCrossmountTest);
        RunOnlyIf(last().status === 201);
        RunOnlyIfNot(settings.automaticCrossmountEnabled);
        expectStatus(await client.do(mountRequest(testBlobADigest)), 202);
      });
    });

    describe('Manifest Upload', () => {
      specify('GET nonexistent manifest should return 404', async () => {
        SkipIfDisabled(PUSH);
        expectStatus(await client.do(client.newRequest('GET', '/v2/<name>/manifests/<reference>', { reference: nonexistentManifest })), 404);
      });

      specify('PUT should accept a manifest upload', async () => {
        SkipIfDisabled(PUSH);
        for (let i = 0; i < 4; i++) {
          const resp = await putManifest(`test${i}`, manifest1.content);
          expectNonEmpty(resp.header('Location'), 'Location', resp);
          expectStatus(resp, 201);
        }
      });

      specify('Registry should accept a manifest upload with no layers', async () => {
        SkipIfDisabled(PUSH);
        const resp = await putManifest(emptyLayerTestTag, emptyLayerManifestContent);
        if (resp.status === 201) {
          emptyLayerManifestRef = resp.header('Location');
          expectNonEmpty(emptyLayerManifestRef, 'Location', resp);
        } else {
          warn('image manifest with no layers is not supported');
        }
      });

      specify('GET request to manifest URL (digest) should yield 200 response', async () => {
        SkipIfDisabled(PUSH);
        const resp = await client.do(client.newRequest('GET', '/v2/<name>/manifests/<digest>', { digest: manifest1.digest }).setHeader('Accept', MANIFEST));
        expectStatus(resp, 200);
      });
    });

    describe('Teardown', () => {
      const deleteManifests = (): void => {
        specify('Delete manifest created in tests', async () => {
          SkipIfDisabled(PUSH);
          RunOnlyIf(settings.runPushSetup);
          await deleteExpect('manifests', manifest1.digest, '2xx', 405);
          if (emptyLayerManifestRef !== '') await deleteExpect('manifests', emptyLayerManifestDigest, '2xx', 405);
        });
      };
      if (settings.deleteManifestBeforeBlobs) deleteManifests();

      specify('Delete config blob created in tests', async () => {
        SkipIfDisabled(PUSH);
        RunOnlyIf(settings.runPushSetup);
        await deleteExpect('blobs', config1.digest, '2xx', 404, 405);
      });

      specify('Delete layer blob created in setup', async () => {
        SkipIfDisabled(PUSH);
        RunOnlyIf(settings.runPushSetup);
        await deleteExpect('blobs', layerBlobDigest, '2xx', 404, 405);
      });

      if (!settings.deleteManifestBeforeBlobs) deleteManifests();
    });
  });
}
