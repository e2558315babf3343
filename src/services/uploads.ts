import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { RegistryError } from '../errors.ts';
import type { Metadata } from '../metadata/metadata.ts';
import type { UploadRecord } from '../metadata/registry.ts';
import type { Digest } from '../oci/digest.ts';
import type { RepoName } from '../oci/name.ts';
import type { UploadStore } from '../storage/types.ts';
import { type Principal, SYSTEM } from '../auth/principal.ts';
import type { Visibility } from '../auth/vocabulary.ts';
import { lockForPush } from './package-creation.ts';

function unknownUpload(id: string): RegistryError {
  return new RegistryError('BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry', { uuid: id });
}

export interface UploadDeps {
  metadata: Metadata;
  uploads: UploadStore;
  clock: () => number;
  log: Logger;
  /** 0 = unlimited. */
  maxBlobBytes: number;
  /** Visibility of a package a push creates when its owner chose none (auth.defaultVisibility); default private. */
  defaultVisibility?: Visibility;
  /**
   * A chunk records the session's activity (`updated_at`) only when the stored value is at least
   * this old (ms; default 0: every chunk). The purge of idle sessions may then come up to this
   * much early, so keep it a small share of `uploads.staleAfterSeconds` (main.ts: ≤ 1/8, ≤ 10 s).
   */
  sessionTouchEveryMs?: () => number;
}

export interface ChunkBody {
  stream: AsyncIterable<Uint8Array>;
  /** Declared Content-Length, when the client sent one. */
  length: number | undefined;
}

/** A chunk that may say where it starts (Content-Range); the store refuses any other start. */
export interface PlacedChunkBody extends ChunkBody {
  offset?: number | undefined;
}

/**
 * Blob upload sessions (monolithic, chunked, single-POST, cross-repository mount). Session
 * state lives in the upload store (bytes) and metadata (ownership, age), never only in memory,
 * so a session survives a restart and continues on any replica.
 */
export class UploadService {
  private readonly deps: UploadDeps;

  constructor(deps: UploadDeps) {
    this.deps = deps;
  }

  /** The push's first write creates the package; the trash was checked when it was authorized. */
  private async lockPackage(m: Metadata, repo: RepoName, by: Principal, now: number): Promise<void> {
    await lockForPush(m, repo, by, now, this.deps.defaultVisibility ?? 'private');
  }

  private get maxSize(): number | undefined {
    return this.deps.maxBlobBytes > 0 ? this.deps.maxBlobBytes : undefined;
  }

  async start(repo: RepoName): Promise<string> {
    const id = randomUUID();
    // The row first: GC removes stored sessions that have no row (docs/adr/0009-garbage-collection.md).
    await this.deps.metadata.uploads.create(id, repo, this.deps.clock());
    await this.createStored(id);
    return id;
  }

