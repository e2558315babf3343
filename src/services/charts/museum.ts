/**
 * The ChartMuseum-compatible API's use cases: listings in its JSON format, deletes of a version's
 * copies, and uploads, which are validated here and stored as ordinary OCI artifacts through the
 * registry and upload services (`<owner>/charts/<name>:<version>`, the layout `helm push`
 * produces), then indexed before the request returns.
 */
import { randomBytes } from 'node:crypto';
import type { Principal } from '../../auth/principal.ts';
import type { ChartFiles } from '../../charts/archive.ts';
import { chartFileName } from '../../charts/index-yaml.ts';
import { ChartError, type ChartMetadata, metadataToConfigJson, ociAnnotations } from '../../charts/metadata.ts';
import type { ChartParser } from '../../charts/parser.ts';
import { checkProvenance } from '../../charts/provenance.ts';
import { versionToTag } from '../../charts/semver.ts';
import { RegistryError } from '../../errors.ts';
import { KeyedMutex } from '../../lib/keyed-mutex.ts';
import type { ChartVersionRecord } from '../../metadata/charts.ts';
import type { Metadata } from '../../metadata/metadata.ts';
import { type Digest, digestOf } from '../../oci/digest.ts';
import { MediaType } from '../../oci/mediatypes.ts';
import { isRepoName, parseRepoName, parseTag, type RepoName } from '../../oci/name.ts';
import { describeChartRule } from '../policies/model.ts';
import type { TagPolicy } from '../policies/tag-policy.ts';
import type { RegistryService } from '../registry.ts';
import type { UploadService } from '../uploads.ts';
import type { ChartCatalog } from './catalog.ts';
import type { ChartIndexer } from './indexer.ts';

/** How long an upload's cross-replica lease outlives a process that died holding it. */
const UPLOAD_LEASE_MS = 60_000;

export interface ChartMuseumDeps {
  metadata: Metadata;
  registry: RegistryService;
  uploads: UploadService;
  clock: () => number;
  /** Whether a chart version may be replaced: the package's, owner's or site's setting (ADR 0013). */
  tagPolicy: TagPolicy;
  /** Reads chart archives off the event loop, with their cost bounded. */
  parser: ChartParser;
  catalog: ChartCatalog;
  indexer: ChartIndexer;
}

/** A chart validated by the upload API, not yet stored. */
export interface PreparedChart {
  owner: string;
  repo: RepoName;
  meta: ChartMetadata;
  tgz: Buffer;
  prov: Buffer | null;
  files: ChartFiles;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

async function* once(buf: Buffer): AsyncGenerator<Uint8Array> {
  yield buf;
}

/** A ChartMuseum chart version: the index entry fields as JSON. */
export function museumEntry(owner: string, r: ChartVersionRecord): Record<string, unknown> {
  const meta = r.metadata ? (JSON.parse(r.metadata) as Record<string, unknown>) : {};
  return { ...meta, urls: [`/charts/${owner}/${r.filename ?? ''}`], created: iso(r.createdAt), digest: r.tgzSha256 ?? '' };
}

export class ChartMuseum {
  private readonly deps: ChartMuseumDeps;
  private readonly locks = new KeyedMutex();

  constructor(deps: ChartMuseumDeps) {
    this.deps = deps;
  }

  /** Listed versions with full metadata, grouped by chart name (ChartMuseum's `GET /api/charts`). */
  async list(owner: string, visible: (repo: RepoName) => Promise<boolean>, name?: string): Promise<Map<string, Record<string, unknown>[]>> {
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
  async version(owner: string, name: string, version: string): Promise<ChartVersionRecord> {
    return (await this.deps.catalog.listedCopies(owner, name, version))[0] as ChartVersionRecord;
  }

  /** Deletes the version's manifests through the registry (which deletes their tags too). */
  async deleteCopies(rows: readonly ChartVersionRecord[], actor?: Principal): Promise<void> {
    for (const r of rows) {
      try {
        await this.deps.registry.deleteManifest(r.repo, { kind: 'digest', digest: r.digest }, actor);
      } catch (err) {
        if (!(err instanceof RegistryError && err.code === 'MANIFEST_UNKNOWN')) throw err;
      }
      await this.deps.indexer.reconcile(r.repo, r.digest);
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
    const configDesc = await this.putBlob(p.repo, config, MediaType.HelmConfig, actor);
    const layers = [];
    if (p.prov) layers.push(await this.putBlob(p.repo, p.prov, MediaType.HelmProvenance, actor));
    layers.push(await this.putBlob(p.repo, p.tgz, MediaType.HelmChart, actor));
    const manifest = {
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: configDesc,
      layers,
      annotations: ociAnnotations(p.meta, iso(this.deps.clock()).replace(/\.\d{3}Z$/, 'Z')),
    };
    const bytes = Buffer.from(JSON.stringify(manifest));
    const result = await this.deps.registry.putManifest(p.repo, { kind: 'tag', tag: parseTag(versionToTag(p.meta.version)) }, bytes, MediaType.OciManifest, [], actor);
    const rec = await this.deps.indexer.index(p.repo, result.digest);
    if (!rec || rec.status !== 'ok') throw new RegistryError('INTERNAL', 'uploaded chart could not be indexed', { reason: rec?.error ?? null });
    return rec;
  }

  private async putBlob(repo: RepoName, bytes: Buffer, mediaType: string, by?: Principal): Promise<{ mediaType: string; digest: Digest; size: number }> {
    const digest = digestOf(bytes);
    await this.deps.uploads.upload(repo, digest, { stream: once(bytes), length: bytes.length }, by);
    return { mediaType, digest, size: bytes.length };
  }
}
