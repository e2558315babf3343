import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { RegistryError } from '../errors.ts';
import type { ManifestChild, ManifestRecord } from '../metadata/registry.ts';
import type { Metadata } from '../metadata/metadata.ts';
import { type Digest, digestAlgorithm, digestOf } from '../oci/digest.ts';
import { type ArtifactKind, artifactKind, type KindFields } from '../oci/kind.ts';
import { parseManifest } from '../oci/manifest.ts';
import { MediaType } from '../oci/mediatypes.ts';
import { ownerOf, type Reference, type RepoName, type Tag } from '../oci/name.ts';
import type { TagStamp } from '../oci/tag-stamp.ts';
import type { BlobStore, ByteRange } from '../storage/types.ts';
import { type Principal, SYSTEM } from '../auth/principal.ts';
import type { Visibility } from '../auth/vocabulary.ts';
import { lockForPush } from './package-creation.ts';
import { actorFields } from './audit.ts';
import type { RegistryEventBus } from './events.ts';
import type { Change } from './webhooks/events.ts';
import type { WebhookOutbox } from './webhooks/outbox.ts';
import { ManifestTagCache } from './manifest-tag-cache.ts';
import { TagListCache } from './tag-list-cache.ts';
import { trashedManifestError, trashedPackageError } from './trash-refusals.ts';
import { isChartConfig, TagPolicy } from './policies/tag-policy.ts';
import type { QuotaService } from './quotas.ts';

/** Counters of registry traffic by kind (lib/metrics.ts implements it). */
export interface RegistryMetrics {
  manifestPushed(kind: ArtifactKind): void;
  manifestPulled(kind: ArtifactKind): void;
  blobPushed(kind: ArtifactKind, bytes: number): void;
  blobPulled(kind: ArtifactKind | 'unknown', bytes: number): void;
}

export interface RegistryDeps {
  metadata: Metadata;
  blobs: BlobStore;
  events: RegistryEventBus;
  clock: () => number;
  metrics?: RegistryMetrics;
  /**
   * How old a link's stored touch may be before a use (HEAD/GET, manifest PUT) writes a new one;
   * GC adds it to the grace, so a use protects a link for the whole grace without a database
   * write on every request (docs/adr/0009-garbage-collection.md). Default 0: every use writes.
   */
  touchEveryMs?: number;
  /** Tag and chart-version immutability (docs/adr/0013-policies.md); default: the stored rules, charts.allowOverwrite off. */
  tagPolicy?: TagPolicy;
  /** Storage quotas per owner (ADR 0013); without it nothing is refused (the usage is still kept). */
  quotas?: QuotaService;
  /** Webhook deliveries, queued in the transaction of each change. */
  outbox?: WebhookOutbox;
  /** Visibility of a package a push creates when its owner chose none (auth.defaultVisibility); default private. */
  defaultVisibility?: Visibility;
}

export interface Page<T> {
  items: T[];
  /** The `last` value for the next page, when there may be one. */
  next: string | null;
}

export interface PutManifestResult {
  digest: Digest;
  subject: Digest | null;
  tags: Tag[];
}

/** A blob ready to send: an opened local file (read from the range's start by the sender) or a stream. */
export type BlobBody = { kind: 'file'; handle: FileHandle } | { kind: 'stream'; stream: Readable };

export interface BlobReadResult {
  size: number;
  /** Present when the store prefers a redirect (e.g. presigned URL). */
  redirect: string | null;
  /** Streams the blob (or a range of it). */
  open: (range?: ByteRange) => Promise<Readable>;
  /**
   * What to send: the blob's opened file when the store keeps one (sent without a stream, so no
   * per-chunk garbage; the sender closes it), else a stream. Throws BLOB_UNKNOWN when the bytes
   * are gone (ADR 0020).
   */
  body: (range?: ByteRange) => Promise<BlobBody>;
}

/** Manifests, tags, blobs, referrers and the catalog: the pull/push use cases of the spec. */
export class RegistryService {
  private readonly deps: RegistryDeps;

