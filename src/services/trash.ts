/**
 * The trash (ADR 0010): deleting a package or a version from the UI/API hides it for
 * `trash.days` instead of deleting it. Its manifest rows and references stay (so GC keeps the
 * bytes), its tags move into the entry, and its name stays reserved. Owners and admins list,
 * restore and purge entries; expired ones are purged by the `trash.purge` job. Every move,
 * restore and purge is one transaction, audited in it.
 */
import { randomBytes } from 'node:crypto';
import type { Principal } from '../auth/principal.ts';
import { RegistryError } from '../errors.ts';
import type { Metadata } from '../metadata/metadata.ts';
import type { TrashEntry, TrashKind } from '../metadata/trash.ts';
import type { Digest } from '../oci/digest.ts';
import { ownerOf, type RepoName, type Tag } from '../oci/name.ts';
import type { AuthzService } from './authz.ts';
import type { RegistryEventBus } from './events.ts';
import type { Job, JobContext } from './jobs/runner.ts';
import { refuseIfListedByIndex } from './trash-refusals.ts';
import { TagPolicy } from './policies/tag-policy.ts';
import { actorFields, ownerOfTarget } from './audit.ts';
import { artifactKind } from '../oci/kind.ts';
import type { Change } from './webhooks/events.ts';
import type { WebhookOutbox } from './webhooks/outbox.ts';

export const DAY_MS = 86_400_000;
const DEFAULT_TAG_POLICY = new TagPolicy({ allowChartOverwrite: false });
/** Entries one page of a listing or one purge batch holds. */
const PAGE = 500;

export interface TrashDeps {
  metadata: Metadata;
  authz: AuthzService;
  events: RegistryEventBus;
  clock: () => number;
  /** How long an entry is kept before the purge job removes it. */
  days: number;
  /** Immutable tags cannot be trashed with their version (ADR 0013); default: the stored rules, charts.allowOverwrite off. */
  tagPolicy?: TagPolicy;
  /** Webhook deliveries (version.deleted, package.deleted, *.restored), queued in each change's transaction. */
  outbox?: WebhookOutbox;
}

/** An entry as the API, UI and CLI show it. */
export interface TrashEntryView {
  id: string;
  kind: TrashKind;
  owner: string;
  package: string;
  digest: string | null;
  /** Tags the entry took away (restored with it unless re-used meanwhile). */
  tags: string[];
  manifests: number;
  /** Manifests plus the distinct blobs they reference. */
  bytes: number;
  trashedBy: string;
  trashedAt: string;
  expiresAt: string;
}

export interface RestoreResult {
  entry: TrashEntryView;
  /** Tags put back on the restored version(s). */
  restoredTags: string[];
  /** Tags another version took while this one was in the trash: they stay where they are. */
  keptTags: { name: string; digest: string }[];
}

export interface PurgeResult {
  entries: number;
  manifests: number;
  packages: number;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function newId(): string {
  return randomBytes(6).toString('hex');
}

export class TrashService {
  private readonly deps: TrashDeps;

  constructor(deps: TrashDeps) {
    this.deps = deps;
  }

  // ---- authorization ------------------------------------------------------------------------

  /** Package admins (owners, org owners, site admins, admin grants) with a credential allowed to delete. */
  private async mayManage(actor: Principal, repo: RepoName): Promise<boolean> {
    if (actor.kind === 'system') return true;
    const role = await this.deps.authz.role(actor, repo);
    return role === 'admin' && (await this.deps.authz.actions(actor, repo)).has('delete');
  }

  /** A live package the caller may delete from; NOT_FOUND when it cannot even read it. */
  private async administrable(actor: Principal, repo: RepoName): Promise<void> {
    const pkg = await this.deps.metadata.packages.get(repo);
    if (!pkg || pkg.trashedAt !== null || !(await this.deps.authz.canPull(actor, repo))) throw new RegistryError('NOT_FOUND', 'package not found', { package: repo });
    if (!(await this.mayManage(actor, repo))) throw new RegistryError('DENIED', 'package admins only (and a token with delete:packages)', { package: repo });
  }

  private async entryFor(actor: Principal, id: string): Promise<TrashEntry> {
    const e = await this.deps.metadata.trash.get(id);
    // Someone who may not manage it learns nothing about it.
    if (!e || !(await this.mayManage(actor, e.repo))) throw new RegistryError('NOT_FOUND', 'no such trash entry', { id });
    return e;
  }

  private audit(m: Metadata, actor: Principal, action: string, target: string, detail: Record<string, unknown>): Promise<void> {
    return m.audit.append({ at: this.deps.clock(), ...actorFields(actor), action, target, owner: ownerOfTarget(target), detail });
  }

