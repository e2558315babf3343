import { SYSTEM } from '../../src/auth/principal.ts';
/**
 * Chart recognition and the classic repository, in-process: charts pushed over OCI (as Helm
 * pushes them) appear in `/charts/<owner>/index.yaml` and are served as .tgz; deletes and tag
 * moves keep the index right; ETag/304/gzip; two replicas on one database agree.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { parseRepoName } from '../../src/oci/name.ts';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { chartTgz, pushBlob, pushChart, sha256Digest } from '../helpers/charts.ts';
import { getIndex, http, json, versionsOf } from './charts-support.ts';

interface VersionsJson {
  versions: { version: string | null; status: string; error: string | null; listed: boolean; digest: string }[];
}

for (const indexCache of ['true', 'false'] as const) {
  describe(`classic index (index cache ${indexCache === 'true' ? 'on' : 'off'})`, () => {
    let app: TestApp;
    before(async () => {
      app = await buildTestApp({ charts: { indexCache } });
    });
    after(async () => app.close());

    test('a chart pushed over OCI is listed with the fields Helm needs and served as .tgz', async () => {
      const spec = { name: 'web', version: '1.0.0', appVersion: '2.3.4', description: 'Web tier' };
      const pushed = await pushChart(http(app), 'idx1/charts/web', spec);
      await app.events.settled();
      const { index } = await getIndex(app, 'idx1');
      const entry = index.entries['web']?.[0];
      assert.ok(entry, 'web is in the index');
      assert.equal(entry.version, '1.0.0');
      assert.equal(entry.appVersion, '2.3.4');
      assert.equal(entry['apiVersion'], 'v2');
      assert.equal(entry['description'], 'Web tier');
      assert.equal(entry.digest, createHash('sha256').update(pushed.tgz).digest('hex'));
      assert.deepEqual(entry.urls, ['web-1.0.0.tgz']);
      assert.ok(Math.abs(Date.parse(entry.created) - Date.now()) < 60_000, 'created is the push time');

      const tgz = await app.app.inject({ url: '/charts/idx1/web-1.0.0.tgz' });
      assert.equal(tgz.statusCode, 200);
      assert.deepEqual(tgz.rawPayload, pushed.tgz);
      assert.equal(tgz.headers['content-type'], 'application/gzip');
      const head = await app.app.inject({ method: 'HEAD', url: '/charts/idx1/web-1.0.0.tgz' });
      assert.equal(head.statusCode, 200);
      assert.equal(head.headers['content-length'], String(pushed.tgz.length));
      assert.equal((await app.app.inject({ url: '/charts/idx1/web-9.9.9.tgz' })).statusCode, 404);
      assert.equal((await app.app.inject({ url: '/charts/idx1/web-1.0.0.tgz.prov' })).statusCode, 404, 'no provenance pushed');
    });

    test('build metadata: tag 1.0.0_build.1 is shown and served as version 1.0.0+build.1', async () => {
      const pushed = await pushChart(http(app), 'idx2/charts/app', { name: 'app', version: '1.0.0+build.1' });
      await app.events.settled();
      const tags = await json<{ tags: string[] }>(app, '/v2/idx2/charts/app/tags/list');
      assert.deepEqual(tags.tags, ['1.0.0_build.1']);
      const { index } = await getIndex(app, 'idx2');
      assert.deepEqual(versionsOf(index), { app: ['1.0.0+build.1'] });
      assert.deepEqual(index.entries['app']?.[0]?.urls, ['app-1.0.0+build.1.tgz']);
      const tgz = await app.app.inject({ url: '/charts/idx2/app-1.0.0+build.1.tgz' });
      assert.deepEqual(tgz.rawPayload, pushed.tgz);
    });

    test('Helm 4 pushes by digest then by tag: indexed once, listed once; identical re-pushes change nothing', async () => {
      const h = http(app);
      await pushChart(h, 'idx3/charts/api', { name: 'api', version: '0.1.0' }, { byDigestFirst: true });
      await app.events.settled();
      const first = await getIndex(app, 'idx3');
      assert.deepEqual(versionsOf(first.index), { api: ['0.1.0'] });
      await pushChart(h, 'idx3/charts/api', { name: 'api', version: '0.1.0' }, { byDigestFirst: true });
      await app.events.settled();
      const again = await getIndex(app, 'idx3');
      assert.equal(again.etag, first.etag, 'an identical push does not change the index');
      assert.equal(again.raw, first.raw);
    });

    test('a manifest pushed by digest only is indexed but not listed until tagged', async () => {
      const h = http(app);
      const spec = { name: 'lone', version: '3.0.0' };
      const tgz = chartTgz(spec);
      const config = await pushBlob(h, 'idx4/charts/lone', Buffer.from(JSON.stringify({ name: 'lone', version: '3.0.0', apiVersion: 'v2' })));
      const layer = await pushBlob(h, 'idx4/charts/lone', tgz);
      const manifest = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          config: { mediaType: 'application/vnd.cncf.helm.config.v1+json', ...config },
          layers: [{ mediaType: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip', ...layer }],
        }),
      );
      const digest = sha256Digest(manifest);
      const put = (ref: string) =>
        app.app.inject({ method: 'PUT', url: `/v2/idx4/charts/lone/manifests/${ref}`, payload: manifest, headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } });
      assert.equal((await put(digest)).statusCode, 201);
      await app.events.settled();
      assert.deepEqual(versionsOf((await getIndex(app, 'idx4')).index), {});
      const v = await json<VersionsJson>(app, '/api/v1/charts/idx4/charts/lone/versions');
      assert.deepEqual(v.versions.map((x) => [x.version, x.status, x.listed]), [['3.0.0', 'ok', false]]);
      assert.equal((await put('3.0.0')).statusCode, 201);
      await app.events.settled();
      assert.deepEqual(versionsOf((await getIndex(app, 'idx4')).index), { lone: ['3.0.0'] });
    });

    test('deleting a tag or a manifest, and moving a tag, keep the index right', async () => {
      const h = http(app);
      const a = await pushChart(h, 'idx5/charts/db', { name: 'db', version: '1.0.0' });
      await pushChart(h, 'idx5/charts/db', { name: 'db', version: '1.1.0' });
      await pushChart(h, 'idx5/charts/db', { name: 'db', version: '2.0.0-rc.1' });
      await app.events.settled();
      assert.deepEqual(versionsOf((await getIndex(app, 'idx5')).index), { db: ['2.0.0-rc.1', '1.1.0', '1.0.0'] });

      // Same version re-pushed with different content (the package opts out of immutable chart
      // versions, docs/policies.md): the tag moves, the old manifest drops out.
      await app.policies.setPackage(SYSTEM, parseRepoName('idx5/charts/db'), { allowChartOverwrite: true });
      const moved = await pushChart(h, 'idx5/charts/db', { name: 'db', version: '1.0.0', values: 'changed: true\n' });
      await app.events.settled();
      let index = (await getIndex(app, 'idx5')).index;
      assert.deepEqual(versionsOf(index), { db: ['2.0.0-rc.1', '1.1.0', '1.0.0'] });
      assert.equal(index.entries['db']?.[2]?.digest, createHash('sha256').update(moved.tgz).digest('hex'));
      assert.notEqual(moved.digest, a.digest);

      assert.equal((await app.app.inject({ method: 'DELETE', url: '/v2/idx5/charts/db/manifests/1.1.0' })).statusCode, 202);
      await app.events.settled();
      assert.deepEqual(versionsOf((await getIndex(app, 'idx5')).index), { db: ['2.0.0-rc.1', '1.0.0'] });

      assert.equal((await app.app.inject({ method: 'DELETE', url: `/v2/idx5/charts/db/manifests/${moved.digest}` })).statusCode, 202);
      await app.events.settled();
      index = (await getIndex(app, 'idx5')).index;
      assert.deepEqual(versionsOf(index), { db: ['2.0.0-rc.1'] });
      assert.equal((await app.app.inject({ url: '/charts/idx5/db-1.0.0.tgz' })).statusCode, 404);
    });

    test('every chart repository under an owner feeds one index; owners are separate', async () => {
      const h = http(app);
      await pushChart(h, 'idx6/charts/web', { name: 'web', version: '1.0.0' });
      await pushChart(h, 'idx6/team-a/cache', { name: 'cache', version: '0.2.0' });
      await pushChart(h, 'idx6/deep/path/to/queue', { name: 'queue', version: '5.0.0' });
      await pushChart(h, 'idx7/charts/web', { name: 'web', version: '9.0.0' });
      await app.events.settled();
      assert.deepEqual(versionsOf((await getIndex(app, 'idx6')).index), { cache: ['0.2.0'], queue: ['5.0.0'], web: ['1.0.0'] });
      assert.deepEqual(versionsOf((await getIndex(app, 'idx7')).index), { web: ['9.0.0'] });
      const unknown = await app.app.inject({ url: '/charts/nobody/index.yaml' });
      assert.equal(unknown.statusCode, 404, 'an owner with nothing at all is unknown: `helm repo add` of a typo fails');
      assert.deepEqual(JSON.parse(unknown.body), { error: 'no user or organization named nobody' });
    });

    test('the same version in two repositories of one owner is listed once; the newest push is served', async () => {
      const h = http(app);
      await pushChart(h, 'idx8/old/web', { name: 'web', version: '1.0.0', values: 'old: true\n' });
      await app.events.settled();
      await new Promise((r) => setTimeout(r, 5));
      const newer = await pushChart(h, 'idx8/charts/web', { name: 'web', version: '1.0.0', values: 'new: true\n' });
      await app.events.settled();
      const { index } = await getIndex(app, 'idx8');
      assert.deepEqual(versionsOf(index), { web: ['1.0.0'] });
      const sha = createHash('sha256').update(newer.tgz).digest('hex');
      assert.equal(index.entries['web']?.[0]?.digest, sha);
      const tgz = await app.app.inject({ url: '/charts/idx8/web-1.0.0.tgz' });
      assert.equal(createHash('sha256').update(tgz.rawPayload).digest('hex'), sha, 'the file matches the listed digest');
    });

    test('malformed charts never break the OCI push; the record says why and the index skips them', async () => {
      const h = http(app);
      const cases: { repo: string; version: string; opts: Parameters<typeof pushChart>[3]; reason: RegExp }[] = [
        { repo: 'idx9/charts/garbage', version: '1.0.0', opts: { tgz: Buffer.from('not a tarball at all') }, reason: /not valid gzip/ },
        { repo: 'idx9/charts/noyaml', version: '1.0.0', opts: { tgz: chartTgz({ name: 'noyaml', version: '1.0.0', chartYaml: null }) }, reason: /no Chart\.yaml/ },
        { repo: 'idx9/charts/badcfg', version: '1.0.0', opts: { config: '{"name":' }, reason: /config blob is not valid JSON/ },
        { repo: 'idx9/charts/nover', version: '1.0.0', opts: { config: '{"name":"nover","apiVersion":"v2"}' }, reason: /version is required/ },
        {
          repo: 'idx9/charts/mismatch',
          version: '1.0.0',
          opts: { tgz: chartTgz({ name: 'mismatch', version: '2.0.0' }) },
          reason: /config says mismatch 1\.0\.0 but the archive's Chart\.yaml says mismatch 2\.0\.0/,
        },
      ];
      for (const c of cases) {
        const name = c.repo.split('/').pop() ?? '';
        await pushChart(h, c.repo, { name, version: c.version }, c.opts);
      }
      await app.events.settled();
      for (const c of cases) {
        const tags = await json<{ tags: string[] }>(app, `/v2/${c.repo}/tags/list`);
        assert.deepEqual(tags.tags, [c.version], `${c.repo} was stored as an OCI artifact`);
        const v = await json<VersionsJson>(app, `/api/v1/charts/${c.repo}/versions`);
        assert.equal(v.versions[0]?.status, 'failed', c.repo);
        assert.match(v.versions[0]?.error ?? '', c.reason, c.repo);
        const detail = await json<{ status: string; error: string }>(app, `/api/v1/charts/${c.repo}/versions/${c.version}`);
        assert.match(detail.error, c.reason, 'failed versions are found by tag');
      }
      assert.deepEqual(versionsOf((await getIndex(app, 'idx9')).index), {});
    });

    test('non-chart artifacts are ignored', async () => {
      const h = http(app);
      const config = await pushBlob(h, 'idx10/image', Buffer.from('{"architecture":"amd64","os":"linux"}'));
      const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers: [] }));
      const res = await app.app.inject({ method: 'PUT', url: '/v2/idx10/image/manifests/v1', payload: manifest, headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } });
      assert.equal(res.statusCode, 201);
      await app.events.settled();
      assert.equal((await app.app.inject({ url: '/api/v1/charts/idx10/image/versions' })).statusCode, 404);
      assert.deepEqual(versionsOf((await getIndex(app, 'idx10')).index), {});
    });

    test('a non-chart manifest pushed under a chart version\'s tag unlists that version', async () => {
      const h = http(app);
      await pushChart(h, 'idx13/charts/web', { name: 'web', version: '1.0.0' });
      await pushChart(h, 'idx13/charts/web', { name: 'web', version: '1.1.0' });
      await app.events.settled();
      await app.policies.setPackage(SYSTEM, parseRepoName('idx13/charts/web'), { allowChartOverwrite: true });
      const config = await pushBlob(h, 'idx13/charts/web', Buffer.from('{"architecture":"amd64","os":"linux"}'));
      const image = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers: [] }));
      const res = await app.app.inject({ method: 'PUT', url: '/v2/idx13/charts/web/manifests/1.0.0', payload: image, headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } });
      assert.equal(res.statusCode, 201);
      await app.events.settled();
      assert.deepEqual(versionsOf((await getIndex(app, 'idx13')).index), { web: ['1.1.0'] });
    });

    test('a deleted package drops out of the index', async () => {
      await pushChart(http(app), 'idx14/charts/gone', { name: 'gone', version: '1.0.0' });
      await pushChart(http(app), 'idx14/charts/kept', { name: 'kept', version: '1.0.0' });
      await app.events.settled();
      await app.packages.deletePackage(SYSTEM, parseRepoName('idx14/charts/gone'));
      await app.events.settled();
      assert.deepEqual(versionsOf((await getIndex(app, 'idx14')).index), { kept: ['1.0.0'] });
    });

    test('ETag, 304, gzip and HEAD', async () => {
      const h = http(app);
      await pushChart(h, 'idx11/charts/web', { name: 'web', version: '1.0.0' });
      await app.events.settled();
      const plain = await app.app.inject({ url: '/charts/idx11/index.yaml' });
      const etag = String(plain.headers['etag']);
      assert.match(etag, /^"[^"]+"$/);
      assert.equal(plain.headers['vary'], 'Accept-Encoding');
      assert.equal((await app.app.inject({ url: '/charts/idx11/index.yaml', headers: { 'if-none-match': etag } })).statusCode, 304);
      assert.equal((await app.app.inject({ url: '/charts/idx11/index.yaml', headers: { 'if-none-match': `W/${etag}` } })).statusCode, 304);

      const gz = await app.app.inject({ url: '/charts/idx11/index.yaml', headers: { 'accept-encoding': 'gzip, deflate' } });
      assert.equal(gz.headers['content-encoding'], 'gzip');
      assert.equal(gunzipSync(gz.rawPayload).toString('utf8'), plain.body);
      assert.notEqual(gz.headers['etag'], etag, 'each representation has its own validator');
      const gz304 = await app.app.inject({ url: '/charts/idx11/index.yaml', headers: { 'accept-encoding': 'gzip', 'if-none-match': String(gz.headers['etag']) } });
      assert.equal(gz304.statusCode, 304);
      assert.equal((await app.app.inject({ url: '/charts/idx11/index.yaml', headers: { 'accept-encoding': 'gzip;q=0' } })).headers['content-encoding'], undefined);

      const head = await app.app.inject({ method: 'HEAD', url: '/charts/idx11/index.yaml' });
      assert.equal(head.statusCode, 200);
      assert.equal(head.headers['etag'], etag);

      await pushChart(h, 'idx11/charts/web', { name: 'web', version: '1.1.0' });
      await app.events.settled();
      const changed = await app.app.inject({ url: '/charts/idx11/index.yaml', headers: { 'if-none-match': etag } });
      assert.equal(changed.statusCode, 200);
      assert.notEqual(changed.headers['etag'], etag);
      assert.match(changed.body, /version: 1\.1\.0/);
    });

    test('provenance layers are kept and served as .tgz.prov', async () => {
      const spec = { name: 'signed', version: '1.0.0' };
      const tgz = chartTgz(spec);
      const prov = Buffer.from(`-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nname: signed\n...\nfiles:\n  signed-1.0.0.tgz: sha256:${createHash('sha256').update(tgz).digest('hex')}\n-----BEGIN PGP SIGNATURE-----\n\nx\n-----END PGP SIGNATURE-----\n`);
      await pushChart(http(app), 'idx12/charts/signed', spec, { tgz, prov });
      await app.events.settled();
      const res = await app.app.inject({ url: '/charts/idx12/signed-1.0.0.tgz.prov' });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.rawPayload, prov);
      const detail = await json<{ provenance: { digest: string; size: number } }>(app, '/api/v1/charts/idx12/charts/signed/versions/1.0.0');
      assert.deepEqual(detail.provenance, { digest: sha256Digest(prov), size: prov.length });
    });

    test('bad owner names are 404, not errors', async () => {
      for (const url of ['/charts/UPPER/index.yaml', '/charts/a..b/index.yaml', '/charts/idx1/other.txt']) {
        assert.equal((await app.app.inject({ url })).statusCode, 404, url);
      }
    });
  });
}

describe('two replicas sharing one database and blob store', () => {
  let dir: string;
  let a: TestApp;
  let b: TestApp;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wharf-charts-replicas-'));
    const shared = { storage: { driver: 'fs', fs: { root: join(dir, 'blobs'), fsync: 'false' } }, database: { sqlite: { path: join(dir, 'wharf.db') } } };
    a = await buildTestApp(shared);
    b = await buildTestApp(shared);
  });
  after(async () => {
    await a.close();
    await b.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a push on one replica shows in the other replica’s index at once (its cache is validated)', async () => {
    await pushChart(http(a), 'rep/charts/web', { name: 'web', version: '1.0.0' });
    await a.events.settled();
    const fromB = await getIndex(b, 'rep');
    assert.deepEqual(versionsOf(fromB.index), { web: ['1.0.0'] });
    const fromA = await getIndex(a, 'rep');
    assert.equal(fromA.etag, fromB.etag, 'both replicas derive the same validator from the database');
    assert.equal(fromA.raw, fromB.raw, 'and the same bytes');

    await pushChart(http(a), 'rep/charts/web', { name: 'web', version: '1.1.0' });
    await a.events.settled();
    const stale = await b.app.inject({ url: '/charts/rep/index.yaml', headers: { 'if-none-match': fromB.etag } });
    assert.equal(stale.statusCode, 200, 'replica B does not answer 304 for an old generation');
    assert.deepEqual(versionsOf((await getIndex(b, 'rep')).index), { web: ['1.1.0', '1.0.0'] });

    assert.equal((await b.app.inject({ method: 'DELETE', url: '/v2/rep/charts/web/manifests/1.0.0' })).statusCode, 202);
    await b.events.settled();
    assert.deepEqual(versionsOf((await getIndex(a, 'rep')).index), { web: ['1.1.0'] });
  });
});
