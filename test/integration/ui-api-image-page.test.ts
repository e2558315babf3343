/**
 * The image page's API: which tag is "latest" (the `latest` tag, else the highest stable semver,
 * else the newest push), tags that point at a platform image of an index, versions a page at a
 * time with a tag filter, who pushed each version, and one image's labels and layers.
 * Runs on both profiles (WHARF_TEST_PROFILE=scale: S3 + PostgreSQL).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ImageView, PackageView } from '../../src/services/package-views.ts';
import { createUser, expect, json, OCI_MANIFEST, packageUrl, pushImage, pushIndex, type UiApp, startUiApp } from './ui-api-support.ts';

describe('image page API', () => {
  let app: UiApp;
  let alice: string;
  let mallory: string;

  const view = async (repo: string, query = '', auth = alice) => {
    const res = await app.req({ url: packageUrl(repo, `/view${query}`), auth });
    expect(res, 200, `view ${repo}${query}`);
    return json<PackageView>(res);
  };

  before(async () => {
    app = await startUiApp();
    alice = (await createUser(app, 'alice')).auth;
    mallory = (await createUser(app, 'mallory')).auth;
  });
  after(() => app.close());

  test('latest is the highest stable semver tag, not the newest push nor a pre-release; a latest tag wins', async () => {
    for (const tag of ['1.9.2', '1.10.0', '2.0.0-rc.1', 'main']) {
      await pushImage(app, alice, 'alice/semver', tag, { labels: { version: tag } });
      app.clock.advance(1000);
    }
    const v = await view('alice/semver');
    assert.equal(v.latest, '1.10.0');
    assert.match(v.commands?.podman ?? '', /alice\/semver:1\.10\.0$/);
    assert.equal(v.image?.labels['version'], '1.10.0', 'the details come from the latest version');
    const prerelease = v.versions.find((x) => x.tags.includes('2.0.0-rc.1'));
    assert.ok(prerelease, 'the pre-release is listed');
    await pushImage(app, alice, 'alice/semver', 'latest', { labels: { version: 'latest' } });
    assert.equal((await view('alice/semver')).latest, 'latest');
  });

  test('without semver tags, latest is a tag of the newest push', async () => {
    await pushImage(app, alice, 'alice/plain', 'old');
    app.clock.advance(1000);
    await pushImage(app, alice, 'alice/plain', 'new');
    assert.equal((await view('alice/plain')).latest, 'new');
  });

  test('tags on a platform image of an index are shown under that platform and found by the filter', async () => {
    const index = await pushIndex(app, alice, 'alice/multi', '3.0');
    const arm = index.children[1];
    assert.ok(arm);
    // Tag the arm64 image itself, as `podman push --platform` users or tooling do.
    expect(await app.req({ method: 'PUT', url: '/v2/alice/multi/manifests/3.0-arm64-only', auth: alice, headers: { 'content-type': OCI_MANIFEST }, payload: arm.manifest }), 201, 'tag child');
    await app.wharf.events.settled();
    const v = await view('alice/multi');
    assert.equal(v.totalVersions, 1, 'the child is not a version of its own');
    const top = v.versions[0];
    assert.equal(top?.digest, index.digest);
    assert.equal(top?.pushedBy, 'alice');
    const armPlatform = top?.platforms.find((p) => p.architecture === 'arm64');
    assert.deepEqual(armPlatform?.tags, ['3.0-arm64-only']);
    assert.equal(armPlatform?.files.length, 1);
    assert.equal(armPlatform?.files[0]?.size, 3000);
    const found = await view('alice/multi', '?tag=arm64-only');
    assert.equal(found.matchingVersions, 1);
    assert.equal(found.versions[0]?.digest, index.digest);
    assert.equal((await view('alice/multi', '?tag=nothing-like-it')).versions.length, 0);

    // One platform's labels and layers.
    const img = await app.req({ url: packageUrl('alice/multi', `/images/${arm.digest}`), auth: alice });
    expect(img, 200, 'image view');
    const iv = json<ImageView>(img);
    assert.equal(iv.architecture, 'arm64');
    assert.equal(iv.layers[0]?.size, 3000);
    assert.ok(iv.size > 3000);
    expect(await app.req({ url: packageUrl('alice/multi', `/images/${arm.digest}`), auth: mallory }), 404, 'private: another user sees nothing', 'NOT_FOUND');
    expect(await app.req({ url: packageUrl('alice/multi', `/images/sha256:${'0'.repeat(64)}`), auth: alice }), 404, 'unknown digest', 'NOT_FOUND');
    expect(await app.req({ url: packageUrl('alice/multi', '/images/not-a-digest'), auth: alice }), 400, 'malformed digest');
  });

  test('a tag on a platform image can be deleted from the page (delete permission), the image stays', async () => {
    const url = packageUrl('alice/multi', '/tags/3.0-arm64-only');
    expect(await app.req({ method: 'DELETE', url, auth: mallory }), 404, 'a stranger', 'NOT_FOUND');
    expect(await app.req({ method: 'DELETE', url, auth: alice }), 204, 'delete the tag');
    const v = await view('alice/multi');
    assert.deepEqual(v.versions[0]?.platforms.find((p) => p.architecture === 'arm64')?.tags, []);
    assert.equal(v.versions[0]?.platforms.length, 2, 'the platform image is still there');
    expect(await app.req({ method: 'DELETE', url, auth: alice }), 404, 'already gone', 'NOT_FOUND');
    expect(await app.req({ method: 'DELETE', url: packageUrl('alice/multi', '/tags/3.0-arm64-only'), auth: undefined }), 401, 'anonymous');
  });

  test('versions come a page at a time, beyond 100', async () => {
    for (let i = 0; i < 105; i++) {
      await pushImage(app, alice, 'alice/many', `build-${i}`, { layerBytes: 40 });
      app.clock.advance(1000);
    }
    const first = await view('alice/many', '?perPage=100');
    assert.equal(first.totalVersions, 105);
    assert.equal(first.versions.length, 100);
    assert.equal(first.versions[0]?.tags[0], 'build-104', 'newest first');
    const second = await view('alice/many', '?perPage=100&page=2');
    assert.deepEqual(
      second.versions.map((v) => v.tags[0]),
      ['build-4', 'build-3', 'build-2', 'build-1', 'build-0'],
    );
    const filtered = await view('alice/many', '?tag=build-10');
    assert.deepEqual(filtered.versions.map((v) => v.tags[0]).sort(), ['build-10', 'build-100', 'build-101', 'build-102', 'build-103', 'build-104']);
    expect(await app.req({ url: packageUrl('alice/many', '/view?perPage=1000'), auth: alice }), 400, 'page size capped');
  });
});
