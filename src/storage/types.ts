import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Digest } from '../oci/digest.ts';

import type { ByteRange } from '../lib/byte-range.ts';

/** Inclusive byte range, already validated against the blob size by the caller. */
export type { ByteRange };

export interface BlobStat {
  size: number;
}

/**
 * Committed blob bytes, content-addressed and repository-agnostic. Whether a repository may
 * read a blob is metadata's business (blob links), never the store's.
 */
export interface BlobStore {
  readonly kind: string;
  stat(digest: Digest): Promise<BlobStat | null>;
  /** Streams the blob (or a range of it). Throws BLOB_UNKNOWN when absent. */
  read(digest: Digest, range?: ByteRange): Promise<Readable>;
  /** A URL the client may be redirected to instead of streaming through us, or null. */
  redirectUrl(digest: Digest): Promise<string | null>;
  /**
   * Opens the blob's local file, when the store keeps blobs as files, so it can be sent without
   * a stream (no per-chunk garbage; ADR 0020). Throws BLOB_UNKNOWN when absent; the caller closes it.
   */
  openFile?(digest: Digest): Promise<FileHandle>;
  /** Returns false when there was nothing to delete. */
  delete(digest: Digest): Promise<boolean>;
  /** Deletes each blob that exists (garbage collection's batches; one request per batch where the backend can). */
  deleteMany(digests: readonly Digest[]): Promise<void>;
  /** Every committed digest, in no particular order (for garbage collection). */
  walk(): AsyncIterable<Digest>;
}

/** An upload session's bytes as found in storage, for garbage collection. */
export interface StoredSession {
  id: string;
  /** Last write to the session's bytes (ms since the epoch). */
  modifiedAt: number;
}

export interface AppendOptions {
  /** Bytes the client declared (Content-Length); a body that ends short fails with SIZE_INVALID. */
  expectedLength?: number;
  /** Hard cap on the session's total size. */
  maxSize?: number;
}

/**
 * Upload sessions: bytes appended in order, verified and moved into the BlobStore on commit.
 * Appends that fail midway leave the session at its previous size, so the client may retry.
 */
export interface UploadStore {
  create(id: string): Promise<void>;
  /** Current committed-to-session size. Throws BLOB_UPLOAD_UNKNOWN. */
  size(id: string): Promise<number>;
  /**
   * Appends a body at `offset`, which must equal the current size (RANGE_INVALID otherwise);
   * without an offset, at the end as it is once earlier appends to the session have finished.
   * Returns the new size.
   */
  append(id: string, offset: number | undefined, body: AsyncIterable<Uint8Array>, opts?: AppendOptions): Promise<number>;
  /**
   * Verifies the session's bytes against `digest` and makes them visible in the blob store.
   * On a digest mismatch throws DIGEST_INVALID and leaves the session untouched.
   */
  commit(id: string, digest: Digest): Promise<BlobStat>;
  /** Removes everything of the session (bytes, parts, multipart uploads); a no-op when absent. */
  abort(id: string): Promise<void>;
  /** Every session present in storage, in no particular order; GC aborts those nobody owns. */
  sessions(): AsyncIterable<StoredSession>;
  /**
   * Removes bytes of interrupted work outside any session that started before `before` (S3:
   * multipart copies of large blobs left by a killed commit). Returns how many it removed.
   */
  sweepIncomplete?(before: number): Promise<number>;
}
