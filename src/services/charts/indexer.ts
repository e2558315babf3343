/**
 * Turns a pushed chart into records: recognises chart manifests after they are pushed and
 * indexes them (metadata, README, values, a pre-rendered index.yaml entry), keeps each record's
 * `listed` in step with the registry's tags, deletes and trash, and repairs what a crash left out
 * of step (`charts.reindex`, ADR 0018). See docs/helm.md and docs/adr/0004-helm-index.md.
 */
import type { Logger } from 'pino';
import type { ChartParser } from '../../charts/parser.ts';
import { chartFileName, indexEntry, renderEntryFragment } from '../../charts/index-yaml.ts';
import { ChartError, type ChartMetadata, normalizeMetadata } from '../../charts/metadata.ts';
import { indexOrderKey, isPrerelease, parseSemver, sortKey } from '../../charts/semver.ts';
import { RegistryError } from '../../errors.ts';
import { KeyedMutex } from '../../lib/keyed-mutex.ts';
import type { ChartContentRecord, ChartVersionRecord } from '../../metadata/charts.ts';
import type { Metadata } from '../../metadata/metadata.ts';
import type { ManifestRecord } from '../../metadata/registry.ts';
import type { Digest } from '../../oci/digest.ts';
import { type Descriptor, parseManifest } from '../../oci/manifest.ts';
import { MediaType } from '../../oci/mediatypes.ts';
import { ownerOf, type RepoName } from '../../oci/name.ts';
import type { BlobStore } from '../../storage/types.ts';
import { BlobJsonError, CONFIG_MAX_BYTES, readJsonBlob } from '../blob-json.ts';
import type { RegistryEventBus } from '../events.ts';
import type { Job } from '../jobs/runner.ts';
import type { RegistryService } from '../registry.ts';

/** Early Helm 3 releases wrote this chart layer type; Helm still pulls it. */
const LEGACY_CHART_LAYER = 'application/tar+gzip';

/** What a `charts.reindex` run found and put right. */
export interface ReindexSummary extends Record<string, number> {
  /** Disagreements between the chart index and the registry that the run looked at. */
  checked: number;
  repaired: number;
  failed: number;
}

export interface ChartIndexerDeps {
  metadata: Metadata;
  registry: RegistryService;
  /** Config blobs are read through the repository's links (services/blob-json.ts). */
  blobs: BlobStore;
  events: RegistryEventBus;
  clock: () => number;
  log: Logger;
  /** Reads chart archives off the event loop, with their cost bounded. */
  parser: ChartParser;
  /** Largest chart archive read (an OCI chart layer; uploads are capped by the HTTP layer). */
  maxArchiveBytes: number;
}

function isChartLayer(d: Descriptor): boolean {
  return d.mediaType === MediaType.HelmChart || d.mediaType === LEGACY_CHART_LAYER;
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

export class ChartIndexer {
  private readonly deps: ChartIndexerDeps;
  private readonly locks = new KeyedMutex();

  constructor(deps: ChartIndexerDeps) {
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

  /** The chart config's metadata; every problem is a ChartError naming it. */
  private async readConfig(repo: RepoName, config: Descriptor): Promise<ChartMetadata> {
    if (config.size > CONFIG_MAX_BYTES) throw new ChartError(`chart config blob is larger than ${CONFIG_MAX_BYTES} bytes`);
    let configJson: unknown;
    try {
      configJson = await readJsonBlob(this.deps, repo, config.digest);
    } catch (err) {
      if (!(err instanceof BlobJsonError)) throw err;
      // The registry's own wording for a blob the repository does not hold.
      throw new ChartError(err.reason === 'unknown' ? 'blob unknown to registry' : `chart config blob is ${err.message}`);
    }
    try {
      return normalizeMetadata(configJson);
    } catch (err) {
      if (err instanceof ChartError) throw new ChartError(`chart config: ${err.message}`);
      throw err;
    }
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

      const meta = await this.readConfig(repo, parsed.config);

      const layerBlob = await this.deps.registry.blob(repo, chartLayer.digest);
      const max = this.deps.maxArchiveBytes;
      if (layerBlob.size > max) throw new ChartError(`chart archive is larger than ${max} bytes`);
      const tgz = await readAll(await layerBlob.open(layerBlob.size > 0 ? { start: 0, end: layerBlob.size - 1 } : undefined), max);
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
        indexEntry: renderEntryFragment(indexEntry(meta, { urls: [filename], created: new Date(manifest.createdAt).toISOString(), digest: archive.sha256 })),
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
}
