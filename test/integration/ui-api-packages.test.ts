/**
 * /api/v1 package views behind the UI's owner page and package page: kinds, latest versions,
 * downloads, image details, chart versions, artifact files and referrers, cross-links — and
 * that nothing unreadable shows up (404, filtered lists).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { OwnerPackagesView, PackageView } from '../../src/services/package-views.ts';
import { injectHttp, pushChart } from '../helpers/charts.ts';
import {
  basic,
  createUser,
  expect,
  json,
  packageUrl,
  pull,
  pushArtifact,
  pushImage,
  pushIndex,
  pushReferrer,
  pushTestChart,
  Session,
  startUiApp,
  type UiApp,
} from './ui-api-support.ts';

const SOURCE = 'https://github.com/acme/shop';

describe('package views', () => {
  let app: UiApp;
  let alice: string;
  let imageDigest: string;
  let indexDigest: string;
  let signature: string;
  let sbom: string;

  before(async () => {
    app = await startUiApp();
    alice = (await createUser(app, 'alice')).auth;
    await createUser(app, 'mallory');
    const first = await pushImage(app, alice, 'alice/shop', '1.0.0', {
      labels: { 'org.opencontainers.image.description': 'The shop front end', 'org.opencontainers.image.source': SOURCE, maintainer: 'alice' },
    });
    app.clock.advance(60_000);
    const second = await pushImage(app, alice, 'alice/shop', '1.1.0', {
      labels: { 'org.opencontainers.image.description': 'The shop front end, v1.1', 'org.opencontainers.image.source': SOURCE },
    });
    imageDigest = second.digest;
    signature = await pushReferrer(app, alice, 'alice/shop', second, 'application/vnd.dev.cosign.artifact.sig.v1+json', '{"sig":1}');
    sbom = await pushReferrer(app, alice, 'alice/shop', second, 'application/spdx+json', '{"spdxVersion":"SPDX-2.3"}');
    assert.ok(first.digest !== second.digest);
    app.clock.advance(60_000);
    indexDigest = (await pushIndex(app, alice, 'alice/multi', '2.0')).digest;
    await pushTestChart(app, alice, 'alice/charts/shop', { name: 'shop', version: '0.9.0', readme: '# Shop\n' }, SOURCE);
    app.clock.advance(60_000);
    await pushTestChart(app, alice, 'alice/charts/shop', { name: 'shop', version: '0.10.0', readme: '# Shop\n' }, SOURCE);
    await pushTestChart(app, alice, 'alice/charts/shop', { name: 'shop', version: '1.0.0-rc.1' }, SOURCE);
    await pushArtifact(app, alice, 'alice/wasm', 'v1');
  });
  after(() => app.close());

  test('owner page lists every package with its kind, latest version and visibility', async () => {
    const res = await app.req({ url: '/api/v1/owners/alice/package-views', auth: alice });
    expect(res, 200, 'owner packages');
    const view = json<OwnerPackagesView>(res);
    assert.equal(view.owner, 'alice');
    assert.equal(view.ownerKind, 'user');
    assert.equal(view.total, 4);
    const by = Object.fromEntries(view.packages.map((p) => [p.name, p]));
    assert.equal(by['alice/shop']?.kind, 'image');
    assert.equal(by['alice/shop']?.latest, '1.1.0');
    assert.equal(by['alice/shop']?.versions, 2, 'referrers are not versions');
    assert.equal(by['alice/shop']?.visibility, 'private');
    assert.equal(by['alice/shop']?.source, SOURCE);
    assert.equal(by['alice/shop']?.description, 'The shop front end, v1.1', 'from the newest image config label');
    assert.equal(by['alice/multi']?.kind, 'image');
    assert.equal(by['alice/multi']?.versions, 1, 'platform manifests of an index are not versions');
    assert.equal(by['alice/charts/shop']?.kind, 'chart');
    assert.equal(by['alice/charts/shop']?.path, 'charts/shop');
    assert.equal(by['alice/charts/shop']?.latest, '0.10.0', 'highest stable semver, not the newest push or the pre-release');
    assert.equal(by['alice/charts/shop']?.description, 'The shop chart');
    assert.equal(by['alice/wasm']?.kind, 'artifact');
    assert.equal(by['alice/wasm']?.description, 'A WebAssembly component');
  });

  test('filter by kind and search by name', async () => {
    const kinds = async (qs: string) => json<OwnerPackagesView>(await app.req({ url: `/api/v1/owners/alice/package-views${qs}`, auth: alice })).packages.map((p) => p.name).sort();
    assert.deepEqual(await kinds('?kind=chart'), ['alice/charts/shop']);
    assert.deepEqual(await kinds('?kind=image'), ['alice/multi', 'alice/shop']);
    assert.deepEqual(await kinds('?kind=artifact'), ['alice/wasm']);
    assert.deepEqual(await kinds('?q=SHOP'), ['alice/charts/shop', 'alice/shop']);
    assert.deepEqual(await kinds('?q=shop&kind=image'), ['alice/shop']);
    assert.deepEqual(await kinds('?q=nothing-like-this'), []);
    const res = await app.req({ url: '/api/v1/owners/alice/package-views?kind=helm', auth: alice });
    expect(res, 400, 'unknown kind', 'BAD_REQUEST');
  });

  test('what others see: private packages are filtered out; an unknown owner is 404', async () => {
    const anon = json<OwnerPackagesView>(await app.req({ url: '/api/v1/owners/alice/package-views' }));
    assert.deepEqual(anon.packages, [], 'anonymous sees nothing private');
    const mallory = json<OwnerPackagesView>(await app.req({ url: '/api/v1/owners/alice/package-views', auth: basic('mallory', 'mallory-password') }));
    assert.deepEqual(mallory.packages, []);
    expect(await app.req({ url: '/api/v1/owners/nobody-here/package-views' }), 404, 'unknown owner', 'NOT_FOUND');
    for (const name of ['alice/shop', 'alice/charts/shop', 'alice/wasm']) {
      expect(await app.req({ url: packageUrl(name, '/view') }), 404, `anonymous ${name}`, 'NOT_FOUND');
      expect(await app.req({ url: packageUrl(name, '/view'), auth: basic('mallory', 'mallory-password') }), 404, `mallory ${name}`, 'NOT_FOUND');
    }
    expect(await app.req({ url: packageUrl('alice/absent', '/view'), auth: alice }), 404, 'absent package', 'NOT_FOUND');
    expect(await app.req({ url: '/api/v1/packages/alice/%2E%2E/view', auth: alice }), 404, 'invalid name');
  });

  test('image page: versions, pull commands, labels and description from the config, referrers', async () => {
    const res = await app.req({ url: packageUrl('alice/shop', '/view'), auth: alice });
    expect(res, 200, 'view');
    const v = json<PackageView>(res);
    assert.equal(v.kind, 'image');
    assert.equal(v.latest, '1.1.0');
    assert.equal(v.canAdmin, true);
    assert.equal(v.viewerRole, 'admin');
    assert.equal(v.registry, 'localhost:80');
    assert.deepEqual(v.commands, { docker: 'docker pull localhost:80/alice/shop:1.1.0', podman: 'podman pull --tls-verify=false localhost:80/alice/shop:1.1.0' });
    assert.equal(v.description, 'The shop front end, v1.1');
    assert.equal(v.image?.digest, imageDigest);
    assert.equal(v.image?.labels['org.opencontainers.image.source'], SOURCE);
    assert.equal(v.image?.created, '2030-01-01T00:00:00Z');
    assert.equal(v.image?.architecture, 'amd64');
    assert.equal(v.totalVersions, 2);
    assert.deepEqual(v.versions.map((x) => x.tags), [['1.1.0'], ['1.0.0']], 'newest first');
    const latest = v.versions[0];
    assert.ok(latest);
    assert.equal(latest.digest, imageDigest);
    assert.ok(latest.size > 1000, 'size counts config and layers');
    assert.equal(latest.files.length, 1);
    assert.deepEqual(
      latest.referrers.map((r) => [r.digest, r.role]),
      [
        [signature, 'signature'],
        [sbom, 'sbom'],
      ],
    );
    assert.equal(latest.referrers[1]?.files[0]?.title, 'payload.json');
    assert.deepEqual(v.related, [{ name: 'alice/charts/shop', kind: 'chart', relation: 'chart' }], "this app's chart");
  });

  test('multi-arch image: platforms of the index with their sizes', async () => {
    const v = json<PackageView>(await app.req({ url: packageUrl('alice/multi', '/view'), auth: alice }));
    assert.equal(v.versions.length, 1);
    const index = v.versions[0];
    assert.equal(index?.digest, indexDigest);
    assert.deepEqual(
      index?.platforms.map((p) => `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`),
      ['linux/amd64', 'linux/arm64/v8'],
    );
    assert.ok((index?.platforms[1]?.size ?? 0) > (index?.platforms[0]?.size ?? 0), 'arm64 has the bigger layer');
    assert.equal(v.image?.architecture, 'amd64', 'details come from the first platform');
    assert.equal(v.commands?.podman, 'podman pull --tls-verify=false localhost:80/alice/multi:2.0');
  });

  test('chart page: versions in semver order, pre-release flagged, "this chart\'s images"', async () => {
    const v = json<PackageView>(await app.req({ url: packageUrl('alice/charts/shop', '/view'), auth: alice }));
    assert.equal(v.kind, 'chart');
    assert.equal(v.commands, null);
    assert.deepEqual(
      v.versions.map((x) => [x.version, x.prerelease]),
      [
        ['1.0.0-rc.1', true],
        ['0.10.0', false],
        ['0.9.0', false],
      ],
    );
    assert.deepEqual(v.related, [{ name: 'alice/shop', kind: 'image', relation: 'image' }]);
  });

  test('artifact page: artifact type and files', async () => {
    const v = json<PackageView>(await app.req({ url: packageUrl('alice/wasm', '/view'), auth: alice }));
    assert.equal(v.kind, 'artifact');
    const ver = v.versions[0];
    assert.equal(ver?.artifactType, 'application/vnd.wasm.component.v1+wasm');
    assert.deepEqual(
      ver?.files.map((f) => [f.title, f.mediaType, f.size]),
      [
        ['app.wasm', 'application/wasm', 8],
        ['README.txt', 'text/plain', 11],
      ],
    );
  });

  test('downloads: pulls are counted per version and per day for 30 days', async () => {
    const before = json<PackageView>(await app.req({ url: packageUrl('alice/shop', '/view'), auth: alice }));
    assert.equal(before.downloads.total, 0);
    assert.equal(before.downloads.last30Days.length, 30);
    await pull(app, alice, 'alice/shop', '1.1.0');
    await pull(app, alice, 'alice/shop', '1.1.0');
    await pull(app, alice, 'alice/shop', '1.0.0');
    // HEAD requests are not downloads.
    expect(await app.req({ method: 'HEAD', url: '/v2/alice/shop/manifests/1.1.0', auth: alice }), 200, 'HEAD');
    app.clock.advance(86_400_000);
    await pull(app, alice, 'alice/shop', imageDigest);
    await app.wharf.events.settled();
    const v = json<PackageView>(await app.req({ url: packageUrl('alice/shop', '/view'), auth: alice }));
    assert.equal(v.downloads.total, 4);
    assert.deepEqual(
      v.versions.map((x) => [x.tags[0], x.downloads]),
      [
        ['1.1.0', 3],
        ['1.0.0', 1],
      ],
    );
    const days = v.downloads.last30Days;
    assert.deepEqual(days.slice(-2).map((d) => d.count), [3, 1]);
    assert.equal(days.at(-1)?.day, new Date(app.clock.now).toISOString().slice(0, 10));
    const list = json<OwnerPackagesView>(await app.req({ url: '/api/v1/owners/alice/package-views?q=shop&kind=image', auth: alice }));
    assert.equal(list.packages[0]?.downloads, 4);
    // 31 days later the chart's window no longer shows them; the totals still do.
    app.clock.advance(31 * 86_400_000);
    const later = json<PackageView>(await app.req({ url: packageUrl('alice/shop', '/view'), auth: alice }));
    assert.equal(later.downloads.last30Days.reduce((n, d) => n + d.count, 0), 0);
    assert.equal(later.downloads.total, 4);
  });

  test('readers see the page without admin rights; public packages are visible to anyone', async () => {
    const s = await Session.signIn(app, 'alice', 'alice-password');
    expect(await s.req({ method: 'PATCH', url: packageUrl('alice/shop'), payload: { visibility: 'public' } }), 200, 'make public');
    const anon = await app.req({ url: packageUrl('alice/shop', '/view') });
    expect(anon, 200, 'anonymous view of a public package');
    const v = json<PackageView>(anon);
    assert.equal(v.canAdmin, false);
    assert.equal(v.viewerRole, 'read');
    // The chart is still private: the cross-link is not shown to anonymous viewers.
    assert.deepEqual(v.related, []);
    const list = json<OwnerPackagesView>(await app.req({ url: '/api/v1/owners/alice/package-views' }));
    assert.deepEqual(list.packages.map((p) => p.name), ['alice/shop']);
    expect(await s.req({ method: 'PATCH', url: packageUrl('alice/shop'), payload: { visibility: 'private' } }), 200, 'private again');
  });

  test("related packages are the same owner's only: another owner's image cannot claim alice's source", async () => {
    const mallory = basic('mallory', 'mallory-password');
    await pushImage(app, mallory, 'mallory/shop-lookalike', '1.0.0', { labels: { 'org.opencontainers.image.source': SOURCE } });
    expect(await app.req({ method: 'PATCH', url: packageUrl('mallory/shop-lookalike'), auth: mallory, payload: { visibility: 'public' } }), 200, 'public');
    await app.wharf.events.settled();
    const chart = json<PackageView>(await app.req({ url: packageUrl('alice/charts/shop', '/view'), auth: alice }));
    assert.deepEqual(chart.related, [{ name: 'alice/shop', kind: 'image', relation: 'image' }], "mallory's public image is not one of this chart's images");
    const lookalike = json<PackageView>(await app.req({ url: packageUrl('mallory/shop-lookalike', '/view'), auth: alice }));
    assert.equal(lookalike.source, SOURCE);
    assert.deepEqual(lookalike.related, [], "nor are alice's packages advertised on mallory's page");
  });

  test('a deleted version disappears from the page', async () => {
    const extra = await pushImage(app, alice, 'alice/gone', 'old');
    await pushImage(app, alice, 'alice/gone', 'new');
    const s = await Session.signIn(app, 'alice', 'alice-password');
    expect(await s.req({ method: 'DELETE', url: packageUrl('alice/gone', `/versions/${extra.digest}`) }), 200, 'delete version (to the trash)');
    const v = json<PackageView>(await s.get(packageUrl('alice/gone', '/view')));
    assert.deepEqual(v.versions.map((x) => x.tags), [['new']]);
  });

  test("a chart's latest version is the chart catalog's: a version that failed indexing is not it", async () => {
    await pushTestChart(app, alice, 'alice/charts/mixed', { name: 'mixed', version: '1.0.0' });
    await pushChart(injectHttp(app.wharf.app, alice), 'alice/charts/mixed', { name: 'mixed', version: '2.0.0' }, { tgz: Buffer.from('not a chart') });
    await app.wharf.events.settled();
    const api = json<{ latest: string | null }>(await app.req({ url: '/api/v1/charts/alice/charts/mixed/versions', auth: alice }));
    assert.equal(api.latest, '1.0.0', 'the chart API');
    const owner = json<OwnerPackagesView>(await app.req({ url: '/api/v1/owners/alice/package-views', auth: alice }));
    assert.equal(owner.packages.find((p) => p.name === 'alice/charts/mixed')?.latest, '1.0.0', 'the owner page agrees');
    const view = json<PackageView>(await app.req({ url: packageUrl('alice/charts/mixed', '/view'), auth: alice }));
    assert.equal(view.latest, '1.0.0', 'the package page agrees');
    assert.deepEqual(
      view.versions.map((v) => [v.tags, v.version]),
      [
        [['2.0.0'], '2.0.0'],
        [['1.0.0'], '1.0.0'],
      ],
      'both versions are shown, the failed one by its tag',
    );
  });
});
