/**
 * Storage quotas per owner (ADR 0013): a site default (`quotas.defaultBytes`, 0 = none) and a
 * per-owner override set by site admins. Usage is the owner's deduplicated bytes (live and in the
 * trash, as `wharf usage` counts them), maintained in the database with every manifest insert and
 * delete (metadata/quotas.ts), so every replica reads the same figure in one row. Enforced where
 * bytes arrive: an upload whose size is known is refused before its body is read; a chunk that
 * crosses the quota is refused before it is stored; and a manifest that would cross it is refused
 * inside its transaction (holding the owner's usage row, so concurrent pushes of one owner cannot
 * both pass). Blobs the owner already stores do not count again. Deletes give the space back at
 * once; GC frees the bytes on disk.
 */
import type { Principal } from '../auth/principal.ts';
import { RegistryError } from '../errors.ts';
import { formatBytes } from '../lib/bytes.ts';
import type { Metadata } from '../metadata/metadata.ts';
import type { Digest } from '../oci/digest.ts';
import { ownerOf, type RepoName } from '../oci/name.ts';

export interface QuotaDeps {
  metadata: Metadata;
  clock: () => number;
  /** The site default in bytes; 0 = no quota. */
  defaultBytes: number;
}

export interface QuotaView {
  owner: string;
  usedBytes: number;
  /** Null: no quota. */
  limitBytes: number | null;
  source: 'owner' | 'site' | 'none';
}

export class QuotaService {
  private readonly deps: QuotaDeps;
  constructor(deps: QuotaDeps) {
    this.deps = deps;
  }

  private async limitOf(m: Metadata, owner: string): Promise<{ bytes: number | null; source: QuotaView['source'] }> {
    const own = await m.quotas.limit(owner);
    if (own !== null) return { bytes: own, source: 'owner' };
    return this.deps.defaultBytes > 0 ? { bytes: this.deps.defaultBytes, source: 'site' } : { bytes: null, source: 'none' };
  }

  private refusal(owner: string, used: number, limit: number, adding: number, what: string): RegistryError {
    return new RegistryError('DENIED', `${owner} uses ${formatBytes(used)} of its ${formatBytes(limit)} quota; ${what} needs ${formatBytes(adding)} more`, {
      owner,
      usedBytes: used,
      limitBytes: limit,
      neededBytes: adding,
    });
  }

  /**
   * Before an upload's body is read (or a chunk stored): `size` is what the upload will hold
   * once this request is done (or reads it). A blob of known `digest` the owner already stores costs nothing.
   */
  async refuseUpload(repo: RepoName, size: number | (() => Promise<number>), digest: Digest | null): Promise<void> {
    const m = this.deps.metadata;
    const owner = ownerOf(repo);
    const limit = await this.limitOf(m, owner);
    if (limit.bytes === null) return;
    // A function: what it reads (the session's size) is read only when there is a limit.
    const bytes = typeof size === 'number' ? size : await size();
    if (bytes <= 0) return;
    if (digest !== null && (await m.quotas.held(owner, [digest])).has(digest)) return;
    const used = await m.quotas.used(owner);
    if (used + bytes > limit.bytes) throw this.refusal(owner, used, limit.bytes, bytes, 'this upload');
  }

  /** Inside a new manifest's transaction: its bytes plus the blobs the owner does not hold yet. */
  async refuseManifest(m: Metadata, repo: RepoName, manifestBytes: number, blobs: readonly { digest: Digest; size: number }[]): Promise<void> {
    const owner = ownerOf(repo);
    const limit = await this.limitOf(m, owner);
    if (limit.bytes === null) return;
    const used = await m.quotas.used(owner, { lock: true });
    const held = await m.quotas.held(owner, blobs.map((b) => b.digest));
    const fresh = new Map(blobs.filter((b) => !held.has(b.digest)).map((b) => [b.digest, b.size]));
    const adding = manifestBytes + [...fresh.values()].reduce((a, b) => a + b, 0);
    if (used + adding > limit.bytes) throw this.refusal(owner, used, limit.bytes, adding, 'this push');
  }

  // ---- viewing and setting ----------------------------------------------------------------------

  /** The owner's members (the user itself, organization members) and site admins. */
  async ofOwner(actor: Principal, owner: string): Promise<QuotaView> {
    const m = this.deps.metadata;
    if (!(actor.admin || actor.kind === 'system' || (actor.kind === 'user' && actor.name === owner) || (actor.kind === 'user' && (await m.memberships.orgRole(owner, actor.name)) !== null))) {
      throw new RegistryError('DENIED', "the owner's members and site administrators only", { owner });
    }
    return this.view(m, owner);
  }

  private async view(m: Metadata, owner: string): Promise<QuotaView> {
    const limit = await this.limitOf(m, owner);
    return { owner, usedBytes: await m.quotas.used(owner), limitBytes: limit.bytes, source: limit.source };
  }

  /** Site admins: every owner with usage or an override. */
  async list(actor: Principal): Promise<QuotaView[]> {
    if (!actor.admin) throw new RegistryError('DENIED', 'site administrators only');
    const out: QuotaView[] = [];
    for (const r of await this.deps.metadata.quotas.all()) {
      const limit = r.limit !== null ? { bytes: r.limit, source: 'owner' as const } : this.deps.defaultBytes > 0 ? { bytes: this.deps.defaultBytes, source: 'site' as const } : { bytes: null, source: 'none' as const };
      out.push({ owner: r.owner, usedBytes: r.used, limitBytes: limit.bytes, source: limit.source });
    }
    return out;
  }

  /** Site admins: the owner's override (null: back to the site default). Audited. */
  async set(actor: Principal, owner: string, bytes: number | null): Promise<QuotaView> {
    if (!actor.admin) throw new RegistryError('DENIED', 'site administrators only');
    if (bytes !== null && (!Number.isSafeInteger(bytes) || bytes < 0)) throw new RegistryError('BAD_REQUEST', 'bytes must be a non-negative integer or null');
    const now = this.deps.clock();
    return this.deps.metadata.transaction(async (m) => {
      const before = await m.quotas.limit(owner);
      await m.quotas.setLimit(owner, bytes, now, actor.name || 'system');
      await m.audit.append({ at: now, actor: actor.name || 'system', action: 'owner.quota.update', target: owner, detail: { before, after: bytes }, address: null });
      return this.view(m, owner);
    });
  }
}