  private readonly tagLists = new TagListCache(TAG_LIST_CACHE_NAMES);
  private readonly tagManifests = new ManifestTagCache(TAG_MANIFEST_CACHE_BYTES);
  /** Kind of recently pulled blobs, so repeated pulls of a layer cost no query. */
  private readonly blobKinds = new Map<Digest, ArtifactKind>();

  private readonly tagPolicy: TagPolicy;

  constructor(deps: RegistryDeps) {
    this.deps = deps;
    this.tagPolicy = deps.tagPolicy ?? new TagPolicy({ allowChartOverwrite: false });
  }

  // ---- blobs ------------------------------------------------------------------------------

  private get touchEveryMs(): number {
    return this.deps.touchEveryMs ?? 0;
  }

  /**
   * A blob readable through `repo`: linked to it and present in the store. Counts as a use of
   * the link for GC: a client that saw the blob may PUT a manifest referencing it within the
   * grace, so a stale touch is written (and awaited) before the answer.
   */
  async blob(repo: RepoName, digest: Digest): Promise<BlobReadResult> {
    const link = await this.deps.metadata.blobLinks.get(repo, digest);
    if (!link) throw new RegistryError('BLOB_UNKNOWN', 'blob unknown to registry', { digest });
    const now = this.deps.clock();
    if (link.touchedAt <= now - this.touchEveryMs) {
      if ((await this.deps.metadata.blobLinks.touch(repo, [digest], now, now - this.touchEveryMs)) === 0) {
        // GC removed the link between the read and the touch.
        throw new RegistryError('BLOB_UNKNOWN', 'blob unknown to registry', { digest });
      }
    }
    const redirect = await this.deps.blobs.redirectUrl(digest);
    return {
      size: link.size,
      redirect,
      open: (range) => this.deps.blobs.read(digest, range),
      body: async (range) => {
        const { blobs } = this.deps;
        if (blobs.openFile) return { kind: 'file', handle: await blobs.openFile(digest) };
        return { kind: 'stream', stream: await blobs.read(digest, range) };
      },
    };
  }

  /** Unlinks the blob from the repository; bytes are reclaimed by garbage collection. */
  async deleteBlob(repo: RepoName, digest: Digest): Promise<void> {
    if (!(await this.deps.metadata.blobLinks.unlink(repo, digest))) {
      throw new RegistryError('BLOB_UNKNOWN', 'blob unknown to registry', { digest });
    }
  }

  // ---- manifests --------------------------------------------------------------------------

  /**
   * A manifest by tag or digest. `stamp`: the repository's tag stamp, read by the caller in this
   * request (with the access facts); a tag resolved under the same stamp is answered from memory.
   */
  async manifest(repo: RepoName, ref: Reference, stamp: TagStamp | null = null): Promise<ManifestRecord> {
    const m = ref.kind === 'tag' ? await this.resolveTag(repo, ref.tag, stamp) : await this.deps.metadata.manifests.get(repo, ref.digest);
    if (!m) {
      throw new RegistryError('MANIFEST_UNKNOWN', 'manifest unknown to registry', {
        name: repo,
        reference: ref.kind === 'tag' ? ref.tag : ref.digest,
      });
    }
    return m;
  }

  private async resolveTag(repo: RepoName, tag: Tag, stamp: TagStamp | null): Promise<ManifestRecord | null> {
    if (!stamp) return this.deps.metadata.tags.resolve(repo, tag);
    const held = this.tagManifests.get(repo, tag, stamp);
    if (held) return held;
    const m = await this.deps.metadata.tags.resolve(repo, tag);
    // Kept under the stamp read before the resolve: a tag moved in between is seen by the next
    // request, whose stamp is newer and misses.
    if (m) this.tagManifests.set(repo, tag, stamp, m);
    return m;
  }

  /** A manifest was sent to a client (GET, not HEAD). */
  recordPull(repo: RepoName, manifest: KindFields & { digest: Digest }): void {
    this.deps.metrics?.manifestPulled(artifactKind(manifest));
    this.deps.events.emit('manifest.pulled', { repo, digest: manifest.digest });
  }

