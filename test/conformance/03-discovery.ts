/** Port of conformance/03_discovery_test.go: the Content Discovery workflow (tags, referrers). */
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import type { Response } from './client.ts';
import { postThenPut, putManifest } from './common.ts';
import { client, expectStatus, RunOnlyIf, RunOnlyIfNot, SkipIfDisabled, specify, warn } from './harness.ts';
import {
  artifactTypeFilter,
  configs,
  CONTENT_DISCOVERY,
  dummyDigest,
  emptyJSONBlob,
  emptyJSONDescriptor,
  getTagList,
  layerBlobContentLength,
  layerBlobData,
  layerBlobDigest,
  manifestAt,
  refsIndexArtifactContent,
  refsIndexArtifactDigest,
  refsManifestAConfigArtifactContent,
  refsManifestAConfigArtifactDigest,
  refsManifestALayerArtifactContent,
  refsManifestALayerArtifactDigest,
  refsManifestBConfigArtifactContent,
  refsManifestBConfigArtifactDigest,
  refsManifestBLayerArtifactContent,
  refsManifestBLayerArtifactDigest,
  refsManifestCLayerArtifactContent,
  refsManifestCLayerArtifactDigest,
  settings,
  testAnnotationKey,
  testAnnotationValues,
  testRefArtifactTypeA,
  testRefBlobA,
  testRefBlobADigest,
  testRefBlobALength,
  testRefBlobB,
  testRefBlobBDigest,
  testRefBlobBLength,
  testTagName,
  titleContentDiscovery,
} from './setup.ts';

const INDEX = 'application/vnd.oci.image.index.v1+json';

interface IndexDescriptor {
  digest: string;
  annotations: Record<string, string>;
}

/**
 * json.Unmarshal into the suite's `index` struct: fails on anything that is not an object with
 * a `manifests` array of descriptors (string digest, string-valued annotations).
 */
function decodeIndex(resp: Response): IndexDescriptor[] {
  let parsed: unknown;
  assert.doesNotThrow(() => (parsed = JSON.parse(resp.text())), `referrers body is not JSON: ${resp.describe()}`);
  if (parsed === null) return [];
  assert.ok(typeof parsed === 'object' && !Array.isArray(parsed), resp.describe());
  const manifests = (parsed as { manifests?: unknown }).manifests;
  if (manifests === undefined || manifests === null) return [];
  assert.ok(Array.isArray(manifests), resp.describe());
  return manifests.map((d: unknown) => {
    assert.ok(d !== null && typeof d === 'object' && !Array.isArray(d), resp.describe());
    const { digest, annotations } = d as { digest?: unknown; annotations?: unknown };
    assert.ok(digest === undefined || typeof digest === 'string', resp.describe());
    const notes: Record<string, string> = {};
    if (annotations !== undefined && annotations !== null) {
      assert.ok(typeof annotations === 'object' && !Array.isArray(annotations), resp.describe());
      for (const [k, v] of Object.entries(annotations)) {
        assert.equal(typeof v, 'string', resp.describe());
        notes[k] = v as string;
      }
    }
    return { digest: digest ?? '', annotations: notes };
  });
}

function expectTestAnnotations(index: IndexDescriptor[]): void {
  for (const d of index) {
    assert.equal(Object.keys(d.annotations).length, 1, `annotations of ${d.digest}: ${JSON.stringify(d.annotations)}`);
    assert.equal(d.annotations[testAnnotationKey], testAnnotationValues[d.digest], `annotation of ${d.digest}`);
  }
}

