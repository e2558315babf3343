import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { type TarEntry, TarError, TarParser } from './tar.ts';

const work = mkdtempSync(join(tmpdir(), 'wharf-tar-'));
after(() => rmSync(work, { recursive: true, force: true }));

const longDir = `chart/${'deeply-nested-directory/'.repeat(6)}`;
const FILES: Record<string, string> = {
  'chart/Chart.yaml': 'name: chart\nversion: 1.0.0\n',
  'chart/values.yaml': 'x: 1\n'.repeat(300),
  [`${longDir}a-file-with-a-rather-long-name-that-does-not-fit-the-ustar-name-field-at-all-${'z'.repeat(40)}.txt`]: 'deep\n',
  'chart/empty.txt': '',
};

/** Builds an archive of FILES with GNU tar in the given format (the real thing, not our writer). */
function gnuTar(format: 'ustar' | 'gnu' | 'pax'): Buffer {
  const dir = join(work, format);
  for (const [path, body] of Object.entries(FILES)) {
    if (format === 'ustar' && path.length > 255) continue;
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), body);
  }
  return execFileSync('tar', ['-C', dir, `--format=${format}`, '--sort=name', '-cf', '-', 'chart']);
}

function readAll(archive: Buffer, chunk: number, maxBytes = 1 << 20): { entries: TarEntry[]; files: Map<string, string>; tooLarge: string[] } {
  const entries: TarEntry[] = [];
  const files = new Map<string, string>();
  const tooLarge: string[] = [];
  const parser = new TarParser({
    entry(e) {
      entries.push(e);
      return { collect: true, maxBytes };
    },
    file(e, body, big) {
      if (big) tooLarge.push(e.path);
      else files.set(e.path, body.toString('utf8'));
    },
  });
  for (let i = 0; i < archive.length; i += chunk) parser.write(archive.subarray(i, i + chunk));
  parser.end();
  return { entries, files, tooLarge };
}

describe('tar reader', () => {
  for (const format of ['ustar', 'gnu', 'pax'] as const) {
    test(`reads GNU tar --format=${format} output, whatever the chunking`, () => {
      const archive = gnuTar(format);
      for (const chunk of [1, 7, 512, 513, 100_000]) {
        const { files, entries } = readAll(archive, chunk);
        for (const [path, body] of Object.entries(FILES)) {
          if (format === 'ustar' && path.length > 255) continue;
          assert.equal(files.get(path), body, `${format}/${chunk}: ${path}`);
        }
        // Only regular files are offered to the caller; directories are skipped.
        assert.equal(entries.length, files.size);
        assert.ok(entries.every((e) => e.type === 'file'));
      }
    });
  }

  test('bodies over the cap are reported as too large, not kept', () => {
    const { files, tooLarge } = readAll(gnuTar('pax'), 4096, 100);
    assert.deepEqual(tooLarge, ['chart/values.yaml']);
    assert.equal(files.get('chart/Chart.yaml'), FILES['chart/Chart.yaml']);
  });

  test('a corrupted header fails the checksum', () => {
    const archive = Buffer.from(gnuTar('ustar'));
    archive[0] = (archive[0] ?? 0) ^ 0xff;
    assert.throws(() => readAll(archive, 512), TarError);
  });

  test('an archive cut inside an entry is truncated', () => {
    const archive = gnuTar('ustar');
    assert.throws(() => readAll(archive.subarray(0, 512 + 100), 512), /truncated/);
  });

  test('skipped entries are not collected', () => {
    const seen: string[] = [];
    const parser = new TarParser({
      entry: () => ({ collect: false }),
      file: (e) => seen.push(e.path),
    });
    parser.write(gnuTar('gnu'));
    parser.end();
    assert.deepEqual(seen, []);
  });
});
