/** Port of conformance/04_management_test.go: the Content Management workflow (deletes). */
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { postThenPut, putManifest } from './common.ts';
import { client, expectStatus, RunOnlyIf, SkipIfDisabled, specify } from './harness.ts';
import { CONTENT_MANAGEMENT, configs, getTagList, layerBlobContentLength, layerBlobData, layerBlobDigest, manifestAt, settings, titleContentManagement } from './setup.ts';

/** TagList decoding that, like json.Unmarshal in the Go check, must succeed. */
function strictTagCount(body: Buffer, what: string): number {
  let parsed: unknown;
  assert.doesNotThrow(() => (parsed = JSON.parse(body.toString('utf8'))), `${what}: tag list is not JSON`);
  assert.ok(parsed === null || (typeof parsed === 'object' && !Array.isArray(parsed)), `${what}: tag list is not an object`);
  return getTagList(body).length;
}

export function test04ContentManagement(): void {
  describe(titleContentManagement, () => {
    const defaultTagName = 'tagtest0';
    let tagToDelete = '';
    let numTags = 0;
    let blobDeleteAllowed = true;
    const config3 = configs[3];
    if (config3 === undefined) throw new Error('missing config slot 3');
    const manifest3 = manifestAt(3);

    describe('Setup', () => {
      specify('Populate registry with test config blob', async () => {
        SkipIfDisabled(CONTENT_MANAGEMENT);
        RunOnlyIf(settings.runContentManagementSetup);
        expectStatus(await postThenPut(config3.content, config3.digest, config3.contentLength), '2xx');
      });

      specify('Populate registry with test layer', async () => {
        SkipIfDisabled(CONTENT_MANAGEMENT);
        RunOnlyIf(settings.runContentManagementSetup);
        expectStatus(await postThenPut(layerBlobData, layerBlobDigest, layerBlobContentLength), '2xx');
      });

      specify('Populate registry with test tag', async () => {
        SkipIfDisabled(CONTENT_MANAGEMENT);
        RunOnlyIf(settings.runContentManagementSetup);
        tagToDelete = defaultTagName;
        expectStatus(await putManifest(tagToDelete, manifest3.content), '2xx');
      });

      specify('Check how many tags there are before anything gets deleted', async () => {
        SkipIfDisabled(CONTENT_MANAGEMENT);
        RunOnlyIf(settings.runContentManagementSetup);
        const resp = await client.do(client.newRequest('GET', '/v2/<name>/tags/list'));
        expectStatus(resp, 200);
        numTags = strictTagCount(resp.body, resp.describe());
      });
    });

    describe('Manifest delete', () => {
      specify('DELETE request to manifest tag should return 202, unless tag deletion is disallowed (400/405)', async () => {
        SkipIfDisabled(CONTENT_MANAGEMENT);
        const resp = await client.do(client.newRequest('DELETE', '/v2/<name>/manifests/<reference>', { reference: tagToDelete }));
        expectStatus(resp, 400, 202, 405);
        if (resp.status === 400) {
          const errors = resp.errors();
          assert.ok(errors.length > 0, resp.describe());
          assert.equal(errors[0]?.code, 'UNSUPPORTED', resp.describe());
        }
      });

      specify('DELETE request to manifest (digest) should yield 202 response unless already deleted', async () => {
        SkipIfDisabled(CONTENT_MANAGEMENT);
        // In the case that the previous request was accepted, this may or may not fail (which is ok)
        const resp = await client.do(client.newRequest('DELETE', '/v2/<name>/manifests/<digest>', { digest: manifest3.digest }));
        expectStatus(resp, 202, 404);
      });

      specify('GET request to deleted manifest URL should yield 404 response, unless delete is disallowed', async () => {
        SkipIfDisabled(CONTENT_MANAGEMENT);
        const resp = await client.do(client.newRequest('GET', '/v2/<name>/manifests/<digest>', { digest: manifest3.digest }));
        expectStatus(resp, 404, 200);
      });

      specify('GET request to tags list should reflect manifest deletion', async () => {
        SkipIfDisabled(CONTENT_MANAGEMENT);
        const resp = await client.do(client.newRequest('GET', '/v2/<name>/tags/list'));
        expectStatus(resp, 200);
        assert.ok(strictTagCount(resp.body, resp.describe()) < numTags, `expected fewer than ${numTags} tags: ${resp.describe()}`);
      });
    });

    describe('Blob delete', () => {
      specify('DELETE request to blob URL should yield 202 response', async () => {
        SkipIfDisabled(CONTENT_MANAGEMENT);
        RunOnlyIf(settings.runContentManagementSetup);
        // config blob
        let resp = await client.do(client.newRequest('DELETE', '/v2/<name>/blobs/<digest>', { digest: config3.digest }));
        expectStatus(resp, 202, 404, 405);
        // layer blob
        resp = await client.do(client.newRequest('DELETE', '/v2/<name>/blobs/<digest>', { digest: layerBlobDigest }));
        expectStatus(resp, 202, 404, 405);
        if (resp.status === 405) blobDeleteAllowed = false;
      });

      specify('GET request to deleted blob URL should yield 404 response', async () => {
        SkipIfDisabled(CONTENT_MANAGEMENT);
        RunOnlyIf(settings.runContentManagementSetup);
        RunOnlyIf(blobDeleteAllowed);
        expectStatus(await client.do(client.newRequest('GET', '/v2/<name>/blobs/<digest>', { digest: config3.digest })), 404);
      });
    });

    describe('Teardown', () => {
      // TODO (upstream): delete blob+tag? No teardown required at this time for content management tests.
    });
  });
}