  private notify(m: Metadata, change: Change): Promise<number> {
    return this.deps.outbox ? this.deps.outbox.record(m, [change]) : Promise.resolve(0);
  }

  // ---- moving to the trash ------------------------------------------------------------------

  /**
   * A version: the manifest, and with it what only it holds up — the platform manifests of an
   * index that no other remaining index lists, and referrers (signatures, SBOMs) of all of them.
   * Refused when a remaining index lists the manifest itself.
   */
  async trashVersion(actor: Principal, repo: RepoName, digest: Digest): Promise<TrashEntryView> {
    await this.administrable(actor, repo);
    const { entry, queued } = await this.deps.metadata.transaction(async (m) => {
      const row = await m.packages.lock(repo);
      if (!row || row.trashedAt !== null) throw new RegistryError('NOT_FOUND', 'package not found', { package: repo });
      return this.trashVersionIn(m, actor, repo, digest, {});
    });
    this.deps.outbox?.committed(queued);
    return this.view(entry);
  }

  /**
   * The move of one version inside the caller's transaction, which holds the repository lock
   * (`trashVersion`, and retention's apply for each version it removes). `detail` is added to
   * the audit row (retention names its rule there).
   */
  async trashVersionIn(m: Metadata, actor: Principal, repo: RepoName, digest: Digest, detail: Record<string, unknown>): Promise<{ entry: TrashEntry; members: Digest[]; queued: number }> {
    const now = this.deps.clock();
    const id = newId();
    const entry: TrashEntry = { id, owner: ownerOf(repo), repo, kind: 'version', digest, actor: actor.name || 'anonymous', trashedAt: now, expiresAt: now + this.deps.days * DAY_MS };
    const state = await m.manifests.state(repo, digest);
    if (state === 'trashed') throw new RegistryError('CONFLICT', 'this version is already in the trash', { package: repo, digest, trash: (await m.trash.entryOf(repo, digest))?.id ?? null });
    if (state === null) throw new RegistryError('NOT_FOUND', 'version not found', { package: repo, digest });
    const members = await versionClosure(m, repo, digest);
    await refuseIfListedByIndex(m, repo, [digest], members, 'CONFLICT');
    const tags: Tag[] = [];
    for (const d of members) tags.push(...(await m.tags.forDigest(repo, d)));
    await this.tagPolicy.refuseDeletes(m, repo, tags, 'moving this version to the trash');
    const rootTags = await m.tags.forDigest(repo, digest);
    const manifest = await m.manifests.get(repo, digest);
    await this.hide(m, entry, [...members]);
    await this.audit(m, actor, 'package.version.trash', repo, { trash: id, digest, manifests: members.size, ...detail });
    const queued = await this.notify(m, { event: 'version.deleted', actor, repo, owner: entry.owner, kind: manifest ? artifactKind(manifest) : null, tag: rootTags[0] ?? null, tags: rootTags, digest, mediaType: manifest?.mediaType ?? null });
    return { entry, members: [...members], queued };
  }

  private get tagPolicy(): TagPolicy {
    return this.deps.tagPolicy ?? DEFAULT_TAG_POLICY;
  }

  /** A whole package: every live manifest and tag, and the name stays reserved. */
  async trashPackage(actor: Principal, repo: RepoName): Promise<TrashEntryView> {
    await this.administrable(actor, repo);
    const now = this.deps.clock();
    const id = newId();
    const entry: TrashEntry = { id, owner: ownerOf(repo), repo, kind: 'package', digest: null, actor: actor.name || 'anonymous', trashedAt: now, expiresAt: now + this.deps.days * DAY_MS };
    const queued = await this.deps.metadata.transaction(async (m) => {
      const row = await m.packages.lock(repo);
      if (!row || row.trashedAt !== null) throw new RegistryError('NOT_FOUND', 'package not found', { package: repo });
      await m.packages.setTrashed(repo, now);
      const live = await m.manifests.liveDigests(repo);
      await this.hide(m, entry, live);
      await this.audit(m, actor, 'package.trash', repo, { trash: id, manifests: live.length });
      return this.notify(m, { event: 'package.deleted', actor, repo, owner: entry.owner, kind: null, tag: null, digest: null, mediaType: null });
    });
    this.deps.outbox?.committed(queued);
    return this.view(entry);
  }

