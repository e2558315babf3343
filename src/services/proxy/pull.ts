/**
 * The pull path of a proxy organization (docs/adr/0017-pull-through-cache.md). Manifests and
 * blobs come from the local registry when present; on a miss they are fetched from the upstream,
 * verified against their digest, and stored as ordinary content of the organization's package
 * (so retention, quotas and GC apply). Digests never expire; a tag is confirmed with a HEAD once
 * its TTL has passed, and served stale when the upstream is down or rate-limiting.
 *
 * A blob miss streams to the client while it is written to an upload session; the session is
 * committed (digest verified) before the blob is linked, and the client's last chunk is held back
 * until then, so neither the registry nor the client ever sees a blob that failed verification.
 * Concurrent misses of one blob fetch it once: the fetcher holds the database lease
 * `proxy.blob:<digest>` (any replica), the others wait for the link to appear.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { RegistryError } from '../../errors.ts';
import type { Metadata } from '../../metadata/metadata.ts';
import type { ManifestRecord } from '../../metadata/registry.ts';
import { type Digest, digestAlgorithm, digestOf, isDigest } from '../../oci/digest.ts';
import { ownerOf, parseRepoName, parseTag, type Reference, type RepoName, type Tag } from '../../oci/name.ts';
import { parseManifest } from '../../oci/manifest.ts';
import type { Job } from '../jobs/runner.ts';
import type { AuthzService } from '../authz.ts';
import type { BlobReadResult, RegistryService } from '../registry.ts';
import type { UploadService } from '../uploads.ts';
import { type ProxyDirectory, refuseExcluded, type Upstream, upstreamRepo } from './directory.ts';
import { holdBody, MANIFEST_ACCEPT, UpstreamError } from './upstream.ts';

/** How a proxied request was answered (a bounded metric label). */
export type ProxyOutcome = 'hit' | 'miss' | 'stale' | 'error';

export interface ProxyMetrics {
  proxyRequest(kind: 'manifest' | 'blob', outcome: ProxyOutcome): void;
  proxyUpstreamBytes(bytes: number): void;
}

export interface ProxyPullDeps {
  metadata: Metadata;
  registry: RegistryService;
  uploads: UploadService;
  authz: AuthzService;
  directory: ProxyDirectory;
  clock: () => number;
  log: Logger;
  manifestMaxBytes: number;
  /** Lifetime of a blob-fetch lease; renewed every third of it while bytes flow. */
  leaseMs: number;
  metrics?: ProxyMetrics | undefined;
  /** Longest a request waits for another request (any replica) fetching the same blob. */
  waitMs?: number;
}

/** A blob answer: from the cache, or streaming from the upstream while it is stored. */
export type ProxyBlob = { kind: 'cached'; blob: BlobReadResult } | { kind: 'fetching'; size: number | null; stream: Readable };

const POLL_MS = 200;
const FLUSH_MS = 5_000;

export class ProxyPullService {
  private readonly deps: ProxyPullDeps;
  /** Hit/miss counts per organization not yet added to the database (one write per few seconds). */
  private readonly pending = new Map<string, { hits: number; misses: number }>();
  private readonly flusher: NodeJS.Timeout;

  constructor(deps: ProxyPullDeps) {
    this.deps = deps;
    this.flusher = setInterval(() => void this.flush(), FLUSH_MS);
    this.flusher.unref();
  }

  /** The upstream mirrored by the repository's organization, or null for an ordinary one. */
  async upstreamOf(repo: RepoName): Promise<Upstream | null> {
    return this.deps.directory.forRepo(repo);
  }

  /** Pushes into a proxy organization are refused: its content is the upstream's. */
  async refusePush(repo: RepoName): Promise<void> {
    const upstream = await this.upstreamOf(repo);
    if (upstream) {
      throw new RegistryError('DENIED', `${ownerOf(repo)} is a proxy organization mirroring ${upstream.record.url}: pushes are refused; push to the upstream, or to another organization`, { repository: repo });
    }
  }