  private async createStored(id: string): Promise<void> {
    try {
      await this.deps.uploads.create(id);
    } catch (err) {
      await this.deps.metadata.uploads.delete(id).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Monolithic upload of a known digest (`POST ?digest=`): the session row is written already
   * pinned to `digest` (one write instead of a row and then a pin), then the bytes are stored,
   * verified and committed, then linked (docs/adr/0027-fewer-writes-per-pushed-blob.md). On any
   * failure the session is removed, row first, as a cancel does.
   */
  async upload(repo: RepoName, digest: Digest, body: ChunkBody, by: Principal = SYSTEM): Promise<void> {
    const id = randomUUID();
    await this.deps.metadata.uploads.create(id, repo, this.deps.clock(), digest);
    try {
      await this.createStored(id);
      const { size } = await this.unlessCancelled(id, async () => {
        await this.deps.uploads.append(id, undefined, body.stream, this.appendOptions(body));
        return this.deps.uploads.commit(id, digest);
      });
      await this.link(repo, id, digest, size, by);
    } catch (err) {
      await this.deps.metadata.uploads.delete(id).catch(() => undefined);
      await this.deps.uploads.abort(id).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Links a blob already readable in `from` into `repo`. Returns false when it is not (the
   * caller then starts a normal session); the caller checks that `from` may be read.
   */
  async mount(repo: RepoName, from: RepoName, digest: Digest, by: Principal = SYSTEM): Promise<boolean> {
    const now = this.deps.clock();
    return this.deps.metadata.transaction(async (m) => {
      // A mount that cannot happen writes nothing, not even the package: the caller uploads instead.
      if (!(await m.blobLinks.get(from, digest))) return false;
      await this.lockPackage(m, repo, by, now);
      return (await m.blobLinks.mount(from, repo, digest, now)) !== null;
    });
  }

  /** Current size of a session that belongs to `repo`. */
  async status(repo: RepoName, id: string): Promise<number> {
    await this.session(repo, id);
    return this.deps.uploads.size(id);
  }

  /** Appends a chunk; `offset` (from Content-Range) must equal the current size when given. */
  async append(repo: RepoName, id: string, offset: number | undefined, body: ChunkBody): Promise<number> {
    const session = await this.session(repo, id);
    const size = await this.unlessCancelled(id, () => this.deps.uploads.append(id, offset, body.stream, this.appendOptions(body)));
    // A session touched moments ago (docker's PATCH right after its POST) is not written again.
    const now = this.deps.clock();
    if (now - session.updatedAt >= (this.deps.sessionTouchEveryMs?.() ?? 0)) await this.deps.metadata.uploads.touch(id, now);
    return size;
  }

  /**
   * Final PUT: optional last chunk, verify, make visible, link to the repository. The digest is
   * pinned on the session before any byte of the PUT is stored (GC keeps pinned bytes; the pin
   * only names the session of `repo`, so it is also the check that the session exists), and the
   * link and the session's removal are one transaction, so the bytes are protected by a pin or a
   * link at every moment, including when the store finds them already present and keeps those.
   */
  async complete(repo: RepoName, id: string, digest: Digest, body: PlacedChunkBody | null, by: Principal = SYSTEM): Promise<void> {
    if (!(await this.deps.metadata.uploads.pin(id, digest, repo))) throw unknownUpload(id);
    const { size } = await this.unlessCancelled(id, async () => {
      if (body) await this.deps.uploads.append(id, body.offset, body.stream, this.appendOptions(body));
      return this.deps.uploads.commit(id, digest);
    });
    await this.link(repo, id, digest, size, by);
  }

  /**
   * Pin to link in one transaction: the link, then the session row's removal. A session removed
   * meanwhile (cancelled or purged: its pin went with it, so GC may have taken the bytes) rolls the
   * link back and answers BLOB_UPLOAD_UNKNOWN, as if the cancel had come first.
   */
  private async link(repo: RepoName, id: string, digest: Digest, size: number, by: Principal): Promise<void> {
    const now = this.deps.clock();
    await this.deps.metadata.transaction(async (m) => {
      await this.lockPackage(m, repo, by, now);
      await m.blobLinks.link(repo, digest, size, now);
      if (!(await m.uploads.finish(id, digest))) throw unknownUpload(id);
    });
  }

  /**
   * The row goes first: from then on the session is unknown to every replica, and a closing PUT
   * or PATCH that the removal of the bytes makes fail (on any replica) sees that and answers
   * BLOB_UPLOAD_UNKNOWN. Bytes left by a crash in between are a row-less session, which GC removes.
   */
  async cancel(repo: RepoName, id: string): Promise<void> {
    await this.session(repo, id);
    await this.deps.metadata.uploads.delete(id);
    await this.deps.uploads.abort(id);
  }

  /** Removes up to 1000 sessions idle for longer than `maxAgeMs` at `now`. Returns how many were purged. */
  async purgeStale(maxAgeMs: number, now = this.deps.clock()): Promise<number> {
    const ids = await this.deps.metadata.uploads.staleSince(now - maxAgeMs, 1000);
    for (const id of ids) {
      await this.deps.uploads.abort(id);
      await this.deps.metadata.uploads.delete(id);
    }
    if (ids.length > 0) this.deps.log.info({ count: ids.length }, 'purged stale uploads');
    return ids.length;
  }

  private appendOptions(body: ChunkBody): { expectedLength?: number; maxSize?: number } {
    const opts: { expectedLength?: number; maxSize?: number } = {};
    if (body.length !== undefined) opts.expectedLength = body.length;
    if (this.maxSize !== undefined) opts.maxSize = this.maxSize;
    return opts;
  }

  private async session(repo: RepoName, id: string): Promise<UploadRecord> {
    const rec = await this.deps.metadata.uploads.get(id);
    if (!rec || rec.repo !== repo) throw unknownUpload(id);
    return rec;
  }

  /**
   * Runs a store operation on a session; when it fails because the session was cancelled
   * meanwhile (its row is gone: the store's error is then whatever half-removed state it met),
   * the answer is BLOB_UPLOAD_UNKNOWN, as if the cancel had come first.
   */
  private async unlessCancelled<T>(id: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if ((await this.deps.metadata.uploads.get(id).catch(() => undefined)) === null) throw unknownUpload(id);
      throw err;
    }
  }
}