  /** Hides `digests` under the new entry: trashed_at, membership, tags, chart index. */
  private async hide(m: Metadata, entry: TrashEntry, digests: readonly Digest[]): Promise<void> {
    await m.manifests.setTrashed(entry.repo, digests, entry.trashedAt);
    await m.trash.create(entry);
    await m.trash.addManifests(entry.id, entry.repo, digests);
    await m.trash.takeTags(entry.id, entry.repo, entry.kind === 'package' ? null : digests);
    if ((await m.charts.setListedMany(entry.repo, digests, false)) > 0) await m.charts.bumpGeneration(entry.owner, entry.trashedAt);
  }

  // ---- listing --------------------------------------------------------------------------------

  /** The owner's entries the caller may manage (site admins: every owner's when `owner` is null), newest first. */
  async list(actor: Principal, owner: string | null): Promise<TrashEntryView[]> {
    if (owner === null && !actor.admin) throw new RegistryError('DENIED', 'site administrators only (name an owner to see its trash)');
    const entries = await this.deps.metadata.trash.list({ owner: owner ?? undefined, limit: PAGE });
    const out: TrashEntryView[] = [];
    for (const e of entries) if (await this.mayManage(actor, e.repo)) out.push(await this.view(e));
    return out;
  }

  async get(actor: Principal, id: string): Promise<TrashEntryView> {
    return this.view(await this.entryFor(actor, id));
  }

  private async view(e: TrashEntry): Promise<TrashEntryView> {
    const m = this.deps.metadata;
    const [size, tags] = await Promise.all([m.trash.size(e.id), m.trash.tagsOf(e.id)]);
    return {
      id: e.id,
      kind: e.kind,
      owner: e.owner,
      package: e.repo,
      digest: e.digest,
      tags: tags.map((t) => t.name),
      manifests: size.manifests,
      bytes: size.bytes,
      trashedBy: e.actor,
      trashedAt: iso(e.trashedAt),
      expiresAt: iso(e.expiresAt),
    };
  }

  // ---- restore --------------------------------------------------------------------------------

  /**
   * Puts the entry's manifests and tags back, as they were. A tag re-used meanwhile stays with
   * the newer version (reported in `keptTags`). A version of a package that is itself in the
   * trash waits for the package's restore.
   */
  async restore(actor: Principal, id: string): Promise<RestoreResult> {
    const e = await this.entryFor(actor, id);
    const view = await this.view(e);
    const result = await this.deps.metadata.transaction(async (m) => {
      const current = await m.trash.get(id);
      if (!current) throw new RegistryError('NOT_FOUND', 'no such trash entry', { id });
      const row = await m.packages.lock(e.repo);
      if (!row) throw new RegistryError('NOT_FOUND', 'package not found', { package: e.repo });
      if (e.kind === 'version' && row.trashedAt !== null) {
        const pkg = await m.trash.packageEntry(e.repo);
        throw new RegistryError('CONFLICT', `package ${e.repo} is in the trash; restore it first${pkg ? ` (entry ${pkg.id})` : ''}`, { package: e.repo, trash: pkg?.id ?? null });
      }
      if (e.kind === 'package') await m.packages.setTrashed(e.repo, null);
      const digests = (await m.trash.members(id)).map((x) => x.digest);
      await m.manifests.setTrashed(e.repo, digests, null);
      const tags = await m.trash.giveBackTags(id, e.repo);
      await this.relistCharts(m, e.repo, digests);
      await m.trash.remove(id);
      await this.audit(m, actor, 'trash.restore', e.repo, { trash: id, kind: e.kind, digest: e.digest, manifests: digests.length, tags: tags.restored, keptTags: tags.kept });
      const manifest = e.digest ? await m.manifests.get(e.repo, e.digest) : null;
      const queued = await this.notify(m, {
        event: e.kind === 'package' ? 'package.restored' : 'version.restored',
        actor,
        repo: e.repo,
        owner: e.owner,
        kind: manifest ? artifactKind(manifest) : null,
        tag: tags.restored[0] ?? null,
        tags: tags.restored,
        digest: e.digest,
        mediaType: manifest?.mediaType ?? null,
      });
      return { ...tags, queued };
    });
    this.deps.outbox?.committed(result.queued);
    return { entry: view, restoredTags: result.restored, keptTags: result.kept };
  }

  private async relistCharts(m: Metadata, repo: RepoName, digests: readonly Digest[]): Promise<void> {
    let changed = false;
    for (const d of digests) {
      const rec = await m.charts.get(repo, d);
      if (rec?.status !== 'ok') continue;
      if ((await m.tags.forDigest(repo, d)).length > 0 && (await m.charts.setListed(repo, d, true))) changed = true;
    }
    if (changed) await m.charts.bumpGeneration(ownerOf(repo), this.deps.clock());
  }

