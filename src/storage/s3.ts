import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { RegistryError } from '../errors.ts';
import { KeyedMutex } from '../lib/keyed-mutex.ts';
import type { Digest } from '../oci/digest.ts';
import { digestAlgorithm, isDigest } from '../oci/digest.ts';
import { consumeBody } from './body.ts';
import { UploadHashes } from './hashing.ts';
import { layout } from './layout.ts';
import {
  createS3Client,
  isNoSuchUpload,
  isNotFound,
  isPreconditionFailed,
  MAX_PART_SIZE,
  MAX_PARTS,
  MIN_PART_SIZE,
  normalisePrefix,
  type S3Options,
} from './s3/client.ts';
import { type IfMatchMode, ifMatchValue, probeIfMatch } from './s3/conditional.ts';
import { PartCutter } from './s3/parts.ts';
import { describedSize, emptySession, type PartRef, parseSession, type SessionState } from './s3/session.ts';
import type { AppendOptions, BlobStat, BlobStore, ByteRange, StoredSession, UploadStore } from './types.ts';

export type { S3Options } from './s3/client.ts';

const UPLOAD_ID = /^[A-Za-z0-9_-]{1,128}$/;
/** Largest object a single CopyObject may write; bigger blobs are copied part by part. */
const MAX_COPY_OBJECT = 5 * 1024 * 1024 * 1024;
const COPY_PART = 1024 * 1024 * 1024;
const PARTS_IN_FLIGHT = 2;

function toReadable(body: unknown): Readable {
  if (body instanceof Readable) return body;
  if (body && typeof body === 'object' && Symbol.asyncIterator in body) return Readable.from(body as AsyncIterable<Uint8Array>);
  throw new Error('s3: unexpected response body type');
}

/**
 * S3-compatible blob and upload store (docs/adr/0001-storage-key-layout.md for the keys,
 * docs/adr/0005-upload-hashing-across-replicas.md for sessions).
 *
 * Blobs live at `<prefix>blobs/<alg>/<2hex>/<hex>`. An upload session lives under
 * `<prefix>uploads/<id>/`: a `state` object (the commit point, see s3/session.ts), an S3
 * multipart upload receiving full parts, and a `tail-*` object with the bytes that do not fill
 * a part yet (S3 refuses non-final parts under 5 MiB, and chunks may be tiny). Nothing of a
 * session is only in memory, so consecutive PATCHes may land on different replicas. Commit
 * completes the multipart upload, verifies the digest (running hash when this replica saw every
 * byte, else a re-read) and copies server-side into the content-addressed key.
 */
export class S3Store implements BlobStore, UploadStore {
  readonly kind = 's3';
  private readonly s3: S3Client;
  private readonly opts: S3Options;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly locks = new KeyedMutex();
  private readonly hashes = new UploadHashes();
  private ifMatch: IfMatchMode = 'none';
  private bulkDelete = true;

  private constructor(s3: S3Client, opts: S3Options) {
    this.s3 = s3;
    this.opts = opts;
    this.bucket = opts.bucket;
    this.prefix = normalisePrefix(opts.prefix);
  }

  /** Connects, creates the bucket if allowed and missing, and probes conditional-write support. */
  static async open(opts: S3Options, client?: S3Client): Promise<S3Store> {
    if (!opts.bucket) throw new Error('storage.s3.bucket is required');
    if (opts.partSizeBytes < MIN_PART_SIZE || opts.partSizeBytes > MAX_PART_SIZE) {
      throw new Error(`storage.s3.partSizeBytes must be between ${MIN_PART_SIZE} and ${MAX_PART_SIZE}`);
    }
    const store = new S3Store(client ?? createS3Client(opts), opts);
    await store.ensureBucket();
    const mode = opts.conditionalWrites ?? 'auto';
    store.ifMatch = mode === 'auto' ? await probeIfMatch(store.s3, store.bucket, store.prefix) : mode;
    return store;
  }

  /** Which `If-Match` spelling the server honours ('none' = no cross-replica write guard). */
  get conditionalWrites(): IfMatchMode {
    return this.ifMatch;
  }

