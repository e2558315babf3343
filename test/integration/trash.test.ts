/**
 * The trash (ADR 0010) through the real HTTP surfaces: a version or package deleted from the API
 * disappears from pulls, tags, the catalog, referrers, lists and the chart index, its name stays
 * reserved, and it comes back whole on restore; purges (on demand and on expiry) delete the rows
 * through the hard-delete path and are audited. Runs on both profiles (test/scale/integration-profile).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { injectHttp, pushChart } from '../helpers/charts.ts';
import type { Digest } from '../../src/oci/digest.ts';
import type { RepoName } from '../../src/oci/name.ts';
import {
  adminAuth,
  createUser,
  expect,
  json,
  OCI_INDEX,
  OCI_MANIFEST,
  packageUrl,
  pushImage,
  pushIndex,
  pushReferrer,
  startUiApp,
  type UiApp,
} from './ui-api-support.ts';

interface Entry {
  id: string;
  kind: 'package' | 'version';
  package: string;
  digest: string | null;
  tags: string[];
  manifests: number;
  bytes: number;
  expiresAt: string;
}

interface Restored {
  entry: Entry;
  restoredTags: string[];
  keptTags: { name: string; digest: string }[];
}

const DAY = 86_400_000;

describe('trash', () => {
  let app: UiApp;
  let alice: { auth: string };
  let bob: { auth: string };

  before(async () => {
    app = await startUiApp();
    alice = await createUser(app, 'alice');
    bob = await createUser(app, 'bob');
  });
  after(() => app.close());

  const get = (url: string, auth = alice.auth) => app.req({ url, auth });
  const pull = (repo: string, ref: string, auth = alice.auth) =>
    app.req({ url: `/v2/${repo}/manifests/${ref}`, auth, headers: { accept: `${OCI_MANIFEST}, ${OCI_INDEX}` } });
  const trashVersion = async (repo: string, digest: string): Promise<Entry> => {
    const res = await app.req({ method: 'DELETE', url: packageUrl(repo, `/versions/${digest}`), auth: alice.auth });
    expect(res, 200, `trash ${repo}@${digest}`);
    return json<Entry>(res);
  };
  const restore = async (id: string): Promise<Restored> => {
    const res = await app.req({ method: 'POST', url: `/api/v1/trash/${id}/restore`, auth: alice.auth });
    expect(res, 200, `restore ${id}`);
    return json<Restored>(res);
  };
  const tags = async (repo: string): Promise<string[]> => json<{ tags: string[] }>(await get(`/v2/${repo}/tags/list`)).tags;

  test('a trashed version disappears from pulls, tags, referrers and lists, and comes back whole', async () => {
    const repo = 'alice/web';
    const v1 = await pushImage(app, alice.auth, repo, '1.0');
    const v2 = await pushImage(app, alice.auth, repo, '2.0');
    const sig = await pushReferrer(app, alice.auth, repo, v1, 'application/vnd.dev.cosign.signature', 'sig');

    const entry = await trashVersion(repo, v1.digest);
    assert.equal(entry.kind, 'version');
    assert.deepEqual(entry.tags, ['1.0']);
    assert.equal(entry.manifests, 2, 'the signature follows its subject');
    assert.ok(entry.bytes > v1.size, 'size counts the version and its signature');
    assert.equal(new Date(entry.expiresAt).getTime() - app.clock.now, 30 * DAY, 'kept trash.days (30)');

    expect(await pull(repo, '1.0'), 404, 'pull by tag', 'MANIFEST_UNKNOWN');
    expect(await pull(repo, v1.digest), 404, 'pull by digest', 'MANIFEST_UNKNOWN');
    expect(await pull(repo, sig), 404, 'the signature by digest', 'MANIFEST_UNKNOWN');
    expect(await app.req({ method: 'HEAD', url: `/v2/${repo}/manifests/${v1.digest}`, auth: alice.auth }), 404, 'HEAD by digest');
    expect(await pull(repo, '2.0'), 200, 'the other version still pulls');
    assert.deepEqual(await tags(repo), ['2.0']);
    assert.equal(json<{ manifests: unknown[] }>(await get(`/v2/${repo}/referrers/${v1.digest}`)).manifests.length, 0, 'no referrers');
    const view = json<{ versions: { digest: string }[]; totalVersions: number }>(await get(packageUrl(repo, '/view')));
    assert.deepEqual(view.versions.map((v) => v.digest), [v2.digest]);
    const owner = json<{ packages: { name: string; versions: number }[] }>(await get('/api/v1/owners/alice/package-views'));
    assert.equal(owner.packages.find((p) => p.name === repo)?.versions, 1);
    expect(await app.req({ method: 'DELETE', url: `/v2/${repo}/manifests/${v1.digest}`, auth: alice.auth }), 404, '/v2 DELETE of a trashed digest', 'MANIFEST_UNKNOWN');

    // Pushing the same manifest again is refused with the way out.
    const again = await app.req({ method: 'PUT', url: `/v2/${repo}/manifests/1.0`, auth: alice.auth, headers: { 'content-type': OCI_MANIFEST }, payload: v1.manifest });
    expect(again, 403, 'push of a trashed digest', 'DENIED');
    assert.match(again.body, new RegExp(`is in the trash.*wharf trash restore ${entry.id}.*wharf trash purge ${entry.id}`));

    const listed = json<Entry[]>(await get('/api/v1/owners/alice/trash'));
    assert.deepEqual(listed.map((e) => e.id), [entry.id]);
    assert.deepEqual(json<Entry[]>(await get('/api/v1/owners/alice/trash', bob.auth)), [], 'bob sees none of it');
    expect(await app.req({ method: 'POST', url: `/api/v1/trash/${entry.id}/restore`, auth: bob.auth }), 404, 'bob cannot restore', 'NOT_FOUND');

    const back = await restore(entry.id);
    assert.deepEqual(back.restoredTags, ['1.0']);
    assert.deepEqual(back.keptTags, []);
    const pulled = await pull(repo, '1.0');
    expect(pulled, 200, 'pull by tag after restore');
    assert.equal(pulled.headers['docker-content-digest'], v1.digest);
    expect(await pull(repo, sig), 200, 'the signature is back');
    assert.equal(json<{ manifests: unknown[] }>(await get(`/v2/${repo}/referrers/${v1.digest}`)).manifests.length, 1);
    assert.deepEqual(await tags(repo), ['1.0', '2.0']);
    assert.deepEqual(json<Entry[]>(await get('/api/v1/owners/alice/trash')), []);

    const audit = json<{ action: string; detail: Record<string, unknown> }[]>(await app.req({ url: '/api/v1/audit?target=alice%2Fweb', auth: adminAuth() }));
    assert.ok(audit.some((a) => a.action === 'package.version.trash' && a.detail['trash'] === entry.id));
    assert.ok(audit.some((a) => a.action === 'trash.restore' && a.detail['trash'] === entry.id));
  });

  test('a tag re-used while its version was in the trash stays with the newer version', async () => {
    const repo = 'alice/retag';
    const old = await pushImage(app, alice.auth, repo, 'stable');
    const entry = await trashVersion(repo, old.digest);
    const newer = await pushImage(app, alice.auth, repo, 'stable', { layerBytes: 1200 });
    const back = await restore(entry.id);
    assert.deepEqual(back.restoredTags, []);
    assert.deepEqual(back.keptTags, [{ name: 'stable', digest: newer.digest }]);
    assert.equal((await pull(repo, 'stable')).headers['docker-content-digest'], newer.digest);
    expect(await pull(repo, old.digest), 200, 'the restored version pulls by digest');
  });

  test('an index takes its platform manifests along unless another index lists them; a listed child is refused', async () => {
    const repo = 'alice/multi';
    const idx = await pushIndex(app, alice.auth, repo, '1.0');
    const [amd, arm] = idx.children;
    assert.ok(amd && arm);
    const refused = await app.req({ method: 'DELETE', url: packageUrl(repo, `/versions/${amd.digest}`), auth: alice.auth });
    expect(refused, 409, 'trash a child of a live index', 'CONFLICT');
    assert.match(refused.body, new RegExp(`listed by index ${idx.digest} \\(1\\.0\\)`));

    // A second index shares the amd64 manifest.
    const other = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: amd.digest, size: amd.manifest.length, platform: { os: 'linux', architecture: 'amd64' } }] }));
    expect(await app.req({ method: 'PUT', url: `/v2/${repo}/manifests/amd-only`, auth: alice.auth, headers: { 'content-type': OCI_INDEX }, payload: other }), 201, 'push second index');

    const entry = await trashVersion(repo, idx.digest);
    assert.equal(entry.manifests, 2, 'the index and its arm64 child; amd64 stays for the other index');
    expect(await pull(repo, '1.0'), 404, 'index tag', 'MANIFEST_UNKNOWN');
    expect(await pull(repo, arm.digest), 404, 'its own child', 'MANIFEST_UNKNOWN');
    expect(await pull(repo, amd.digest), 200, 'the shared child');
    expect(await pull(repo, 'amd-only'), 200, 'the other index');

    await restore(entry.id);
    expect(await pull(repo, '1.0'), 200, 'index after restore');
    expect(await pull(repo, arm.digest), 200, 'child after restore');
  });

  test('a trashed package: invisible, its name reserved, versions inside wait for it, restore brings all back', async () => {
    const repo = 'alice/api';
    const v1 = await pushImage(app, alice.auth, repo, '1.0');
    await pushImage(app, alice.auth, repo, '2.0');
    const versionEntry = await trashVersion(repo, v1.digest);
    const res = await app.req({ method: 'DELETE', url: packageUrl(repo), auth: alice.auth });
    expect(res, 200, 'trash the package');
    const pkgEntry = json<Entry>(res);
    assert.equal(pkgEntry.kind, 'package');
    assert.deepEqual(pkgEntry.tags, ['2.0']);

    expect(await pull(repo, '2.0'), 404, 'pull', 'MANIFEST_UNKNOWN');
    expect(await get(`/v2/${repo}/tags/list`), 404, 'tag list', 'NAME_UNKNOWN');
    expect(await get(`/v2/${repo}/blobs/${v1.configDigest}`), 404, 'blob', 'BLOB_UNKNOWN');
    const catalog = json<{ repositories: string[] }>(await app.req({ url: '/v2/_catalog', auth: adminAuth() }));
    assert.ok(!catalog.repositories.includes(repo), 'not in the catalog');
    assert.ok(!json<{ packages: { name: string }[] }>(await get('/api/v1/owners/alice/package-views')).packages.some((p) => p.name === repo));
    expect(await get(packageUrl(repo, '/view')), 404, 'package page');

    // The name stays reserved: any push is refused before uploading a byte, saying how to get it back.
    const push = await app.req({ method: 'POST', url: `/v2/${repo}/blobs/uploads/`, auth: alice.auth });
    expect(push, 403, 'upload into a trashed package', 'DENIED');
    assert.match(push.body, new RegExp(`package ${repo} is in the trash.*wharf trash restore ${pkgEntry.id}`));

    const early = await app.req({ method: 'POST', url: `/api/v1/trash/${versionEntry.id}/restore`, auth: alice.auth });
    expect(early, 409, 'restore a version of a trashed package', 'CONFLICT');
    assert.match(early.body, new RegExp(`restore it first \\(entry ${pkgEntry.id}\\)`));

    const back = await restore(pkgEntry.id);
    assert.deepEqual(back.restoredTags, ['2.0']);
    expect(await pull(repo, '2.0'), 200, 'pull after restore');
    expect(await pull(repo, '1.0'), 404, 'the version trashed before stays in the trash', 'MANIFEST_UNKNOWN');
    await restore(versionEntry.id);
    expect(await pull(repo, '1.0'), 200, 'and comes back on its own restore');
  });

  test('a purge deletes the rows through the hard-delete path; the bytes stay until then', async () => {
    const repo = 'alice/purge' as RepoName;
    const v = await pushImage(app, alice.auth, repo, '1.0', { layerBytes: 4096 });
    const entry = await trashVersion(repo, v.digest);
    const m = app.wharf.metadata;
    assert.equal(await m.manifests.state(repo, v.digest as Digest), 'trashed', 'the row stays while in the trash');
    assert.ok(await app.wharf.registry.blob(repo, v.configDigest as Digest), 'its blobs stay readable through the live package');

    const res = await app.req({ method: 'DELETE', url: `/api/v1/trash/${entry.id}`, auth: alice.auth });
    expect(res, 200, 'purge');
    assert.deepEqual(json(res), { entries: 1, manifests: 1, packages: 0 });
    assert.equal(await m.manifests.state(repo, v.digest as Digest), null, 'the manifest row is gone');
    assert.equal((await m.manifests.childManifests(repo, [v.digest as Digest])).length, 0);
    expect(await get(`/api/v1/trash/${entry.id}`), 404, 'entry gone', 'NOT_FOUND');
    // A re-push works again (as after a /v2 DELETE).
    expect(await app.req({ method: 'PUT', url: `/v2/${repo}/manifests/1.0`, auth: alice.auth, headers: { 'content-type': OCI_MANIFEST }, payload: v.manifest }), 201, 're-push after purge');
  });

  test('expired entries are purged by the trash.purge job, audited, and a purged package frees its name', async () => {
    const repo = 'alice/old';
    await pushImage(app, alice.auth, repo, '1.0');
    const res = await app.req({ method: 'DELETE', url: packageUrl(repo), auth: alice.auth });
    const entry = json<Entry>(res);
    expect(await app.req({ method: 'POST', url: '/api/v1/admin/trash/purge', auth: alice.auth }), 403, 'site admins only', 'DENIED');
    const early = json<{ status: string; summary: { entries: number } }>(await app.req({ method: 'POST', url: '/api/v1/admin/trash/purge', auth: adminAuth() }));
    assert.equal(early.status, 'succeeded');
    assert.equal(early.summary.entries, 0, 'nothing is due yet');
    expect(await get(`/api/v1/trash/${entry.id}`), 200, 'still there');

    app.clock.advance(30 * DAY + 1);
    // With the clock 30 days on, the server's own schedule may start trash.purge at the same
    // moment and hold its lease ("busy"): ask again until this request's run is the one.
    type PurgeRun = { status: string; runId: string; summary: { entries: number; packages: number } };
    let run = json<PurgeRun>(await app.req({ method: 'POST', url: '/api/v1/admin/trash/purge', auth: adminAuth() }));
    for (let i = 0; i < 300 && run.status === 'busy'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      run = json<PurgeRun>(await app.req({ method: 'POST', url: '/api/v1/admin/trash/purge', auth: adminAuth() }));
    }
    assert.equal(run.status, 'succeeded');
    expect(await get(`/api/v1/trash/${entry.id}`), 404, 'purged', 'NOT_FOUND');
    const runs = await app.wharf.metadata.jobRuns.list('trash.purge', { limit: 10 });
    assert.ok(runs.some((r) => r.id === run.runId && r.status === 'succeeded' && r.trigger === 'api'));
    // The scheduled run may have finished first and found the entry due; exactly one run purged it.
    const purged = runs.filter((r) => r.status === 'succeeded' && Number(r.summary?.['entries'] ?? 0) >= 1 && Number(r.summary?.['packages'] ?? 0) >= 1);
    assert.equal(purged.length, 1, `one run purged the expired package: ${JSON.stringify(runs.map((r) => [r.trigger, r.status, r.summary]))}`);
    const audit = json<{ action: string; detail: Record<string, unknown> }[]>(await app.req({ url: `/api/v1/audit?target=${encodeURIComponent(repo)}`, auth: adminAuth() }));
    assert.ok(audit.some((a) => a.action === 'trash.purge' && a.detail['trash'] === entry.id && a.detail['reason'] === 'expired'));
    // The name is free again: a push creates a new package.
    await pushImage(app, alice.auth, repo, '3.0');
    expect(await pull(repo, '3.0'), 200, 'a new package under the freed name');
  });

  test('a trashed chart version leaves index.yaml and the chart APIs, and comes back', async () => {
    const repo = 'alice/charts/web';
    const h = injectHttp(app.wharf.app, alice.auth);
    const c1 = await pushChart(h, repo, { name: 'web', version: '1.0.0' });
    await pushChart(h, repo, { name: 'web', version: '2.0.0' });
    await app.wharf.events.settled();
    const index = async () => (await get('/charts/alice/index.yaml')).body;
    assert.match(await index(), /version: 1\.0\.0/);

    const entry = await trashVersion(repo, c1.digest);
    assert.doesNotMatch(await index(), /version: 1\.0\.0/, 'gone from index.yaml');
    assert.match(await index(), /version: 2\.0\.0/);
    expect(await get('/charts/alice/web-1.0.0.tgz'), 404, 'the tgz URL');
    const versions = json<{ versions: { version: string }[] }>(await get(`/api/v1/charts/${repo}/versions`));
    assert.deepEqual(versions.versions.map((v) => v.version), ['2.0.0']);
    expect(await get(`/api/v1/charts/${repo}/versions/1.0.0`), 404, 'version detail');
    const museum = json<Record<string, { version: string }[]>>(await get('/api/alice/charts'));
    assert.deepEqual(museum['web']?.map((v) => v.version), ['2.0.0']);

    await restore(entry.id);
    assert.match(await index(), /version: 1\.0\.0/, 'back in index.yaml');
    expect(await get('/charts/alice/web-1.0.0.tgz'), 200, 'the tgz URL again');
  });

  test('storage usage: per package, per owner (a shared blob once), site-wide, trashed bytes apart', async () => {
    const owner = await createUser(app, 'carol');
    const a = await pushImage(app, owner.auth, 'carol/a', '1', { layerBytes: 10_000 });
    // The same layer bytes in another package of the same owner (pushImage derives bytes from repo:tag).
    const http = injectHttp(app.wharf.app, owner.auth);
    const { pushBlob } = await import('../helpers/charts.ts');
    const layer = Buffer.alloc(10_000, 'carol/a:1:');
    const config = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
    const c = await pushBlob(http, 'carol/b', config);
    const l = await pushBlob(http, 'carol/b', layer);
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...c }, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...l }] }));
    expect(await app.req({ method: 'PUT', url: '/v2/carol/b/manifests/1', auth: owner.auth, headers: { 'content-type': OCI_MANIFEST }, payload: manifest }), 201, 'push carol/b');

    type U = { liveBytes: number; trashedBytes: number; blobs: number; manifests: number };
    const pa = json<U>(await app.req({ url: packageUrl('carol/a', '/usage'), auth: owner.auth }));
    assert.equal(pa.liveBytes, a.size, 'package a: manifest + config + layer');
    assert.equal(pa.trashedBytes, 0);
    const pb = json<U>(await app.req({ url: packageUrl('carol/b', '/usage'), auth: owner.auth }));
    assert.equal(pb.liveBytes, manifest.length + config.length + layer.length);
    const o = json<U & { packages: { name: string }[] }>(await app.req({ url: '/api/v1/owners/carol/usage', auth: owner.auth }));
    assert.equal(o.liveBytes, pa.liveBytes + pb.liveBytes - layer.length, 'the shared layer counts once for the owner');
    assert.deepEqual(o.packages.map((p) => p.name), ['carol/a', 'carol/b']);
    expect(await app.req({ url: '/api/v1/owners/carol/usage', auth: bob.auth }), 403, 'not a member', 'DENIED');

    await app.req({ method: 'DELETE', url: packageUrl('carol/a', `/versions/${a.digest}`), auth: owner.auth });
    const after = json<U>(await app.req({ url: '/api/v1/owners/carol/usage', auth: owner.auth }));
    assert.equal(after.trashedBytes, a.size - layer.length, "a's manifest and config only the trash keeps; the layer is still live in b");
    assert.equal(after.liveBytes, pb.liveBytes);

    expect(await app.req({ url: '/api/v1/admin/usage', auth: owner.auth }), 403, 'site usage is for admins', 'DENIED');
    const site = json<U & { owners: ({ owner: string } & U)[] }>(await app.req({ url: '/api/v1/admin/usage', auth: adminAuth() }));
    const carol = site.owners.find((x) => x.owner === 'carol');
    assert.deepEqual(carol && { live: carol.liveBytes, trashed: carol.trashedBytes }, { live: after.liveBytes, trashed: after.trashedBytes });
    assert.ok(site.liveBytes >= after.liveBytes);
  });
});
