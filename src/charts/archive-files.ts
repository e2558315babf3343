/**
 * The file list of a chart archive (paths and sizes, no bodies) for the chart page's Templates
 * tab. Streams through gunzip and the tar reader with the same decompression caps as indexing
 * (archive.ts), so a hostile archive costs no more here than at push time.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { ChartError } from './metadata.ts';
import { DEFAULT_ARCHIVE_LIMITS } from './archive.ts';
import { TarParser } from './tar.ts';

export interface ArchiveFile {
  /** Relative to the chart's directory (`templates/deployment.yaml`). */
  path: string;
  size: number;
}

const MAX_FILES = 2000;

export async function listChartFiles(source: AsyncIterable<Uint8Array>): Promise<ArchiveFile[]> {
  const files: ArchiveFile[] = [];
  let root: string | null = null;
  let decompressed = 0;
  const parser = new TarParser({
    entry(entry) {
      const slash = entry.path.indexOf('/');
      root ??= slash < 0 ? entry.path : entry.path.slice(0, slash);
      if (files.length < MAX_FILES && slash > 0 && entry.path.slice(0, slash) === root) files.push({ path: entry.path.slice(slash + 1), size: entry.size });
      return { collect: false };
    },
    file() {},
  });
  await pipeline(Readable.from(source), createGunzip(), async (plain: AsyncIterable<Buffer>) => {
    for await (const chunk of plain) {
      decompressed += chunk.length;
      if (decompressed > DEFAULT_ARCHIVE_LIMITS.decompressedBytes) throw new ChartError('chart archive is too large when decompressed');
      parser.write(chunk);
    }
    parser.end();
  });
  return files.sort((a, b) => a.path.localeCompare(b.path));
}
