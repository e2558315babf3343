/**
 * The explore page and the anonymous home: packages the viewer may see across owners — public
 * ones for everyone, internal ones for signed-in users — searched by name, description, image
 * labels and chart keywords. Candidates come from the package table by visibility, but whether
 * the viewer may read each is decided by the access service (AuthzService.canPull), and the
 * package details come from the owner view, which checks again: a private package's name never
 * reaches the answer.
 */
import type { Principal } from '../auth/principal.ts';
import type { Visibility } from '../auth/vocabulary.ts';
import type { Metadata } from '../metadata/metadata.ts';
import type { RepoName } from '../oci/name.ts';
import type { AuthzService } from './authz.ts';
import type { OwnerPackagesView, PackageKind, PackageListItem } from './package-views.ts';

export interface ExploreDeps {
  metadata: Metadata;
  authz: AuthzService;
  ownerPackages(actor: Principal, owner: string): Promise<OwnerPackagesView>;
  /** Words a package is also found by: its latest image's labels, its latest chart's keywords. */
  searchTerms(item: PackageListItem): Promise<string[]>;
}

export interface ExploreResult {
  /** Packages matching, before the limit. */
  total: number;
  packages: (PackageListItem & { terms: string[] })[];
}

/** How many candidate packages one request looks at (most recently updated first). */
const MAX_CANDIDATES = 2000;

export class ExploreService {
  private readonly deps: ExploreDeps;
  constructor(deps: ExploreDeps) {
    this.deps = deps;
  }

  async explore(actor: Principal, opts: { q?: string | undefined; kind?: PackageKind | undefined; limit: number }): Promise<ExploreResult> {
    const visibilities: Visibility[] = actor.kind === 'anonymous' ? ['public'] : ['public', 'internal'];
    const candidates = await this.deps.metadata.packages.listByVisibility(visibilities, MAX_CANDIDATES);
    const readable = new Set<string>();
    for (const c of candidates) if (await this.deps.authz.canPull(actor, c.name as RepoName)) readable.add(c.name);
    const owners = [...new Set(candidates.filter((c) => readable.has(c.name)).map((c) => c.owner))];
    const words = (opts.q ?? '').toLowerCase().split(/\s+/).filter(Boolean);
    const found: ExploreResult['packages'] = [];
    for (const owner of owners) {
      const view = await this.deps.ownerPackages(actor, owner);
      for (const item of view.packages) {
        if (!readable.has(item.name) || (opts.kind && item.kind !== opts.kind)) continue;
        const terms = await this.deps.searchTerms(item);
        const haystack = [item.name, item.description ?? '', ...terms].join('\n').toLowerCase();
        if (words.every((w) => haystack.includes(w))) found.push({ ...item, terms });
      }
    }
    found.sort((a, b) => (a.updatedAt === b.updatedAt ? a.name.localeCompare(b.name) : a.updatedAt < b.updatedAt ? 1 : -1));
    return { total: found.length, packages: found.slice(0, opts.limit) };
  }
}
