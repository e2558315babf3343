/** /api/v1 chart views: owner list, versions in semver order, version details with commands. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { chartTgz, pushChart, sha256Digest } from '../helpers/charts.ts';
import { errorCode, http, json } from './charts-support.ts';

interface VersionView {
  version: string | null;
  prerelease: boolean;
  status: string;
  listed: boolean;
  digest: string;
  chartDigest: string;
  size: number;
  created: string;
}

const README = '# Web\n\nThe web tier.\n';
const VALUES = 'replicaCount: 2\nimage:\n  repository: nginx\n';
const SCHEMA = '{"$schema":"https://json-schema.org/draft-07/schema#","type":"object"}';
const EXTRA = `keywords: [web, http]
home: https://example.com/web
sources: [https://github.com/acme/web]
maintainers:
  - name: Ada
    email: ada@example.com
icon: https://example.com/icon.png
deprecated: false
annotations:
  category: Web
dependencies:
  - name: cache
    version: ">=0.1.0"
    repository: oci://registry.example.com/acme/charts
`;

describe('chart JSON API', () => {
  let app: TestApp;
  before(async () => {
    app = await buildTestApp({ server: { baseUrl: 'https://registry.example.com' } });
    const h = http(app);
    for (const version of ['1.9.0', '1.10.0', '2.0.0-rc.1', '1.10.0-beta.2', '0.1.0']) {
      const spec = { name: 'web', version, appVersion: `app-${version}`, readme: README, values: VALUES, extraChartYaml: EXTRA, files: { 'values.schema.json': SCHEMA } };
      // The config blob is what Helm pushes: the Chart.yaml metadata as JSON.
      const config = JSON.stringify({
        name: 'web',
        home: 'https://example.com/web',
        sources: ['https://github.com/acme/web'],
        version,
        description: 'The web chart',
        keywords: ['web', 'http'],
        maintainers: [{ name: 'Ada', email: 'ada@example.com' }],
        icon: 'https://example.com/icon.png',
        apiVersion: 'v2',
        appVersion: `app-${version}`,
        annotations: { category: 'Web' },
        dependencies: [{ name: 'cache', version: '>=0.1.0', repository: 'oci://registry.example.com/acme/charts' }],
        type: 'application',
      });
      await pushChart(h, 'api1/charts/web', spec, { config, tgz: chartTgz(spec) });
    }
    await pushChart(h, 'api1/tools/cli', { name: 'cli', version: '0.0.1-alpha' });
    await pushChart(h, 'api1/charts/broken', { name: 'broken', version: '1.0.0' }, { tgz: Buffer.from('nope') });
    await app.events.settled();
  });
  after(async () => app.close());

  test('versions come in semver order, stable and pre-release told apart', async () => {
    const v = await json<{ repository: string; name: string; latest: string; latestPrerelease: string | null; versions: VersionView[] }>(app, '/api/v1/charts/api1/charts/web/versions');
    assert.equal(v.repository, 'api1/charts/web');
    assert.equal(v.name, 'web');
    assert.deepEqual(
      v.versions.map((x) => [x.version, x.prerelease]),
      [
        ['2.0.0-rc.1', true],
        ['1.10.0', false],
        ['1.10.0-beta.2', true],
        ['1.9.0', false],
        ['0.1.0', false],
      ],
    );
    assert.equal(v.latest, '1.10.0');
    assert.equal(v.latestPrerelease, '2.0.0-rc.1');
    const escaped = await json<typeof v>(app, '/api/v1/charts/api1%2Fcharts%2Fweb/versions');
    assert.deepEqual(escaped, v, 'the repository path may be URL-escaped');
  });

  test('details carry metadata, README, values, schema, dependencies, digests and the Helm commands', async () => {
    type Detail = VersionView & {
      metadata: Record<string, unknown>;
      readme: { path: string; text: string };
      values: string;
      valuesSchema: string;
      tags: string[];
      commands: { install: string; pull: string; repoAdd: string; showValues: string; dependency: string };
      files: { chart: string; provenance: string | null };
    };
    const d = await json<Detail>(app, '/api/v1/charts/api1/charts/web/versions/1.10.0');
    assert.equal(d.version, '1.10.0');
    assert.equal(d.readme.text, README);
    assert.equal(d.readme.path, 'README.md');
    assert.equal(d.values, VALUES);
    assert.equal(d.valuesSchema, SCHEMA);
    assert.deepEqual(d.tags, ['1.10.0']);
    assert.deepEqual(d.metadata['dependencies'], [{ name: 'cache', version: '>=0.1.0', repository: 'oci://registry.example.com/acme/charts' }]);
    assert.deepEqual(d.metadata['maintainers'], [{ name: 'Ada', email: 'ada@example.com' }]);
    assert.deepEqual(d.metadata['keywords'], ['web', 'http']);
    assert.equal(d.metadata['appVersion'], 'app-1.10.0');
    assert.match(d.digest, /^sha256:[a-f0-9]{64}$/);
    const manifest = await app.app.inject({ url: `/v2/api1/charts/web/manifests/${d.digest}` });
    assert.equal(sha256Digest(manifest.rawPayload), d.digest);
    const layer = (JSON.parse(manifest.body) as { layers: { digest: string; size: number }[] }).layers[0];
    assert.equal(d.chartDigest, layer?.digest);
    assert.equal(d.size, layer?.size);
    assert.ok(!Number.isNaN(Date.parse(d.created)));
    assert.deepEqual(d.commands, {
      install: 'helm upgrade --install web oci://registry.example.com/api1/charts/web --version 1.10.0',
      pull: 'helm pull oci://registry.example.com/api1/charts/web --version 1.10.0',
      repoAdd: 'helm repo add api1 https://registry.example.com/charts/api1',
      showValues: 'helm show values oci://registry.example.com/api1/charts/web --version 1.10.0',
      dependency: 'dependencies:\n  - name: web\n    version: "1.10.0"\n    repository: oci://registry.example.com/api1/charts',
    });
    assert.deepEqual(d.files, { chart: '/charts/api1/web-1.10.0.tgz', provenance: null });
    const byDigest = await json<Detail>(app, `/api/v1/charts/api1/charts/web/versions/${d.digest}`);
    assert.equal(byDigest.version, '1.10.0');
  });

  test('the owner list has one summary per chart repository', async () => {
    const list = await json<{ owner: string; charts: { repository: string; name: string; latestVersion: string | null; latestPrerelease: string | null; versions: number; prereleases: number; failed: number }[] }>(
      app,
      '/api/v1/owners/api1/charts',
    );
    assert.equal(list.owner, 'api1');
    assert.deepEqual(
      list.charts.map((c) => [c.repository, c.name, c.latestVersion, c.latestPrerelease, c.versions, c.prereleases, c.failed]),
      [
        ['api1/charts/broken', 'broken', null, null, 0, 0, 1],
        ['api1/charts/web', 'web', '1.10.0', '2.0.0-rc.1', 5, 2, 0],
        ['api1/tools/cli', 'cli', null, '0.0.1-alpha', 1, 1, 0],
      ],
    );
    assert.deepEqual((await json<{ charts: unknown[] }>(app, '/api/v1/owners/nobody/charts')).charts, []);
  });

  test('unknown charts and versions are 404 in the shared error format', async () => {
    for (const url of ['/api/v1/charts/api1/charts/nope/versions', '/api/v1/charts/api1/charts/web/versions/9.9.9', '/api/v1/charts/NOT_A_REPO/versions', '/api/v1/charts/api1/versions']) {
      const res = await app.app.inject({ url });
      assert.equal(res.statusCode, 404, url);
      assert.equal(errorCode(res.body), 'NOT_FOUND', url);
    }
  });
});
