/**
 * Helm charts on top of the artifact-agnostic registry: recognises chart manifests after they
 * are pushed and indexes them (metadata, README, values, a pre-rendered index.yaml entry),
 * serves each owner's classic index.yaml, and stores ChartMuseum-style uploads as ordinary OCI
 * artifacts through the registry and upload services. See docs/helm.md and
 * docs/adr/0004-helm-index.md.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { Logger } from 'pino';
import type { ChartFiles } from '../charts/archive.ts';
import type { ChartParser } from '../charts/parser.ts';
import { chartFileName, indexEntry, renderEntryFragment } from '../charts/index-yaml.ts';
import { renderIndexDocument } from '../charts/index-stream.ts';
import { ChartError, type ChartMetadata, metadataToConfigJson, normalizeMetadata, ociAnnotations } from '../charts/metadata.ts';
import { checkProvenance } from '../charts/provenance.ts';
import { indexOrderKey, isPrerelease, parseSemver, sortKey, tagToVersion, versionToTag } from '../charts/semver.ts';
import { RegistryError } from '../errors.ts';
import { jsonShapeProblem } from '../lib/json-shape.ts';
import { KeyedMutex } from '../lib/keyed-mutex.ts';
import type { ChartContentRecord, ChartVersionRecord, IndexRow } from '../metadata/charts.ts';
import type { Metadata } from '../metadata/metadata.ts';
import type { ManifestRecord } from '../metadata/registry.ts';
import { type Digest, digestOf, isDigest } from '../oci/digest.ts';
import { type Descriptor, parseManifest } from '../oci/manifest.ts';
import { MediaType } from '../oci/mediatypes.ts';
import { isRepoName, ownerOf, parseRepoName, parseTag, type RepoName } from '../oci/name.ts';
import type { ByteRange } from '../storage/types.ts';
import type { RegistryEventBus } from './events.ts';
import type { RegistryService } from './registry.ts';
import { describeChartRule } from './policies/model.ts';
import type { TagPolicy } from './policies/tag-policy.ts';
import type { UploadService } from './uploads.ts';
import type { Job } from './jobs/runner.ts';
import type { Principal } from '../auth/principal.ts';

/** Early Helm 3 releases wrote this chart layer type; Helm still pulls it. */
const LEGACY_CHART_LAYER = 'application/tar+gzip';
const CONFIG_MAX_BYTES = 1024 * 1024;
const PAGE_ROWS = 500;
/** How long an upload's cross-replica lease outlives a process that died holding it. */
const UPLOAD_LEASE_MS = 60_000;

/** What a `charts.reindex` run found and put right. */
export interface ReindexSummary extends Record<string, number> {
  /** Disagreements between the chart index and the registry that the run looked at. */
  checked: number;
  repaired: number;
  failed: number;
}

export interface ChartDeps {
  metadata: Metadata;
  registry: RegistryService;
  uploads: UploadService;
  events: RegistryEventBus;
  clock: () => number;
  log: Logger;
  /** Whether a chart version may be replaced: the package's, owner's or site's setting (ADR 0013). */
  tagPolicy: TagPolicy;
  /** Where rendered index.yaml files are kept per generation; null streams every response from the database. */
  indexCacheDir: string | null;
  /** Reads chart archives off the event loop, with their cost bounded. */
  parser: ChartParser;
  /** Largest chart archive read (an OCI chart layer; uploads are capped by the HTTP layer). */
  maxArchiveBytes: number;
}

/** A chart version as the JSON API shows it. */
export interface ChartVersionView {
  repository: RepoName;
  name: string | null;
  version: string | null;
  appVersion: string | null;
  description: string | null;
  prerelease: boolean;
  deprecated: boolean;
  /** Manifest digest. */
  digest: Digest;
  chartDigest: Digest | null;
  size: number | null;
  created: string;
  listed: boolean;
  status: 'ok' | 'failed';
  error: string | null;
}

export interface ChartDetail extends ChartVersionView {
  metadata: ChartMetadata | null;
  tags: string[];
  readme: { path: string | null; text: string } | null;
  values: string | null;
  valuesSchema: string | null;
  provenance: { digest: Digest; size: number | null } | null;
  omitted: string[];
}

export interface ChartSummary {
  repository: RepoName;
  name: string;
  latestVersion: string | null;
  latestPrerelease: string | null;
  appVersion: string | null;
  description: string | null;
  deprecated: boolean;
  versions: number;
  prereleases: number;
  failed: number;
  updated: string;
}

