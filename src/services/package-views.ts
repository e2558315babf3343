import type { Principal } from '../auth/principal.ts';
import { compareSemver, isPrerelease, parseSemver, tagToVersion } from '../charts/semver.ts';
import { RegistryError } from '../errors.ts';
import type { PackageRecord } from '../metadata/packages.ts';
import type { PackageRole, Visibility } from '../auth/vocabulary.ts';
import { DAY_MS, dayOf } from '../metadata/downloads.ts';
import type { Metadata } from '../metadata/metadata.ts';
import type { ManifestSummary, TagRow } from '../metadata/package-views.ts';
import type { Digest } from '../oci/digest.ts';
import { IMAGE_MANIFEST_TYPES, INDEX_TYPES, MediaType } from '../oci/mediatypes.ts';
import { artifactKind } from '../oci/kind.ts';
import { type ArchiveFile, listChartFiles } from '../charts/archive-files.ts';
import { parseTag, type RepoName } from '../oci/name.ts';
import type { BlobStore } from '../storage/types.ts';
import type { AuthzService } from './authz.ts';
import type { ChartCatalog, ChartVersions } from './charts/catalog.ts';
import { readJsonObject } from './blob-json.ts';
import { imageLatestTag } from './package-latest.ts';
import { AppImageService } from './apps/app-images.ts';
import { ExploreService } from './explore.ts';
import type { DownloadCounter } from './download-counter.ts';
import type { RegistryEventBus } from './events.ts';

export type PackageKind = 'image' | 'chart' | 'artifact';

export interface PackageViewDeps {
  metadata: Metadata;
  authz: AuthzService;
  blobs: BlobStore;
  events: RegistryEventBus;
  clock: () => number;
  downloads: DownloadCounter;
  /** Which versions a chart has: the chart index's answer, shared with the chart APIs. */
  charts: ChartCatalog;
}

export interface PackageListItem {
  /** Full repository path (`acme/charts/web`). */
  name: string;
  /** The path below the owner (`charts/web`). */
  path: string;
  kind: PackageKind;
  visibility: Visibility;
  /** Latest version: the chart catalog's for charts (highest listed semver), else a tag of the newest version. */
  latest: string | null;
  versions: number;
  updatedAt: string;
  downloads: number;
  description: string | null;
  source: string | null;
}

export interface OwnerPackagesView {
  owner: string;
  ownerKind: 'user' | 'org' | null;
  /** Readable packages before the kind and name filters. */
  total: number;
  packages: PackageListItem[];
}

export interface Platform {
  os: string;
  architecture: string;
  variant: string | null;
  digest: Digest;
  size: number;
  /** Tags that point at this platform's manifest itself (not at the index). */
  tags: string[];
  /** The platform image's layers. */
  files: FileView[];
}

export interface FileView {
  mediaType: string;
  digest: Digest;
  size: number;
  /** `org.opencontainers.image.title` annotation (a file name), when present. */
  title: string | null;
}

export interface ReferrerView {
  digest: Digest;
  artifactType: string | null;
  /** signature, sbom, attestation or other (from the artifact type). */
  role: 'signature' | 'sbom' | 'attestation' | 'other';
  mediaType: string;
  size: number;
  createdAt: string;
  annotations: Record<string, string>;
  files: FileView[];
}

export interface VersionView {
  digest: Digest;
  tags: string[];
  /** For charts: the chart version of the tag (`1.0.0+build.1`). */
  version: string | null;
  prerelease: boolean;
  mediaType: string;
  artifactType: string | null;
  /** Manifest plus everything it references (for an index: every platform's image). */
  size: number;
  createdAt: string;
  downloads: number;
  platforms: Platform[];
  config: FileView | null;
  files: FileView[];
  referrers: ReferrerView[];
  annotations: Record<string, string>;
  /** Who pushed this version (from the audit log); null when unknown. */
  pushedBy: string | null;
}

export interface ImageDetails {
  /** The version the details come from (the latest). */
  digest: Digest;
  description: string | null;
  labels: Record<string, string>;
  created: string | null;
  os: string | null;
  architecture: string | null;
}