  /**
   * A blob GET was answered with `bytes`. Its kind is that of a manifest referencing it, looked up
   * after the response started (and remembered), so a pull never waits for the metric.
   */
  recordBlobPull(repo: RepoName, digest: Digest, bytes: number): void {
    const metrics = this.deps.metrics;
    if (!metrics) return;
    const known = this.blobKinds.get(digest);
    if (known) return metrics.blobPulled(known, bytes);
    this.deps.metadata.manifests.referrerTypes(repo, digest).then(
      (types) => {
        if (!types) return metrics.blobPulled('unknown', bytes);
        const kind = artifactKind(types);
        if (this.blobKinds.size >= BLOB_KIND_CACHE) this.blobKinds.delete(this.blobKinds.keys().next().value as Digest);
        this.blobKinds.set(digest, kind);
        metrics.blobPulled(kind, bytes);
      },
      () => metrics.blobPulled('unknown', bytes),
    );
  }

  /**
   * Stores manifest bytes exactly as pushed. Every referenced blob and child manifest must
   * already be in the repository; a `subject` may be missing (referrers may be pushed first).
   */
  async putManifest(
    repo: RepoName,
    ref: Reference,
    bytes: Buffer,
    contentType: string | undefined,
    extraTags: readonly Tag[] = [],
    actor: Principal = SYSTEM,
  ): Promise<PutManifestResult> {
    return this.store(repo, ref, bytes, contentType, extraTags, actor, true);
  }

  /**
   * Stores a manifest a pull-through cache fetched from its upstream (services/proxy/): like a
   * push, but the blobs and child manifests it references need not be here yet — they are fetched
   * when a client pulls them (docs/adr/0017-pull-through-cache.md). The caller verified the digest.
   */
  async putProxiedManifest(repo: RepoName, ref: Reference, bytes: Buffer, contentType: string | undefined): Promise<PutManifestResult> {
    return this.store(repo, ref, bytes, contentType, [], SYSTEM, false);
  }

