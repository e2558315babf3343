import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { chartTgz, tarArchive } from '../../test/helpers/charts.ts';
import { DEFAULT_ARCHIVE_LIMITS, readChartArchive } from './archive.ts';
import { ChartError } from './metadata.ts';

async function* chunks(buf: Buffer, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

describe('chart archive reader', () => {
  test('reads Chart.yaml, README, values and schema from the chart root, and hashes the archive', async () => {
    const tgz = chartTgz({
      name: 'web',
      version: '1.2.3',
      readme: '# Web\n',
      values: 'image: nginx\n',
      files: {
        'values.schema.json': '{"type":"object"}',
        'charts/sub/README.md': '# not the chart readme\n',
        'charts/sub/Chart.yaml': 'name: sub\n',
      },
    });
    const r = await readChartArchive(chunks(tgz, 33));
    assert.equal(r.files.root, 'web');
    assert.match(r.files.chartYaml, /^apiVersion: v2\nname: web\nversion: 1.2.3\n/);
    assert.deepEqual(r.files.readme, { path: 'README.md', text: '# Web\n' });
    assert.equal(r.files.values, 'image: nginx\n');
    assert.equal(r.files.valuesSchema, '{"type":"object"}');
    assert.equal(r.sha256, createHash('sha256').update(tgz).digest('hex'));
    assert.equal(r.size, tgz.length);
  });

  test('README is found case-insensitively in Helm order', async () => {
    const tgz = chartTgz({ name: 'a', version: '1.0.0', files: { 'readme.txt': 'txt', 'Readme.MD': 'md' } });
    assert.deepEqual((await readChartArchive(chunks(tgz, 1000))).files.readme, { path: 'Readme.MD', text: 'md' });
  });

  test('files over the cap are reported in omitted, not kept', async () => {
    const tgz = chartTgz({ name: 'big', version: '1.0.0', values: 'x: 1\n'.repeat(1000) });
    const r = await readChartArchive(chunks(tgz, 512), { ...DEFAULT_ARCHIVE_LIMITS, fileBytes: 1000 });
    assert.equal(r.files.values, null);
    assert.deepEqual(r.files.omitted, ['values.yaml is larger than 1000 bytes']);
  });

  test('clear errors for what is not a chart', async () => {
    const cases: [string, Buffer, RegExp][] = [
      ['not gzip', Buffer.from('hello, I am not a chart'), /not valid gzip/],
      ['gzip but not tar', gzipSync(Buffer.from('x'.repeat(2000))), /not a valid tar/],
      ['no Chart.yaml', chartTgz({ name: 'x', version: '1.0.0', chartYaml: null }), /no Chart\.yaml/],
      ['empty tar', gzipSync(Buffer.alloc(1024)), /empty/],
      ['Chart.yaml only in a subdirectory', gzipSync(tarArchive([{ path: 'x/sub/Chart.yaml', body: 'name: x\n' }])), /no Chart\.yaml/],
    ];
    for (const [what, data, message] of cases) {
      await assert.rejects(readChartArchive(chunks(data, 100)), (err: unknown) => err instanceof ChartError && message.test(err.message), what);
    }
  });

  test('a truncated archive is an error', async () => {
    const tgz = chartTgz({ name: 'x', version: '1.0.0' });
    await assert.rejects(readChartArchive(chunks(tgz.subarray(0, tgz.length - 20), 100)), ChartError);
  });

  test('the decompressed size is bounded (gzip bombs)', async () => {
    const bomb = gzipSync(tarArchive([{ path: 'x/Chart.yaml', body: 'name: x\n' }, { path: 'x/zeros', body: Buffer.alloc(5 * 1024 * 1024) }]));
    assert.ok(bomb.length < 20_000);
    await assert.rejects(
      readChartArchive(chunks(bomb, 4096), { ...DEFAULT_ARCHIVE_LIMITS, decompressedBytes: 1024 * 1024 }),
      /larger than 1048576 bytes when decompressed/,
    );
  });

  test('beyond the floor, an archive expanding more than maxRatio times is a bomb, stopped early', async () => {
    const body = Buffer.alloc(20 * 1024 * 1024);
    const bomb = gzipSync(tarArchive([{ path: 'x/Chart.yaml', body: 'name: x\n' }, { path: 'x/zeros', body }]), { level: 9 });
    await assert.rejects(readChartArchive(chunks(bomb, 64 * 1024)), /expands more than 100 times/);
    // Well-compressible but plausible content under the floor is fine.
    const yaml = Buffer.from('apiVersion: v1\nkind: ConfigMap\n'.repeat(100_000));
    const big = gzipSync(tarArchive([{ path: 'x/Chart.yaml', body: 'apiVersion: v2\nname: x\nversion: 1.0.0\n' }, { path: 'x/templates/cm.yaml', body: yaml }]));
    assert.equal((await readChartArchive(chunks(big, 64 * 1024))).files.root, 'x');
  });
});