/** One manifest's image details (a version, or one platform of an index). */
export interface ImageView {
  digest: Digest;
  mediaType: string;
  labels: Record<string, string>;
  created: string | null;
  os: string | null;
  architecture: string | null;
  config: FileView | null;
  layers: FileView[];
  size: number;
}

export interface PackageView {
  name: string;
  owner: string;
  path: string;
  kind: PackageKind;
  visibility: Visibility;
  source: string | null;
  description: string | null;
  createdAt: string;
  updatedAt: string;
  viewerRole: PackageRole | null;
  /** May open package settings (admin role, and a credential allowed to delete). */
  canAdmin: boolean;
  latest: string | null;
  registry: string;
  commands: { docker: string; podman: string } | null;
  image: ImageDetails | null;
  /** One page of versions (newest first; charts highest first), after the tag filter. */
  versions: VersionView[];
  totalVersions: number;
  /** Versions matching the tag filter (all of them without one). */
  matchingVersions: number;
  page: number;
  perPage: number;
  /** Pull commands need `--tls-verify=false` / an insecure registry (plain HTTP). */
  plainHttp: boolean;
  downloads: { total: number; last30Days: { day: string; count: number }[] };
  related: { name: string; kind: PackageKind; relation: 'chart' | 'image' | 'artifact' }[];
}

const DESCRIPTION = 'org.opencontainers.image.description';
const TITLE = 'org.opencontainers.image.title';
/** Versions per page of the package page, unless the caller asks for another page size. */
const PER_PAGE = 30;

