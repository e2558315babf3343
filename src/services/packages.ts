import type { Principal } from '../auth/principal.ts';
import { RegistryError } from '../errors.ts';
import type { CiTrust } from '../metadata/trusts.ts';
import type { PackageRecord } from '../metadata/packages.ts';
import type { PackageRole, Visibility } from '../auth/vocabulary.ts';
import type { Metadata } from '../metadata/metadata.ts';
import type { Digest } from '../oci/digest.ts';
import { MediaType } from '../oci/mediatypes.ts';
import { ownerOf, type RepoName, type Tag } from '../oci/name.ts';
import type { BlobStore } from '../storage/types.ts';
import { pinsRepository } from '../auth/oidc.ts';
import type { AuthzService } from './authz.ts';
import { readJsonObject } from './blob-json.ts';
import type { RegistryEventBus } from './events.ts';
import type { RegistryService } from './registry.ts';
import type { TrashEntryView, TrashService } from './trash.ts';
import { actorFields, ownerOfTarget } from './audit.ts';

export interface PackageDeps {
  metadata: Metadata;
  clock: () => number;
  authz: AuthzService;
  registry: RegistryService;
  blobs: BlobStore;
  events: RegistryEventBus;
  trash: TrashService;
}

export interface PackageSettingsView {
  name: string;
  owner: string;
  visibility: Visibility;
  source: string | null;
  createdBy: string | null;
  createdAt: string;
  updatedAt: string;
  viewerRole: PackageRole | null;
}

const SOURCE_ANNOTATION = 'org.opencontainers.image.source';
const VISIBILITIES: readonly Visibility[] = ['public', 'internal', 'private'];
const ROLES: readonly PackageRole[] = ['read', 'write', 'admin'];

function view(p: PackageRecord, viewerRole: PackageRole | null): PackageSettingsView {
  return {
    name: p.name,
    owner: p.owner,
    visibility: p.visibility,
    source: p.source,
    createdBy: p.createdBy,
    createdAt: new Date(p.createdAt).toISOString(),
    updatedAt: new Date(p.updatedAt).toISOString(),
    viewerRole,
  };
}

/**
 * Package settings: visibility, grants to users and teams, trusted CI issuers, deletion of
 * versions and packages. Callers who cannot read a package get NOT_FOUND, so private package
 * names never leak; readers who are not admins get DENIED.
 */
export class PackageService {
  private readonly deps: PackageDeps;

  constructor(deps: PackageDeps) {
    this.deps = deps;
    deps.events.on('manifest.pushed', ({ repo, manifest }) => this.recordSource(repo, manifest.annotations, manifest.configDigest, manifest.configMediaType));
  }

  private async audit(actor: Principal, action: string, target: string, detail?: Record<string, unknown>): Promise<void> {
    await this.deps.metadata.audit.append({ at: this.deps.clock(), ...actorFields(actor), action, target, owner: ownerOfTarget(target), detail: detail ?? null });
  }

  /** The package and the caller's role, or NOT_FOUND when it is absent or unreadable. */
  async readable(actor: Principal, name: RepoName): Promise<{ pkg: PackageRecord; role: PackageRole | null }> {
    const pkg = await this.deps.metadata.packages.get(name);
    if (!pkg || pkg.trashedAt !== null || !(await this.deps.authz.canPull(actor, name))) throw new RegistryError('NOT_FOUND', 'package not found', { package: name });
    return { pkg, role: await this.deps.authz.role(actor, name) };
  }

  /** Settings need the admin role, and a token used for them must carry delete:packages. */
  private async administrable(actor: Principal, name: RepoName): Promise<PackageRecord> {
    const { pkg, role } = await this.readable(actor, name);
    if (role !== 'admin' || !(await this.deps.authz.actions(actor, name)).has('delete')) {
      throw new RegistryError('DENIED', 'package admins only', { package: name });
    }
    return pkg;
  }

  async settings(actor: Principal, name: RepoName): Promise<PackageSettingsView> {
    const { pkg, role } = await this.readable(actor, name);
    return view(pkg, role);
  }

  async listForOwner(actor: Principal, owner: string): Promise<PackageSettingsView[]> {
    const out: PackageSettingsView[] = [];
    for (const p of await this.deps.metadata.packages.listByOwner(owner)) {
      if (await this.deps.authz.canPull(actor, p.name as RepoName)) out.push(view(p, await this.deps.authz.role(actor, p.name as RepoName)));
    }
    return out;
  }

