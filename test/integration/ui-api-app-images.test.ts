/**
 * The app view: a chart's values.yaml images resolved on this registry with install warnings
 * (public chart + private image, missing tag, unsigned among signed), nothing revealed about
 * packages the caller cannot read, and the image page's "deployed by" charts.
 * Runs on both profiles (WHARF_TEST_PROFILE=scale).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AppImagesView } from '../../src/services/apps/app-images.ts';
import { createUser, expect, json, packageUrl, pushImage, pushReferrer, pushTestChart, type UiApp, startUiApp } from './ui-api-support.ts';

const VALUES = [
  'image:',
  '  repository: wharf.example.com/alice/web',
  '  tag: "1.0.0"',
  'worker:',
  '  image:',
  '    registry: wharf.example.com',
  '    repository: alice/worker',
  '    tag: 2.0.0',
  'canary:',
  '  image: wharf.example.com/alice/web:9.9.9',
  'cache:',
  '  image: docker.io/library/redis:7',
  'spy:',
  '  image: wharf.example.com/mallory/secret:1',
  'ghost:',
  '  image: wharf.example.com/alice/nothing:1',
  '',
].join('\n');

describe('app view: the images a chart deploys', () => {
  let app: UiApp;
  let alice: string;

  const images = async (auth: string | undefined) => {
    const res = await app.req({ url: packageUrl('alice/charts/app', '/app-images?version=1.0.0'), auth });
    expect(res, 200, 'app images');
    const v = json<AppImagesView>(res);
    return { view: v, by: Object.fromEntries(v.images.map((i) => [i.path, i])) };
  };

  before(async () => {
    app = await startUiApp({}, { server: { baseUrl: 'https://wharf.example.com' } });
    alice = (await createUser(app, 'alice')).auth;
    const mallory = (await createUser(app, 'mallory')).auth;
    const web = await pushImage(app, alice, 'alice/web', '1.0.0');
    await pushReferrer(app, alice, 'alice/web', web, 'application/vnd.dev.cosign.artifact.sig.v1+json', '{"critical":{}}');
    await pushImage(app, alice, 'alice/worker', '2.0.0');
    await pushImage(app, mallory, 'mallory/secret', '1');
    await pushTestChart(app, alice, 'alice/charts/app', { name: 'app', version: '1.0.0', appVersion: '1.0.0', values: VALUES, files: { 'templates/deployment.yaml': 'kind: Deployment\n', 'templates/_helpers.tpl': '{{/* */}}\n' } });
    for (const pkg of ['alice/web', 'alice/charts/app']) {
      expect(await app.req({ method: 'PATCH', url: packageUrl(pkg), auth: alice, payload: { visibility: 'public' } }), 200, `make ${pkg} public`);
    }
  });
  after(() => app.close());

  test('the owner sees each image resolved, with the warnings an install would meet', async () => {
    const { view, by } = await images(alice);
    assert.equal(view.publicChart, true);
    assert.deepEqual(Object.keys(by), ['image', 'worker.image', 'canary.image', 'cache.image', 'spy.image', 'ghost.image']);
    assert.equal(by['image']?.package, 'alice/web');
    assert.equal(by['image']?.signed, true);
    assert.equal(by['image']?.tagExists, true);
    assert.deepEqual(by['image']?.warnings, []);
    assert.equal(by['worker.image']?.package, 'alice/worker');
    assert.equal(by['worker.image']?.anonymousPull, false);
    assert.deepEqual(
      by['worker.image']?.warnings.map((w) => w.code),
      ['private-image', 'unsigned'],
    );
    assert.match(by['worker.image']?.warnings[0]?.message ?? '', /anonymous installs will fail to pull/);
    assert.deepEqual(
      by['canary.image']?.warnings.map((w) => w.code),
      ['missing-tag'],
    );
    assert.equal(by['cache.image']?.package, null, 'another registry is not resolved');
    assert.deepEqual(by['cache.image']?.warnings, []);
    // mallory's private package and a package that does not exist read exactly alike.
    const spy = by['spy.image'];
    const ghost = by['ghost.image'];
    assert.ok(spy && ghost);
    assert.deepEqual({ ...spy, path: '', repository: '' }, { ...ghost, path: '', repository: '' });
    assert.deepEqual(spy.warnings.map((w) => w.code), ['not-available']);
  });

  test('an anonymous visitor learns nothing about the private image beyond "not available"', async () => {
    const { by } = await images(undefined);
    assert.equal(by['image']?.package, 'alice/web');
    assert.equal(by['worker.image']?.package, null);
    assert.equal(by['worker.image']?.anonymousPull, null);
    assert.deepEqual(by['worker.image']?.warnings.map((w) => w.code), ['not-available']);
  });

  test('the image page lists the charts that deploy it; unreadable packages are 404', async () => {
    const res = await app.req({ url: packageUrl('alice/web', '/deployed-by'), auth: alice });
    expect(res, 200, 'deployed by');
    assert.deepEqual(json<{ charts: unknown[] }>(res).charts, [{ chart: 'alice/charts/app', version: '1.0.0', path: 'image' }]);
    const anon = await app.req({ url: packageUrl('alice/web', '/deployed-by') });
    expect(anon, 200, 'deployed by, anonymous');
    assert.equal(json<{ charts: unknown[] }>(anon).charts.length, 1);
    expect(await app.req({ url: packageUrl('alice/worker', '/deployed-by') }), 404, 'private image', 'NOT_FOUND');
    expect(await app.req({ url: packageUrl('alice/worker', '/app-images?version=1.0.0') }), 404, 'not a readable chart', 'NOT_FOUND');
  });

  test('the Templates tab: the files of the chart archive, for readers only', async () => {
    const res = await app.req({ url: packageUrl('alice/charts/app', '/chart-files?version=1.0.0') });
    expect(res, 200, 'chart files');
    const files = json<{ version: string; files: { path: string; size: number }[] }>(res).files;
    assert.deepEqual(
      files.filter((f) => f.path.startsWith('templates/')),
      [
        { path: 'templates/_helpers.tpl', size: 10 },
        { path: 'templates/configmap.yaml', size: 116 }, // chartTgz's default template
        { path: 'templates/deployment.yaml', size: 17 },
      ],
    );
    assert.ok(files.some((f) => f.path === 'Chart.yaml'));
    expect(await app.req({ url: packageUrl('alice/worker', '/chart-files?version=1.0.0') }), 404, 'not readable', 'NOT_FOUND');
    expect(await app.req({ url: packageUrl('alice/charts/app', '/chart-files?version=9.9.9') }), 404, 'no such version', 'NOT_FOUND');
  });
});