  close(): void {
    this.s3.destroy();
  }

  private async ensureBucket(): Promise<void> {
    try {
      await this.s3.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      if (!isNotFound(err) || !this.opts.createBucket) throw err;
      await this.s3.send(new CreateBucketCommand({ Bucket: this.bucket })).catch((e: unknown) => {
        const name = (e as { name?: unknown }).name;
        if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw e;
      });
    }
  }

  // ---- keys -------------------------------------------------------------------------------

  private blobKey(digest: Digest): string {
    return this.prefix + layout.blob(digest);
  }

  private sessionDir(id: string): string {
    if (!UPLOAD_ID.test(id)) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', 'upload unknown', { uuid: id });
    return `${this.prefix}${layout.upload(id)}/`;
  }

  private copySource(key: string): string {
    return `${this.bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
  }

  // ---- BlobStore --------------------------------------------------------------------------

  async stat(digest: Digest): Promise<BlobStat | null> {
    try {
      const head = await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.blobKey(digest) }));
      return { size: head.ContentLength ?? 0 };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async read(digest: Digest, range?: ByteRange): Promise<Readable> {
    try {
      const res = await this.s3.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: this.blobKey(digest),
          ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
        }),
      );
      return toReadable(res.Body);
    } catch (err) {
      if (isNotFound(err)) throw new RegistryError('BLOB_UNKNOWN', 'blob unknown to registry', { digest });
      throw err;
    }
  }

  async redirectUrl(digest: Digest): Promise<string | null> {
    if (!this.opts.redirect) return null;
    return getSignedUrl(this.s3, new GetObjectCommand({ Bucket: this.bucket, Key: this.blobKey(digest) }), {
      expiresIn: this.opts.redirectTtlSeconds,
    });
  }

  async delete(digest: Digest): Promise<boolean> {
    if (!(await this.stat(digest))) return false;
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.blobKey(digest) }));
    return true;
  }

  /**
   * One DeleteObjects request per 1000 keys. Servers that refuse it (some S3-compatible ones
   * require Content-MD5, which the SDK no longer sends) get single deletes, a few at a time.
   */
  async deleteMany(digests: readonly Digest[]): Promise<void> {
    for (let i = 0; i < digests.length; i += 1000) {
      const keys = digests.slice(i, i + 1000).map((d) => this.blobKey(d));
      if (this.bulkDelete) {
        try {
          const res = await this.s3.send(
            new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } }),
          );
          const failed = (res.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
          if (failed.length > 0) throw new Error(`s3: DeleteObjects failed for ${failed.length} keys: ${failed[0]?.Code ?? ''} ${failed[0]?.Message ?? ''}`);
          continue;
        } catch (err) {
          const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
          if (status === undefined || status >= 500) throw err;
          this.bulkDelete = false;
        }
      }
      for (let j = 0; j < keys.length; j += 16) {
        await Promise.all(keys.slice(j, j + 16).map((Key) => this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key }))));
      }
    }
  }

  /**
   * Sessions found in the bucket: the objects under `uploads/` grouped by session (listed in key
   * order, so one group at a time is held), then multipart uploads under `uploads/` whose session
   * has no objects left (a commit or abort killed halfway).
   */
  async *sessions(): AsyncIterable<StoredSession> {
    const base = this.prefix + layout.uploadsRoot + '/';
    let current: StoredSession | null = null;
    let token: string | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: base, ...(token ? { ContinuationToken: token } : {}) }),
      );
      for (const obj of page.Contents ?? []) {
        const id = (obj.Key ?? '').slice(base.length).split('/')[0] ?? '';
        if (!UPLOAD_ID.test(id)) continue;
        const at = obj.LastModified?.getTime() ?? 0;
        if (current && current.id === id) current.modifiedAt = Math.max(current.modifiedAt, at);
        else {
          if (current) yield current;
          current = { id, modifiedAt: at };
        }
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    if (current) yield current;
    for await (const u of this.multipartUploads(base)) {
      const id = u.key.slice(base.length).split('/')[0] ?? '';
      if (!UPLOAD_ID.test(id)) continue;
      const listed = await this.s3.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: `${base}${id}/`, MaxKeys: 1 }));
      if ((listed.KeyCount ?? 0) === 0) yield { id, modifiedAt: u.initiated };
    }
  }

  async sweepIncomplete(before: number): Promise<number> {
    let n = 0;
    for await (const u of this.multipartUploads(this.prefix + layout.blobsRoot + '/')) {
      if (u.initiated >= before) continue;
      await this.abortMultipart({ key: u.key, uploadId: u.uploadId });
      n++;
    }
    return n;
  }

  private async *multipartUploads(prefix: string): AsyncIterable<{ key: string; uploadId: string; initiated: number }> {
    let keyMarker: string | undefined;
    let idMarker: string | undefined;
    for (;;) {
      const page = await this.s3.send(
        new ListMultipartUploadsCommand({
          Bucket: this.bucket,
          Prefix: prefix,
          ...(keyMarker ? { KeyMarker: keyMarker } : {}),
          ...(idMarker ? { UploadIdMarker: idMarker } : {}),
        }),
      );
      for (const u of page.Uploads ?? []) {
        if (u.Key && u.UploadId) yield { key: u.Key, uploadId: u.UploadId, initiated: u.Initiated?.getTime() ?? 0 };
      }
      if (!page.IsTruncated) return;
      keyMarker = page.NextKeyMarker;
      idMarker = page.NextUploadIdMarker;
      if (!keyMarker && !idMarker) return;
    }
  }

  async *walk(): AsyncIterable<Digest> {
    const base = this.prefix + layout.blobsRoot + '/';
    let token: string | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: base, ...(token ? { ContinuationToken: token } : {}) }),
      );
      for (const obj of page.Contents ?? []) {
        const [alg, fanout, hex, ...extra] = (obj.Key ?? '').slice(base.length).split('/');
        if (!alg || !fanout || !hex || extra.length > 0 || !hex.startsWith(fanout)) continue;
        const d = `${alg}:${hex}`;
        if (isDigest(d)) yield d as Digest;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  // ---- session state ----------------------------------------------------------------------

  private async loadState(id: string): Promise<{ state: SessionState; etag: string | undefined }> {
    const Key = this.sessionDir(id) + 'state';
    try {
      const res = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key }));
      const text = await (res.Body as { transformToString(): Promise<string> }).transformToString();
      return { state: parseSession(text), etag: res.ETag };
    } catch (err) {
      if (isNotFound(err)) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', 'upload unknown', { uuid: id });
      throw err;
    }
  }

  /** Writes the state if nobody else did since we read `etag`; returns the new ETag. */
  private async saveState(id: string, state: SessionState, etag: string | undefined): Promise<string | undefined> {
    const ifMatch = ifMatchValue(this.ifMatch, etag);
    try {
      const res = await this.s3.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.sessionDir(id) + 'state',
          Body: JSON.stringify(state),
          ContentType: 'application/json',
          ...(ifMatch ? { IfMatch: ifMatch } : {}),
        }),
      );
      return res.ETag;
    } catch (err) {
      if (isPreconditionFailed(err)) {
        throw new RegistryError('RANGE_INVALID', 'upload was modified concurrently; query its status and resume', { uuid: id });
      }
      throw err;
    }
  }

  private async getBytes(key: string, range?: ByteRange): Promise<Buffer> {
    const res = await this.s3.send(
      new GetObjectCommand({ Bucket: this.bucket, Key: key, ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) }),
    );
    return Buffer.from(await (res.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
  }

  private async getStream(key: string): Promise<Readable> {
    const res = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    return toReadable(res.Body);
  }

  private async deleteKey(key: string): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })).catch(() => undefined);
  }

  private async createMultipart(id: string): Promise<{ key: string; uploadId: string }> {
    const key = `${this.sessionDir(id)}data-${randomUUID()}`;
    const res = await this.s3.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key }));
    if (!res.UploadId) throw new Error('s3: CreateMultipartUpload returned no UploadId');
    return { key, uploadId: res.UploadId };
  }

  // ---- UploadStore ------------------------------------------------------------------------

  async create(id: string): Promise<void> {
    await this.saveState(id, emptySession(this.opts.partSizeBytes), undefined);
  }

  async size(id: string): Promise<number> {
    return (await this.loadState(id)).state.size;
  }

  async append(id: string, offset: number | undefined, body: AsyncIterable<Uint8Array>, opts: AppendOptions = {}): Promise<number> {
    return this.locks.run(id, async () => {
      const { state: st, etag } = await this.loadState(id);
      if (offset !== undefined && offset !== st.size) {
        throw new RegistryError('RANGE_INVALID', 'chunk does not start at the end of the upload', { offset, size: st.size });
      }
      const next: SessionState = structuredClone(st);
      const cutter = new PartCutter(st.partSize);
      let createdMpu: { key: string; uploadId: string } | null = null;
      let newTail: string | null = null;
      // Up to PARTS_IN_FLIGHT part uploads run while the next part is being received: memory
      // stays bounded (about PARTS_IN_FLIGHT + 1 parts) and the body keeps flowing.
      const inflight = new Set<Promise<void>>();
      const uploaded: PartRef[] = [];
      let failure: Error | null = null;
      const drain = async (): Promise<void> => {
        await Promise.all(inflight);
        if (failure) throw failure;
      };

      const uploadParts = async (): Promise<void> => {
        for (let part = cutter.takePart(); part; part = cutter.takePart()) {
          while (inflight.size >= PARTS_IN_FLIGHT) await Promise.race(inflight);
          if (failure) throw failure;
          if (!next.mpu) {
            createdMpu = await this.createMultipart(id).catch((err: unknown) => {
              failure ??= err instanceof Error ? err : new Error(String(err));
              throw err;
            });
            next.mpu = { ...createdMpu, parts: [] };
          }
          const mpu = next.mpu;
          const n = mpu.parts.length + uploaded.length + inflight.size + 1;
          if (n > MAX_PARTS) throw new RegistryError('SIZE_INVALID', 'upload exceeds the storage backend maximum size');
          const upload: Promise<void> = this.s3
            .send(new UploadPartCommand({ Bucket: this.bucket, Key: mpu.key, UploadId: mpu.uploadId, PartNumber: n, Body: part }))
            .then((res) => {
              if (!res.ETag) throw new Error('s3: UploadPart returned no ETag');
              uploaded.push({ n, etag: res.ETag });
            })
            .catch((err: unknown) => {
              failure ??= err instanceof Error ? err : new Error(String(err));
            })
            .finally(() => inflight.delete(upload));
          inflight.add(upload);
        }
      };

      const hash = this.hashes.tap(id, st.size);
      try {
        if (st.assembled) createdMpu = await this.reopen(id, st.assembled, next, cutter);
        else if (st.tail) cutter.push(await this.getBytes(st.tail.key));
        const total = await consumeBody(
          body,
          async (chunks) => {
            for (const c of chunks) {
              hash?.update(c);
              cutter.push(c);
            }
            await uploadParts();
          },
          { expectedLength: opts.expectedLength, remaining: opts.maxSize === undefined ? undefined : opts.maxSize - st.size },
        );
        await drain();
        if (next.mpu) next.mpu.parts.push(...uploaded.sort((x, y) => x.n - y.n));
        if (total === 0) {
          if (createdMpu) await this.abortMultipart(createdMpu);
          return st.size;
        }
        const rest = cutter.rest();
        next.tail = null;
        if (rest.length > 0) {
          newTail = `${this.sessionDir(id)}tail-${randomUUID()}`;
          await this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: newTail, Body: rest }));
          next.tail = { key: newTail, size: rest.length };
        }
        next.size = st.size + total;
        if (describedSize(next) !== next.size) throw new Error('s3: upload session state is inconsistent');
        next.sha256 = hash ? { size: next.size, hex: hash.copy().digest('hex') } : null;
        await this.saveState(id, next, etag);
      } catch (err) {
        await Promise.all(inflight);
        this.hashes.forget(id);
        if (createdMpu) await this.abortMultipart(createdMpu);
        if (newTail) await this.deleteKey(newTail);
        // consumeBody reports whatever the sink threw as a short body (SIZE_INVALID); a failing
        // backend is our fault, not the client's, and must surface as such.
        throw failure ?? err;
      }
      this.hashes.advanced(id, next.size);
      if (st.tail && st.tail.key !== next.tail?.key) await this.deleteKey(st.tail.key);
      if (st.assembled) await this.deleteKey(st.assembled.key);
      return next.size;
    });
  }

  /**
   * Turns an assembled object (kept after a failed digest check) back into an open multipart
   * upload plus buffered tail, so appending can go on. Rare: only after DIGEST_INVALID.
   */
  private async reopen(
    id: string,
    assembled: { key: string; size: number },
    next: SessionState,
    cutter: PartCutter,
  ): Promise<{ key: string; uploadId: string } | null> {
    const P = next.partSize;
    const full = Math.floor(assembled.size / P);
    let created: { key: string; uploadId: string } | null = null;
    next.assembled = null;
    next.mpu = null;
    if (full > 0) {
      created = await this.createMultipart(id);
      const parts: PartRef[] = [];
      try {
        for (let i = 0; i < full; i++) {
          const res = await this.s3.send(
            new UploadPartCopyCommand({
              Bucket: this.bucket,
              Key: created.key,
              UploadId: created.uploadId,
              PartNumber: i + 1,
              CopySource: this.copySource(assembled.key),
              CopySourceRange: `bytes=${i * P}-${(i + 1) * P - 1}`,
            }),
          );
          if (!res.CopyPartResult?.ETag) throw new Error('s3: UploadPartCopy returned no ETag');
          parts.push({ n: i + 1, etag: res.CopyPartResult.ETag });
        }
      } catch (err) {
        await this.abortMultipart(created);
        throw err;
      }
      next.mpu = { ...created, parts };
    }
    if (assembled.size > full * P) cutter.push(await this.getBytes(assembled.key, { start: full * P, end: assembled.size - 1 }));
    return created;
  }

  private async abortMultipart(mpu: { key: string; uploadId: string }): Promise<void> {
    await this.s3
      .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: mpu.key, UploadId: mpu.uploadId }))
      .catch(() => undefined);
  }

  async commit(id: string, digest: Digest): Promise<BlobStat> {
    return this.locks.run(id, async () => {
      const loaded = await this.loadState(id);
      const st = loaded.state.mpu ? (await this.assemble(id, loaded.state, loaded.etag)).state : loaded.state;
      const source = st.assembled?.key ?? st.tail?.key ?? null;
      const alg = digestAlgorithm(digest);
      const recorded = alg === 'sha256' && st.sha256?.size === st.size ? (`sha256:${st.sha256.hex}` as Digest) : null;
      const actual =
        this.hashes.finish(id, st.size, alg) ??
        recorded ??
        (await UploadHashes.rehash(source ? await this.getStream(source) : [], digest));
      if (actual !== digest) {
        throw new RegistryError('DIGEST_INVALID', 'provided digest did not match uploaded content', { expected: digest, actual });
      }
      // Content-addressed: when an identical blob is already visible, this copy is redundant.
      if (!(await this.stat(digest))) {
        if (source) await this.copy(source, this.blobKey(digest), st.size);
        else await this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.blobKey(digest), Body: Buffer.alloc(0) }));
      }
      await this.removeCommitted(id, st);
      return { size: st.size };
    });
  }

  /**
   * After a commit: the objects the state names (assembled, tail), then the state, without the
   * two listings `removeSession` makes (issue 18: 10 -> 8 S3 calls per small blob). Bytes that a
   * killed or failed append left and the state never named are abandoned session bytes, which
   * the GC removes (collector: "abandoned sessions" and their multipart uploads).
   */
  private async removeCommitted(id: string, st: SessionState): Promise<void> {
    for (const key of [st.assembled?.key, st.tail?.key]) if (key) await this.deleteKey(key);
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: `${this.sessionDir(id)}state` }));
  }

  /** Completes the session's multipart upload (tail copied in as the last part) into one object. */
  private async assemble(id: string, st: SessionState, etag: string | undefined): Promise<{ state: SessionState; etag: string | undefined }> {
    const mpu = st.mpu;
    if (!mpu) return { state: st, etag };
    const parts = [...mpu.parts];
    try {
      if (st.tail) {
        const n = parts.length + 1;
        const res = await this.s3.send(
          new UploadPartCopyCommand({
            Bucket: this.bucket,
            Key: mpu.key,
            UploadId: mpu.uploadId,
            PartNumber: n,
            CopySource: this.copySource(st.tail.key),
          }),
        );
        if (!res.CopyPartResult?.ETag) throw new Error('s3: UploadPartCopy returned no ETag');
        parts.push({ n, etag: res.CopyPartResult.ETag });
      }
      await this.s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: mpu.key,
          UploadId: mpu.uploadId,
          MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.n, ETag: p.etag })) },
        }),
      );
    } catch (err) {
      // A commit that died after completing but before recording it left the object behind.
      if (!isNoSuchUpload(err)) throw err;
      const head = await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: mpu.key })).catch(() => null);
      if (head?.ContentLength !== st.size) throw err;
    }
    const next: SessionState = { ...st, mpu: null, tail: null, assembled: { key: mpu.key, size: st.size } };
    const newEtag = await this.saveState(id, next, etag);
    if (st.tail) await this.deleteKey(st.tail.key);
    return { state: next, etag: newEtag };
  }

  /** Server-side copy; objects over 5 GiB (CopyObject's limit) go part by part. */
  private async copy(from: string, to: string, size: number): Promise<void> {
    if (size <= MAX_COPY_OBJECT) {
      await this.s3.send(new CopyObjectCommand({ Bucket: this.bucket, Key: to, CopySource: this.copySource(from) }));
      return;
    }
    const { UploadId } = await this.s3.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: to }));
    if (!UploadId) throw new Error('s3: CreateMultipartUpload returned no UploadId');
    try {
      const Parts: { PartNumber: number; ETag: string }[] = [];
      for (let start = 0, n = 1; start < size; start += COPY_PART, n++) {
        const end = Math.min(start + COPY_PART, size) - 1;
        const res = await this.s3.send(
          new UploadPartCopyCommand({
            Bucket: this.bucket,
            Key: to,
            UploadId,
            PartNumber: n,
            CopySource: this.copySource(from),
            CopySourceRange: `bytes=${start}-${end}`,
          }),
        );
        if (!res.CopyPartResult?.ETag) throw new Error('s3: UploadPartCopy returned no ETag');
        Parts.push({ PartNumber: n, ETag: res.CopyPartResult.ETag });
      }
      await this.s3.send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: to, UploadId, MultipartUpload: { Parts } }));
    } catch (err) {
      await this.abortMultipart({ key: to, uploadId: UploadId });
      throw err;
    }
  }

  async abort(id: string): Promise<void> {
    await this.locks.run(id, async () => {
      this.hashes.forget(id);
      await this.removeSession(id);
    });
  }

  /** Deletes everything under the session's prefix, the state object last (it is what makes a session exist). */
  private async removeSession(id: string): Promise<void> {
    const dir = this.sessionDir(id);
    const uploads = await this.s3.send(new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: dir }));
    for (const u of uploads.Uploads ?? []) {
      if (u.Key && u.UploadId) await this.abortMultipart({ key: u.Key, uploadId: u.UploadId });
    }
    const listed = await this.s3.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: dir }));
    const keys = (listed.Contents ?? []).map((o) => o.Key).filter((k): k is string => k !== undefined && k !== `${dir}state`);
    await Promise.all(keys.map((k) => this.deleteKey(k)));
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: `${dir}state` }));
  }
}
