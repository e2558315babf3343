/**
 * A small streaming tar reader: feed it bytes as they arrive, it reports each entry and hands
 * over the bodies of the entries the caller asks for (up to a cap), skipping the rest without
 * buffering. Understands ustar (with the name prefix), GNU long names (`L`) and PAX extended
 * headers (`x`, `path` and `size`), which is what `helm package` (Go's archive/tar) writes.
 */

export class TarError extends Error {}

export interface TarEntry {
  /** Full path inside the archive, without a leading `./`. */
  path: string;
  type: 'file' | 'directory' | 'other';
  size: number;
}

/** What to do with an entry's body: collect at most `maxBytes`, or skip it. */
export type EntryDecision = { collect: true; maxBytes: number } | { collect: false };

export interface TarHandlers {
  entry(entry: TarEntry): EntryDecision;
  /** A collected body; `tooLarge` when it exceeded `maxBytes` (body is then empty). */
  file(entry: TarEntry, body: Buffer, tooLarge: boolean): void;
}

const BLOCK = 512;
const META_MAX = 1 << 20;

function cString(buf: Buffer, start: number, len: number): string {
  const end = buf.indexOf(0, start);
  return buf.toString('utf8', start, end === -1 || end > start + len ? start + len : end);
}

function parseNumber(buf: Buffer, start: number, len: number): number {
  const first = buf[start] ?? 0;
  if (first & 0x80) {
    // GNU base-256: big-endian two's complement with the top bit as a marker.
    let n = first & 0x7f;
    for (let i = 1; i < len; i++) n = n * 256 + (buf[start + i] ?? 0);
    if (!Number.isSafeInteger(n)) throw new TarError('tar entry size too large');
    return n;
  }
  const text = cString(buf, start, len).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new TarError('invalid number in tar header');
  return parseInt(text, 8);
}