export interface VersionPage {
  page?: number | undefined;
  perPage?: number | undefined;
  /** Substring of a tag (of the version or one of its platforms) or a digest prefix. */
  tag?: string | undefined;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** A package page shows a multi-platform index as an image. */
function kindOf(m: ManifestSummary): PackageKind {
  const kind = artifactKind(m);
  return kind === 'index' ? 'image' : kind;
}

/** A chart wins over an image, an image over an artifact (signatures pushed as tags are artifacts). */
function packageKind(versions: readonly ManifestSummary[]): PackageKind {
  const kinds = new Set(versions.map(kindOf));
  if (kinds.has('chart')) return 'chart';
  if (kinds.has('image')) return 'image';
  return 'artifact';
}

function referrerRole(artifactType: string | null): ReferrerView['role'] {
  const t = (artifactType ?? '').toLowerCase();
  if (/signature|cosign|notary|\.sig\b/.test(t)) return 'signature';
  if (/spdx|cyclonedx|sbom|syft/.test(t)) return 'sbom';
  if (/in-toto|attestation|provenance|slsa|vex/.test(t)) return 'attestation';
  return 'other';
}

/**
 * The version to call "latest": for charts the catalog's (highest listed stable, else
 * prerelease), else the newest version's best tag. A chart not indexed yet (indexing follows
 * the push) falls back to the highest semver tag.
 */
function latestOf(kind: PackageKind, tags: readonly TagRow[], versions: readonly ManifestSummary[], chart: ChartVersions | undefined): string | null {
  if (kind === 'chart' && chart?.latest) return chart.latest;
  if (kind === 'chart') {
    const parsed = tags.map((t) => parseSemver(tagToVersion(t.name))).filter((v) => v !== null);
    const stable = parsed.filter((v) => !isPrerelease(v));
    const pool = stable.length > 0 ? stable : parsed;
    const best = pool.sort(compareSemver).at(-1);
    if (best) return best.raw;
  }
  return imageLatestTag(tags, versions);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringRecord(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (isObject(v)) for (const [k, val] of Object.entries(v)) if (typeof val === 'string') out[k] = val;
  return out;
}

interface ParsedDoc {
  config: FileView | null;
  layers: FileView[];
  manifests: { digest: Digest; size: number; mediaType: string; platform: { os: string; architecture: string; variant: string | null } | null }[];
}

function fileOf(d: unknown): FileView | null {
  if (!isObject(d) || typeof d['digest'] !== 'string' || typeof d['mediaType'] !== 'string' || typeof d['size'] !== 'number') return null;
  const title = stringRecord(d['annotations'])[TITLE] ?? null;
  return { mediaType: d['mediaType'], digest: d['digest'] as Digest, size: d['size'], title };
}

/** The parts of stored manifest bytes a page shows (they were validated on push). */
function parseDoc(content: Buffer): ParsedDoc {
  let json: unknown;
  try {
    json = JSON.parse(content.toString('utf8'));
  } catch {
    return { config: null, layers: [], manifests: [] };
  }
  if (!isObject(json)) return { config: null, layers: [], manifests: [] };
  const layers = Array.isArray(json['layers']) ? json['layers'].map(fileOf).filter((f) => f !== null) : [];
  const manifests = Array.isArray(json['manifests'])
    ? json['manifests'].flatMap((d: unknown) => {
        const f = fileOf(d);
        if (!f || !isObject(d)) return [];
        const p = d['platform'];
        const platform =
          isObject(p) && typeof p['os'] === 'string' && typeof p['architecture'] === 'string'
            ? { os: p['os'], architecture: p['architecture'], variant: typeof p['variant'] === 'string' ? p['variant'] : null }
            : null;
        return [{ digest: f.digest, size: f.size, mediaType: f.mediaType, platform }];
      })
    : [];
  return { config: fileOf(json['config']), layers, manifests };
}

function sum(files: readonly { size: number }[]): number {
  return files.reduce((n, f) => n + f.size, 0);
}

/**
 * What the UI shows of packages: the owner's list (kind, visibility, latest version, downloads)
 * and a package's page (versions with sizes, platforms, files and referrers; image labels;
 * downloads over time; packages sharing its source repository). Counts pulls of manifests per
 * day. Everything is access-checked: an unreadable package is NOT_FOUND.
 */
export class PackageViewService {
  private readonly deps: PackageViewDeps;
  /** Description per manifest (`repo@digest`): manifests are immutable, so this never goes stale. */
  private readonly descriptions = new Map<string, string | null>();
  /** The images a chart deploys, and the charts deploying an image (the app view). */
  readonly apps: AppImageService;
  /** Packages across owners for the explore page and the anonymous home. */
  readonly explore: ExploreService;
  /** Search words per package version (`repo@latest@updatedAt`): what they come from does not change under that key. */
  private readonly terms = new Map<string, string[]>();

  constructor(deps: PackageViewDeps) {
    this.deps = deps;
    this.apps = new AppImageService({ metadata: deps.metadata, authz: deps.authz, charts: deps.charts });
    this.explore = new ExploreService({
      metadata: deps.metadata,
      authz: deps.authz,
      ownerPackages: (actor, owner) => this.ownerPackages(actor, owner),
      searchTerms: (item) => this.searchTerms(item),
    });
    deps.events.on('manifest.pulled', ({ repo, digest }) => deps.downloads.count(repo, digest));
  }

  private async readablePackages(actor: Principal, records: readonly PackageRecord[]): Promise<PackageRecord[]> {
    const out: PackageRecord[] = [];
    for (const p of records) if (await this.deps.authz.canPull(actor, p.name as RepoName)) out.push(p);
    return out;
  }

  async ownerPackages(actor: Principal, owner: string, filter: { kind?: PackageKind | undefined; q?: string | undefined } = {}): Promise<OwnerPackagesView> {
    const m = this.deps.metadata;
    const account = await m.accounts.get(owner);
    const readable = await this.readablePackages(actor, await m.packages.listByOwner(owner));
    if (!account && readable.length === 0) throw new RegistryError('NOT_FOUND', 'owner not found', { owner });
    const names = readable.map((p) => p.name);
    await this.deps.downloads.flush();
    const [manifests, children, tags, totals, charts] = await Promise.all([
      m.packageViews.manifests(names),
      m.packageViews.indexChildren(names),
      m.packageViews.tags(names),
      m.downloads.totals(names),
      this.deps.charts.ownerVersions(owner),
    ]);
    const childSet = new Set(children.map((c) => `${c.repo}@${c.child}`));
    const items: PackageListItem[] = [];
    for (const p of readable) {
      const versions = manifests.filter((x) => x.repo === p.name && x.subject === null && !childSet.has(`${p.name}@${x.digest}`));
      const repoTags = tags.filter((t) => t.repo === p.name);
      const kind = packageKind(versions);
      const counts = totals.get(p.name);
      const newest = [...versions].sort((a, b) => b.createdAt - a.createdAt)[0];
      items.push({
        name: p.name,
        path: p.name.slice(owner.length + 1),
        kind,
        visibility: p.visibility,
        latest: latestOf(kind, repoTags, versions, charts.get(p.name as RepoName)),
        versions: versions.length,
        updatedAt: iso(p.updatedAt),
        downloads: versions.reduce((n, v) => n + (counts?.get(v.digest) ?? 0), 0),
        description: newest ? await this.describe(p.name as RepoName, newest) : null,
        source: p.source,
      });
    }
    const q = filter.q?.trim().toLowerCase();
    const shown = items
      .filter((i) => !filter.kind || i.kind === filter.kind)
      .filter((i) => !q || i.path.toLowerCase().includes(q))
      .sort((a, b) => (a.updatedAt === b.updatedAt ? a.name.localeCompare(b.name) : a.updatedAt < b.updatedAt ? 1 : -1));
    return { owner, ownerKind: account?.kind ?? null, total: items.length, packages: shown };
  }

  /** The files of a chart version's archive (the Templates tab), read from its chart layer. */
  async chartFiles(actor: Principal, name: RepoName, version: string): Promise<{ version: string; files: ArchiveFile[] }> {
    if (!(await this.deps.authz.canPull(actor, name))) throw new RegistryError('NOT_FOUND', 'package not found', { package: name });
    const detail = await this.deps.charts.detail(name, version);
    if (!detail.chartDigest) throw new RegistryError('NOT_FOUND', 'this chart version has no readable archive', { package: name, version });
    try {
      return { version: detail.version ?? version, files: await listChartFiles(await this.deps.blobs.read(detail.chartDigest)) };
    } catch (err) {
      if (err instanceof RegistryError) throw err;
      throw new RegistryError('NOT_FOUND', 'the chart archive could not be read', { package: name, version, reason: err instanceof Error ? err.message : String(err) });
    }
  }

  /** Image labels (keys and values) of the latest image, or keywords of the latest chart version. */
  private async searchTerms(item: PackageListItem): Promise<string[]> {
    if (item.latest === null || item.kind === 'artifact') return [];
    const key = `${item.name}@${item.latest}@${item.updatedAt}`;
    const cached = this.terms.get(key);
    if (cached) return cached;
    const repo = item.name as RepoName;
    let out: string[];
    if (item.kind === 'chart') {
      const detail = await this.deps.charts.detail(repo, item.latest).catch(() => null);
      out = [...(detail?.metadata?.keywords ?? []), detail?.metadata?.description ?? ''].filter(Boolean);
    } else {
      const tagged = await this.deps.metadata.tags.resolve(repo, parseTag(item.latest)).catch(() => null);
      const details = tagged ? await this.imageDetails(repo, tagged.digest) : null;
      out = Object.entries(details?.labels ?? {}).flatMap(([k, v]) => [k, v]);
    }
    if (this.terms.size >= 10_000) this.terms.clear();
    this.terms.set(key, out);
    return out;
  }

  /** The package page. `registry` is the host clients pull from; `plainHttp` adds the insecure flags. */
  async packageView(actor: Principal, name: RepoName, registry: { host: string; plainHttp: boolean }, paging: VersionPage = {}): Promise<PackageView> {
    const m = this.deps.metadata;
    const pkg = await m.packages.get(name);
    if (!pkg || pkg.trashedAt !== null || !(await this.deps.authz.canPull(actor, name))) throw new RegistryError('NOT_FOUND', 'package not found', { package: name });
    await this.deps.downloads.flush();
    const [role, actions, manifests, children, tags, totals] = await Promise.all([
      this.deps.authz.role(actor, name),
      this.deps.authz.actions(actor, name),
      m.packageViews.manifests([name]),
      m.packageViews.indexChildren([name]),
      m.packageViews.tags([name]),
      m.downloads.totals([name]),
    ]);
    const counts = totals.get(name) ?? new Map<string, number>();
    const childSet = new Set(children.map((c) => c.child));
    const top = manifests.filter((x) => x.subject === null && !childSet.has(x.digest)).sort((a, b) => b.createdAt - a.createdAt);
    const kind = packageKind(top);
    const chart = kind === 'chart' ? await this.deps.charts.repoVersions(name) : undefined;
    const latest = latestOf(kind, tags, top, chart);

    if (kind === 'chart') top.sort(byChartVersion(chart, tags));
    const childrenOf = new Map<string, string[]>();
    for (const c of children) childrenOf.set(c.parent, [...(childrenOf.get(c.parent) ?? []), c.child]);
    const filter = paging.tag?.trim().toLowerCase() ?? '';
    const matching = filter === '' ? top : top.filter((v) => matchesFilter(v.digest, [v.digest, ...(childrenOf.get(v.digest) ?? [])], tags, filter));
    const perPage = Math.min(Math.max(paging.perPage ?? PER_PAGE, 1), 100);
    const pageNo = Math.max(paging.page ?? 1, 1);
    const pushers = await this.pushers(name);
    const versions: VersionView[] = [];
    for (const v of matching.slice((pageNo - 1) * perPage, pageNo * perPage)) versions.push(await this.versionView(name, v, tags, manifests, counts, chart, pushers));

    const latestDigest = latest === null ? top[0]?.digest : tags.find((t) => t.name === latest || tagToVersion(t.name) === latest)?.digest;
    const image = kind === 'image' && latestDigest ? await this.imageDetails(name, latestDigest) : null;
    const newest = top.find((v) => v.digest === latestDigest) ?? top[0];
    const description = image?.description ?? newest?.annotations?.[DESCRIPTION] ?? null;
    const ref = `${registry.host}/${name}${latest && kind === 'image' ? `:${latest}` : ''}`;

    return {
      name,
      owner: pkg.owner,
      path: name.slice(pkg.owner.length + 1),
      kind,
      visibility: pkg.visibility,
      source: pkg.source,
      description,
      createdAt: iso(pkg.createdAt),
      updatedAt: iso(pkg.updatedAt),
      viewerRole: role,
      canAdmin: role === 'admin' && actions.has('delete'),
      latest,
      registry: registry.host,
      commands: kind === 'image' ? { docker: `docker pull ${ref}`, podman: `podman pull${registry.plainHttp ? ' --tls-verify=false' : ''} ${ref}` } : null,
      image,
      versions,
      totalVersions: top.length,
      matchingVersions: matching.length,
      page: pageNo,
      perPage,
      plainHttp: registry.plainHttp,
      downloads: await this.downloadSeries(name, top, counts),
      related: await this.related(actor, pkg, kind),
    };
  }

  private async versionView(
    repo: RepoName,
    v: ManifestSummary,
    tags: readonly TagRow[],
    all: readonly ManifestSummary[],
    counts: Map<string, number>,
    chart: ChartVersions | undefined,
    pushers: ReadonlyMap<string, string>,
  ): Promise<VersionView> {
    const m = this.deps.metadata;
    const record = await m.manifests.get(repo, v.digest);
    const doc = record ? parseDoc(record.content) : { config: null, layers: [], manifests: [] };
    const platforms: Platform[] = [];
    let size = v.size + (doc.config?.size ?? 0) + sum(doc.layers);
    for (const child of doc.manifests) {
      const c = await m.manifests.get(repo, child.digest);
      const cd = c ? parseDoc(c.content) : null;
      const childSize = child.size + (cd ? (cd.config?.size ?? 0) + sum(cd.layers) : 0);
      size += childSize;
      if (child.platform && child.platform.os !== 'unknown') {
        const childTags = tags.filter((t) => t.digest === child.digest).map((t) => t.name).sort();
        platforms.push({ ...child.platform, digest: child.digest, size: childSize, tags: childTags, files: cd?.layers ?? [] });
      }
    }
    const referrers: ReferrerView[] = [];
    for (const r of all.filter((x) => x.subject === v.digest).sort((a, b) => a.createdAt - b.createdAt)) {
      const rec = await m.manifests.get(repo, r.digest);
      const rdoc = rec ? parseDoc(rec.content) : null;
      referrers.push({
        digest: r.digest,
        artifactType: r.artifactType,
        role: referrerRole(r.artifactType),
        mediaType: r.mediaType,
        size: r.size + (rdoc ? (rdoc.config?.size ?? 0) + sum(rdoc.layers) : 0),
        createdAt: iso(r.createdAt),
        annotations: r.annotations ?? {},
        files: rdoc?.layers ?? [],
      });
    }
    const versionTags = tags.filter((t) => t.digest === v.digest).map((t) => t.name).sort();
    // A chart's version is the index's (from Chart.yaml); before indexing, its tag's.
    const indexed = chart?.byDigest.get(v.digest);
    const semver = versionTags.map((t) => parseSemver(tagToVersion(t))).find((s) => s !== null) ?? null;
    return {
      digest: v.digest,
      tags: versionTags,
      version: v.configMediaType === MediaType.HelmConfig ? (indexed?.version ?? semver?.raw ?? null) : null,
      prerelease: indexed ? indexed.prerelease : semver ? isPrerelease(semver) : false,
      mediaType: v.mediaType,
      artifactType: v.artifactType,
      size,
      createdAt: iso(v.createdAt),
      downloads: counts.get(v.digest) ?? 0,
      platforms,
      config: doc.config,
      files: doc.layers,
      referrers,
      annotations: v.annotations ?? {},
      pushedBy: pushers.get(v.digest) ?? null,
    };
  }

  /** Who first pushed each digest of the package, from its audit rows (the newest 5,000). */
  private async pushers(repo: RepoName): Promise<Map<string, string>> {
    const rows = await this.deps.metadata.audit.list({ target: repo, action: 'package.push', limit: 5000 });
    const out = new Map<string, string>();
    // Newest first: the last write per digest is its first push.
    for (const r of rows) if (typeof r.detail?.['digest'] === 'string') out.set(r.detail['digest'], r.actor);
    return out;
  }

  /** The image details of one version or platform manifest of a readable package (labels, layers). */
  async imageView(actor: Principal, name: RepoName, digest: Digest): Promise<ImageView> {
    const m = this.deps.metadata;
    const pkg = await m.packages.get(name);
    if (!pkg || pkg.trashedAt !== null || !(await this.deps.authz.canPull(actor, name))) throw new RegistryError('NOT_FOUND', 'package not found', { package: name });
    const record = await m.manifests.get(name, digest);
    if (!record) throw new RegistryError('NOT_FOUND', 'manifest not found', { package: name, digest });
    const doc = parseDoc(record.content);
    const details = await this.imageDetails(name, digest);
    return {
      digest,
      mediaType: record.mediaType,
      labels: details?.labels ?? {},
      created: details?.created ?? null,
      os: details?.os ?? null,
      architecture: details?.architecture ?? null,
      config: doc.config,
      layers: doc.layers,
      size: record.content.length + (doc.config?.size ?? 0) + sum(doc.layers),
    };
  }

  /** `org.opencontainers.image.description` of a version: its annotation, else its image config label. */
  private async describe(repo: RepoName, v: ManifestSummary): Promise<string | null> {
    const fromAnnotation = v.annotations?.[DESCRIPTION];
    if (fromAnnotation !== undefined) return fromAnnotation;
    if (kindOf(v) !== 'image') return null;
    const key = `${repo}@${v.digest}`;
    const cached = this.descriptions.get(key);
    if (cached !== undefined) return cached;
    const details = await this.imageDetails(repo, v.digest);
    const description = details?.description ?? null;
    if (this.descriptions.size >= 10_000) this.descriptions.clear();
    if (this.descriptions.size >= 10_000) this.descriptions.clear();
    this.descriptions.set(key, description);
    return description;
  }

  /** Labels, description and creation time from the image config (of the first platform of an index). */
  private async imageDetails(repo: RepoName, digest: Digest): Promise<ImageDetails | null> {
    const m = this.deps.metadata;
    const record = await m.manifests.get(repo, digest);
    if (!record) return null;
    let annotations = record.annotations ?? {};
    let manifest = record;
    if (INDEX_TYPES.has(record.mediaType)) {
      const first = parseDoc(record.content).manifests.find((c) => c.platform === null || c.platform.os !== 'unknown');
      const child = first ? await m.manifests.get(repo, first.digest) : null;
      if (!child) return { digest, description: annotations[DESCRIPTION] ?? null, labels: {}, created: null, os: null, architecture: null };
      manifest = child;
      annotations = { ...(child.annotations ?? {}), ...annotations };
    }
    let labels: Record<string, string> = {};
    let created: string | null = null;
    let os: string | null = null;
    let architecture: string | null = null;
    if (IMAGE_MANIFEST_TYPES.has(manifest.mediaType) && manifest.configDigest) {
      const cfg = await this.readConfig(repo, manifest.configDigest);
      if (cfg) {
        labels = stringRecord(isObject(cfg['config']) ? cfg['config']['Labels'] : undefined);
        created = typeof cfg['created'] === 'string' ? cfg['created'] : null;
        os = typeof cfg['os'] === 'string' ? cfg['os'] : null;
        architecture = typeof cfg['architecture'] === 'string' ? cfg['architecture'] : null;
      }
    }
    return { digest, description: annotations[DESCRIPTION] ?? labels[DESCRIPTION] ?? null, labels, created, os, architecture };
  }

  /** A config too deep or too big to parse cheaply (pushers write them) simply shows no details. */
  private async readConfig(repo: RepoName, digest: Digest): Promise<Record<string, unknown> | null> {
    return readJsonObject(this.deps, repo, digest);
  }

  private async downloadSeries(repo: RepoName, versions: readonly ManifestSummary[], counts: Map<string, number>): Promise<PackageView['downloads']> {
    const digests = new Set<string>(versions.map((v) => v.digest));
    const today = dayOf(this.deps.clock());
    const from = today - 29;
    const perDay = new Map<number, number>();
    for (const r of await this.deps.metadata.downloads.daily(repo, from)) {
      if (digests.has(r.digest)) perDay.set(r.day, (perDay.get(r.day) ?? 0) + r.count);
    }
    const last30Days: { day: string; count: number }[] = [];
    for (let d = from; d <= today; d++) last30Days.push({ day: iso(d * DAY_MS).slice(0, 10), count: perDay.get(d) ?? 0 });
    let total = 0;
    for (const d of digests) total += counts.get(d) ?? 0;
    return { total, last30Days };
  }

  /**
   * Readable packages of the same owner linked to the same source repository ("this app's
   * chart" / "this chart's images").
   */
  private async related(actor: Principal, pkg: PackageRecord, kind: PackageKind): Promise<PackageView['related']> {
    if (!pkg.source) return [];
    const m = this.deps.metadata;
    const out: PackageView['related'] = [];
    for (const other of await m.packageViews.bySource(pkg.owner, pkg.source)) {
      if (other === pkg.name || !(await this.deps.authz.canPull(actor, other as RepoName))) continue;
      const manifests = (await m.packageViews.manifests([other])).filter((x) => x.subject === null);
      const otherKind = packageKind(manifests);
      if (manifests.length === 0) continue;
      out.push({ name: other, kind: otherKind, relation: otherKind === kind ? 'artifact' : otherKind });
    }
    return out.slice(0, 20);
  }
}

/** Charts: highest semver first; untagged or non-semver versions after, newest first. */
function byChartVersion(chart: ChartVersions | undefined, tags: readonly TagRow[]): (a: ManifestSummary, b: ManifestSummary) => number {
  const versionOf = (m: ManifestSummary) => {
    const indexed = chart?.byDigest.get(m.digest)?.version;
    if (indexed) return parseSemver(indexed);
    return tags.filter((t) => t.digest === m.digest).map((t) => parseSemver(tagToVersion(t.name))).find((s) => s !== null) ?? null;
  };
  return (a, b) => {
    const va = versionOf(a);
    const vb = versionOf(b);
    if (va && vb) return compareSemver(vb, va);
    if (va) return -1;
    if (vb) return 1;
    return b.createdAt - a.createdAt;
  };
}

/** A version matches a filter when one of its tags (or its platforms') contains it, or a digest starts with it. */
function matchesFilter(_digest: string, digests: readonly string[], tags: readonly TagRow[], filter: string): boolean {
  if (digests.some((d) => d.startsWith(filter) || d.slice(d.indexOf(':') + 1).startsWith(filter))) return true;
  const set = new Set(digests);
  return tags.some((t) => set.has(t.digest) && t.name.toLowerCase().includes(filter));
}