  private async store(
    repo: RepoName,
    ref: Reference,
    bytes: Buffer,
    contentType: string | undefined,
    extraTags: readonly Tag[],
    actor: Principal,
    requireContent: boolean,
  ): Promise<PutManifestResult> {
    const parsed = parseManifest(bytes, contentType);
    const digest = digestOf(bytes, ref.kind === 'digest' ? digestAlgorithm(ref.digest) : 'sha256');
    if (ref.kind === 'digest' && ref.digest !== digest) {
      throw new RegistryError('DIGEST_INVALID', 'manifest digest does not match its content', { expected: ref.digest, actual: digest });
    }
    const tags = [...new Set([...(ref.kind === 'tag' ? [ref.tag] : []), ...extraTags])];
    const now = this.deps.clock();
    const record: ManifestRecord = {
      repo,
      digest,
      mediaType: parsed.mediaType,
      size: bytes.length,
      content: bytes,
      artifactType: parsed.artifactType,
      configMediaType: parsed.config?.mediaType ?? null,
      configDigest: parsed.config?.digest ?? null,
      subject: parsed.subject?.digest ?? null,
      annotations: Object.keys(parsed.annotations).length > 0 ? parsed.annotations : null,
      createdAt: now,
    };
    const children: ManifestChild[] = [
      ...parsed.blobs.map((d) => ({ digest: d.digest, kind: 'blob' as const })),
      ...parsed.manifests.map((d) => ({ digest: d.digest, kind: 'manifest' as const })),
    ];

    const metrics = this.deps.metrics;
    let published: Set<Digest> | null = null;
    const kind = artifactKind(record);
    const queued = await this.deps.metadata.transaction(async (m) => {
      // First: locks the repository row, so a concurrent trash move or restore of this package
      // is either wholly before this push or wholly after it (ADR 0010).
      if ((await lockForPush(m, repo, actor, now, this.deps.defaultVisibility ?? 'private')).trashedAt !== null) throw await trashedPackageError(m, repo);
      const state = await m.manifests.state(repo, digest);
      if (state === 'trashed') throw await trashedManifestError(m, repo, digest);
      // Touch stale links first: on PostgreSQL that row-locks exactly the links GC could be
      // removing, so either GC's delete waits and then sees the touch, or it ran first and the
      // read below no longer finds them (docs/adr/0009-garbage-collection.md).
      await m.blobLinks.touch(repo, parsed.blobs.map((d) => d.digest), now, now - this.touchEveryMs);
      const linked = await m.blobLinks.getMany(repo, parsed.blobs.map((d) => d.digest));
      for (const d of requireContent ? parsed.blobs : []) {
        const size = linked.get(d.digest);
        if (size === undefined) {
          throw new RegistryError('MANIFEST_BLOB_UNKNOWN', 'manifest references a blob unknown to the repository', { digest: d.digest });
        }
        if (size !== d.size) {
          throw new RegistryError('MANIFEST_INVALID', 'descriptor size does not match the blob', { digest: d.digest, size: d.size, actual: size });
        }
      }
      const present = await m.manifests.existing(repo, parsed.manifests.map((d) => d.digest));
      for (const d of requireContent ? parsed.manifests : []) {
        if (!present.has(d.digest)) {
          throw new RegistryError('MANIFEST_BLOB_UNKNOWN', 'index references a manifest unknown to the repository', { digest: d.digest });
        }
      }
      // Under the repository lock taken above, so a concurrent push cannot move the tag between
      // this check and the write (ADR 0013).
      await this.tagPolicy.refuseMoves(m, repo, digest, isChartConfig(record.configMediaType), tags);
      // A new manifest's bytes and blobs the owner does not hold yet must fit its quota.
      const blobs = parsed.blobs.map((d) => ({ digest: d.digest, size: d.size }));
      if (state === null) await this.deps.quotas?.refuseManifest(m, repo, record.size, blobs);
      // Blobs no manifest of the repository referenced yet are the ones this push publishes.
      if (metrics) published = await m.manifests.referenced(repo, parsed.blobs.map((d) => d.digest));
      // The owner's maintained usage moves with the row, in this transaction (ADR 0013).
      if (await m.manifests.put(record, children)) await m.quotas.addManifest(ownerOf(repo), record.size, blobs);
      const before = await m.tags.digestsOf(repo, tags);
      for (const tag of tags) await m.tags.put(repo, tag, digest, now);
      return this.recordPush(m, actor, record, kind, tags, before);
    });
    this.deps.outbox?.committed(queued);
    if (metrics && published) this.countPush(metrics, record, parsed.blobs, published);
    this.deps.events.emit('manifest.pushed', { repo, manifest: record, tags });
    return { digest, subject: record.subject, tags };
  }

  /**
   * The audit row of a push and its webhook events, in the push's transaction: `package.published`
   * for the tags it set or moved (a re-push of a tag to the same digest publishes nothing new),
   * and `tag.moved` for each tag that pointed elsewhere.
   */
  private async recordPush(m: Metadata, actor: Principal, record: ManifestRecord, kind: ArtifactKind, tags: readonly Tag[], before: ReadonlyMap<Tag, Digest>): Promise<number> {
    const owner = ownerOf(record.repo);
    const changed = tags.filter((t) => before.get(t) !== record.digest);
    const moved = tags.flatMap((t) => {
      const from = before.get(t);
      return from !== undefined && from !== record.digest ? [{ tag: t, from }] : [];
    });
    await m.audit.append({
      at: record.createdAt,
      ...actorFields(actor),
      action: 'package.push',
      target: record.repo,
      owner,
      detail: { digest: record.digest, mediaType: record.mediaType, kind, tags, ...(moved.length > 0 ? { moved } : {}) },
    });
    for (const t of moved) {
      await m.audit.append({ at: record.createdAt, ...actorFields(actor), action: 'tag.move', target: record.repo, owner, detail: { tag: t.tag, from: t.from, to: record.digest } });
    }
    const outbox = this.deps.outbox;
    if (!outbox || changed.length === 0) return 0;
    const base = { actor, repo: record.repo, owner, kind, digest: record.digest, mediaType: record.mediaType, artifactType: record.artifactType };
    const changes: Change[] = [
      { ...base, event: 'package.published', tag: changed[0] ?? null, tags: changed },
      ...moved.map((t): Change => ({ ...base, event: 'tag.moved', tag: t.tag, previousDigest: t.from })),
    ];
    return outbox.record(m, changes);
  }

