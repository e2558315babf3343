/**
 * Reads what Wharf needs from a chart archive (`<name>/Chart.yaml`, README, values.yaml,
 * values.schema.json, requirements.yaml) by streaming it through gunzip and the tar reader:
 * nothing but the wanted files is kept, each under a cap, and the decompressed size is bounded
 * (gzip bombs), as Helm's own loader bounds it.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { ChartError } from './metadata.ts';
import { type TarEntry, TarError, TarParser } from './tar.ts';

export interface ArchiveLimits {
  /** Cap on Chart.yaml and requirements.yaml. */
  chartYamlBytes: number;
  /** Cap on README, values.yaml and values.schema.json each; larger ones are reported, not kept. */
  fileBytes: number;
  /** Cap on the whole decompressed archive (Helm's own loader allows 100 MiB). */
  decompressedBytes: number;
  /**
   * Beyond `ratioFloorBytes` decompressed, the archive may not expand more than this many times
   * its compressed size: real charts (YAML, even huge CRDs) expand 5-30x, gzip bombs ~1000x, so a
   * bomb is stopped after a few MiB of work instead of at the absolute cap.
   */
  maxRatio: number;
  ratioFloorBytes: number;
}

export const DEFAULT_ARCHIVE_LIMITS: ArchiveLimits = {
  chartYamlBytes: 256 * 1024,
  fileBytes: 1024 * 1024,
  decompressedBytes: 100 * 1024 * 1024,
  maxRatio: 100,
  ratioFloorBytes: 8 * 1024 * 1024,
};

export interface ChartFiles {
  /** The top-level directory of the archive (normally the chart name). */
  root: string;
  chartYaml: string;
  requirementsYaml: string | null;
  readme: { path: string; text: string } | null;
  values: string | null;
  valuesSchema: string | null;
  /** Files that exist but were over the cap, e.g. `values.yaml larger than 1048576 bytes`. */
  omitted: string[];
}

export interface ArchiveResult {
  files: ChartFiles;
  /** sha256 (hex) of the compressed bytes, i.e. what a classic index calls `digest`. */
  sha256: string;
  size: number;
}

// Helm looks for these (case-insensitively) at the chart root, in this order.
const README_NAMES = ['readme.md', 'readme.txt', 'readme'];

type Wanted = 'chart' | 'requirements' | 'readme' | 'values' | 'schema';

function classify(rel: string): Wanted | null {
  if (rel === 'Chart.yaml') return 'chart';
  if (rel === 'requirements.yaml') return 'requirements';
  if (rel === 'values.yaml') return 'values';
  if (rel === 'values.schema.json') return 'schema';
  if (README_NAMES.includes(rel.toLowerCase())) return 'readme';
  return null;
}

function utf8(body: Buffer): string {
  return body.toString('utf8').replace(/^\uFEFF/, '');
}

/** Reads a chart archive from a byte stream. Throws ChartError when it is not a usable chart. */
export async function readChartArchive(source: AsyncIterable<Uint8Array>, limits: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS): Promise<ArchiveResult> {
  const hash = createHash('sha256');
  let size = 0;
  let decompressed = 0;
  let root: string | null = null;
  const found = new Map<Wanted, { path: string; body: Buffer }>();
  const readmes: { path: string; body: Buffer }[] = [];
  const omitted: string[] = [];

  const parser = new TarParser({
    entry(entry: TarEntry) {
      const parts = entry.path.split('/');
      const top = parts[0] ?? '';
      root ??= top;
      // Only files directly inside the chart's root directory matter (not subcharts).
      if (parts.length !== 2 || top !== root) return { collect: false };
      const kind = classify(parts[1] ?? '');
      if (kind === null) return { collect: false };
      return { collect: true, maxBytes: kind === 'chart' || kind === 'requirements' ? limits.chartYamlBytes : limits.fileBytes };
    },
    file(entry, body, tooLarge) {
      const rel = entry.path.split('/')[1] ?? '';
      const kind = classify(rel);
      if (kind === null) return;
      if (tooLarge) {
        if (kind === 'chart') throw new ChartError(`Chart.yaml is larger than ${limits.chartYamlBytes} bytes`);
        omitted.push(`${rel} is larger than ${kind === 'requirements' ? limits.chartYamlBytes : limits.fileBytes} bytes`);
        return;
      }
      if (kind === 'readme') readmes.push({ path: rel, body });
      else found.set(kind, { path: rel, body });
    },
  });

  try {
    await pipeline(
      Readable.from(source),
      async function* (chunks: AsyncIterable<Uint8Array>) {
        for await (const chunk of chunks) {
          hash.update(chunk);
          size += chunk.length;
          yield chunk;
        }
      },
      createGunzip(),
      async (plain: AsyncIterable<Buffer>) => {
        for await (const chunk of plain) {
          decompressed += chunk.length;
          if (decompressed > limits.decompressedBytes) {
            throw new ChartError(`chart archive is larger than ${limits.decompressedBytes} bytes when decompressed`);
          }
          if (decompressed > limits.ratioFloorBytes && decompressed > limits.maxRatio * size) {
            throw new ChartError(`chart archive expands more than ${limits.maxRatio} times when decompressed (a gzip bomb?)`);
          }
          parser.write(chunk);
        }
        parser.end();
      },
    );
  } catch (err) {
    if (err instanceof ChartError) throw err;
    if (err instanceof TarError) throw new ChartError(`chart archive is not a valid tar: ${err.message}`);
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('Z_')) throw new ChartError('chart archive is not valid gzip data');
    throw err;
  }

  if (parser.entryCount === 0 || root === null) throw new ChartError('chart archive is empty');
  const chart = found.get('chart');
  if (!chart) throw new ChartError('chart archive has no Chart.yaml in its top-level directory');
  readmes.sort((a, b) => README_NAMES.indexOf(a.path.toLowerCase()) - README_NAMES.indexOf(b.path.toLowerCase()));
  const readme = readmes[0];
  const text = (k: Wanted): string | null => {
    const f = found.get(k);
    return f ? utf8(f.body) : null;
  };
  return {
    files: {
      root,
      chartYaml: utf8(chart.body),
      requirementsYaml: text('requirements'),
      readme: readme ? { path: readme.path, text: utf8(readme.body) } : null,
      values: text('values'),
      valuesSchema: text('schema'),
      omitted,
    },
    sha256: hash.digest('hex'),
    size,
  };
}
