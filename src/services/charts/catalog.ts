/**
 * Which charts an owner has and which versions each holds: the answer the JSON API, the
 * ChartMuseum API and the owner checks of every chart surface read from the chart index
 * (records written by indexer.ts). Versions are ordered by semver precedence, then newest push.
 */
import type { ChartMetadata } from '../../charts/metadata.ts';
import { tagToVersion } from '../../charts/semver.ts';
import { type ChangeEntry, parseChangelog } from './changelog.ts';
import { RegistryError } from '../../errors.ts';
import type { ChartVersionRecord } from '../../metadata/charts.ts';
import type { Metadata } from '../../metadata/metadata.ts';
import { type Digest, isDigest } from '../../oci/digest.ts';
import { parseTag, type RepoName } from '../../oci/name.ts';

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
  /** The `artifacthub.io/changes` annotation, read (services/charts/changelog.ts). */
  changelog: ChangeEntry[];
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

/** What the package pages need of a chart repository: its latest version and each manifest's version. */
export interface ChartVersions {
  /** The highest listed stable version, else the highest listed prerelease; null when none is listed. */
  latest: string | null;
  /** Chart version of every indexed manifest. */
  byDigest: Map<Digest, { version: string; prerelease: boolean }>;
}

export interface ChartCatalogDeps {
  metadata: Metadata;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
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

/** The highest listed stable and prerelease versions of one repository's records. */
function heads(records: readonly ChartVersionRecord[]): { stable: ChartVersionRecord | null; pre: ChartVersionRecord | null } {
  const ok = records.filter((r) => r.status === 'ok' && r.listed).sort(byVersionDesc);
  return { stable: ok.find((r) => !r.prerelease) ?? null, pre: ok.find((r) => r.prerelease) ?? null };
}

function chartVersions(records: readonly ChartVersionRecord[]): ChartVersions {
  const { stable, pre } = heads(records);
  const byDigest = new Map<Digest, { version: string; prerelease: boolean }>();
  for (const r of records) if (r.status === 'ok' && r.version !== null) byDigest.set(r.digest, { version: r.version, prerelease: r.prerelease });
  return { latest: (stable ?? pre)?.version ?? null, byDigest };
}

function groupByRepo(rows: readonly ChartVersionRecord[]): Map<RepoName, ChartVersionRecord[]> {
  const byRepo = new Map<RepoName, ChartVersionRecord[]>();
  for (const r of rows) {
    const list = byRepo.get(r.repo) ?? [];
    list.push(r);
    byRepo.set(r.repo, list);
  }
  return byRepo;
}

export class ChartCatalog {
  private readonly deps: ChartCatalogDeps;

  constructor(deps: ChartCatalogDeps) {
    this.deps = deps;
  }

  /**
   * NOT_FOUND unless `owner` is a user or organization, or owns a repository (without
   * authentication there are no accounts): a typo in `helm repo add` fails instead of adding an
   * empty repository. Owners are public (their pages are), so this tells a stranger nothing.
   */
  async requireOwner(owner: string): Promise<void> {
    const m = this.deps.metadata;
    if ((await m.accounts.get(owner)) || (await m.packages.ownerHasAny(owner))) return;
    throw new RegistryError('NOT_FOUND', `no user or organization named ${owner}`, { owner });
  }

  /** The owner's chart repositories (one summary per repository), filtered by `visible`. */
  async ownerCharts(owner: string, visible: (repo: RepoName) => Promise<boolean>): Promise<ChartSummary[]> {
    const byRepo = groupByRepo(await this.deps.metadata.charts.ofOwner(owner));
    const out: ChartSummary[] = [];
    for (const [repo, list] of [...byRepo].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      if (!(await visible(repo))) continue;
      const ok = list.filter((r) => r.status === 'ok' && r.listed);
      const { stable, pre } = heads(list);
      const head = stable ?? pre;
      out.push({
        repository: repo,
        name: head?.name ?? list.find((r) => r.name)?.name ?? repo.slice(repo.lastIndexOf('/') + 1),
        latestVersion: stable?.version ?? null,
        latestPrerelease: pre && (!stable || (pre.sortKey ?? '') > (stable.sortKey ?? '')) ? pre.version : null,
        appVersion: head?.appVersion ?? null,
        description: head?.description ?? null,
        deprecated: head?.deprecated ?? false,
        versions: ok.length,
        prereleases: ok.filter((r) => r.prerelease).length,
        failed: list.filter((r) => r.status === 'failed').length,
        updated: iso(Math.max(...list.map((r) => r.createdAt))),
      });
    }
    return out;
  }

  /** The chart versions of each of the owner's chart repositories (package pages). */
  async ownerVersions(owner: string): Promise<Map<RepoName, ChartVersions>> {
    const out = new Map<RepoName, ChartVersions>();
    for (const [repo, list] of groupByRepo(await this.deps.metadata.charts.ofOwner(owner))) out.set(repo, chartVersions(list));
    return out;
  }

  /** The chart versions of one repository (its package page). */
  async repoVersions(repo: RepoName): Promise<ChartVersions> {
    return chartVersions(await this.deps.metadata.charts.ofRepo(repo));
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
    const metadata = full?.metadata ? (JSON.parse(full.metadata) as ChartMetadata) : null;
    return {
      ...toView(rec),
      metadata,
      changelog: parseChangelog(metadata?.annotations?.['artifacthub.io/changes']),
      tags,
      readme: typeof content?.readme === 'string' ? { path: content.readmePath, text: content.readme } : null,
      values: content?.values ?? null,
      valuesSchema: content?.valuesSchema ?? null,
      provenance: rec.provDigest ? { digest: rec.provDigest, size: rec.provSize } : null,
      omitted: content?.omitted ?? [],
    };
  }

  /**
   * Every listed copy of an owner's chart version (the same version may sit in two repositories
   * of one owner), the one the classic index serves first. NOT_FOUND when there is none.
   */
  async listedCopies(owner: string, name: string, version: string): Promise<ChartVersionRecord[]> {
    const rows = await this.deps.metadata.charts.listedVersion(owner, name, version);
    if (rows.length === 0) throw new RegistryError('NOT_FOUND', `chart ${name} ${version} not found`, { owner, name, version });
    return rows;
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
}
