import { Readable } from 'node:stream';
import { RegistryError } from '../errors.ts';
import type { Digest } from '../oci/digest.ts';
import { digestAlgorithm } from '../oci/digest.ts';
import { KeyedMutex } from '../lib/keyed-mutex.ts';
import { consumeBody } from './body.ts';
import { UploadHashes } from './hashing.ts';
import type { AppendOptions, BlobStat, BlobStore, ByteRange, StoredSession, UploadStore } from './types.ts';

/** In-memory blob and upload store for unit tests; passes the same contract suite as fs. */
export class MemoryStore implements BlobStore, UploadStore {
  readonly kind = 'memory';
  private readonly blobs = new Map<Digest, Buffer>();
  private readonly uploads = new Map<string, Buffer[]>();
  private readonly uploadTimes = new Map<string, number>();
  private readonly locks = new KeyedMutex();
  private readonly hashes = new UploadHashes();

  async stat(digest: Digest): Promise<BlobStat | null> {
    const b = this.blobs.get(digest);
    return b ? { size: b.length } : null;
  }

  async read(digest: Digest, range?: ByteRange): Promise<Readable> {
    const b = this.blobs.get(digest);
    if (!b) throw new RegistryError('BLOB_UNKNOWN', 'blob unknown to registry', { digest });
    return Readable.from([range ? b.subarray(range.start, range.end + 1) : b]);
  }

  async redirectUrl(): Promise<string | null> {
    return null;
  }

  async delete(digest: Digest): Promise<boolean> {
    return this.blobs.delete(digest);
  }

  async deleteMany(digests: readonly Digest[]): Promise<void> {
    for (const d of digests) this.blobs.delete(d);
  }

  async *walk(): AsyncIterable<Digest> {
    yield* [...this.blobs.keys()];
  }

  async *sessions(): AsyncIterable<StoredSession> {
    yield* [...this.uploadTimes].map(([id, modifiedAt]) => ({ id, modifiedAt }));
  }

  private parts(id: string): Buffer[] {
    const parts = this.uploads.get(id);
    if (!parts) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', 'upload unknown', { uuid: id });
    return parts;
  }

  async create(id: string): Promise<void> {
    this.uploads.set(id, []);
    this.uploadTimes.set(id, Date.now());
  }

  async size(id: string): Promise<number> {
    return this.parts(id).reduce((n, b) => n + b.length, 0);
  }

  async append(id: string, offset: number | undefined, body: AsyncIterable<Uint8Array>, opts: AppendOptions = {}): Promise<number> {
    return this.locks.run(id, async () => {
      const start = await this.size(id);
      if (offset !== undefined && offset !== start) {
        throw new RegistryError('RANGE_INVALID', 'chunk does not start at the end of the upload', { offset, size: start });
      }
      const hash = this.hashes.tap(id, start);
      const added: Buffer[] = [];
      try {
        await consumeBody(
          body,
          async (chunks) => {
            for (const c of chunks) {
              hash?.update(c);
              added.push(Buffer.from(c));
            }
          },
          { expectedLength: opts.expectedLength, remaining: opts.maxSize === undefined ? undefined : opts.maxSize - start },
        );
      } catch (err) {
        this.hashes.forget(id);
        throw err;
      }
      this.parts(id).push(...added);
      this.uploadTimes.set(id, Date.now());
      const size = await this.size(id);
      this.hashes.advanced(id, size);
      return size;
    });
  }

  async commit(id: string, digest: Digest): Promise<BlobStat> {
    return this.locks.run(id, async () => {
      const bytes = Buffer.concat(this.parts(id));
      const actual =
        this.hashes.finish(id, bytes.length, digestAlgorithm(digest)) ?? (await UploadHashes.rehash([bytes], digest));
      if (actual !== digest) {
        throw new RegistryError('DIGEST_INVALID', 'provided digest did not match uploaded content', { expected: digest, actual });
      }
      if (!this.blobs.has(digest)) this.blobs.set(digest, bytes);
      this.uploads.delete(id);
      this.uploadTimes.delete(id);
      return { size: bytes.length };
    });
  }

  /** Under the session's lock, as in the fs store: never in the middle of an append or commit. */
  async abort(id: string): Promise<void> {
    await this.locks.run(id, async () => {
      this.hashes.forget(id);
      this.uploads.delete(id);
      this.uploadTimes.delete(id);
    });
  }
}