  async close(): Promise<void> {
    clearInterval(this.flusher);
    await this.flush();
  }

  // ---- manifests -----------------------------------------------------------------------------

  async manifest(upstream: Upstream, repo: RepoName, ref: Reference): Promise<ManifestRecord> {
    try {
      return await this.resolveManifest(upstream, repo, ref);
    } catch (err) {
      throw err instanceof UpstreamError ? registryErrorOf(err, { name: repo }) : err;
    }
  }

  /** `force`: check a cached tag upstream whatever its TTL (the sync job). */
  private async resolveManifest(upstream: Upstream, repo: RepoName, ref: Reference, force = false): Promise<ManifestRecord> {
    refuseExcluded(upstream, repo);
    const local = await this.local(repo, ref);
    if (ref.kind === 'digest') {
      // A digest names its bytes for ever: once here, never asked for again.
      if (local) return this.hit(upstream, 'manifest', local);
      return this.miss(upstream, repo, ref);
    }
    if (!local) return this.miss(upstream, repo, ref);
    const now = this.deps.clock();
    const check = await this.deps.metadata.proxies.tagCheck(repo, ref.tag);
    if (!force && check && check.digest === local.digest && now - check.checkedAt < upstream.record.tagTtlSeconds * 1000) return this.hit(upstream, 'manifest', local);
    let current: Digest | null;
    try {
      current = await this.headTag(upstream, repo, ref.tag);
    } catch (err) {
      if (err instanceof UpstreamError && err.failure !== 'denied') return this.stale(upstream, repo, ref.tag, local, err);
      throw err;
    }
    if (current === local.digest) {
      await this.deps.metadata.proxies.setTagCheck(repo, ref.tag, local.digest, now);
      return this.hit(upstream, 'manifest', local);
    }
    try {
      // Moved (or the HEAD named no digest): fetch what the tag is now.
      return await this.miss(upstream, repo, ref);
    } catch (err) {
      if (err instanceof UpstreamError && err.failure !== 'denied') return this.stale(upstream, repo, ref.tag, local, err);
      // An immutability rule of the organization (ADR 0013) keeps the cached tag where it was.
      if (err instanceof RegistryError && err.code === 'DENIED') {
        this.deps.log.warn({ repo, tag: ref.tag, digest: local.digest, reason: err.message }, 'proxy kept a tag that moved upstream');
        return this.hit(upstream, 'manifest', local);
      }
      throw err;
    }
  }

  private async local(repo: RepoName, ref: Reference): Promise<ManifestRecord | null> {
    try {
      return await this.deps.registry.manifest(repo, ref);
    } catch (err) {
      if (err instanceof RegistryError && err.code === 'MANIFEST_UNKNOWN') return null;
      throw err;
    }
  }

  private hit(upstream: Upstream, kind: 'manifest' | 'blob', m: ManifestRecord): ManifestRecord {
    this.count(upstream.record.owner, 'hit');
    this.deps.metrics?.proxyRequest(kind, 'hit');
    return m;
  }

  /** The upstream is unreachable or rate-limiting: the cached copy is served, and it is said. */
  private async stale(upstream: Upstream, repo: RepoName, tag: Tag, local: ManifestRecord, err: UpstreamError): Promise<ManifestRecord> {
    this.deps.log.warn({ repo, tag, digest: local.digest, upstream: upstream.record.url, reason: err.message }, 'proxy served a stale tag');
    this.deps.metrics?.proxyRequest('manifest', 'stale');
    this.count(upstream.record.owner, 'hit');
    await this.recordError(upstream, err.message);
    return local;
  }