  async setVisibility(actor: Principal, name: RepoName, visibility: string): Promise<PackageSettingsView> {
    if (!(VISIBILITIES as readonly string[]).includes(visibility)) throw new RegistryError('BAD_REQUEST', 'visibility must be public, internal or private');
    await this.administrable(actor, name);
    await this.deps.metadata.packages.setVisibility(name, visibility as Visibility);
    await this.audit(actor, 'package.visibility', name, { visibility });
    return this.settings(actor, name);
  }

  async grants(actor: Principal, name: RepoName) {
    await this.administrable(actor, name);
    return this.deps.metadata.packages.grants(name);
  }

  async putGrant(actor: Principal, name: RepoName, g: { subjectKind: string; subject: string; role: string }): Promise<void> {
    await this.administrable(actor, name);
    if (!(ROLES as readonly string[]).includes(g.role)) throw new RegistryError('BAD_REQUEST', 'role must be read, write or admin');
    const subjectKind = g.subjectKind;
    if (subjectKind !== 'user' && subjectKind !== 'team') throw new RegistryError('BAD_REQUEST', 'subjectKind must be user or team');
    // With the team locked: a grant written while the team is being deleted would outlive it.
    await this.deps.metadata.transaction(async (m) => {
      if (subjectKind === 'user') {
        const a = await m.accounts.get(g.subject);
        if (!a || a.kind !== 'user') throw new RegistryError('BAD_REQUEST', 'no such user', { user: g.subject });
      } else {
        const [org, team] = g.subject.split('/');
        // Teams are organization-scoped: only the package owner's teams can be granted.
        if (!org || !team || org !== ownerOf(name) || !(await m.memberships.lockTeam(org, team))) {
          throw new RegistryError('BAD_REQUEST', "no such team in the package's organization", { team: g.subject });
        }
      }
      await m.packages.putGrant(name, { subjectKind, subject: g.subject, role: g.role as PackageRole, now: this.deps.clock() });
    });
    await this.audit(actor, 'package.grant', name, { subjectKind: g.subjectKind, subject: g.subject, role: g.role });
  }

  async removeGrant(actor: Principal, name: RepoName, subjectKind: string, subject: string): Promise<void> {
    await this.administrable(actor, name);
    if (subjectKind !== 'user' && subjectKind !== 'team') throw new RegistryError('BAD_REQUEST', 'subjectKind must be user or team');
    if (!(await this.deps.metadata.packages.removeGrant(name, subjectKind, subject))) throw new RegistryError('NOT_FOUND', 'no such grant');
    await this.audit(actor, 'package.revoke', name, { subjectKind, subject });
  }

  /** The package's own trusts, then the owner-level ones it inherits (`repo: null`; managed in the owner's settings). */
  async trusts(actor: Principal, name: RepoName): Promise<CiTrust[]> {
    await this.administrable(actor, name);
    const all = await this.deps.metadata.trusts.list(ownerOf(name));
    return [...all.filter((t) => t.repo === name), ...all.filter((t) => t.repo === null)];
  }

  /** Trusts a CI issuer for one package, or (name = null) for every package of `owner`. */
  async addTrust(
    actor: Principal,
    target: { owner: string; name: RepoName | null },
    t: { issuer: string; audience: string; conditions: Record<string, string>; role: string; confirmAnyRepository?: boolean | undefined },
  ): Promise<CiTrust> {
    if (target.name) await this.administrable(actor, target.name);
    else await this.requireOwnerAdmin(actor, target.owner);
    if (!/^https?:\/\/[^\s]+$/.test(t.issuer)) throw new RegistryError('BAD_REQUEST', 'issuer must be an http(s) URL');
    if (!t.audience) throw new RegistryError('BAD_REQUEST', 'audience is required');
    if (t.role !== 'read' && t.role !== 'write') throw new RegistryError('BAD_REQUEST', 'role must be read or write');
    if (Object.keys(t.conditions).length === 0) throw new RegistryError('BAD_REQUEST', 'at least one claim condition is required (e.g. repository)');
    if (!pinsRepository(t.conditions) && t.confirmAnyRepository !== true) {
      throw new RegistryError(
        'BAD_REQUEST',
        'these conditions match CI jobs of any repository at this issuer: add a condition on the repository (e.g. repository: owner/name or owner/*), or confirm with confirmAnyRepository: true',
        { requires: 'confirmAnyRepository' },
      );
    }
    const trust = await this.deps.metadata.trusts.create({
      owner: target.owner,
      repo: target.name,
      issuer: t.issuer.replace(/\/$/, ''),
      audience: t.audience,
      conditions: t.conditions,
      role: t.role,
      createdAt: this.deps.clock(),
    });
    await this.audit(actor, 'trust.create', target.name ?? target.owner, { id: trust.id, issuer: trust.issuer, conditions: trust.conditions, role: trust.role, anyRepository: !pinsRepository(trust.conditions) });
    return trust;
  }

