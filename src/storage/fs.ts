import { createReadStream } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, rename, rm, stat, truncate, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { RegistryError } from '../errors.ts';
import type { Digest } from '../oci/digest.ts';
import { digestAlgorithm, isDigest } from '../oci/digest.ts';
import { KeyedMutex } from '../lib/keyed-mutex.ts';
import { AlignedBufferPool } from './aligned-buffers.ts';
import { consumeChunks } from './body.ts';
import { UploadHashes } from './hashing.ts';
import { layout } from './layout.ts';
import { SessionWriter } from './session-writer.ts';
import type { AppendOptions, BlobStat, BlobStore, ByteRange, StoredSession, UploadStore } from './types.ts';

const UPLOAD_ID = /^[A-Za-z0-9_-]{1,128}$/;

function isNotFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'ENOENT';
}

async function fsyncPath(path: string, dir = false): Promise<void> {
  const fh = await open(path, dir ? 'r' : 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

// Each upload receiving bytes holds up to WRITES_IN_FLIGHT + 1 buffers of WRITE_BUFFER_BYTES:
// the socket, the hash and the disk work at the same time instead of taking turns.
const WRITE_BUFFER_BYTES = 2 << 20;
const WRITES_IN_FLIGHT = 3;
const SYNC_EVERY_BYTES = 64 << 20;

/**
 * Filesystem blob and upload store. A session is a file under uploads/; commit hashes (or
 * reuses the running hash), fsyncs, then renames into blobs/, so a blob is either complete and
 * verified or absent.
 */
export class FsStore implements BlobStore, UploadStore {
  readonly kind = 'fs';
  private readonly locks = new KeyedMutex();
  private readonly hashes = new UploadHashes();
  private readonly root: string;
  private readonly fsync: boolean;
  private directIo: boolean;
  private readonly buffers = new AlignedBufferPool(WRITE_BUFFER_BYTES, WRITES_IN_FLIGHT + 1);

  constructor(root: string, opts: { fsync?: boolean; directIo?: boolean } = {}) {
    this.root = root;
    this.fsync = opts.fsync ?? true;
    this.directIo = opts.directIo ?? true;
  }

  private path(key: string): string {
    return join(this.root, ...key.split('/'));
  }

  /**
   * A session is one file, `uploads/<id>` (ADR 0027: no directory to make and remove per blob).
   * Sessions begun before that are a directory holding `data`; they keep working.
   */
  private uploadEntry(id: string): string {
    if (!UPLOAD_ID.test(id)) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', 'upload unknown', { uuid: id });
    return this.path(layout.upload(id));
  }

  /** The session's data file and its size (one stat for a current session). */
  private async session(id: string): Promise<{ data: string; size: number }> {
    const entry = this.uploadEntry(id);
    try {
      const s = await stat(entry);
      if (!s.isDirectory()) return { data: entry, size: s.size };
      const legacy = join(entry, 'data');
      return { data: legacy, size: (await stat(legacy)).size };
    } catch (err) {
      if (isNotFound(err)) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', 'upload unknown', { uuid: id });
      throw err;
    }
  }

  async stat(digest: Digest): Promise<BlobStat | null> {
    try {
      const s = await stat(this.path(layout.blob(digest)));
      return { size: s.size };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async read(digest: Digest, range?: ByteRange): Promise<Readable> {
    const fh = await this.openFile(digest);
    // Reads of a small blob (a config, a manifest) get a buffer of their size, not 1 MiB.
    const length = range ? range.end - range.start + 1 : (await fh.stat()).size;
    const highWaterMark = Math.max(1, Math.min(length, 1 << 20));
    return fh.createReadStream(range ? { start: range.start, end: range.end, highWaterMark } : { highWaterMark });
  }

  async openFile(digest: Digest): Promise<FileHandle> {
    try {
      return await open(this.path(layout.blob(digest)), 'r');
    } catch (err) {
      if (isNotFound(err)) throw new RegistryError('BLOB_UNKNOWN', 'blob unknown to registry', { digest });
      throw err;
    }
  }

  async redirectUrl(): Promise<string | null> {
    return null;
  }

  async delete(digest: Digest): Promise<boolean> {
    try {
      // unlink, not rm: one system call per blob (GC deletes them by the thousand).
      await unlink(this.path(layout.blob(digest)));
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  async deleteMany(digests: readonly Digest[]): Promise<void> {
    await Promise.all(digests.map((d) => this.delete(d)));
  }

  async *sessions(): AsyncIterable<StoredSession> {
    const base = this.path(layout.uploadsRoot);
    for (const id of await readdir(base).catch(() => [] as string[])) {
      if (!UPLOAD_ID.test(id)) continue;
      // The file's mtime is the last append. A session of the directory layout: its data file's,
      // else (it never got bytes) the directory's own.
      const entry = await stat(join(base, id)).catch(() => null);
      const s = entry?.isDirectory() ? ((await stat(join(base, id, 'data')).catch(() => null)) ?? entry) : entry;
      if (s) yield { id, modifiedAt: s.mtimeMs };
    }
  }

  async *walk(): AsyncIterable<Digest> {
    const base = this.path(layout.blobsRoot);
    for (const alg of await readdir(base).catch(() => [] as string[])) {
      for (const prefix of await readdir(join(base, alg)).catch(() => [] as string[])) {
        for (const hex of await readdir(join(base, alg, prefix)).catch(() => [] as string[])) {
          const d = `${alg}:${hex}`;
          if (isDigest(d)) yield d as Digest;
        }
      }
    }
  }

  async create(id: string): Promise<void> {
    const data = this.uploadEntry(id);
    try {
      await (await open(data, 'w')).close();
    } catch (err) {
      if (!isNotFound(err)) throw err;
      // The first session of this root: make uploads/ once, not per session.
      await mkdir(dirname(data), { recursive: true });
      await (await open(data, 'w')).close();
    }
  }

  async size(id: string): Promise<number> {
    return (await this.session(id)).size;
  }

  async append(id: string, offset: number | undefined, body: AsyncIterable<Uint8Array>, opts: AppendOptions = {}): Promise<number> {
    return this.locks.run(id, async () => {
      const { data, size: start } = await this.session(id);
      if (offset !== undefined && offset !== start) {
        throw new RegistryError('RANGE_INVALID', 'chunk does not start at the end of the upload', { offset, size: start });
      }
      const hash = this.hashes.tap(id, start);
      const writer = await SessionWriter.open(data, start, {
        pool: this.buffers,
        directIo: this.directIo,
        maxInFlight: WRITES_IN_FLIGHT,
        syncEveryBytes: this.fsync ? SYNC_EVERY_BYTES : Number.POSITIVE_INFINITY,
        onDirectIoUnsupported: () => {
          this.directIo = false;
        },
      });
      let position: number;
      try {
        await consumeChunks(
          body,
          (chunk) => {
            hash?.update(chunk);
            return writer.write(chunk);
          },
          { expectedLength: opts.expectedLength, remaining: opts.maxSize === undefined ? undefined : opts.maxSize - start },
        );
        position = await writer.finish();
      } catch (err) {
        await writer.settle();
        await truncate(data, start).catch(() => undefined);
        this.hashes.forget(id);
        throw err;
      } finally {
        await writer.close();
      }
      this.hashes.advanced(id, position);
      return position;
    });
  }

  async commit(id: string, digest: Digest): Promise<BlobStat> {
    return this.locks.run(id, async () => {
      const { data, size } = await this.session(id);
      const actual =
        this.hashes.finish(id, size, digestAlgorithm(digest)) ??
        (await UploadHashes.rehash(createReadStream(data, { highWaterMark: 1 << 20 }), digest));
      if (actual !== digest) {
        throw new RegistryError('DIGEST_INVALID', 'provided digest did not match uploaded content', { expected: digest, actual });
      }
      const target = this.path(layout.blob(digest));
      const entry = this.uploadEntry(id);
      if (await this.stat(digest)) {
        // Content-addressed: an identical blob is already visible, this copy is redundant.
        await rm(entry, { recursive: true, force: true });
        return { size };
      }
      if (this.fsync) await fsyncPath(data);
      try {
        await rename(data, target);
      } catch (err) {
        if (!isNotFound(err)) throw err;
        // The digest's fan-out directory does not exist yet (made once per prefix, not per blob).
        await mkdir(dirname(target), { recursive: true });
        await rename(data, target);
      }
      if (this.fsync) await fsyncPath(dirname(target), true);
      // A session of the directory layout leaves its directory behind.
      if (data !== entry) await rm(entry, { recursive: true, force: true });
      return { size };
    });
  }

  /**
   * Under the session's lock, like append and commit: a cancel racing the closing PUT then runs
   * wholly before the commit (which finds no session: BLOB_UPLOAD_UNKNOWN) or wholly after it,
   * never removing the file the commit is verifying or renaming.
   */
  async abort(id: string): Promise<void> {
    await this.locks.run(id, async () => {
      this.hashes.forget(id);
      await rm(this.uploadEntry(id), { recursive: true, force: true });
    });
  }
}
