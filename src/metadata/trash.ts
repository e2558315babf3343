import { type Kysely, sql } from 'kysely';
import type { Digest } from '../oci/digest.ts';
import type { RepoName, Tag } from '../oci/name.ts';
import { batchesOf, bumpTagVersion } from './registry.ts';
import type { DB, TrashTable } from './schema.ts';

export type TrashKind = 'package' | 'version';

/** A package or a version in the trash (ADR 0010). */
export interface TrashEntry {
  id: string;
  owner: string;
  repo: RepoName;
  kind: TrashKind;
  /** The version's manifest digest; null for a package. */
  digest: Digest | null;
  actor: string;
  trashedAt: number;
  expiresAt: number;
}

export interface TrashedTag {
  name: Tag;
  digest: Digest;
  updatedAt: number;
}

function toEntry(r: TrashTable): TrashEntry {
  return {
    id: r.id,
    owner: r.owner,
    repo: r.repo as RepoName,
    kind: r.kind === 'package' ? 'package' : 'version',
    digest: r.digest as Digest | null,
    actor: r.actor,
    trashedAt: Number(r.trashed_at),
    expiresAt: Number(r.expires_at),
  };
}

/**
 * Trash entries, the manifests each one hides and the tags it took away. The service runs every
 * change in one transaction with the manifests' `trashed_at`, so a kill -9 leaves either the
 * whole move or none of it.
 */
export class TrashStore {
  private readonly db: Kysely<DB>;
  constructor(db: Kysely<DB>) {
    this.db = db;
  }

  async create(e: TrashEntry): Promise<void> {
    await this.db
      .insertInto('trash')
      .values({ id: e.id, owner: e.owner, repo: e.repo, kind: e.kind, digest: e.digest, actor: e.actor, trashed_at: e.trashedAt, expires_at: e.expiresAt })
      .execute();
  }

  async get(id: string): Promise<TrashEntry | null> {
    const row = await this.db.selectFrom('trash').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toEntry(row) : null;
  }

  /** Entries, newest first; `expiredAt` keeps those whose time is up at that moment. */
  async list(opts: { owner?: string | undefined; repo?: string | undefined; expiredAt?: number | undefined; limit: number }): Promise<TrashEntry[]> {
    let q = this.db.selectFrom('trash').selectAll().orderBy('trashed_at', 'desc').orderBy('id').limit(opts.limit);
    if (opts.owner !== undefined) q = q.where('owner', '=', opts.owner);
    if (opts.repo !== undefined) q = q.where('repo', '=', opts.repo);
    if (opts.expiredAt !== undefined) q = q.where('expires_at', '<=', opts.expiredAt);
    return (await q.execute()).map(toEntry);
  }

  /** The entry holding the whole package `repo`, if it is in the trash. */
  async packageEntry(repo: RepoName): Promise<TrashEntry | null> {
    const row = await this.db.selectFrom('trash').selectAll().where('repo', '=', repo).where('kind', '=', 'package').executeTakeFirst();
    return row ? toEntry(row) : null;
  }

  /** The entry that hides manifest `digest` of `repo`. */
  async entryOf(repo: RepoName, digest: Digest): Promise<TrashEntry | null> {
    const row = await this.db
      .selectFrom('trash_manifests')
      .innerJoin('trash', 'trash.id', 'trash_manifests.trash_id')
      .selectAll('trash')
      .where('trash_manifests.repo', '=', repo)
      .where('trash_manifests.digest', '=', digest)
      .executeTakeFirst();
    return row ? toEntry(row) : null;
  }

  async addManifests(id: string, repo: RepoName, digests: readonly Digest[]): Promise<void> {
    for (const batch of batchesOf(digests)) {
      await this.db
        .insertInto('trash_manifests')
        .values(batch.map((digest) => ({ repo, digest, trash_id: id })))
        .execute();
    }
  }

  async members(id: string): Promise<{ repo: RepoName; digest: Digest }[]> {
    const rows = await this.db.selectFrom('trash_manifests').select(['repo', 'digest']).where('trash_id', '=', id).orderBy('digest').execute();
    return rows.map((r) => ({ repo: r.repo as RepoName, digest: r.digest as Digest }));
  }