/** An index.yaml ready to be sent: validators plus a way to open its bytes. */
export interface IndexDocument {
  /** Strong validator of the identity representation, unquoted (`<epoch>-<generation>[-<filter>]`). */
  etag: string;
  lastModified: number;
  /** Repositories with listed charts that the caller may not see. */
  hidden: number;
  /** Repositories with listed charts that the caller sees. */
  visible: number;
  /** A rendered file on local disk (the per-generation cache), or a stream from the database. */
  open(encoding: 'identity' | 'gzip'): Promise<IndexBody>;
}

export type IndexBody = { kind: 'file'; path: string; size: number } | { kind: 'stream'; stream: Readable };

/** A chart validated by the upload API, not yet stored. */
export interface PreparedChart {
  owner: string;
  repo: RepoName;
  meta: ChartMetadata;
  tgz: Buffer;
  prov: Buffer | null;
  files: ChartFiles;
}

export interface ChartFile {
  repo: RepoName;
  digest: Digest;
  size: number;
  kind: 'chart' | 'prov';
  open(): Promise<Readable>;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function isChartLayer(d: Descriptor): boolean {
  return d.mediaType === MediaType.HelmChart || d.mediaType === LEGACY_CHART_LAYER;
}

function toView(r: ChartVersionRecord): ChartVersionView {
  return {
    repository: r.repo,
    name: r.name,
    version: r.version,
    appVersion: r.appVersion,
    description: r.description,
    prerelease: r.prerelease,
    deprecated: r.deprecated,
    digest: r.digest,
    chartDigest: r.chartDigest,
    size: r.chartSize,
    created: iso(r.createdAt),
    listed: r.listed,
    status: r.status,
    error: r.error,
  };
}

/** Highest precedence first, then newest push. */
function byVersionDesc(a: ChartVersionRecord, b: ChartVersionRecord): number {
  const ka = a.sortKey ?? '';
  const kb = b.sortKey ?? '';
  if (ka !== kb) return ka < kb ? 1 : -1;
  return b.createdAt - a.createdAt;
}

async function readAll(stream: AsyncIterable<Uint8Array>, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    total += chunk.length;
    if (total > max) throw new ChartError(`blob is larger than ${max} bytes`);
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

function wholeBlob(size: number): ByteRange | undefined {
  return size > 0 ? { start: 0, end: size - 1 } : undefined;
}

async function* once(buf: Buffer): AsyncGenerator<Uint8Array> {
  yield buf;
}

export class ChartService {
  private readonly deps: ChartDeps;
  private readonly locks = new KeyedMutex();
  /** Listed repositories per owner, valid for one generation (checked against the database). */
  private readonly repoMemo = new Map<string, { key: string; repos: RepoName[] }>();
  /** In-flight cache builds, so concurrent requests for a new generation render it once. */
  private readonly building = new Map<string, Promise<string>>();

  constructor(deps: ChartDeps) {
    this.deps = deps;
  }

  /** Keeps the index in step with the registry. Listeners run after commit, off the request path. */
  listen(): void {
    const { events } = this.deps;
    events.on('manifest.pushed', async ({ repo, manifest }) => {
      if (manifest.configMediaType === MediaType.HelmConfig) await this.index(repo, manifest.digest);
      // Anything else pushed under a chart's tag takes the tag away from the chart.
      else await this.unlistUntagged(repo);
    });
    events.on('manifest.deleted', async ({ repo, digest }) => this.reconcile(repo, digest));
    events.on('tag.deleted', async ({ repo, digest }) => this.reconcile(repo, digest));
    events.on('repository.deleted', async ({ repo }) => this.forgetRepository(repo));
  }

  // ---- indexing ---------------------------------------------------------------------------------

  /**
   * Indexes a chart manifest (idempotent: an already indexed digest only has its listing
   * refreshed, since a digest's content never changes). Never throws for a bad chart: the
   * record says why indexing failed.
   */
  async index(repo: RepoName, digest: Digest): Promise<ChartVersionRecord | null> {
    return this.locks.run(`${repo}@${digest}`, async () => {
      const existing = await this.deps.metadata.charts.get(repo, digest);
      if (existing?.status === 'ok') return this.applyListing(repo, digest);
      const manifest = await this.deps.metadata.manifests.get(repo, digest);
      if (!manifest || manifest.configMediaType !== MediaType.HelmConfig) return null;
      const { record, content } = await this.analyse(repo, manifest);
      if (record.status === 'failed') this.deps.log.warn({ repo, digest, reason: record.error }, 'chart indexing failed');
      return this.store(record, content);
    });
  }

  /**
   * Drops every record of a repository that was deleted wholesale (its manifests removed
   * without per-manifest events), so the owner's index stops listing it.
   */
  async forgetRepository(repo: RepoName): Promise<void> {
    const rows = await this.deps.metadata.charts.ofRepo(repo);
    for (const r of rows) await this.reconcile(repo, r.digest);
  }

  private async unlistUntagged(repo: RepoName): Promise<void> {
    // Most pushes are images in repositories without charts: a read settles those.
    if (!(await this.deps.metadata.charts.hasListed(repo))) return;
    const now = this.deps.clock();
    await this.deps.metadata.transaction(async (m) => {
      if ((await m.charts.unlistUntagged(repo)) > 0) await m.charts.bumpGeneration(ownerOf(repo), now);
    });
  }

  /**
   * The repair pass (`charts.reindex`): indexing follows a push's commit in this process, so a
   * kill -9 in between leaves a chart unindexed, and a crash before a delete's listener leaves a
   * record listed. This finds every such disagreement in the database and reconciles it; it runs
   * at start-up, on a schedule and with `wharf reindex`. Pushes younger than `graceMs` are left to
   * their own listener.
   */
  reindexJob(graceMs = 60_000): Job<Record<string, never>, ReindexSummary> {
    return {
      name: 'charts.reindex',
      run: async (ctx) => {
        const started = this.deps.clock();
        const summary: ReindexSummary = { checked: 0, repaired: 0, failed: 0 };
        let after: { repo: string; digest: string } | null = null;
        for (;;) {
          if (ctx.signal.aborted) throw new Error('reindex interrupted');
          const batch = await this.deps.metadata.charts.drift({ helmConfig: MediaType.HelmConfig, pushedBefore: started - graceMs, after, limit: 200 });
          if (batch.length === 0) break;
          for (const { repo, digest } of batch) {
            summary.checked++;
            try {
              await this.reconcile(repo, digest);
              summary.repaired++;
            } catch (err) {
              summary.failed++;
              ctx.log.warn({ err, repo, digest }, 'chart reindex failed');
            }
          }
          const last = batch[batch.length - 1];
          if (last) after = last;
          ctx.progress({ phase: 'reconcile', checked: summary.checked, repaired: summary.repaired, failed: summary.failed });
        }
        if (summary.repaired > 0) ctx.log.info(summary, 'chart index repaired');
        return summary;
      },
    };
  }

  /** Brings a record in line with the registry after a delete (manifest or tag). */
  async reconcile(repo: RepoName, digest: Digest): Promise<void> {
    await this.locks.run(`${repo}@${digest}`, async () => {
      await this.applyListing(repo, digest);
    });
  }

  /** Reads config and chart layer; every problem becomes a failed record. */
  private async analyse(repo: RepoName, manifest: ManifestRecord): Promise<{ record: ChartVersionRecord; content: ChartContentRecord | null }> {
    const now = this.deps.clock();
    const base: ChartVersionRecord = {
      repo,
      digest: manifest.digest,
      owner: ownerOf(repo),
      status: 'failed',
      error: null,
      name: null,
      version: null,
      sortKey: null,
      prerelease: false,
      listed: false,
      filename: null,
      appVersion: null,
      description: null,
      deprecated: false,
      chartDigest: null,
      chartSize: null,
      tgzSha256: null,
      provDigest: null,
      provSize: null,
      metadata: null,
      indexEntry: null,
      indexKey: null,
      createdAt: manifest.createdAt,
      indexedAt: now,
    };
    try {
      const parsed = parseManifest(manifest.content, manifest.mediaType);
      if (!parsed.config) throw new ChartError('manifest has no config');
      const layers = parsed.blobs.filter((d) => d !== parsed.config);
      const chartLayers = layers.filter(isChartLayer);
      if (chartLayers.length !== 1) throw new ChartError(`manifest must have exactly one chart layer (${MediaType.HelmChart}), found ${chartLayers.length}`);
      const chartLayer = chartLayers[0] as Descriptor;
      const provLayer = layers.find((d) => d.mediaType === MediaType.HelmProvenance) ?? null;
      base.chartDigest = chartLayer.digest;
      base.chartSize = chartLayer.size;
      if (provLayer) {
        base.provDigest = provLayer.digest;
        base.provSize = provLayer.size;
      }

      if (parsed.config.size > CONFIG_MAX_BYTES) throw new ChartError(`chart config blob is larger than ${CONFIG_MAX_BYTES} bytes`);
      const configBlob = await this.deps.registry.blob(repo, parsed.config.digest);
      // A bounded range keeps the store from allocating its full read buffer for a tiny blob.
      const configBytes = await readAll(await configBlob.open(wholeBlob(configBlob.size)), CONFIG_MAX_BYTES);
      const shape = jsonShapeProblem(configBytes);
      if (shape !== null) throw new ChartError(`chart config blob is ${shape}`);
      let configJson: unknown;
      try {
        configJson = JSON.parse(configBytes.toString('utf8'));
      } catch {
        throw new ChartError('chart config blob is not valid JSON');
      }
      let meta: ChartMetadata;
      try {
        meta = normalizeMetadata(configJson);
      } catch (err) {
        if (err instanceof ChartError) throw new ChartError(`chart config: ${err.message}`);
        throw err;
      }

      const layerBlob = await this.deps.registry.blob(repo, chartLayer.digest);
      const max = this.deps.maxArchiveBytes;
      if (layerBlob.size > max) throw new ChartError(`chart archive is larger than ${max} bytes`);
      const tgz = await readAll(await layerBlob.open(wholeBlob(layerBlob.size)), max);
      const { archive, meta: fromArchive } = await this.deps.parser.parse(tgz);
      if (fromArchive.name !== meta.name || fromArchive.version !== meta.version) {
        throw new ChartError(
          `chart config says ${meta.name} ${meta.version} but the archive's Chart.yaml says ${fromArchive.name} ${fromArchive.version}`,
        );
      }
      const semver = parseSemver(meta.version);
      if (!semver) throw new ChartError(`version ${meta.version} is not a valid semantic version`);
      const filename = chartFileName(meta.name, meta.version);
      const record: ChartVersionRecord = {
        ...base,
        status: 'ok',
        name: meta.name,
        version: meta.version,
        sortKey: sortKey(semver),
        indexKey: indexOrderKey({ name: meta.name, sortKey: sortKey(semver), createdAt: manifest.createdAt, repo, digest: manifest.digest }),
        prerelease: isPrerelease(semver),
        filename,
        appVersion: meta.appVersion ?? null,
        description: meta.description ?? null,
        deprecated: meta.deprecated === true,
        tgzSha256: archive.sha256,
        metadata: JSON.stringify(meta),
        indexEntry: renderEntryFragment(indexEntry(meta, { urls: [filename], created: iso(manifest.createdAt), digest: archive.sha256 })),
      };
      const f = archive.files;
      return {
        record,
        content: {
          readmePath: f.readme?.path ?? null,
          readme: f.readme?.text ?? null,
          values: f.values,
          valuesSchema: f.valuesSchema,
          omitted: f.omitted,
        },
      };
    } catch (err) {
      if (err instanceof ChartError) return { record: { ...base, error: err.message }, content: null };
      if (err instanceof RegistryError && (err.code === 'BLOB_UNKNOWN' || err.code === 'MANIFEST_INVALID')) {
        return { record: { ...base, error: err.message }, content: null };
      }
      throw err;
    }
  }

  /** Writes the record with its listing derived from the registry's current state. */
  private async store(record: ChartVersionRecord, content: ChartContentRecord | null): Promise<ChartVersionRecord | null> {
    const now = this.deps.clock();
    return this.deps.metadata.transaction(async (m) => {
      // The manifest may have been deleted (or trashed) while we read its blobs.
      const state = await m.manifests.state(record.repo, record.digest);
      if (state === null) {
        if (await m.charts.delete(record.repo, record.digest)) await m.charts.bumpGeneration(record.owner, now);
        return null;
      }
      const before = await m.charts.get(record.repo, record.digest);
      const tags = await m.tags.forDigest(record.repo, record.digest);
      const listed = state === 'live' && record.status === 'ok' && tags.length > 0;
      const final = { ...record, listed };
      await m.charts.put(final, content);
      const unlisted = await m.charts.unlistUntagged(record.repo);
      if (listed || before?.listed || unlisted > 0) await m.charts.bumpGeneration(record.owner, now);
      return final;
    });
  }

  /** Re-derives `listed` (and existence) from the registry; indexes a chart we have never seen. */
  private async applyListing(repo: RepoName, digest: Digest): Promise<ChartVersionRecord | null> {
    const now = this.deps.clock();
    const result = await this.deps.metadata.transaction(async (m) => {
      const rec = await m.charts.get(repo, digest);
      const manifest = await m.manifests.get(repo, digest);
      if (!manifest && (await m.manifests.state(repo, digest)) === 'trashed') {
        // In the trash: kept (a restore lists it again) but never listed.
        const changed = rec !== null && rec.listed && (await m.charts.setListed(repo, digest, false));
        if (changed) await m.charts.bumpGeneration(rec.owner, now);
        return { rec: rec ? { ...rec, listed: false } : null, missing: false };
      }
      if (!manifest) {
        let changed = false;
        if (rec) changed = (await m.charts.delete(repo, digest)) && rec.listed;
        const unlisted = await m.charts.unlistUntagged(repo);
        if (changed || unlisted > 0) await m.charts.bumpGeneration(ownerOf(repo), now);
        return { rec: null, missing: false };
      }
      if (!rec) return { rec: null, missing: manifest.configMediaType === MediaType.HelmConfig };
      const listed = rec.status === 'ok' && (await m.tags.forDigest(repo, digest)).length > 0;
      const changed = listed !== rec.listed && (await m.charts.setListed(repo, digest, listed));
      const unlisted = await m.charts.unlistUntagged(repo);
      if (changed || unlisted > 0) await m.charts.bumpGeneration(rec.owner, now);
      return { rec: { ...rec, listed }, missing: false };
    });
    if (result.missing) {
      const manifest = await this.deps.metadata.manifests.get(repo, digest);
      if (!manifest) return null;
      const { record, content } = await this.analyse(repo, manifest);
      return this.store(record, content);
    }
    return result.rec;
  }

  // ---- JSON API -----------------------------------------------------------------------------------

  /** The owner's chart repositories (one summary per repository), filtered by `visible`. */
  async ownerCharts(owner: string, visible: (repo: RepoName) => Promise<boolean>): Promise<ChartSummary[]> {
    const rows = await this.deps.metadata.charts.ofOwner(owner);
    const byRepo = new Map<RepoName, ChartVersionRecord[]>();
    for (const r of rows) {
      const list = byRepo.get(r.repo) ?? [];
      list.push(r);
      byRepo.set(r.repo, list);
    }
    const out: ChartSummary[] = [];
    for (const [repo, list] of [...byRepo].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      if (!(await visible(repo))) continue;
      const ok = list.filter((r) => r.status === 'ok' && r.listed).sort(byVersionDesc);
      const stable = ok.filter((r) => !r.prerelease);
      const pre = ok.filter((r) => r.prerelease);
      const head = stable[0] ?? pre[0] ?? null;
      out.push({
        repository: repo,
        name: head?.name ?? list.find((r) => r.name)?.name ?? repo.slice(repo.lastIndexOf('/') + 1),
        latestVersion: stable[0]?.version ?? null,
        latestPrerelease: pre[0] && (!stable[0] || (pre[0].sortKey ?? '') > (stable[0].sortKey ?? '')) ? pre[0].version : null,
        appVersion: head?.appVersion ?? null,
        description: head?.description ?? null,
        deprecated: head?.deprecated ?? false,
        versions: ok.length,
        prereleases: pre.length,
        failed: list.filter((r) => r.status === 'failed').length,
        updated: iso(Math.max(...list.map((r) => r.createdAt))),
      });
    }
    return out;
  }

  /** Every indexed version of a chart repository, highest first. NOT_FOUND when it holds no chart. */
  async versions(repo: RepoName): Promise<ChartVersionView[]> {
    const rows = await this.deps.metadata.charts.ofRepo(repo);
    if (rows.length === 0) throw new RegistryError('NOT_FOUND', 'no chart in this repository', { repository: repo });
    const ok = rows.filter((r) => r.status === 'ok').sort(byVersionDesc);
    const failed = rows.filter((r) => r.status === 'failed').sort((a, b) => b.createdAt - a.createdAt);
    return [...ok, ...failed].map(toView);
  }

  /** One version by chart version (`1.0.0+build.1`), Helm tag (`1.0.0_build.1`) or manifest digest. */
  async detail(repo: RepoName, ref: string): Promise<ChartDetail> {
    const rec = await this.find(repo, ref);
    const m = this.deps.metadata;
    const [content, tags] = await Promise.all([m.charts.content(repo, rec.digest), m.tags.forDigest(repo, rec.digest)]);
    const full = await m.charts.get(repo, rec.digest);
    return {
      ...toView(rec),
      metadata: full?.metadata ? (JSON.parse(full.metadata) as ChartMetadata) : null,
      tags,
      readme: typeof content?.readme === 'string' ? { path: content.readmePath, text: content.readme } : null,
      values: content?.values ?? null,
      valuesSchema: content?.valuesSchema ?? null,
      provenance: rec.provDigest ? { digest: rec.provDigest, size: rec.provSize } : null,
      omitted: content?.omitted ?? [],
    };
  }

  private async find(repo: RepoName, ref: string): Promise<ChartVersionRecord> {
    const rows = await this.deps.metadata.charts.ofRepo(repo);
    if (isDigest(ref)) {
      const hit = rows.find((r) => r.digest === ref);
      if (hit) return hit;
    } else {
      const candidates = rows.filter((r) => r.version === ref || r.version === tagToVersion(ref)).sort((a, b) => {
        if (a.listed !== b.listed) return a.listed ? -1 : 1;
        return b.createdAt - a.createdAt;
      });
      if (candidates[0]) return candidates[0];
      // Failed records have no version; their tag still finds them.
      try {
        const tagged = await this.deps.metadata.tags.resolve(repo, parseTag(ref));
        const hit = tagged && rows.find((r) => r.digest === tagged.digest);
        if (hit) return hit;
      } catch {
        // not a valid tag: nothing more to try
      }
    }
    throw new RegistryError('NOT_FOUND', 'chart version not found', { repository: repo, version: ref });
  }

  // ---- classic index ----------------------------------------------------------------------------

  /**
   * NOT_FOUND unless `owner` is a user or organization, or owns a repository (without
   * authentication there are no accounts): a typo in `helm repo add` fails instead of adding an
   * empty repository. Owners are public (their pages are), so this tells a stranger nothing.
   */
  async requireOwner(owner: string): Promise<void> {
    const m = this.deps.metadata;
    if ((await m.accounts.get(owner)) || (await m.repositories.ownerHasAny(owner))) return;
    throw new RegistryError('NOT_FOUND', `no user or organization named ${owner}`, { owner });
  }

  /**
   * The owner's index.yaml as `canPull` lets the caller see it. Access is checked per
   * repository (not per version); a caller who sees everything gets the shared document.
   */
  async indexDocument(owner: string, canPull: (repo: RepoName) => Promise<boolean>): Promise<IndexDocument> {
    const charts = this.deps.metadata.charts;
    const state = (await charts.ownerState(owner)) ?? { generation: 0, epoch: '0', updatedAt: 0 };
    const base = `${state.epoch}-${state.generation}`;
    const repos = await this.listedRepos(owner, base);
    const visible: RepoName[] = [];
    for (const repo of repos) if (await canPull(repo)) visible.push(repo);
    const generated = iso(state.updatedAt);

    const counts = { hidden: repos.length - visible.length, visible: visible.length };
    if (visible.length === repos.length) {
      const cacheDir = this.deps.indexCacheDir;
      return {
        etag: base,
        lastModified: state.updatedAt,
        ...counts,
        open: async (encoding) => {
          if (cacheDir === null) return { kind: 'stream', stream: this.streamIndex(owner, generated, null, encoding) };
          return { kind: 'file', ...(await this.cachedIndex(cacheDir, owner, base, generated, encoding)) };
        },
      };
    }
    const allowed = new Set<string>(visible);
    const filter = createHash('sha256').update(visible.join('\n')).digest('hex').slice(0, 16);
    return {
      etag: `${base}-${filter}`,
      lastModified: state.updatedAt,
      ...counts,
      open: async (encoding) => ({ kind: 'stream', stream: this.streamIndex(owner, generated, allowed, encoding) }),
    };
  }

  private async listedRepos(owner: string, key: string): Promise<RepoName[]> {
    const memo = this.repoMemo.get(owner);
    if (memo && memo.key === key) return memo.repos;
    const repos = await this.deps.metadata.charts.listedRepos(owner);
    this.repoMemo.set(owner, { key, repos });
    return repos;
  }

  private streamIndex(owner: string, generated: string, allowed: Set<string> | null, encoding: 'identity' | 'gzip'): Readable {
    const charts = this.deps.metadata.charts;
    const doc = renderIndexDocument<IndexRow>((after) => charts.indexPage(owner, after?.indexKey ?? null, PAGE_ROWS), {
      generated,
      ...(allowed ? { include: (row: IndexRow) => allowed.has(row.repo) } : {}),
    });
    const plain = Readable.from(doc, { objectMode: false });
    if (encoding === 'identity') return plain;
    const gz = createGzip({ level: 6 });
    pipeline(plain, gz).catch((err: unknown) => gz.destroy(err instanceof Error ? err : new Error(String(err))));
    return gz;
  }

  /**
   * The rendered document of one generation on local disk. Files are named by epoch and
   * generation, so a replica never serves a generation the database has moved past.
   */
  private async cachedIndex(
    dir: string,
    owner: string,
    base: string,
    generated: string,
    encoding: 'identity' | 'gzip',
  ): Promise<{ path: string; size: number }> {
    const ownerDir = join(dir, owner);
    const plainPath = join(ownerDir, `${base}.yaml`);
    const path = encoding === 'gzip' ? `${plainPath}.gz` : plainPath;
    const size = await fileSize(path);
    if (size !== null) return { path, size };
    let job = this.building.get(path);
    if (!job) {
      job = (async () => {
        await mkdir(ownerDir, { recursive: true });
        const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
        try {
          if (encoding === 'gzip') {
            const source = (await fileSize(plainPath)) !== null ? createReadStream(plainPath) : this.streamIndex(owner, generated, null, 'identity');
            await pipeline(source, createGzip({ level: 6 }), createWriteStream(tmp));
          } else {
            await pipeline(this.streamIndex(owner, generated, null, 'identity'), createWriteStream(tmp));
          }
          await rename(tmp, path);
        } catch (err) {
          await rm(tmp, { force: true });
          throw err;
        }
        await this.pruneCache(ownerDir, base);
        return path;
      })().finally(() => this.building.delete(path));
      this.building.set(path, job);
    }
    await job;
    return { path, size: (await fileSize(path)) ?? 0 };
  }

  /** Drops other generations' files once no request can still be about to open them. */
  private async pruneCache(ownerDir: string, keep: string): Promise<void> {
    const cutoff = Date.now() - 60_000;
    for (const name of await readdir(ownerDir).catch(() => [] as string[])) {
      if (name.startsWith(`${keep}.`)) continue;
      const file = join(ownerDir, name);
      const info = await stat(file).catch(() => null);
      if (info && info.mtimeMs < cutoff) await rm(file, { force: true }).catch(() => undefined);
    }
  }

  /** `<name>-<version>.tgz` or `.tgz.prov` of the owner's classic repository. */
  async chartFile(owner: string, filename: string): Promise<ChartFile> {
    const prov = filename.endsWith('.tgz.prov');
    const tgzName = prov ? filename.slice(0, -'.prov'.length) : filename;
    const rec = await this.deps.metadata.charts.byFilename(owner, tgzName);
    const digest = prov ? rec?.provDigest : rec?.chartDigest;
    if (!rec || !digest) throw new RegistryError('NOT_FOUND', `${filename} not found`, { owner, file: filename });
    const blob = await this.deps.registry.blob(rec.repo, digest);
    return { repo: rec.repo, digest, size: blob.size, kind: prov ? 'prov' : 'chart', open: () => blob.open(wholeBlob(blob.size)) };
  }

  /** A classic-repository download: a pull of the chart's (or provenance's) blob. */
  recordDownload(f: ChartFile): void {
    this.deps.registry.recordBlobPull(f.repo, f.digest, f.size);
  }

  // ---- ChartMuseum-compatible API -------------------------------------------------------------------

  /** Listed versions with full metadata, grouped by chart name (ChartMuseum's `GET /api/charts`). */
  async museumList(owner: string, visible: (repo: RepoName) => Promise<boolean>, name?: string): Promise<Map<string, Record<string, unknown>[]>> {
    const rows = await this.deps.metadata.charts.listedWithMetadata(owner, name);
    const seen = new Set<string>();
    const allowed = new Map<RepoName, boolean>();
    const out = new Map<string, Record<string, unknown>[]>();
    for (const r of rows) {
      if (!r.name || !r.version) continue;
      let ok = allowed.get(r.repo);
      if (ok === undefined) allowed.set(r.repo, (ok = await visible(r.repo)));
      if (!ok) continue;
      const key = `${r.name}\n${r.version}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const list = out.get(r.name) ?? [];
      list.push(museumEntry(owner, r));
      out.set(r.name, list);
    }
    return out;
  }

  /** One listed version: the one the classic index serves. */
  async museumVersion(owner: string, name: string, version: string): Promise<ChartVersionRecord> {
    const rows = await this.deps.metadata.charts.listedVersion(owner, name, version);
    const rec = rows[0];
    if (!rec) throw new RegistryError('NOT_FOUND', `chart ${name} ${version} not found`, { owner, name, version });
    return rec;
  }

  /** Every listed copy of a version (the same version may sit in two repositories of one owner). */
  async versionCopies(owner: string, name: string, version: string): Promise<ChartVersionRecord[]> {
    const rows = await this.deps.metadata.charts.listedVersion(owner, name, version);
    if (rows.length === 0) throw new RegistryError('NOT_FOUND', `chart ${name} ${version} not found`, { owner, name, version });
    return rows;
  }

  /** Deletes the version's manifests through the registry (which deletes their tags too). */
  async deleteCopies(rows: readonly ChartVersionRecord[], actor?: Principal): Promise<void> {
    for (const r of rows) {
      try {
        await this.deps.registry.deleteManifest(r.repo, { kind: 'digest', digest: r.digest }, actor);
      } catch (err) {
        if (!(err instanceof RegistryError && err.code === 'MANIFEST_UNKNOWN')) throw err;
      }
      await this.reconcile(r.repo, r.digest);
    }
  }

  /**
   * Validates an uploaded chart (and provenance) without storing anything. The repository is
   * `<owner>/charts/<name>`, the layout `helm push <tgz> oci://HOST/<owner>/charts` produces.
   */
  async prepareUpload(owner: string, tgz: Buffer, prov: Buffer | null): Promise<PreparedChart> {
    if (!isRepoName(owner) || owner.includes('/')) throw new RegistryError('NAME_INVALID', 'invalid owner name', { owner });
    if (tgz.length === 0) throw new RegistryError('BAD_REQUEST', 'no chart archive in the request');
    try {
      const { archive, meta } = await this.deps.parser.parse(tgz);
      if (!isRepoName(meta.name) || meta.name.includes('/')) {
        throw new ChartError(`chart name ${JSON.stringify(meta.name)} cannot be a repository name (lowercase letters, digits and . _ - separators)`);
      }
      const repo = parseRepoName(`${owner}/charts/${meta.name}`);
      parseTag(versionToTag(meta.version));
      if (prov) checkProvenance(prov, chartFileName(meta.name, meta.version), archive.sha256);
      return { owner, repo, meta, tgz, prov, files: archive.files };
    } catch (err) {
      if (err instanceof ChartError) throw new RegistryError('BAD_REQUEST', err.message);
      if (err instanceof RegistryError && (err.code === 'NAME_INVALID' || err.code === 'TAG_INVALID')) {
        throw new RegistryError('BAD_REQUEST', 'chart name or version cannot be used in a registry reference', err.detail);
      }
      throw err;
    }
  }

  /** Stores a prepared chart as an OCI artifact and indexes it before returning. */
  async commitUpload(p: PreparedChart, actor?: Principal): Promise<ChartVersionRecord> {
    const key = `upload:${p.owner}/${p.meta.name}@${p.meta.version}`;
    return this.locks.run(key, () => this.acrossReplicas(key, () => this.commitLocked(p, actor)));
  }

  /**
   * Runs `fn` holding a database lease on `key`, so the check-then-write of an upload is not
   * raced by another replica; a concurrent upload of the same version is a CONFLICT. The lease
   * expires on its own if this process dies (kill -9) while holding it.
   */
  private async acrossReplicas<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const leases = this.deps.metadata.leases;
    const holder = randomBytes(8).toString('hex');
    const now = this.deps.clock();
    if (!(await leases.acquire(key, holder, now, now + UPLOAD_LEASE_MS))) {
      throw new RegistryError('CONFLICT', 'another upload of this chart version is in progress; retry when it is done', { key: key.slice('upload:'.length) });
    }
    try {
      return await fn();
    } finally {
      await leases.release(key, holder);
    }
  }

  private async commitLocked(p: PreparedChart, actor?: Principal): Promise<ChartVersionRecord> {
    const existing = await this.deps.metadata.charts.listedVersion(p.owner, p.meta.name, p.meta.version);
    const policy = existing.length > 0 ? await this.deps.tagPolicy.effective(this.deps.metadata, p.repo) : null;
    if (policy && !policy.chartOverwrite.allowed) {
      // The ChartMuseum API's own answer (409); the OCI push below would refuse with DENIED.
      throw new RegistryError('CONFLICT', `${chartFileName(p.meta.name, p.meta.version)} already exists and chart versions are immutable (${describeChartRule(policy)})`, {
        name: p.meta.name,
        version: p.meta.version,
        repository: existing[0]?.repo,
      });
    }
    const config = Buffer.from(metadataToConfigJson(p.meta));
    const configDesc = await this.putBlob(p.repo, config, MediaType.HelmConfig);
    const layers = [];
    if (p.prov) layers.push(await this.putBlob(p.repo, p.prov, MediaType.HelmProvenance));
    layers.push(await this.putBlob(p.repo, p.tgz, MediaType.HelmChart));
    const manifest = {
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: configDesc,
      layers,
      annotations: ociAnnotations(p.meta, iso(this.deps.clock()).replace(/\.\d{3}Z$/, 'Z')),
    };
    const bytes = Buffer.from(JSON.stringify(manifest));
    const result = await this.deps.registry.putManifest(p.repo, { kind: 'tag', tag: parseTag(versionToTag(p.meta.version)) }, bytes, MediaType.OciManifest, [], actor);
    const rec = await this.index(p.repo, result.digest);
    if (!rec || rec.status !== 'ok') throw new RegistryError('INTERNAL', 'uploaded chart could not be indexed', { reason: rec?.error ?? null });
    return rec;
  }

  private async putBlob(repo: RepoName, bytes: Buffer, mediaType: string): Promise<{ mediaType: string; digest: Digest; size: number }> {
    const digest = digestOf(bytes);
    const id = await this.deps.uploads.start(repo);
    try {
      await this.deps.uploads.complete(repo, id, digest, { stream: once(bytes), length: bytes.length });
    } catch (err) {
      await this.deps.uploads.cancel(repo, id).catch(() => undefined);
      throw err;
    }
    return { mediaType, digest, size: bytes.length };
  }
}

/** A ChartMuseum chart version: the index entry fields as JSON. */
export function museumEntry(owner: string, r: ChartVersionRecord): Record<string, unknown> {
  const meta = r.metadata ? (JSON.parse(r.metadata) as Record<string, unknown>) : {};
  return { ...meta, urls: [`/charts/${owner}/${r.filename ?? ''}`], created: iso(r.createdAt), digest: r.tgzSha256 ?? '' };
}

async function fileSize(path: string): Promise<number | null> {
  try {
    return (await stat(path)).size;
  } catch {
    return null;
  }
}