  private countPush(metrics: RegistryMetrics, record: ManifestRecord, blobs: readonly { digest: Digest; size: number }[], referencedBefore: ReadonlySet<Digest>): void {
    const kind = artifactKind(record);
    metrics.manifestPushed(kind);
    const counted = new Set<Digest>(referencedBefore);
    for (const b of blobs) {
      if (counted.has(b.digest)) continue;
      counted.add(b.digest);
      metrics.blobPushed(kind, b.size);
    }
  }

  /** By tag: removes only the tag. By digest: removes the manifest and every tag on it. */
  async deleteManifest(repo: RepoName, ref: Reference, actor: Principal = SYSTEM): Promise<void> {
    const owner = ownerOf(repo);
    if (ref.kind === 'tag') {
      const tag = ref.tag;
      const result = await this.deps.metadata.transaction(async (m) => {
        const found = await m.tags.resolve(repo, tag);
        if (!found) return null;
        await this.tagPolicy.refuseDeletes(m, repo, [tag], 'deleting this tag');
        if (!(await m.tags.delete(repo, tag))) return null;
        await m.audit.append({ at: this.deps.clock(), ...actorFields(actor), action: 'tag.delete', target: repo, owner, detail: { tag, digest: found.digest } });
        const change: Change = { event: 'tag.deleted', actor, repo, owner, kind: artifactKind(found), tag, digest: found.digest, mediaType: found.mediaType };
        return { current: found, queued: this.deps.outbox ? await this.deps.outbox.record(m, [change]) : 0 };
      });
      if (!result) throw new RegistryError('MANIFEST_UNKNOWN', 'tag unknown to registry', { name: repo, reference: ref.tag });
      const { current } = result;
      this.deps.outbox?.committed(result.queued);
      this.deps.events.emit('tag.deleted', { repo, tag: ref.tag, digest: current.digest });
      return;
    }
    const result = await this.deps.metadata.transaction(async (m) => {
      // Locked first, so an index being stored that lists it either commits before our check
      // (and is seen) or waits and then finds the child gone.
      if (!(await m.manifests.lockForDelete(repo, ref.digest))) return null;
      if ((await m.manifests.state(repo, ref.digest)) === 'live') await this.tagPolicy.refuseDeletes(m, repo, await m.tags.forDigest(repo, ref.digest), `deleting manifest ${ref.digest}`);
      const indexes = await m.manifests.listedBy(repo, ref.digest);
      if (indexes.length > 0) throw referencedError(repo, ref.digest, indexes);
      const tags = await m.tags.forDigest(repo, ref.digest);
      if (!(await m.manifests.delete(repo, ref.digest))) return null;
      await m.audit.append({ at: this.deps.clock(), ...actorFields(actor), action: 'package.version.delete', target: repo, owner, detail: { digest: ref.digest, tags } });
      const change: Change = { event: 'version.deleted', actor, repo, owner, kind: null, tag: tags[0] ?? null, tags, digest: ref.digest, mediaType: null };
      return this.deps.outbox ? this.deps.outbox.record(m, [change]) : 0;
    });
    if (result === null) throw new RegistryError('MANIFEST_UNKNOWN', 'manifest unknown to registry', { name: repo, reference: ref.digest });
    this.deps.outbox?.committed(result);
    this.deps.events.emit('manifest.deleted', { repo, digest: ref.digest });
  }

  // ---- tags, referrers, catalog --------------------------------------------------------------