  /** The digest the upstream's tag names now (HEAD), or null when it did not say. */
  private async headTag(upstream: Upstream, repo: RepoName, tag: Tag): Promise<Digest | null> {
    const res = await upstream.client.request('HEAD', upstreamRepo(upstream, repo), `manifests/${tag}`, { accept: MANIFEST_ACCEPT });
    await res.body?.cancel();
    if (res.status === 404) return null;
    if (!res.ok) throw new UpstreamError('unavailable', `upstream ${upstream.client.url} answered ${res.status} to a manifest HEAD`, res.status);
    const header = res.headers.get('docker-content-digest');
    return header !== null && isDigest(header) ? (header as Digest) : null;
  }

  /** Fetches the manifest, verifies it, stores it (with the tag), and returns the stored record. */
  private async miss(upstream: Upstream, repo: RepoName, ref: Reference): Promise<ManifestRecord> {
    const path = upstreamRepo(upstream, repo);
    const reference = ref.kind === 'tag' ? ref.tag : ref.digest;
    let res: Response;
    try {
      res = await upstream.client.request('GET', path, `manifests/${reference}`, { accept: MANIFEST_ACCEPT });
    } catch (err) {
      if (err instanceof UpstreamError) await this.failed(upstream, 'manifest', err.message);
      throw err;
    }
    if (res.status === 404) {
      await res.body?.cancel();
      this.deps.metrics?.proxyRequest('manifest', 'miss');
      throw new RegistryError('MANIFEST_UNKNOWN', `manifest unknown to the upstream ${upstream.client.url} (${path}:${reference})`, { name: repo, reference });
    }
    if (!res.ok) {
      await res.body?.cancel();
      const message = `upstream ${upstream.client.url} answered ${res.status} for ${path}:${reference}`;
      await this.failed(upstream, 'manifest', message);
      throw new UpstreamError('unavailable', message, res.status);
    }
    const bytes = await this.readManifest(upstream, res);
    const contentType = res.headers.get('content-type') ?? undefined;
    const digest = digestOf(bytes, ref.kind === 'digest' ? digestAlgorithm(ref.digest) : 'sha256');
    const claimed = res.headers.get('docker-content-digest');
    if ((ref.kind === 'digest' && ref.digest !== digest) || (claimed !== null && isDigest(claimed) && digestAlgorithm(claimed as Digest) === digestAlgorithm(digest) && claimed !== digest)) {
      const message = `upstream ${upstream.client.url} sent a manifest for ${path}:${reference} whose digest ${digest} is not the one it named`;
      await this.failed(upstream, 'manifest', message);
      throw new RegistryError('DIGEST_INVALID', message, { expected: ref.kind === 'digest' ? ref.digest : claimed, actual: digest });
    }
    await this.deps.authz.refuseIfTrashed(repo);
    await this.deps.registry.putProxiedManifest(repo, ref.kind === 'tag' ? ref : { kind: 'digest', digest }, bytes, contentType);
    if (ref.kind === 'tag') await this.deps.metadata.proxies.setTagCheck(repo, ref.tag, digest, this.deps.clock());
    this.count(upstream.record.owner, 'miss');
    this.deps.metrics?.proxyRequest('manifest', 'miss');
    this.deps.metrics?.proxyUpstreamBytes(bytes.length);
    this.deps.log.info({ repo, reference, digest, upstream: upstream.client.url }, 'proxy cached a manifest');
    return this.deps.registry.manifest(repo, { kind: 'digest', digest });
  }