  async ownerTrusts(actor: Principal, owner: string): Promise<CiTrust[]> {
    await this.requireOwnerAdmin(actor, owner);
    return (await this.deps.metadata.trusts.list(owner)).filter((t) => t.repo === null);
  }

  async removeTrust(actor: Principal, id: string): Promise<void> {
    const trust = await this.deps.metadata.trusts.get(id);
    if (!trust) throw new RegistryError('NOT_FOUND', 'no such trust');
    // Check first: deleting and re-creating on refusal would change the trust's id.
    if (trust.repo) await this.administrable(actor, trust.repo as RepoName);
    else await this.requireOwnerAdmin(actor, trust.owner);
    if (!(await this.deps.metadata.trusts.delete(id))) throw new RegistryError('NOT_FOUND', 'no such trust');
    await this.audit(actor, 'trust.delete', trust.repo ?? trust.owner, { id });
  }

  /** Settings of a package (its admins) or of an owner (the user, org owners, site admins); DENIED says which. */
  async requireSettingsAccess(actor: Principal, target: { owner: string; name: RepoName | null }): Promise<void> {
    if (target.name) await this.administrable(actor, target.name);
    else await this.requireOwnerAdmin(actor, target.owner);
  }

  private async requireOwnerAdmin(actor: Principal, owner: string): Promise<void> {
    // A leaked token must not rewire an owner's trusts or webhooks: owner settings need the account itself.
    if (actor.kind === 'user' && actor.token) throw new RegistryError('DENIED', 'owner settings cannot be changed with a personal access token; sign in with your password (or use `wharf webhook` on the server)');
    if (actor.kind !== 'user') throw new RegistryError('DENIED', 'owner administrators only');
    if (actor.admin || actor.name === owner) return;
    if ((await this.deps.metadata.memberships.orgRole(owner, actor.name)) !== 'owner') throw new RegistryError('DENIED', 'owner administrators only');
  }

  /** Deleting from the UI/API moves the package to the trash (ADR 0010); a purge deletes it. */
  async deletePackage(actor: Principal, name: RepoName): Promise<TrashEntryView> {
    return this.deps.trash.trashPackage(actor, name);
  }

  /** Moves the version (with what only it holds up) to the trash. */
  /**
   * Removes one tag (the manifest stays, reachable by digest and its other tags), as `DELETE
   * /v2/<name>/manifests/<tag>` does: it needs the delete permission, and a tag policy may refuse.
   */
  async deleteTag(actor: Principal, name: RepoName, tag: Tag): Promise<void> {
    await this.readable(actor, name);
    if (!(await this.deps.authz.actions(actor, name)).has('delete')) {
      throw new RegistryError('DENIED', `deleting a tag needs the delete permission on ${name}`, { package: name, tag });
    }
    try {
      await this.deps.registry.deleteManifest(name, { kind: 'tag', tag }, actor);
    } catch (err) {
      if (err instanceof RegistryError && err.code === 'MANIFEST_UNKNOWN') throw new RegistryError('NOT_FOUND', 'tag not found', { package: name, tag });
      throw err;
    }
  }

  async deleteVersion(actor: Principal, name: RepoName, digest: Digest): Promise<TrashEntryView> {
    return this.deps.trash.trashVersion(actor, name, digest);
  }

  /**
   * Links a package to its source repository from `org.opencontainers.image.source`, found on
   * the manifest (indexes, artifacts, Helm charts) or as an image config label.
   */
  private async recordSource(repo: RepoName, annotations: Record<string, string> | null, configDigest: Digest | null, configMediaType: string | null): Promise<void> {
    let source = annotations?.[SOURCE_ANNOTATION];
    if (!source && configDigest && (configMediaType === MediaType.OciConfig || configMediaType === MediaType.DockerConfig)) {
      // A config too deep or too big to parse cheaply, or not JSON, simply has no labels.
      const cfg = await readJsonObject(this.deps, repo, configDigest);
      const config = cfg?.['config'];
      const label = typeof config === 'object' && config !== null ? (config as { Labels?: Record<string, unknown> }).Labels?.[SOURCE_ANNOTATION] : undefined;
      if (typeof label === 'string') source = label;
    }
    if (source && /^https?:\/\//.test(source)) await this.deps.metadata.packages.setSource(repo, source.replace(/\.git$/, ''));
  }
}
