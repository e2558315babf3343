/**
 * Storage usage per package, per owner (a blob shared by two of its packages counts once) and
 * site-wide (deduplicated), with the bytes only the trash keeps shown apart. Read straight from
 * the rows (exact by construction; ADR 0010).
 */
import type { Principal } from '../auth/principal.ts';
import { RegistryError } from '../errors.ts';
import type { Metadata } from '../metadata/metadata.ts';
import type { UsageFigures } from '../metadata/usage.ts';
import type { RepoName } from '../oci/name.ts';
import type { AuthzService } from './authz.ts';

export interface UsageDeps {
  metadata: Metadata;
  authz: AuthzService;
}

export type { UsageFigures };

export interface OwnerUsage extends UsageFigures {
  owner: string;
  /** Each package's own figures (a blob shared by two packages is in both). */
  packages: ({ name: string; trashed: boolean } & UsageFigures)[];
}

export interface SiteUsage extends UsageFigures {
  owners: ({ owner: string } & UsageFigures)[];
}

export class UsageService {
  private readonly deps: UsageDeps;

  constructor(deps: UsageDeps) {
    this.deps = deps;
  }

  /** Anyone who can read the package. */
  async ofPackage(actor: Principal, repo: RepoName): Promise<{ package: string } & UsageFigures> {
    const pkg = await this.deps.metadata.packages.get(repo);
    if (!pkg || pkg.trashedAt !== null || !(await this.deps.authz.canPull(actor, repo))) throw new RegistryError('NOT_FOUND', 'package not found', { package: repo });
    return { package: repo, ...(await this.deps.metadata.usage.ofPackage(repo)) };
  }

  /** The owner's account, its organization's members, and site admins. */
  async ofOwner(actor: Principal, owner: string): Promise<OwnerUsage> {
    await this.requireOwnerMember(actor, owner);
    const m = this.deps.metadata;
    const total = await m.usage.ofOwner(owner);
    const packages: OwnerUsage['packages'] = [];
    for (const [name, figures] of await m.usage.perPackage(owner)) {
      const pkg = await m.packages.get(name);
      packages.push({ name, trashed: pkg?.trashedAt != null, ...figures });
    }
    return { owner, ...total, packages };
  }

  /** Site admins: the deduplicated total and each owner's. */
  async site(actor: Principal): Promise<SiteUsage> {
    if (!actor.admin) throw new RegistryError('DENIED', 'site administrators only');
    const m = this.deps.metadata;
    const owners: SiteUsage['owners'] = [];
    for (const owner of await m.usage.owners()) owners.push({ owner, ...(await m.usage.ofOwner(owner)) });
    owners.sort((a, b) => b.liveBytes + b.trashedBytes - (a.liveBytes + a.trashedBytes) || (a.owner < b.owner ? -1 : 1));
    return { ...(await m.usage.site()), owners };
  }

  private async requireOwnerMember(actor: Principal, owner: string): Promise<void> {
    if (actor.admin || (actor.kind === 'user' && actor.name === owner)) return;
    if (actor.kind === 'user' && (await this.deps.metadata.memberships.orgRole(owner, actor.name)) !== null) return;
    throw new RegistryError('DENIED', "the owner's members and site administrators only", { owner });
  }
}
