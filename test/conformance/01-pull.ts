/** Port of conformance/01_pull_test.go: the Pull workflow. */
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { deleteExpect, postThenPut, putManifest } from './common.ts';
import { client, expectHeaderIfPresent, expectStatus, RunOnlyIf, RunOnlyIfNot, SkipIfDisabled, specify } from './harness.ts';
import {
  configs,
  dummyDigest,
  errorCodes,
  invalidManifestContent,
  layerBlobContentLength,
  layerBlobData,
  layerBlobDigest,
  manifestAt,
  nonexistentManifest,
  PULL,
  settings,
  testTagName,
  titlePull,
} from './setup.ts';

const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

export function test01Pull(): void {
  describe(titlePull, () => {
    let tag = '';
    const config0 = configs[0];
    const config1 = configs[1];
    const manifest0 = manifestAt(0);
    const manifest1 = manifestAt(1);
    if (config0 === undefined || config1 === undefined) throw new Error('missing config slots');

    describe('Setup', () => {
      specify('Populate registry with test blob', async () => {
        SkipIfDisabled(PULL);
        RunOnlyIf(settings.runPullSetup);
        expectStatus(await postThenPut(config0.content, config0.digest, config0.contentLength), '2xx');
      });

      specify('Populate registry with test blob', async () => {
        SkipIfDisabled(PULL);
        RunOnlyIf(settings.runPullSetup);
        expectStatus(await postThenPut(config1.content, config1.digest, config1.contentLength), '2xx');
      });

      specify('Populate registry with test layer', async () => {
        SkipIfDisabled(PULL);
        RunOnlyIf(settings.runPullSetup);
        expectStatus(await postThenPut(layerBlobData, layerBlobDigest, layerBlobContentLength), '2xx');
      });

      specify('Populate registry with test manifest', async () => {
        SkipIfDisabled(PULL);
        RunOnlyIf(settings.runPullSetup);
        tag = testTagName;
        expectStatus(await putManifest(tag, manifest0.content), '2xx');
      });

      specify('Populate registry with test manifest', async () => {
        SkipIfDisabled(PULL);
        RunOnlyIf(settings.runPullSetup);
        expectStatus(await putManifest(manifest1.digest, manifest1.content), '2xx');
      });

      specify('Get tag name from environment', async () => {
        SkipIfDisabled(PULL);
        RunOnlyIfNot(settings.runPullSetup);
        if (settings.tagNameFromEnv !== '') tag = settings.tagNameFromEnv;
      });
    });

    describe('Pull blobs', () => {
      specify('HEAD request to nonexistent blob should result in 404 response', async () => {
        SkipIfDisabled(PULL);
        const resp = await client.do(client.newRequest('HEAD', '/v2/<name>/blobs/<digest>', { digest: dummyDigest }));
        expectStatus(resp, 404);
      });

      specify('HEAD request to existing blob should yield 200', async () => {
        SkipIfDisabled(PULL);
        const resp = await client.do(client.newRequest('HEAD', '/v2/<name>/blobs/<digest>', { digest: config0.digest }));
        expectStatus(resp, 200);
        expectHeaderIfPresent(resp, 'Docker-Content-Digest', config0.digest);
      });

      specify('GET nonexistent blob should result in 404 response', async () => {
        SkipIfDisabled(PULL);
        const resp = await client.do(client.newRequest('GET', '/v2/<name>/blobs/<digest>', { digest: dummyDigest }));
        expectStatus(resp, 404);
      });

      specify('GET request to existing blob URL should yield 200', async () => {
        SkipIfDisabled(PULL);
        const resp = await client.do(client.newRequest('GET', '/v2/<name>/blobs/<digest>', { digest: config0.digest }));
        expectStatus(resp, 200);
      });
    });

    describe('Pull manifests', () => {
      specify('HEAD request to nonexistent manifest should return 404', async () => {
        SkipIfDisabled(PULL);
        const resp = await client.do(client.newRequest('HEAD', '/v2/<name>/manifests/<reference>', { reference: nonexistentManifest }));
        expectStatus(resp, 404);
      });

      for (const [i, m] of [manifest0, manifest1].entries()) {
        specify(`HEAD request to manifest[${i}] path (digest) should yield 200 response`, async () => {
          SkipIfDisabled(PULL);
          const resp = await client.do(client.newRequest('HEAD', '/v2/<name>/manifests/<digest>', { digest: m.digest }).setHeader('Accept', MANIFEST));
          expectStatus(resp, 200);
          expectHeaderIfPresent(resp, 'Docker-Content-Digest', m.digest);
        });
      }

      specify('HEAD request to manifest path (tag) should yield 200 response', async () => {
        SkipIfDisabled(PULL);
        assert.notEqual(tag, '', 'no tag (setup did not run)');
        const resp = await client.do(client.newRequest('HEAD', '/v2/<name>/manifests/<reference>', { reference: tag }).setHeader('Accept', MANIFEST));
        expectStatus(resp, 200);
        expectHeaderIfPresent(resp, 'Docker-Content-Digest', manifest0.digest);
      });

      specify('GET nonexistent manifest should return 404', async () => {
        SkipIfDisabled(PULL);
        const resp = await client.do(client.newRequest('GET', '/v2/<name>/manifests/<reference>', { reference: nonexistentManifest }));
        expectStatus(resp, 404);
      });

      for (const [i, m] of [manifest0, manifest1].entries()) {
        specify(`GET request to manifest[${i}] path (digest) should yield 200 response`, async () => {
          SkipIfDisabled(PULL);
          const resp = await client.do(client.newRequest('GET', '/v2/<name>/manifests/<digest>', { digest: m.digest }).setHeader('Accept', MANIFEST));
          expectStatus(resp, 200);
        });
      }

      specify('GET request to manifest path (tag) should yield 200 response', async () => {
        SkipIfDisabled(PULL);
        assert.notEqual(tag, '', 'no tag (setup did not run)');
        const resp = await client.do(client.newRequest('GET', '/v2/<name>/manifests/<reference>', { reference: tag }).setHeader('Accept', MANIFEST));
        expectStatus(resp, 200);
      });
    });

    describe('Error codes', () => {
      specify('400 response body should contain OCI-conforming JSON message', async () => {
        SkipIfDisabled(PULL);
        const resp = await client.do(
          client.newRequest('GET', '/v2/<name>/manifests/<reference>', { reference: 'sha256:totallywrong' }).setHeader('Content-Type', MANIFEST).setBody(invalidManifestContent),
        );
        expectStatus(resp, 400, 404);
        if (resp.status === 400) {
          const errors = resp.errors();
          assert.ok(errors.length > 0, resp.describe());
          assert.ok((errorCodes as readonly string[]).includes(errors[0]?.code ?? ''), resp.describe());
        }
      });
    });

    describe('Teardown', () => {
      const deleteManifests = (): void => {
        for (const [i, m] of [manifest0, manifest1].entries()) {
          specify(`Delete manifest[${i}] created in setup`, async () => {
            SkipIfDisabled(PULL);
            RunOnlyIf(settings.runPullSetup);
            await deleteExpect('manifests', m.digest, '2xx', 405);
          });
        }
      };
      if (settings.deleteManifestBeforeBlobs) deleteManifests();

      for (const [what, digest] of [
        ['config[0] blob', config0.digest],
        ['config[1] blob', config1.digest],
        ['layer blob', layerBlobDigest],
      ] as const) {
        specify(`Delete ${what} created in setup`, async () => {
          SkipIfDisabled(PULL);
          RunOnlyIf(settings.runPullSetup);
          await deleteExpect('blobs', digest, '2xx', 404, 405);
        });
      }

      if (!settings.deleteManifestBeforeBlobs) deleteManifests();
    });
  });
}
