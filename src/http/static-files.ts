/**
 * The UI's files as the browser gets them: each read once into memory (ui/dist is a few hundred
 * KB), with a strong ETag (content hash) and gzip and brotli variants made on first request, so
 * a first visit transfers compressed bytes and a revisit of index.html is a 304. An entry is
 * keyed by path, size and mtime: a rebuilt UI is picked up without a restart.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

export type Encoding = 'br' | 'gzip' | 'identity';

interface Entry {
  key: string;
  body: Buffer;
  etag: string;
  variants: Partial<Record<Encoding, Buffer>>;
}

/** Text types worth compressing (images and fonts are compressed already). */
const COMPRESSIBLE = /^(text\/|application\/(json|javascript)|image\/svg\+xml)/;
/** Below this, compression headers cost more than they save. */
const MIN_COMPRESS = 512;
const MAX_ENTRIES = 500;

/** The client's preferred encoding among the ones we make (brotli, then gzip), from Accept-Encoding. */
export function pickEncoding(acceptEncoding: string | undefined): Encoding {
  const accepted = new Map<string, number>();
  for (const part of (acceptEncoding ?? '').split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    if (!name) continue;
    const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
    accepted.set(name, q === undefined ? 1 : Number(q));
  }
  const ok = (name: string) => (accepted.get(name) ?? accepted.get('*') ?? 0) > 0;
  if (ok('br')) return 'br';
  if (ok('gzip')) return 'gzip';
  return 'identity';
}

/** `If-None-Match` lists this ETag (or `*`), weak comparison as RFC 9110 asks for GET. */
export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  const bare = etag.replace(/^W\//, '');
  return ifNoneMatch.split(',').some((t) => {
    const v = t.trim();
    return v === '*' || v.replace(/^W\//, '') === bare;
  });
}

export class StaticFiles {
  private readonly entries = new Map<string, Entry>();

  /** The file's bytes in `encoding` (or identity when not worth compressing) with its ETag; null when absent. */
  async get(file: string, type: string, encoding: Encoding): Promise<{ body: Buffer; etag: string; encoding: Encoding } | null> {
    const st = await stat(file).catch(() => null);
    if (!st?.isFile()) return null;
    const key = `${st.size}:${st.mtimeMs}`;
    let entry = this.entries.get(file);
    if (!entry || entry.key !== key) {
      const body = await readFile(file);
      entry = { key, body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`, variants: { identity: body } };
      if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
      this.entries.set(file, entry);
    }
    const use: Encoding = encoding !== 'identity' && COMPRESSIBLE.test(type) && entry.body.length >= MIN_COMPRESS ? encoding : 'identity';
    let body = entry.variants[use];
    if (!body) {
      body = use === 'br' ? brotliCompressSync(entry.body, { params: { [constants.BROTLI_PARAM_QUALITY]: 9, [constants.BROTLI_PARAM_SIZE_HINT]: entry.body.length } }) : gzipSync(entry.body, { level: 9 });
      entry.variants[use] = body;
    }
    // One ETag per representation: a cache must not answer a gzip request with brotli bytes.
    const etag = use === 'identity' ? entry.etag : `${entry.etag.slice(0, -1)}-${use}"`;
    return { body, etag, encoding: use };
  }
}