export function test03ContentDiscovery(): void {
  describe(titleContentDiscovery, () => {
    let numTags = 4;
    let tagList: string[] = [];
    const config2 = configs[2];
    const config4 = configs[4];
    if (config2 === undefined || config4 === undefined) throw new Error('missing config slots');
    const manifest2 = manifestAt(2);
    const manifest3 = manifestAt(3);
    const manifest4 = manifestAt(4);
    const referrers = (digest: string) => client.newRequest('GET', '/v2/<name>/referrers/<digest>', { digest });
    const expectSubject = (resp: Response, digest: string): void => {
      expectStatus(resp, '2xx');
      assert.equal(resp.header('OCI-Subject'), digest, `OCI-Subject of ${resp.describe()}`);
    };

    describe('Setup', () => {
      specify('Populate registry with test blob', async () => {
        SkipIfDisabled(CONTENT_DISCOVERY);
        RunOnlyIf(settings.runContentDiscoverySetup);
        expectStatus(await postThenPut(config2.content, config2.digest, config2.contentLength), '2xx');
      });

      specify('Populate registry with test layer', async () => {
        SkipIfDisabled(CONTENT_DISCOVERY);
        RunOnlyIf(settings.runContentDiscoverySetup);
        expectStatus(await postThenPut(layerBlobData, layerBlobDigest, layerBlobContentLength), '2xx');
      });

      specify('Populate registry with test tags', async () => {
        SkipIfDisabled(CONTENT_DISCOVERY);
        RunOnlyIf(settings.runContentDiscoverySetup);
        for (let i = 0; i < numTags; i++) {
          const tag = `test${i}`;
          tagList.push(tag);
          expectStatus(await putManifest(tag, manifest2.content), '2xx');
        }
        tagList = getTagList((await client.do(client.newRequest('GET', '/v2/<name>/tags/list'))).body);
      });

      specify('Populate registry with test tags (no push)', async () => {
        SkipIfDisabled(CONTENT_DISCOVERY);
        RunOnlyIfNot(settings.runContentDiscoverySetup);
        tagList = settings.tagListFromEnv.split(',');
      });

      specify('References setup', async () => {
        SkipIfDisabled(CONTENT_DISCOVERY);
        RunOnlyIf(settings.runContentDiscoverySetup);

        // Populate registry with empty JSON blob; validate the expected empty JSON blob digest
        assert.equal(emptyJSONDescriptor.digest, 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a');
        expectStatus(await postThenPut(emptyJSONBlob, emptyJSONDescriptor.digest, String(emptyJSONDescriptor.size)), '2xx');

        // Populate registry with reference blob before the image manifest is pushed
        expectStatus(await postThenPut(testRefBlobA, testRefBlobADigest, testRefBlobALength), '2xx');

        // Populate registry with test references manifest (config.MediaType = artifactType)
        expectSubject(await putManifest(refsManifestAConfigArtifactDigest, refsManifestAConfigArtifactContent), manifest4.digest);

        // Populate registry with test references manifest (ArtifactType, config.MediaType = emptyJSON)
        expectSubject(await putManifest(refsManifestALayerArtifactDigest, refsManifestALayerArtifactContent), manifest4.digest);

        // Populate registry with test index manifest
        expectSubject(await putManifest(refsIndexArtifactDigest, refsIndexArtifactContent, INDEX), manifest4.digest);

        // Populate registry with test blob
        expectStatus(await postThenPut(config4.content, config4.digest, config4.contentLength), '2xx');

        // Populate registry with test layer
        expectStatus(await postThenPut(layerBlobData, layerBlobDigest, layerBlobContentLength), '2xx');

        // Populate registry with test manifest
        expectStatus(await putManifest(testTagName, manifest4.content), '2xx');

        // Populate registry with reference blob after the image manifest is pushed
        expectStatus(await postThenPut(testRefBlobB, testRefBlobBDigest, testRefBlobBLength), '2xx');

        // Populate registry with test references manifest (config.MediaType = artifactType)
        expectSubject(await putManifest(refsManifestBConfigArtifactDigest, refsManifestBConfigArtifactContent), manifest4.digest);

        // Populate registry with test references manifest (ArtifactType, config.MediaType = emptyJSON)
        expectSubject(await putManifest(refsManifestBLayerArtifactDigest, refsManifestBLayerArtifactContent), manifest4.digest);

        // Populate registry with test references manifest to a non-existent subject
        expectSubject(await putManifest(refsManifestCLayerArtifactDigest, refsManifestCLayerArtifactContent), manifest3.digest);
      });
    });

    describe('Test content discovery endpoints (listing tags)', () => {
      specify('GET request to list tags should yield 200 response', async () => {
        SkipIfDisabled(CONTENT_DISCOVERY);
        const resp = await client.do(client.newRequest('GET', '/v2/<name>/tags/list'));
        expectStatus(resp, 200);
        tagList = getTagList(resp.body);
        numTags = tagList.length;
      });

      specify('GET number of tags should be limitable by `n` query parameter', async () => {
        SkipIfDisabled(CONTENT_DISCOVERY);
        const numResults = Math.trunc(numTags / 2);
        const resp = await client.do(client.newRequest('GET', '/v2/<name>/tags/list').setQueryParam('n', String(numResults)));
        expectStatus(resp, 200);
        tagList = getTagList(resp.body);
        assert.equal(tagList.length, numResults, resp.describe());
      });

      specify('GET start of tag is set by `last` query parameter', async () => {
        SkipIfDisabled(CONTENT_DISCOVERY);
        const numResults = Math.trunc(numTags / 2);
        let resp = await client.do(client.newRequest('GET', '/v2/<name>/tags/list').setQueryParam('n', String(numResults)));
        tagList = getTagList(resp.body);
        const lastTag = tagList[numResults - 1];
        assert.ok(lastTag !== undefined, `index ${numResults - 1} out of range of ${JSON.stringify(tagList)}`); // a Go panic
        resp = await client.do(client.newRequest('GET', '/v2/<name>/tags/list').setQueryParam('n', String(numResults)).setQueryParam('last', lastTag));
        expectStatus(resp, 200);
        // As in Go, these look at the first page's list, not the second response's.
        assert.ok(tagList.length <= numResults);
        assert.ok(tagList.includes(lastTag));
      });
    });

    describe('Test content discovery endpoints (listing references)', () => {
      specify('GET request to nonexistent blob should result in empty 200 response', async () => {
        SkipIfDisabled(CONTENT_DISCOVERY);
        const resp = await client.do(referrers(dummyDigest));
        expectStatus(resp, 200);
        assert.equal(resp.header('Content-Type'), INDEX);
        assert.equal(decodeIndex(resp).length, 0, resp.describe());
      });

      specify('GET request to existing blob should yield 200', async () => {
        SkipIfDisabled(CONTENT_DISCOVERY);
        const resp = await client.do(referrers(manifest4.digest));
        expectStatus(resp, 200);
        assert.equal(resp.header('Content-Type'), INDEX);
        const index = decodeIndex(resp);
        assert.equal(index.length, 5, resp.describe());
        assert.notEqual(index[0]?.digest, index[1]?.digest);
        expectTestAnnotations(index);
      });

      specify('GET request to existing blob with filter should yield 200', async () => {
        SkipIfDisabled(CONTENT_DISCOVERY);
        const resp = await client.do(referrers(manifest4.digest).setQueryParam('artifactType', testRefArtifactTypeA));
        expectStatus(resp, 200);
        assert.equal(resp.header('Content-Type'), INDEX);
        const index = decodeIndex(resp);
        // OCI-Filters-Applied: artifactType denotes that the filter was applied.
        if (resp.header('OCI-Filters-Applied') !== '') {
          assert.equal(index.length, 2, resp.describe());
          assert.equal(resp.header('OCI-Filters-Applied'), artifactTypeFilter);
        } else {
          assert.equal(index.length, 5, resp.describe());
          warn('filtering by artifact-type is not implemented');
        }
        expectTestAnnotations(index);
      });

      specify('GET request to missing manifest should yield 200', async () => {
        SkipIfDisabled(CONTENT_DISCOVERY);
        const resp = await client.do(referrers(manifest3.digest));
        expectStatus(resp, 200);
        assert.equal(resp.header('Content-Type'), INDEX);
        const index = decodeIndex(resp);
        assert.equal(index.length, 1, resp.describe());
        assert.equal(index[0]?.digest, refsManifestCLayerArtifactDigest);
      });
    });

    describe('Teardown', () => {
      const references = [
        refsIndexArtifactDigest,
        manifest2.digest,
        manifest4.digest,
        refsManifestAConfigArtifactDigest,
        refsManifestALayerArtifactDigest,
        testTagName,
        refsManifestBConfigArtifactDigest,
        refsManifestBLayerArtifactDigest,
        refsManifestCLayerArtifactDigest,
      ];
      const deleteAny = async (kind: 'manifests' | 'blobs', ref: string): Promise<void> => {
        const resp = await client.do(client.newRequest('DELETE', `/v2/<name>/${kind}/<digest>`, { digest: ref }));
        expectStatus(resp, '2xx', 405, 404);
      };
      const deleteManifests = (): void => {
        specify('Delete created manifest & associated tags', async () => {
          SkipIfDisabled(CONTENT_DISCOVERY);
          RunOnlyIf(settings.runContentDiscoverySetup);
          for (const ref of references) await deleteAny('manifests', ref);
        });
      };
      if (settings.deleteManifestBeforeBlobs) deleteManifests();

      specify('Delete config blob created in tests', async () => {
        SkipIfDisabled(CONTENT_DISCOVERY);
        RunOnlyIf(settings.runContentDiscoverySetup);
        const resp = await client.do(client.newRequest('DELETE', '/v2/<name>/blobs/<digest>', { digest: config2.digest }));
        expectStatus(resp, '2xx', 405);
      });

      specify('Delete layer blob created in setup', async () => {
        SkipIfDisabled(CONTENT_DISCOVERY);
        RunOnlyIf(settings.runContentDiscoverySetup);
        const resp = await client.do(client.newRequest('DELETE', '/v2/<name>/blobs/<digest>', { digest: layerBlobDigest }));
        expectStatus(resp, '2xx', 405);
      });

      if (!settings.deleteManifestBeforeBlobs) deleteManifests();

      specify('References teardown', async () => {
        SkipIfDisabled(CONTENT_DISCOVERY);
        RunOnlyIf(settings.runContentDiscoverySetup);
        const referrerManifests = [
          refsIndexArtifactDigest,
          refsManifestAConfigArtifactDigest,
          refsManifestALayerArtifactDigest,
          manifest4.digest,
          refsManifestBConfigArtifactDigest,
          refsManifestBLayerArtifactDigest,
        ];
        if (settings.deleteManifestBeforeBlobs) for (const ref of referrerManifests) await deleteAny('manifests', ref);
        // Delete config blob created in setup
        await deleteAny('blobs', config4.digest);
        // Delete reference blobs created in setup
        await deleteAny('blobs', testRefBlobADigest);
        await deleteAny('blobs', testRefBlobBDigest);
        // Delete empty JSON blob created in setup
        await deleteAny('blobs', emptyJSONDescriptor.digest);
        // Delete manifests created in setup
        if (!settings.deleteManifestBeforeBlobs) for (const ref of referrerManifests) await deleteAny('manifests', ref);
      });
    });
  });
}