  // ---- purge ----------------------------------------------------------------------------------

  /** Deletes the entry's manifests for good (GC frees their bytes on its next run). */
  async purge(actor: Principal, id: string): Promise<PurgeResult> {
    await this.entryFor(actor, id);
    return this.purgeEntry(actor, id, 'requested');
  }

  /** Every entry whose time is up; what the `trash.purge` job runs. */
  async purgeExpired(actor: Principal, ctx?: Pick<JobContext, 'signal' | 'progress'>): Promise<PurgeResult> {
    const total: PurgeResult = { entries: 0, manifests: 0, packages: 0 };
    for (;;) {
      ctx?.signal.throwIfAborted();
      const due = await this.deps.metadata.trash.list({ expiredAt: this.deps.clock(), limit: PAGE });
      if (due.length === 0) return total;
      for (const e of due) {
        ctx?.signal.throwIfAborted();
        const r = await this.purgeEntry(actor, e.id, 'expired');
        total.entries += r.entries;
        total.manifests += r.manifests;
        total.packages += r.packages;
        ctx?.progress({ phase: 'purging', entries: total.entries, manifests: total.manifests });
      }
    }
  }

  /**
   * One transaction per entry, through the registry's hard-delete path. A package's purge also
   * purges the versions trashed before it, then deletes the package. Purging an entry another
   * process has just purged or restored is a no-op.
   */
  private async purgeEntry(actor: Principal, id: string, reason: 'requested' | 'expired'): Promise<PurgeResult> {
    const gone: { repo: RepoName; digest: Digest }[] = [];
    const result = await this.deps.metadata.transaction(async (m) => {
      const e = await m.trash.get(id);
      if (!e) return { entries: 0, manifests: 0, packages: 0 };
      await m.packages.lock(e.repo);
      const entries = e.kind === 'package' ? await m.trash.list({ repo: e.repo, limit: Number.MAX_SAFE_INTEGER }) : [e];
      let manifests = 0;
      let charts = false;
      for (const entry of entries) {
        const size = await m.trash.size(entry.id);
        for (const { digest } of await m.trash.members(entry.id)) {
          if (await m.manifests.delete(entry.repo, digest, { trashed: true })) manifests++;
          if (await m.charts.delete(entry.repo, digest)) charts = true;
          gone.push({ repo: entry.repo, digest });
        }
        await m.trash.remove(entry.id);
        await this.audit(m, actor, 'trash.purge', entry.repo, { trash: entry.id, kind: entry.kind, digest: entry.digest, reason, manifests: size.manifests, bytes: size.bytes });
      }
      if (e.kind === 'package') await m.packages.delete(e.repo);
      if (charts) await m.charts.bumpGeneration(e.owner, this.deps.clock());
      return { entries: entries.length, manifests, packages: e.kind === 'package' ? 1 : 0 };
    });
    for (const g of gone) this.deps.events.emit('manifest.deleted', g);
    if (result.packages > 0 && gone[0]) this.deps.events.emit('repository.deleted', { repo: gone[0].repo });
    return result;
  }

  /** The scheduled and on-demand purge of expired entries (ADR 0008's runner). */
  purgeJob(actor: Principal): Job<Record<string, never>, Record<string, unknown>> {
    return {
      name: 'trash.purge',
      run: async (ctx) => ({ ...(await this.purgeExpired(actor, ctx)) }),
    };
  }
}

/**
 * What trashing `root` takes with it: itself, child manifests (of an index, recursively) and
 * referrers (of anything taken, recursively) — except what a remaining index outside the set
 * lists, which stays with everything hanging from it.
 */
export async function versionClosure(m: Metadata, repo: RepoName, root: Digest): Promise<Set<Digest>> {
  const keep = new Set<Digest>();
  for (;;) {
    const set = new Set<Digest>([root]);
    let frontier: Digest[] = [root];
    while (frontier.length > 0) {
      const children = (await m.manifests.childManifests(repo, frontier)).filter((d) => !set.has(d) && !keep.has(d));
      const live = await m.manifests.existing(repo, children);
      const referrers = (await m.manifests.liveReferrersOf(repo, frontier)).filter((d) => !set.has(d) && !keep.has(d));
      frontier = [...new Set([...children.filter((d) => live.has(d)), ...referrers])];
      for (const d of frontier) set.add(d);
    }
    const shared = await m.manifests.listingIndexes(repo, [...set].filter((d) => d !== root), set);
    if (shared.length === 0) return set;
    for (const s of shared) keep.add(s.child);
  }
}
