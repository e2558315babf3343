import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ChartError, metadataToConfigJson, normalizeMetadata, ociAnnotations, parseChartYaml } from './metadata.ts';

const FULL = `apiVersion: v2
name: web
version: 1.10
kubeVersion: ">=1.25.0-0"
description: The web tier
type: application
keywords: [web, http]
home: https://example.com/web
sources:
  - https://github.com/acme/web
  - https://github.com/acme/web-chart
maintainers:
  - name: Ada
    email: ada@example.com
  - name: Bob
    url: https://bob.example.com
icon: https://example.com/icon.png
appVersion: 2.0
deprecated: yes
annotations:
  category: Web
  artifacthub.io/license: Apache-2.0
dependencies:
  - name: redis
    version: ~18.0.0
    repository: oci://registry.example.com/acme/charts
    condition: redis.enabled
    tags: [cache]
    alias: cache
    import-values:
      - child: default.data
        parent: myimports
      - data
  - name: common
    version: 2.x.x
    repository: https://charts.example.com
    enabled: false
`;

describe('Chart.yaml', () => {
  test('keeps every field Helm keeps, scalars exactly as written', () => {
    const meta = parseChartYaml(FULL);
    assert.equal(meta.version, '1.10', 'version is not read as the number 1.1');
    assert.equal(meta.appVersion, '2.0');
    assert.equal(meta.deprecated, true, 'YAML 1.1 boolean "yes"');
    assert.deepEqual(meta.keywords, ['web', 'http']);
    assert.deepEqual(meta.maintainers, [
      { name: 'Ada', email: 'ada@example.com' },
      { name: 'Bob', url: 'https://bob.example.com' },
    ]);
    assert.deepEqual(meta.annotations, { category: 'Web', 'artifacthub.io/license': 'Apache-2.0' });
    assert.equal(meta.kubeVersion, '>=1.25.0-0');
    assert.deepEqual(meta.dependencies, [
      {
        name: 'redis',
        version: '~18.0.0',
        repository: 'oci://registry.example.com/acme/charts',
        condition: 'redis.enabled',
        tags: ['cache'],
        'import-values': [{ child: 'default.data', parent: 'myimports' }, 'data'],
        alias: 'cache',
      },
      { name: 'common', version: '2.x.x', repository: 'https://charts.example.com', enabled: false },
    ]);
  });

  test('config JSON has the field order of `helm push` (byte-identical for the default chart)', () => {
    const meta = parseChartYaml('apiVersion: v2\nname: mychart\ndescription: A Helm chart for Kubernetes\ntype: application\nversion: 1.0.0+build.1\nappVersion: "1.16.0"\n');
    // What Helm 3.17 and 4.1 pushed as the config blob of `helm create mychart`.
    assert.equal(
      metadataToConfigJson(meta),
      '{"name":"mychart","version":"1.0.0+build.1","description":"A Helm chart for Kubernetes","apiVersion":"v2","appVersion":"1.16.0","type":"application"}',
    );
    assert.deepEqual(normalizeMetadata(JSON.parse(metadataToConfigJson(meta))), meta, 'round trip through the config blob');
  });

  test('v1 charts take dependencies from requirements.yaml', () => {
    const meta = parseChartYaml('apiVersion: v1\nname: old\nversion: 0.1.0\n', 'dependencies:\n  - name: mysql\n    version: 1.0.0\n    repository: https://x\n');
    assert.deepEqual(meta.dependencies, [{ name: 'mysql', version: '1.0.0', repository: 'https://x' }]);
  });

  test('invalid charts give a message naming the problem', () => {
    const cases: [string, RegExp][] = [
      ['name: x\nversion: 1.0.0\n', /apiVersion is required/],
      ['apiVersion: v3\nname: x\nversion: 1.0.0\n', /apiVersion "v3" is not supported/],
      ['apiVersion: v2\nversion: 1.0.0\n', /name is required/],
      ['apiVersion: v2\nname: x\n', /version is required/],
      ['apiVersion: v2\nname: x\nversion: one\n', /version "one" is not a valid semantic version/],
      ['apiVersion: v2\nname: ../x\nversion: 1.0.0\n', /chart name "..\/x" is invalid/],
      ['apiVersion: v2\nname: x\nversion: 1.0.0\ntype: plugin\n', /type "plugin" is invalid/],
      ['apiVersion: v2\nname: x\nversion: 1.0.0\nkeywords: web\n', /keywords must be a list/],
      ['apiVersion: v2\nname: x\nversion: 1.0.0\nmaintainers:\n  - email: a@b\n', /maintainers\[0\] must have a name/],
      ['apiVersion: v2\nname: x\nversion: 1.0.0\ndeprecated: maybe\n', /deprecated must be a boolean/],
      ['- a\n- b\n', /must be a mapping/],
      ['apiVersion: v2\nname: [x\n', /not valid YAML/],
    ];
    for (const [yaml, message] of cases) {
      assert.throws(() => parseChartYaml(yaml), (err: unknown) => err instanceof ChartError && message.test(err.message), yaml);
    }
  });
});

describe('OCI annotations', () => {
  test('match what `helm push` writes', () => {
    const meta = parseChartYaml(FULL);
    assert.deepEqual(ociAnnotations(meta, '2024-01-02T03:04:05Z'), {
      'org.opencontainers.image.description': 'The web tier',
      'org.opencontainers.image.title': 'web',
      'org.opencontainers.image.version': '1.10',
      'org.opencontainers.image.url': 'https://example.com/web',
      'org.opencontainers.image.created': '2024-01-02T03:04:05Z',
      'org.opencontainers.image.source': 'https://github.com/acme/web',
      'org.opencontainers.image.authors': 'Ada (ada@example.com), Bob',
      category: 'Web',
      'artifacthub.io/license': 'Apache-2.0',
    });
  });

  test('chart annotations cannot override title or version', () => {
    const meta = normalizeMetadata({
      apiVersion: 'v2',
      name: 'x',
      version: '1.0.0',
      annotations: { 'org.opencontainers.image.version': '9', 'org.opencontainers.image.title': 'y' },
    });
    const a = ociAnnotations(meta, 't');
    assert.equal(a['org.opencontainers.image.version'], '1.0.0');
    assert.equal(a['org.opencontainers.image.title'], 'x');
  });
});