  /** A page of tags as a JSON array text, with the `last` of the next page. */
  async listTags(repo: RepoName, opts: { n?: number | undefined; last?: string | undefined }): Promise<{ json: string; next: string | null }> {
    const stamp = await this.deps.metadata.packages.tagStamp(repo);
    if (!stamp) throw new RegistryError('NAME_UNKNOWN', 'repository name not known to registry', { name: repo });
    const n = Math.min(opts.n ?? DEFAULT_PAGE, MAX_PAGE);
    if (n === 0) return { json: '[]', next: null };
    return this.tagLists.page(repo, stamp, () => this.deps.metadata.tags.names(repo), { n, last: opts.last });
  }

  /**
   * A page of repository names; `visible` filters each batch of 500 names read (access is decided
   * for a whole batch at once: one statement, not one per name).
   */
  async catalog(
    opts: { n?: number | undefined; last?: string | undefined },
    visible?: (names: RepoName[]) => Promise<ReadonlySet<RepoName>>,
  ): Promise<Page<RepoName>> {
    if (!visible) return paginate(opts, (limit) => this.deps.metadata.packages.names({ last: opts.last, limit }));
    // Filtering by access happens after the query, so keep fetching until the page is full.
    const want = opts.n ?? DEFAULT_PAGE;
    const out: RepoName[] = [];
    let last = opts.last;
    for (;;) {
      const batch = await this.deps.metadata.packages.names({ last, limit: 500 });
      const allowed = batch.length > 0 ? await visible(batch) : new Set<RepoName>();
      for (const name of batch) {
        if (allowed.has(name)) out.push(name);
        if (out.length > want) return { items: out.slice(0, want), next: out[want - 1] ?? null };
      }
      if (batch.length < 500) return { items: out, next: null };
      last = batch[batch.length - 1];
    }
  }

  /** The referrers image index for `subject` (empty when none; never an error for a missing subject). */
  async referrers(repo: RepoName, subject: Digest, artifactType?: string): Promise<Buffer> {
    const rows = await this.deps.metadata.manifests.referrers(repo, subject, artifactType);
    const index = {
      schemaVersion: 2,
      mediaType: MediaType.OciIndex,
      manifests: rows.map((r) => ({
        mediaType: r.mediaType,
        digest: r.digest,
        size: r.size,
        ...(r.artifactType ? { artifactType: r.artifactType } : {}),
        ...(r.annotations ? { annotations: r.annotations } : {}),
      })),
    };
    return Buffer.from(JSON.stringify(index));
  }
}

function referencedError(repo: RepoName, digest: Digest, indexes: { digest: Digest; tags: Tag[] }[]): RegistryError {
  const [first] = indexes;
  const named = first ? `${first.digest}${first.tags.length > 0 ? ` (tag ${first.tags.join(', ')})` : ''}` : '';
  const more = indexes.length > 1 ? ` and ${indexes.length - 1} more` : '';
  return new RegistryError(
    'MANIFEST_REFERENCED',
    `manifest ${digest} is listed by index ${named}${more} in ${repo}; delete the index first`,
    { name: repo, digest, indexes: indexes.map((i) => ({ digest: i.digest, tags: i.tags })) },
  );
}

// Without `n` clients expect the whole list (as Distribution does); beyond this a Link header pages.
export const DEFAULT_PAGE = 100_000;
/** Tag names held in memory for listings, across repositories (about 60 bytes each). */
const TAG_LIST_CACHE_NAMES = 200_000;
/** Manifest content held for tags (ManifestTagCache): most manifests are 0.5–2 KiB. */
const TAG_MANIFEST_CACHE_BYTES = 8 * 1024 * 1024;
export const MAX_PAGE = 100_000;
/** Digests whose kind is remembered for blob-pull metrics (about 150 bytes each). */
const BLOB_KIND_CACHE = 10_000;

/** Fetches one extra row to know whether another page exists without a second query. */
async function paginate<T extends string>(
  opts: { n?: number | undefined },
  fetch: (limit: number) => Promise<T[]>,
): Promise<Page<T>> {
  const n = Math.min(opts.n ?? DEFAULT_PAGE, MAX_PAGE);
  if (n === 0) return { items: [], next: null };
  const rows = await fetch(n + 1);
  if (rows.length <= n) return { items: rows, next: null };
  const items = rows.slice(0, n);
  return { items, next: items[items.length - 1] ?? null };
}