  private async readManifest(upstream: Upstream, res: Response): Promise<Buffer> {
    const max = this.deps.manifestMaxBytes;
    const chunks: Buffer[] = [];
    let total = 0;
    if (res.body) {
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        total += chunk.length;
        if (total > max) {
          await res.body.cancel().catch(() => undefined);
          throw new RegistryError('MANIFEST_TOO_LARGE', `the upstream ${upstream.client.url} sent a manifest over the ${max}-byte limit`, { limit: max });
        }
        chunks.push(Buffer.from(chunk));
      }
    }
    return Buffer.concat(chunks);
  }

  // ---- tags ------------------------------------------------------------------------------------

  /**
   * The upstream's tag list (what `helm pull` without a version and `skopeo list-tags` need: a
   * cache knows only the tags pulled so far), paged here like a local list. Null when the
   * upstream cannot answer: the caller lists the cached tags instead.
   */
  async tags(upstream: Upstream, repo: RepoName, opts: { n?: number | undefined; last?: string | undefined }): Promise<{ json: string; next: string | null } | null> {
    refuseExcluded(upstream, repo);
    let res: Response;
    try {
      res = await upstream.client.request('GET', upstreamRepo(upstream, repo), 'tags/list');
    } catch (err) {
      if (!(err instanceof UpstreamError)) throw err;
      await this.recordError(upstream, err.message);
      this.deps.log.warn({ repo, upstream: upstream.client.url, reason: err.message }, 'proxy listed cached tags only');
      return null;
    }
    if (!res.ok) {
      await res.body?.cancel();
      if (res.status === 404) throw new RegistryError('NAME_UNKNOWN', `repository unknown to the upstream ${upstream.client.url}`, { name: repo });
      return null;
    }
    const body = (await res.json().catch(() => null)) as { tags?: unknown } | null;
    const all = Array.isArray(body?.tags) ? body.tags.filter((t): t is string => typeof t === 'string').sort() : [];
    const after = opts.last === undefined ? all : all.filter((t) => t > opts.last!);
    const n = opts.n ?? after.length;
    const page = after.slice(0, n);
    return { json: JSON.stringify(page), next: after.length > n && page.length > 0 ? (page[page.length - 1] ?? null) : null };
  }

  // ---- blobs -----------------------------------------------------------------------------------

  async blob(upstream: Upstream, repo: RepoName, digest: Digest): Promise<ProxyBlob> {
    refuseExcluded(upstream, repo);
    const deadline = this.deps.clock() + (this.deps.waitMs ?? 10 * 60_000);
    const lease = `proxy.blob:${digest}`;
    for (let waited = false; ; waited = true) {
      const cached = await this.cached(repo, digest);
      if (cached) {
        this.count(upstream.record.owner, waited ? 'miss' : 'hit');
        this.deps.metrics?.proxyRequest('blob', waited ? 'miss' : 'hit');
        return { kind: 'cached', blob: cached };
      }
      // One holder per request (not per replica): two requests of one process must not share it.
      const holder = randomUUID();
      const now = this.deps.clock();
      if (await this.deps.metadata.leases.acquire(lease, holder, now, now + this.deps.leaseMs)) {
        // Checked again under the lease: the previous holder may have linked it just now.
        const linked = await this.cached(repo, digest);
        if (linked) {
          await this.deps.metadata.leases.release(lease, holder);
          this.count(upstream.record.owner, 'miss');
          return { kind: 'cached', blob: linked };
        }
        return this.fetch(upstream, repo, digest, lease, holder);
      }
      if (this.deps.clock() > deadline) throw new RegistryError('UNAVAILABLE', `blob ${digest} is still being fetched from the upstream ${upstream.client.url}; try again`, { digest });
      await sleep(POLL_MS);
    }
  }

  private async cached(repo: RepoName, digest: Digest): Promise<BlobReadResult | null> {
    try {
      return await this.deps.registry.blob(repo, digest);
    } catch (err) {
      if (err instanceof RegistryError && err.code === 'BLOB_UNKNOWN') return null;
      throw err;
    }
  }

  /**
   * GETs the blob upstream (lease held) and answers with a stream of it at once; the bytes go to
   * an upload session as they arrive, and to the client one chunk behind. The session commits
   * (digest verified by the store) and is linked to the repository before the client receives
   * the last chunk; on any failure the session is removed and the client's response is cut.
   */
  private async fetch(upstream: Upstream, repo: RepoName, digest: Digest, lease: string, holder: string): Promise<ProxyBlob> {
    const release = () => this.deps.metadata.leases.release(lease, holder).catch((err: unknown) => this.deps.log.warn({ err, digest }, 'proxy lease release failed'));
    let res: Response;
    try {
      res = await upstream.client.request('GET', upstreamRepo(upstream, repo), `blobs/${digest}`);
    } catch (err) {
      await release();
      if (err instanceof UpstreamError) {
        await this.failed(upstream, 'blob', err.message);
        throw registryErrorOf(err, { digest });
      }
      throw err;
    }
    if (res.status === 404 || !res.ok || !res.body) {
      await res.body?.cancel();
      await release();
      if (res.status === 404) throw new RegistryError('BLOB_UNKNOWN', `blob unknown to the upstream ${upstream.client.url}`, { digest });
      const message = `upstream ${upstream.client.url} answered ${res.status} for blob ${digest}`;
      await this.failed(upstream, 'blob', message);
      throw new RegistryError('UNAVAILABLE', message, { digest });
    }
    const lengthHeader = res.headers.get('content-length');
    const size = lengthHeader !== null && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : null;
    const body = holdBody(res.body);
    let id: string;
    try {
      await this.deps.authz.refuseIfTrashed(repo);
      id = await this.deps.uploads.start(repo);
    } catch (err) {
      await body.cancel();
      await release();
      throw err;
    }
    const client = new PassThrough();
    const renew = setInterval(() => {
      void this.deps.metadata.leases.renew(lease, holder, this.deps.clock() + this.deps.leaseMs).catch(() => undefined);
    }, Math.max(this.deps.leaseMs / 3, 1000));
    const held: { chunk: Buffer | null; bytes: number } = { chunk: null, bytes: 0 };
    const metrics = this.deps.metrics;
    async function* tee(): AsyncGenerator<Uint8Array> {
      for await (const chunk of body.chunks()) {
        if (held.chunk) await send(client, held.chunk);
        held.chunk = Buffer.from(chunk);
        held.bytes += chunk.length;
        yield chunk;
      }
    }
    const work = (async () => {
      try {
        await this.deps.uploads.append(repo, id, undefined, { stream: tee(), length: size ?? undefined });
        await this.deps.uploads.complete(repo, id, digest, null);
        if (held.chunk) await send(client, held.chunk);
        client.end();
        this.count(upstream.record.owner, 'miss');
        metrics?.proxyRequest('blob', 'miss');
        metrics?.proxyUpstreamBytes(held.bytes);
        this.deps.log.info({ repo, digest, bytes: held.bytes, upstream: upstream.client.url }, 'proxy cached a blob');
      } catch (err) {
        await this.deps.uploads.cancel(repo, id).catch(() => undefined);
        await body.cancel();
        const message = err instanceof RegistryError && err.code === 'DIGEST_INVALID'
          ? `upstream ${upstream.client.url} sent bytes for ${digest} that do not match the digest; nothing was stored`
          : `fetching ${digest} from ${upstream.client.url} failed: ${err instanceof Error ? err.message : String(err)}`;
        this.deps.log.warn({ err, repo, digest, upstream: upstream.client.url, reason: message }, 'proxy blob fetch failed');
        await this.failed(upstream, 'blob', message);
        client.destroy(new Error(message));
      } finally {
        clearInterval(renew);
        await release();
      }
    })();
    void work;
    return { kind: 'fetching', size, stream: client };
  }

  // ---- periodic sync ------------------------------------------------------------------------------

  /**
   * `proxy.sync`: for every proxy's `sync` references, the tag is checked upstream (whatever its
   * TTL) and everything it names — an index's child manifests, every blob — fetched ahead of the
   * first pull. Idempotent: what is cached is skipped, so a run killed midway is resumed by the next.
   */
  syncJob(): Job<Record<string, never>, Record<string, unknown>> {
    return {
      name: 'proxy.sync',
      run: async (ctx) => {
        const summary = { proxies: 0, references: 0, manifests: 0, blobs: 0, failed: 0 };
        for (const record of await this.deps.metadata.proxies.list()) {
          if (record.sync.length === 0) continue;
          const upstream = await this.deps.directory.of(record.owner);
          if (!upstream) continue;
          summary.proxies++;
          for (const ref of record.sync) {
            if (ctx.signal.aborted) return summary;
            const i = ref.lastIndexOf(':');
            try {
              const repo = parseRepoName(`${record.owner}/${ref.slice(0, i)}`);
              const got = await this.prefetch(upstream, repo, { kind: 'tag', tag: parseTag(ref.slice(i + 1)) }, ctx.signal);
              summary.manifests += got.manifests;
              summary.blobs += got.blobs;
              summary.references++;
            } catch (err) {
              summary.failed++;
              ctx.log.warn({ err, proxy: record.owner, ref }, 'proxy sync of a reference failed');
            }
            ctx.progress({ phase: 'sync', proxy: record.owner, ...summary });
          }
        }
        return summary;
      },
    };
  }

  /** The manifest of `ref` and everything below it, fetched where not cached; counts what it fetched or confirmed. */
  private async prefetch(upstream: Upstream, repo: RepoName, ref: Reference, signal: AbortSignal): Promise<{ manifests: number; blobs: number }> {
    const m = await this.resolveManifest(upstream, repo, ref, true);
    const parsed = parseManifest(m.content, m.mediaType);
    let manifests = 1;
    let blobs = 0;
    for (const child of parsed.manifests) {
      if (signal.aborted) break;
      const got = await this.prefetch(upstream, repo, { kind: 'digest', digest: child.digest }, signal);
      manifests += got.manifests;
      blobs += got.blobs;
    }
    for (const d of parsed.blobs) {
      if (signal.aborted) break;
      const blob = await this.blob(upstream, repo, d.digest);
      if (blob.kind === 'fetching') await drain(blob.stream);
      blobs++;
    }
    return { manifests, blobs };
  }

  // ---- bookkeeping ------------------------------------------------------------------------------

  private count(owner: string, outcome: 'hit' | 'miss'): void {
    const c = this.pending.get(owner) ?? { hits: 0, misses: 0 };
    if (outcome === 'hit') c.hits++;
    else c.misses++;
    this.pending.set(owner, c);
  }

  private async failed(upstream: Upstream, kind: 'manifest' | 'blob', message: string): Promise<void> {
    this.deps.metrics?.proxyRequest(kind, 'error');
    await this.recordError(upstream, message);
  }

  private async recordError(upstream: Upstream, message: string): Promise<void> {
    await this.deps.metadata.proxies.recordError(upstream.record.owner, message, this.deps.clock()).catch((err: unknown) => this.deps.log.warn({ err }, 'proxy error not recorded'));
  }

  /** Adds the counted hits and misses to the database (also on close). */
  async flush(): Promise<void> {
    const batch = [...this.pending];
    this.pending.clear();
    for (const [owner, c] of batch) {
      await this.deps.metadata.proxies.count(owner, c.hits, c.misses).catch((err: unknown) => this.deps.log.warn({ err, owner }, 'proxy counters not saved'));
    }
  }
}

/**
 * What the client is told when the upstream failed and nothing cached could stand in: 429 when
 * the upstream rate-limits (the client should slow down too), else 503 with the reason (an
 * upstream refusing the proxy's own credentials is the operator's problem, not the client's).
 */
function registryErrorOf(err: UpstreamError, detail: Record<string, unknown>): RegistryError {
  return new RegistryError(err.failure === 'rate-limited' ? 'TOOMANYREQUESTS' : 'UNAVAILABLE', err.message, detail);
}

/** Reads a fetch's client side to the end, so the fetch completes (it fails when the fetch does). */
async function drain(stream: Readable): Promise<void> {
  stream.resume();
  await finished(stream);
}

/** Writes to the client unless it went away; waits while its buffer is full (or until it closes). */
async function send(client: PassThrough, chunk: Buffer): Promise<void> {
  if (client.destroyed) return;
  if (!client.write(chunk)) await Promise.race([once(client, 'drain'), once(client, 'close')]).catch(() => undefined);
}
