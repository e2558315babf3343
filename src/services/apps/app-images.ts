/**
 * The "app view": the images a chart's values.yaml deploys, resolved against this registry, with
 * the problems an install would meet — a public chart whose image anonymous clients cannot pull,
 * a tag that does not exist, an image left unsigned while the chart's other images are signed —
 * and, the other way round, the charts of an owner that deploy a given image.
 *
 * Every package is looked at through the access service: an image the viewer cannot read is
 * reported as "not available to you" whether it exists or not, so a chart page never reveals
 * a private package's existence, visibility or tags to someone who may not see them.
 */
import { ANONYMOUS, type Principal } from '../../auth/principal.ts';
import { RegistryError } from '../../errors.ts';
import type { Metadata } from '../../metadata/metadata.ts';
import { isRepoName, parseTag, type RepoName } from '../../oci/name.ts';
import type { AuthzService } from '../authz.ts';
import type { ChartCatalog } from '../charts/catalog.ts';
import { findImageRefs, type ImageRef } from './image-refs.ts';

export interface AppImageDeps {
  metadata: Metadata;
  authz: AuthzService;
  charts: ChartCatalog;
}

export type AppImageWarning = 'private-image' | 'missing-tag' | 'unsigned' | 'not-available';

export interface AppImage extends ImageRef {
  /** The tag an install pulls: the one written, else the chart's appVersion, else `latest`. */
  effectiveTag: string;
  /** The package on this registry, when the reference points here and the viewer may read it. */
  package: string | null;
  /** Whether an anonymous client may pull it (null when not on this registry or not readable). */
  anonymousPull: boolean | null;
  tagExists: boolean | null;
  signed: boolean | null;
  warnings: { code: AppImageWarning; message: string }[];
}

export interface AppImagesView {
  chart: string;
  version: string;
  /** Anonymous clients may pull the chart. */
  publicChart: boolean;
  images: AppImage[];
}

const SIGNATURE = /signature|cosign|notary|\.sig\b/i;

export class AppImageService {
  private readonly deps: AppImageDeps;
  constructor(deps: AppImageDeps) {
    this.deps = deps;
  }

  /** Which repository on this registry a reference names (`host` is how clients reach Wharf). */
  private localRepo(ref: ImageRef, host: string, owner: string): RepoName | null {
    if (ref.registry !== null && ref.registry !== host) return null;
    // Without a host, Docker would read Docker Hub; a name under the chart's owner is taken as ours.
    if (ref.registry === null && !ref.repository.startsWith(`${owner}/`)) return null;
    return isRepoName(ref.repository) ? (ref.repository as RepoName) : null;
  }

  async chartImages(actor: Principal, chart: RepoName, version: string, host: string): Promise<AppImagesView> {
    if (!(await this.deps.authz.canPull(actor, chart))) throw new RegistryError('NOT_FOUND', 'package not found', { package: chart });
    const detail = await this.deps.charts.detail(chart, version);
    const owner = chart.slice(0, chart.indexOf('/'));
    const publicChart = await this.deps.authz.canPull(ANONYMOUS, chart);
    const refs = detail.values ? findImageRefs(detail.values) : [];
    const images: AppImage[] = [];
    for (const ref of refs) images.push(await this.resolve(actor, ref, detail.appVersion, host, owner, publicChart));
    const anySigned = images.some((i) => i.signed === true);
    for (const i of images) {
      if (anySigned && i.signed === false) i.warnings.push({ code: 'unsigned', message: 'this image is not signed while the chart’s other images are' });
    }
    return { chart, version: detail.version ?? version, publicChart, images };
  }

  private async resolve(actor: Principal, ref: ImageRef, appVersion: string | null, host: string, owner: string, publicChart: boolean): Promise<AppImage> {
    const effectiveTag = ref.tag ?? appVersion ?? 'latest';
    const base: AppImage = { ...ref, effectiveTag, package: null, anonymousPull: null, tagExists: null, signed: null, warnings: [] };
    const repo = this.localRepo(ref, host, owner);
    if (repo === null) return base;
    const m = this.deps.metadata;
    const pkg = await m.packages.get(repo);
    if (!pkg || pkg.trashedAt !== null || !(await this.deps.authz.canPull(actor, repo))) {
      base.warnings.push({ code: 'not-available', message: 'this image is not on this registry, or you may not read it' });
      return base;
    }
    const anonymousPull = await this.deps.authz.canPull(ANONYMOUS, repo);
    let digest = ref.digest;
    let tagExists: boolean | null = null;
    if (!ref.digest) {
      const tagged = await resolveTag(m, repo, effectiveTag);
      tagExists = tagged !== null;
      digest = tagged?.digest ?? null;
    }
    let signed: boolean | null = null;
    if (digest) {
      const manifests = await m.packageViews.manifests([repo]);
      signed = manifests.some((x) => x.subject === digest && SIGNATURE.test(x.artifactType ?? x.configMediaType ?? ''));
      // cosign's tag-based signatures (`sha256-<hex>.sig`) count too.
      if (!signed) signed = await hasSigTag(m, repo, digest);
    }
    const out: AppImage = { ...base, package: repo, anonymousPull, tagExists, signed };
    if (publicChart && !anonymousPull) out.warnings.push({ code: 'private-image', message: 'the chart is public but this image is not: anonymous installs will fail to pull' });
    if (tagExists === false) out.warnings.push({ code: 'missing-tag', message: `tag ${effectiveTag} does not exist in ${repo}` });
    return out;
  }

  /** The owner's charts (latest version of each, readable by the viewer) whose values.yaml deploys `image`. */
  async chartsUsing(actor: Principal, image: RepoName, host: string): Promise<{ chart: string; version: string; path: string }[]> {
    const owner = image.slice(0, image.indexOf('/'));
    const out: { chart: string; version: string; path: string }[] = [];
    const versions = await this.deps.charts.ownerVersions(owner);
    for (const [chart, v] of versions) {
      if (v.latest === null || !(await this.deps.authz.canPull(actor, chart))) continue;
      const detail = await this.deps.charts.detail(chart, v.latest).catch(() => null);
      if (!detail?.values) continue;
      const hit = findImageRefs(detail.values).find((r) => this.localRepo(r, host, owner) === image);
      if (hit) out.push({ chart, version: v.latest, path: hit.path });
      if (out.length >= 20) break;
    }
    return out.sort((a, b) => a.chart.localeCompare(b.chart));
  }
}

/** A tag's manifest; null when absent or not a valid tag at all (an appVersion with `+`). */
async function resolveTag(m: Metadata, repo: RepoName, tag: string): Promise<{ digest: string } | null> {
  try {
    return await m.tags.resolve(repo, parseTag(tag));
  } catch {
    return null;
  }
}

async function hasSigTag(m: Metadata, repo: RepoName, digest: string): Promise<boolean> {
  return (await resolveTag(m, repo, `${digest.replace(':', '-')}.sig`)) !== null;
}