function checksumOk(header: Buffer): boolean {
  const stored = parseNumber(header, 148, 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (header[i] ?? 0);
  return sum === stored;
}

/** PAX records: `<len> <key>=<value>\n`. */
function parsePax(body: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let pos = 0;
  while (pos < body.length) {
    const space = body.indexOf(0x20, pos);
    if (space === -1) break;
    const len = Number(body.toString('ascii', pos, space));
    if (!Number.isSafeInteger(len) || len <= 0 || pos + len > body.length) throw new TarError('invalid PAX header');
    const record = body.toString('utf8', space + 1, pos + len - 1);
    const eq = record.indexOf('=');
    if (eq > 0) out.set(record.slice(0, eq), record.slice(eq + 1));
    pos += len;
  }
  return out;
}

function normalizePath(path: string): string {
  return path.replace(/^(\.\/)+/, '').replace(/^\/+/, '');
}

type State =
  | { kind: 'header' }
  | { kind: 'body'; entry: TarEntry; remaining: number; padding: number; sink: Sink | null }
  | { kind: 'padding'; remaining: number }
  | { kind: 'done' };

interface Sink {
  chunks: Buffer[];
  bytes: number;
  max: number;
  tooLarge: boolean;
  /** Meta entries (PAX, GNU long name) are consumed by the parser itself. */
  meta: 'pax' | 'longname' | null;
}

export class TarParser {
  private readonly handlers: TarHandlers;
  private state: State = { kind: 'header' };
  private pending: Buffer = Buffer.alloc(0);
  private nextPath: string | null = null;
  private nextSize: number | null = null;
  private zeroBlocks = 0;
  private entries = 0;

  constructor(handlers: TarHandlers) {
    this.handlers = handlers;
  }

  get entryCount(): number {
    return this.entries;
  }

  write(chunk: Buffer): void {
    let data = chunk;
    while (data.length > 0) {
      const state = this.state;
      if (state.kind === 'done') return;
      if (state.kind === 'header') {
        const need = BLOCK - this.pending.length;
        if (data.length < need) {
          this.pending = Buffer.concat([this.pending, data]);
          return;
        }
        const header = this.pending.length > 0 ? Buffer.concat([this.pending, data.subarray(0, need)]) : data.subarray(0, need);
        this.pending = Buffer.alloc(0);
        data = data.subarray(need);
        this.header(header);
        continue;
      }
      if (state.kind === 'padding') {
        const n = Math.min(state.remaining, data.length);
        state.remaining -= n;
        data = data.subarray(n);
        if (state.remaining === 0) this.state = { kind: 'header' };
        continue;
      }
      const n = Math.min(state.remaining, data.length);
      if (state.sink && n > 0) this.collect(state.sink, data.subarray(0, n));
      state.remaining -= n;
      data = data.subarray(n);
      if (state.remaining === 0) this.finishBody(state);
    }
  }

  /** Call after the last byte; throws when the archive ended in the middle of an entry. */
  end(): void {
    if (this.state.kind === 'done') return;
    if (this.state.kind === 'header' && this.pending.length === 0) return; // no end marker: tolerated, as Go's reader does
    throw new TarError('tar archive is truncated');
  }

  private collect(sink: Sink, bytes: Buffer): void {
    if (sink.tooLarge) return;
    if (sink.bytes + bytes.length > sink.max) {
      sink.tooLarge = true;
      sink.chunks = [];
      return;
    }
    // Copy: the caller may reuse its chunk buffers.
    sink.chunks.push(Buffer.from(bytes));
    sink.bytes += bytes.length;
  }

  private header(block: Buffer): void {
    if (block.every((b) => b === 0)) {
      this.zeroBlocks++;
      if (this.zeroBlocks >= 2) this.state = { kind: 'done' };
      return;
    }
    this.zeroBlocks = 0;
    if (!checksumOk(block)) throw new TarError('invalid tar header checksum');
    const typeflag = String.fromCharCode(block[156] ?? 0);
    let size = parseNumber(block, 124, 12);
    const ustar = block.toString('ascii', 257, 262) === 'ustar';
    const prefix = ustar ? cString(block, 345, 155) : '';
    let path = cString(block, 0, 100);
    if (prefix !== '') path = `${prefix}/${path}`;

    if (typeflag === 'x' || typeflag === 'g' || typeflag === 'L' || typeflag === 'K') {
      if (size > META_MAX) throw new TarError('tar extended header too large');
      const meta = typeflag === 'x' ? 'pax' : typeflag === 'L' ? 'longname' : null;
      const entry: TarEntry = { path, type: 'other', size };
      const sink: Sink | null = meta ? { chunks: [], bytes: 0, max: META_MAX, tooLarge: false, meta } : null;
      this.startBody(entry, size, sink);
      return;
    }

    if (this.nextPath !== null) path = this.nextPath;
    if (this.nextSize !== null) size = this.nextSize;
    this.nextPath = null;
    this.nextSize = null;
    const type: TarEntry['type'] =
      typeflag === '0' || typeflag === '\0' || typeflag === '7' ? 'file' : typeflag === '5' ? 'directory' : 'other';
    // Directories, hard and symbolic links carry no body even when a size is set.
    if (typeflag === '1' || typeflag === '2' || typeflag === '5') size = 0;
    const entry: TarEntry = { path: normalizePath(path), type, size };
    this.entries++;
    const decision: EntryDecision = type === 'file' ? this.handlers.entry(entry) : { collect: false };
    const sink: Sink | null = decision.collect ? { chunks: [], bytes: 0, max: decision.maxBytes, tooLarge: false, meta: null } : null;
    this.startBody(entry, size, sink);
  }

  private startBody(entry: TarEntry, size: number, sink: Sink | null): void {
    const padding = (BLOCK - (size % BLOCK)) % BLOCK;
    const state: State = { kind: 'body', entry, remaining: size, padding, sink };
    this.state = state;
    if (size === 0) this.finishBody(state);
  }

  private finishBody(state: Extract<State, { kind: 'body' }>): void {
    const sink = state.sink;
    if (sink) {
      const body = Buffer.concat(sink.chunks);
      if (sink.meta === 'pax') {
        const pax = parsePax(body);
        const p = pax.get('path');
        if (p !== undefined) this.nextPath = p;
        const s = pax.get('size');
        if (s !== undefined) {
          if (!/^[0-9]+$/.test(s)) throw new TarError('invalid PAX size');
          this.nextSize = Number(s);
        }
      } else if (sink.meta === 'longname') {
        this.nextPath = cString(body, 0, body.length);
      } else {
        this.handlers.file(state.entry, body, sink.tooLarge);
      }
    }
    this.state = state.padding > 0 ? { kind: 'padding', remaining: state.padding } : { kind: 'header' };
  }
}