  /**
   * Moves the tags of `digests` (every tag of the repository when null) from `tags` into the
   * entry; returns how many moved. Bumps the repository's tag version like any tag change.
   */
  async takeTags(id: string, repo: RepoName, digests: readonly Digest[] | null): Promise<number> {
    let moved = 0;
    for (const batch of digests === null ? [null] : batchesOf(digests)) {
      const res = await this.db
        .insertInto('trash_tags')
        .columns(['trash_id', 'name', 'digest', 'updated_at'])
        .expression((eb) => {
          let q = eb.selectFrom('tags').select([eb.val(id).as('trash_id'), 'name', 'digest', 'updated_at']).where('repo', '=', repo);
          if (batch !== null) q = q.where('digest', 'in', batch);
          return q;
        })
        .executeTakeFirst();
      moved += Number(res.numInsertedOrUpdatedRows ?? 0n);
      let del = this.db.deleteFrom('tags').where('repo', '=', repo);
      if (batch !== null) del = del.where('digest', 'in', batch);
      await del.execute();
    }
    if (moved > 0) await bumpTagVersion(this.db, repo);
    return moved;
  }

  async tagsOf(id: string): Promise<TrashedTag[]> {
    const rows = await this.db.selectFrom('trash_tags').select(['name', 'digest', 'updated_at']).where('trash_id', '=', id).orderBy('name').execute();
    return rows.map((r) => ({ name: r.name as Tag, digest: r.digest as Digest, updatedAt: Number(r.updated_at) }));
  }

  /**
   * Puts the entry's tags back, except names another manifest has taken meanwhile (the newer
   * push keeps its tag, as it would have without the trash).
   */
  async giveBackTags(id: string, repo: RepoName): Promise<{ restored: Tag[]; kept: { name: Tag; digest: Digest }[] }> {
    const restored: Tag[] = [];
    const kept: { name: Tag; digest: Digest }[] = [];
    for (const t of await this.tagsOf(id)) {
      const res = await this.db
        .insertInto('tags')
        .values({ repo, name: t.name, digest: t.digest, updated_at: t.updatedAt })
        .onConflict((oc) => oc.columns(['repo', 'name']).doNothing())
        .executeTakeFirst();
      if (Number(res.numInsertedOrUpdatedRows ?? 0n) > 0) {
        restored.push(t.name);
      } else {
        const now = await this.db.selectFrom('tags').select('digest').where('repo', '=', repo).where('name', '=', t.name).executeTakeFirst();
        kept.push({ name: t.name, digest: (now?.digest ?? t.digest) as Digest });
      }
    }
    if (restored.length > 0) await bumpTagVersion(this.db, repo);
    return { restored, kept };
  }

  /** Forgets the entry (after a restore or a purge). */
  async remove(id: string): Promise<void> {
    await this.db.deleteFrom('trash_tags').where('trash_id', '=', id).execute();
    await this.db.deleteFrom('trash_manifests').where('trash_id', '=', id).execute();
    await this.db.deleteFrom('trash').where('id', '=', id).execute();
  }

  /** Bytes an entry holds: its manifests plus the distinct blobs they reference (shared or not). */
  async size(id: string): Promise<{ manifests: number; bytes: number }> {
    const m = await this.db
      .selectFrom('trash_manifests')
      .innerJoin('manifests', (j) => j.onRef('manifests.repo', '=', 'trash_manifests.repo').onRef('manifests.digest', '=', 'trash_manifests.digest'))
      .select([sql<number>`count(*)`.as('n'), sql<number>`coalesce(sum(manifests.size), 0)`.as('bytes')])
      .where('trash_manifests.trash_id', '=', id)
      .executeTakeFirst();
    const blobs = await this.db
      .selectFrom((eb) =>
        eb
          .selectFrom('trash_manifests')
          .innerJoin('manifest_refs', (j) => j.onRef('manifest_refs.repo', '=', 'trash_manifests.repo').onRef('manifest_refs.digest', '=', 'trash_manifests.digest'))
          .innerJoin('repo_blobs', (j) => j.onRef('repo_blobs.repo', '=', 'manifest_refs.repo').onRef('repo_blobs.digest', '=', 'manifest_refs.child'))
          .select(['repo_blobs.digest', 'repo_blobs.size'])
          .distinct()
          .where('trash_manifests.trash_id', '=', id)
          .where('manifest_refs.kind', '=', 'blob')
          .as('b'),
      )
      .select(sql<number>`coalesce(sum(b.size), 0)`.as('bytes'))
      .executeTakeFirst();
    return { manifests: Number(m?.n ?? 0), bytes: Number(m?.bytes ?? 0) + Number(blobs?.bytes ?? 0) };
  }
}
