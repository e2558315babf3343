/**
 * ChartMuseum-compatible upload API: uploads become OCI artifacts (the `helm push` layout) and
 * index.yaml entries; duplicates are 409 unless overwriting is on; bad input is a clear 4xx and
 * stores nothing.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { chartTgz, HELM_CHART, HELM_CONFIG, HELM_PROV, sha256Digest } from '../helpers/charts.ts';
import { getIndex, json, versionsOf } from './charts-support.ts';

function provFor(file: string, tgz: Buffer): Buffer {
  const sha = createHash('sha256').update(tgz).digest('hex');
  return Buffer.from(`-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nname: x\n\n...\nfiles:\n  ${file}: sha256:${sha}\n-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n`);
}

async function multipart(fields: Record<string, Buffer>): Promise<{ payload: Buffer; headers: Record<string, string> }> {
  const form = new FormData();
  for (const [name, data] of Object.entries(fields)) form.append(name, new Blob([data]), `${name}.bin`);
  const req = new Request('http://x/', { method: 'POST', body: form });
  return { payload: Buffer.from(await req.arrayBuffer()), headers: { 'content-type': req.headers.get('content-type') ?? '' } };
}

async function catalog(app: TestApp): Promise<string[]> {
  return (await json<{ repositories: string[] }>(app, '/v2/_catalog')).repositories;
}

describe('ChartMuseum upload API', () => {
  let app: TestApp;
  before(async () => {
    app = await buildTestApp({ charts: { maxUploadBytes: '200000' } });
  });
  after(async () => app.close());

  test('a .tgz body is stored as `<owner>/charts/<name>:<version>` in the helm push layout and indexed', async () => {
    const tgz = chartTgz({ name: 'web', version: '1.0.0+build.7', appVersion: '3.1', description: 'Web' });
    const res = await app.app.inject({ method: 'POST', url: '/api/cm1/charts', payload: tgz, headers: { 'content-type': 'application/gzip' } });
    assert.equal(res.statusCode, 201, res.body);
    const saved = JSON.parse(res.body) as { saved: boolean; repository: string; digest: string; version: string };
    assert.equal(saved.saved, true);
    assert.equal(saved.repository, 'cm1/charts/web');
    assert.equal(saved.version, '1.0.0+build.7');

    const manifestRes = await app.app.inject({ url: '/v2/cm1/charts/web/manifests/1.0.0_build.7' });
    assert.equal(manifestRes.statusCode, 200);
    assert.equal(sha256Digest(manifestRes.rawPayload), saved.digest);
    const manifest = JSON.parse(manifestRes.body) as { config: { mediaType: string; digest: string }; layers: { mediaType: string; digest: string }[]; annotations: Record<string, string> };
    assert.equal(manifest.config.mediaType, HELM_CONFIG);
    assert.deepEqual(manifest.layers.map((l) => l.mediaType), [HELM_CHART]);
    assert.equal(manifest.layers[0]?.digest, sha256Digest(tgz), 'the chart layer is the uploaded archive, byte for byte');
    assert.equal(manifest.annotations['org.opencontainers.image.title'], 'web');
    assert.equal(manifest.annotations['org.opencontainers.image.version'], '1.0.0+build.7');
    const config = await app.app.inject({ url: `/v2/cm1/charts/web/blobs/${manifest.config.digest}` });
    assert.deepEqual(JSON.parse(config.body), { name: 'web', version: '1.0.0+build.7', description: 'Web', apiVersion: 'v2', appVersion: '3.1', type: 'application' });

    const { index } = await getIndex(app, 'cm1');
    assert.deepEqual(versionsOf(index), { web: ['1.0.0+build.7'] });
    const file = await app.app.inject({ url: '/charts/cm1/web-1.0.0+build.7.tgz' });
    assert.deepEqual(file.rawPayload, tgz);
  });

  test('multipart with chart and prov; GET list, chart and version; DELETE', async () => {
    const tgz = chartTgz({ name: 'db', version: '2.0.0' });
    const prov = provFor('db-2.0.0.tgz', tgz);
    const form = await multipart({ chart: tgz, prov });
    const res = await app.app.inject({ method: 'POST', url: '/api/cm2/charts', ...form });
    assert.equal(res.statusCode, 201, res.body);
    const prov2 = await app.app.inject({ url: '/charts/cm2/db-2.0.0.tgz.prov' });
    assert.deepEqual(prov2.rawPayload, prov);
    const manifest = JSON.parse((await app.app.inject({ url: '/v2/cm2/charts/db/manifests/2.0.0' })).body) as { layers: { mediaType: string }[] };
    assert.deepEqual(manifest.layers.map((l) => l.mediaType), [HELM_PROV, HELM_CHART], 'provenance first, as helm push orders them');

    const other = await app.app.inject({ method: 'POST', url: '/api/cm2/charts', payload: chartTgz({ name: 'db', version: '1.0.0' }) });
    assert.equal(other.statusCode, 201);

    const all = await json<Record<string, { version: string; urls: string[]; digest: string }[]>>(app, '/api/cm2/charts');
    assert.deepEqual(Object.fromEntries(Object.entries(all).map(([k, v]) => [k, v.map((e) => e.version)])), { db: ['2.0.0', '1.0.0'] });
    assert.deepEqual(all['db']?.[0]?.urls, ['/charts/cm2/db-2.0.0.tgz']);
    assert.equal(all['db']?.[0]?.digest, createHash('sha256').update(tgz).digest('hex'));
    assert.equal((await json<unknown[]>(app, '/api/cm2/charts/db')).length, 2);
    assert.equal((await json<{ version: string }>(app, '/api/cm2/charts/db/2.0.0')).version, '2.0.0');
    assert.equal((await app.app.inject({ method: 'HEAD', url: '/api/cm2/charts/db/2.0.0' })).statusCode, 200);

    const del = await app.app.inject({ method: 'DELETE', url: '/api/cm2/charts/db/2.0.0' });
    assert.equal(del.statusCode, 200, del.body);
    assert.deepEqual(JSON.parse(del.body), { deleted: true });
    assert.equal((await app.app.inject({ url: '/api/cm2/charts/db/2.0.0' })).statusCode, 404);
    assert.equal((await app.app.inject({ url: '/v2/cm2/charts/db/manifests/2.0.0' })).statusCode, 404, 'gone from OCI too');
    assert.deepEqual(versionsOf((await getIndex(app, 'cm2')).index), { db: ['1.0.0'] });
    assert.equal((await app.app.inject({ method: 'DELETE', url: '/api/cm2/charts/db/2.0.0' })).statusCode, 404);
    assert.equal((await app.app.inject({ url: '/api/cm2/charts/nope' })).statusCode, 404);
  });

  test('re-uploading an existing version is 409 and keeps the original', async () => {
    const first = chartTgz({ name: 'api', version: '1.0.0', values: 'a: 1\n' });
    assert.equal((await app.app.inject({ method: 'POST', url: '/api/cm3/charts', payload: first })).statusCode, 201);
    const again = await app.app.inject({ method: 'POST', url: '/api/cm3/charts', payload: chartTgz({ name: 'api', version: '1.0.0', values: 'a: 2\n' }) });
    assert.equal(again.statusCode, 409);
    assert.deepEqual(JSON.parse(again.body), { error: 'api-1.0.0.tgz already exists and chart versions are immutable (site setting charts.allowOverwrite: false)' }, "ChartMuseum's error format");
    assert.deepEqual((await app.app.inject({ url: '/charts/cm3/api-1.0.0.tgz' })).rawPayload, first);
  });

  test('bad uploads are 400 with a reason, and store nothing', async () => {
    const before = await catalog(app);
    const tgz = chartTgz({ name: 'ok', version: '1.0.0' });
    const cases: { what: string; payload: Buffer; headers?: Record<string, string>; status: number; message: RegExp }[] = [
      { what: 'not gzip', payload: Buffer.from('hello'), status: 400, message: /not valid gzip/ },
      { what: 'no Chart.yaml', payload: chartTgz({ name: 'x', version: '1.0.0', chartYaml: null }), status: 400, message: /no Chart\.yaml/ },
      { what: 'invalid version', payload: chartTgz({ name: 'x', version: 'latest' }), status: 400, message: /not a valid semantic version/ },
      { what: 'name unusable in a repository', payload: chartTgz({ name: 'MyChart', version: '1.0.0' }), status: 400, message: /cannot be a repository name/ },
      { what: 'empty body', payload: Buffer.alloc(0), status: 400, message: /no chart archive/ },
      { what: 'too large', payload: Buffer.alloc(300_000, 1), status: 413, message: /exceeds the 200000-byte limit/ },
      { what: 'prov for another version', ...(await multipart({ chart: tgz, prov: provFor('ok-0.9.0.tgz', tgz) })), status: 400, message: /provenance file is for ok-0\.9\.0\.tgz, not ok-1\.0\.0\.tgz/ },
      { what: 'prov with another digest', ...(await multipart({ chart: tgz, prov: provFor('ok-1.0.0.tgz', Buffer.from('other')) })), status: 400, message: /digest does not match/ },
      { what: 'multipart without chart', ...(await multipart({ file: tgz })), status: 400, message: /no \\"chart\\" field/ },
    ];
    for (const c of cases) {
      const res = await app.app.inject({ method: 'POST', url: '/api/cm4/charts', payload: c.payload, headers: c.headers ?? {} });
      assert.equal(res.statusCode, c.status, `${c.what}: ${res.body}`);
      assert.match(res.body, c.message, c.what);
      const body = JSON.parse(res.body) as Record<string, unknown>;
      assert.deepEqual(Object.keys(body), ['error'], `${c.what}: ChartMuseum's error format`);
      assert.equal(typeof body['error'], 'string');
    }
    assert.deepEqual(await catalog(app), before, 'no repository was created');
    assert.equal((await app.app.inject({ method: 'POST', url: '/api/NOT-AN-OWNER/charts', payload: tgz })).statusCode, 404);
  });
});

describe('ChartMuseum upload API with charts.allowOverwrite', () => {
  let app: TestApp;
  before(async () => {
    app = await buildTestApp({ charts: { allowOverwrite: 'true' } });
  });
  after(async () => app.close());

  test('a re-upload replaces the version in OCI and in the index', async () => {
    assert.equal((await app.app.inject({ method: 'POST', url: '/api/ow/charts', payload: chartTgz({ name: 'web', version: '1.0.0', values: 'v: 1\n' }) })).statusCode, 201);
    const second = chartTgz({ name: 'web', version: '1.0.0', values: 'v: 2\n' });
    const res = await app.app.inject({ method: 'POST', url: '/api/ow/charts', payload: second });
    assert.equal(res.statusCode, 201, res.body);
    const { index } = await getIndex(app, 'ow');
    assert.deepEqual(versionsOf(index), { web: ['1.0.0'] });
    assert.equal(index.entries['web']?.[0]?.digest, createHash('sha256').update(second).digest('hex'));
    assert.deepEqual((await app.app.inject({ url: '/charts/ow/web-1.0.0.tgz' })).rawPayload, second);
  });
});
