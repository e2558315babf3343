import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { renderIndexDocument } from './index-stream.ts';
import { chartFileName, indexEntry, INDEX_HEADER, renderChartKey, renderEntryFragment, renderIndexFooter, yamlScalar } from './index-yaml.ts';
import { normalizeMetadata } from './metadata.ts';

describe('index.yaml entries', () => {
  test('render like `helm repo index` for the default chart', () => {
    const meta = normalizeMetadata({ name: 'mychart', version: '1.0.0+build.1', description: 'A Helm chart for Kubernetes', apiVersion: 'v2', appVersion: '1.16.0', type: 'application' });
    const file = chartFileName(meta.name, meta.version);
    const doc =
      INDEX_HEADER +
      renderChartKey(meta.name) +
      renderEntryFragment(indexEntry(meta, { urls: [file], created: '2026-11-24T11:38:14.518096825Z', digest: 'fbbb6a52ade00fe93e14748b4ba31a55062cea865d0fe143e84890d4d4f9906e' })) +
      renderIndexFooter('2026-11-24T11:38:14.517086733Z');
    // Output of `helm repo index` (3.17.3 and 4.1.4) for the same archive.
    assert.equal(
      doc,
      `apiVersion: v1
entries:
  mychart:
  - apiVersion: v2
    appVersion: 1.16.0
    created: "2026-11-24T11:38:14.518096825Z"
    description: A Helm chart for Kubernetes
    digest: fbbb6a52ade00fe93e14748b4ba31a55062cea865d0fe143e84890d4d4f9906e
    name: mychart
    type: application
    urls:
    - mychart-1.0.0+build.1.tgz
    version: 1.0.0+build.1
generated: "2026-11-24T11:38:14.517086733Z"
`,
    );
  });

  test('quote every string a YAML 1.1 reader could take for another type, and round-trip exactly', () => {
    const tricky = ['yes', 'No', 'on', 'OFF', 'y', 'null', '~', '1.0', '10', '0x1F', '0o17', '1_000', '1e3', '.inf', '.NaN', '12:30', '2024-01-02', 'a: b', 'x #y', '#x', ' lead', 'trail ', 'end:', '@at', '*star', '&amp', '!bang', '%pct', '`tick', '"dq"', "'sq'", '[a]', '{a}', '- dash', '-', '?', '|', '>', 'multi\nline\n', 'tab\there', 'ünïcödé', '', 'plain words, commas (and parens)', 'https://example.com/a?b=c&d#e'];
    const meta = normalizeMetadata({
      apiVersion: 'v2',
      name: 'trick',
      version: '1.0.0',
      keywords: tricky,
      annotations: Object.fromEntries(tricky.filter((t) => t !== '').map((t, i) => [`k${i}`, t])),
      dependencies: [{ name: 'dep', version: '1.x', 'import-values': [{ child: 'a', parent: 'b' }, 'c'], enabled: false }],
      maintainers: [{ name: 'yes', email: 'a@b.c' }],
    });
    const entry = indexEntry(meta, { urls: ['trick-1.0.0.tgz'], created: '2024-01-02T03:04:05Z', digest: 'ab'.repeat(32) });
    const doc = `${INDEX_HEADER}${renderChartKey('trick')}${renderEntryFragment(entry)}${renderIndexFooter('2024-01-02T03:04:05Z')}`;
    for (const version of ['1.1', '1.2'] as const) {
      const parsed = parse(doc, { version }) as { entries: Record<string, unknown[]> };
      assert.deepEqual(parsed.entries['trick']?.[0], JSON.parse(JSON.stringify(entry)), `YAML ${version}`);
    }
  });

  test('plain scalars stay plain where Helm writes them plain', () => {
    for (const s of ['v2', '1.16.0', '1.0.0+build.1', 'mychart-1.0.0+build.1.tgz', 'https://example.com', 'A Helm chart for Kubernetes']) {
      assert.equal(yamlScalar(s), s);
    }
    assert.equal(yamlScalar('1.0'), '"1.0"');
    assert.equal(yamlScalar(true), 'true');
  });
});

describe('index.yaml document', () => {
  const row = (name: string, version: string, repo = `acme/charts/${name}`) => ({
    name,
    version,
    repo,
    indexEntry: renderEntryFragment({ name, version, urls: [chartFileName(name, version)] }),
  });

  async function render(rows: ReturnType<typeof row>[], pageSize: number, include?: (r: ReturnType<typeof row>) => boolean): Promise<string> {
    let out = '';
    const fetch = async (after: ReturnType<typeof row> | null) => {
      const start = after ? rows.indexOf(after) + 1 : 0;
      return rows.slice(start, start + pageSize);
    };
    for await (const chunk of renderIndexDocument(fetch, { generated: '2024-01-01T00:00:00.000Z', chunkBytes: 10, ...(include ? { include } : {}) })) out += chunk;
    return out;
  }

  test('groups versions under their chart across pages and keeps the first of duplicate versions', async () => {
    const rows = [row('a', '2.0.0'), row('a', '1.0.0'), row('a', '1.0.0', 'acme/old/a'), row('b', '1.0.0'), row('c', '0.1.0')];
    for (const pageSize of [1, 2, 100]) {
      const doc = parse(await render(rows, pageSize)) as { apiVersion: string; entries: Record<string, { version: string }[]>; generated: string };
      assert.equal(doc.apiVersion, 'v1');
      assert.deepEqual(
        Object.fromEntries(Object.entries(doc.entries).map(([k, v]) => [k, v.map((e) => e.version)])),
        { a: ['2.0.0', '1.0.0'], b: ['1.0.0'], c: ['0.1.0'] },
        `page size ${pageSize}`,
      );
      assert.equal(doc.generated, '2024-01-01T00:00:00.000Z');
    }
  });

  test('filters rows and renders an empty index as `entries: {}`', async () => {
    const rows = [row('a', '1.0.0'), row('b', '1.0.0', 'acme/private/b')];
    const doc = parse(await render(rows, 10, (r) => r.repo !== 'acme/private/b')) as { entries: Record<string, unknown> };
    assert.deepEqual(Object.keys(doc.entries), ['a']);
    const empty = await render([], 10);
    assert.equal(empty, 'apiVersion: v1\nentries: {}\ngenerated: "2024-01-01T00:00:00.000Z"\n');
  });
});
