import { type Expression, type ExpressionBuilder, type Kysely, type SqlBool, sql } from 'kysely';
import type { Digest } from '../oci/digest.ts';
import type { RepoName } from '../oci/name.ts';
import type { DB } from './schema.ts';

/** A manifest by repository and digest. */
export interface ManifestKey {
  repo: RepoName;
  digest: Digest;
}

/**
 * What a dry run assumes a real run would already have removed by the time it reaches a later
 * phase, so that it reports exactly what that run would free (docs/adr/0009-garbage-collection.md).
 * A real run passes none of it: the rows are really gone.
 */
export interface Assumed {
  /** Links untouched since before this and referenced by no (remaining) manifest of their repository. */
  linkCutoff: number;
  /** Upload sessions idle since before this (the stale-session purge removes them, and their pins). */
  sessionCutoff: number;
  /** Manifests (orphaned referrers) the run deletes. */
  manifests: readonly ManifestKey[];
}

type Eb = ExpressionBuilder<DB, keyof DB>;

const IN_BATCH = 500;

function key(k: ManifestKey): string {
  return `${k.repo} ${k.digest}`;
}

/**
 * `repo || ' ' || digest` of a manifest row is not one of `removed`. Only dry runs pass a
 * non-empty list (orphaned referrers, capped by the caller), so the list stays short.
 */
function notRemoved(eb: Eb, repo: string, digest: string, removed: readonly ManifestKey[]): Expression<SqlBool> {
  if (removed.length === 0) return sql<SqlBool>`1 = 1`;
  const keys = removed.map(key);
  return eb(sql`${sql.ref(repo)} || ' ' || ${sql.ref(digest)}`, 'not in', keys);
}

/**
 * The queries of garbage collection. Every one is bounded (a page, a batch) and re-checks its
 * conditions in the statement that acts, never trusting an earlier scan.
 */
export class GcStore {
  private readonly db: Kysely<DB>;
  constructor(db: Kysely<DB>) {
    this.db = db;
  }

  /**
   * Untagged manifests with a `subject` that is not in their repository, created before `cutoff`
   * and listed by no index of the repository; a page in (repo, digest) order after `after`.
   */
  async orphanReferrers(opts: { cutoff: number; after: ManifestKey | null; limit: number; removed: readonly ManifestKey[]; only?: ManifestKey }): Promise<ManifestKey[]> {
    const { removed } = opts;
    let q = this.db
      .selectFrom('manifests as m')
      .select(['m.repo', 'm.digest'])
      .where('m.subject', 'is not', null)
      .where('m.created_at', '<', opts.cutoff)
      .where((eb) =>
        eb.not(
          eb.exists(
            eb
              .selectFrom('manifests as s')
              .select('s.digest')
              .whereRef('s.repo', '=', 'm.repo')
              .whereRef('s.digest', '=', 'm.subject')
              .where((e) => notRemoved(e as unknown as Eb, 's.repo', 's.digest', removed)),
          ),
        ),
      )
      .where((eb) => eb.not(eb.exists(eb.selectFrom('tags as t').select('t.name').whereRef('t.repo', '=', 'm.repo').whereRef('t.digest', '=', 'm.digest'))))
      .where((eb) =>
        eb.not(
          eb.exists(
            eb
              .selectFrom('manifest_refs as r')
              .select('r.digest')
              .whereRef('r.repo', '=', 'm.repo')
              .whereRef('r.child', '=', 'm.digest')
              .where('r.kind', '=', 'manifest')
              .whereRef('r.digest', '!=', 'm.digest')
              .where((e) => notRemoved(e as unknown as Eb, 'r.repo', 'r.digest', removed)),
          ),
        ),
      )
      .orderBy('m.repo')
      .orderBy('m.digest')
      .limit(opts.limit);
    const after = opts.after;
    if (after) q = q.where((eb) => eb.or([eb('m.repo', '>', after.repo), eb.and([eb('m.repo', '=', after.repo), eb('m.digest', '>', after.digest)])]));
    if (opts.only) q = q.where('m.repo', '=', opts.only.repo).where('m.digest', '=', opts.only.digest);
    return (await q.execute()).map((r) => ({ repo: r.repo as RepoName, digest: r.digest as Digest }));
  }

  /**
   * Links untouched since before `cutoff` that no manifest of their repository references (except
   * manifests in `removed`); a page in (repo, digest) order after `after`.
   */
  async removableLinks(opts: { cutoff: number; after: ManifestKey | null; limit: number; removed: readonly ManifestKey[] }): Promise<ManifestKey[]> {
    let q = this.db
      .selectFrom('repo_blobs as l')
      .select(['l.repo', 'l.digest'])
      .where((eb) => this.linkRemovable(eb, opts.cutoff, opts.removed))
      .orderBy('l.repo')
      .orderBy('l.digest')
      .limit(opts.limit);
    const after = opts.after;
    if (after) q = q.where((eb) => eb.or([eb('l.repo', '>', after.repo), eb.and([eb('l.repo', '=', after.repo), eb('l.digest', '>', after.digest)])]));
    return (await q.execute()).map((r) => ({ repo: r.repo as RepoName, digest: r.digest as Digest }));
  }

  /** Deletes those of `links` that are still removable at `cutoff` (re-checked by the DELETE itself). */
  async deleteLinks(links: readonly ManifestKey[], cutoff: number): Promise<number> {
    const byRepo = new Map<string, Digest[]>();
    for (const l of links) byRepo.set(l.repo, [...(byRepo.get(l.repo) ?? []), l.digest]);
    let n = 0;
    for (const [repo, digests] of byRepo) {
      for (let i = 0; i < digests.length; i += IN_BATCH) {
        const res = await this.db
          .deleteFrom('repo_blobs as l')
          .where('l.repo', '=', repo)
          .where('l.digest', 'in', digests.slice(i, i + IN_BATCH))
          .where((eb) => this.linkRemovable(eb as unknown as ExpressionBuilder<DB & { l: DB['repo_blobs'] }, 'l'>, cutoff, []))
          .executeTakeFirst();
        n += Number(res.numDeletedRows);
      }
    }
    return n;
  }

  private linkRemovable(eb: ExpressionBuilder<DB & { l: DB['repo_blobs'] }, 'l'>, cutoff: number, removed: readonly ManifestKey[]): Expression<SqlBool> {
    return eb.and([
      eb.or([eb('l.touched_at', '<', cutoff), eb('l.touched_at', 'is', null)]),
      eb.not(
        eb.exists(
          eb
            .selectFrom('manifest_refs as r')
            .select('r.child')
            .whereRef('r.repo', '=', 'l.repo')
            .whereRef('r.child', '=', 'l.digest')
            .where((e) => notRemoved(e as unknown as Eb, 'r.repo', 'r.digest', removed)),
        ),
      ),
    ]);
  }

  /**
   * The subset of `digests` something still needs: a link in any repository, a reference from any
   * manifest, or an upload session committing into it. One statement, so one snapshot: a link
   * created together with the removal of its session's pin is seen as one or the other. With
   * `assumed` (dry runs), rows a real run would have removed by then do not count.
   */
  async referenced(digests: readonly Digest[], assumed?: Assumed): Promise<Set<Digest>> {
    const out = new Set<Digest>();
    for (let i = 0; i < digests.length; i += IN_BATCH) {
      const batch = digests.slice(i, i + IN_BATCH);
      let links = this.db.selectFrom('repo_blobs as l').select('l.digest as d').where('l.digest', 'in', batch);
      let refs = this.db.selectFrom('manifest_refs as r').select('r.child as d').where('r.child', 'in', batch);
      let pins = this.db.selectFrom('uploads as u').select('u.digest as d').where('u.digest', 'in', batch).$narrowType<{ d: string }>();
      if (assumed) {
        links = links.where((eb) => eb.not(this.linkRemovable(eb, assumed.linkCutoff, assumed.manifests)));
        refs = refs.where((eb) => notRemoved(eb as unknown as Eb, 'r.repo', 'r.digest', assumed.manifests));
        pins = pins.where('u.updated_at', '>=', assumed.sessionCutoff);
      }
      const rows = await links.union(refs).union(pins).execute();
      for (const r of rows) if (r.d) out.add(r.d as Digest);
    }
    return out;
  }

  /**
   * Takes the blob_locks rows of `digests` until the surrounding transaction ends: a commit
   * pinning one of them (UploadSessionStore.pin) waits, and so does a concurrent GC batch. Call
   * inside `Metadata.transaction`, then `unlockBlobs` before it commits. Rows are taken in sorted
   * order, so two batches cannot deadlock.
   */
  async lockBlobs(digests: readonly Digest[]): Promise<void> {
    const sorted = [...new Set(digests)].sort();
    for (let i = 0; i < sorted.length; i += IN_BATCH) {
      await this.db
        .insertInto('blob_locks')
        .values(sorted.slice(i, i + IN_BATCH).map((digest) => ({ digest })))
        .onConflict((oc) => oc.column('digest').doUpdateSet((eb) => ({ digest: eb.ref('excluded.digest') })))
        .execute();
    }
  }

  /** Removes the rows `lockBlobs` took (the locks themselves last until the transaction ends). */
  async unlockBlobs(digests: readonly Digest[]): Promise<void> {
    const unique = [...new Set(digests)];
    for (let i = 0; i < unique.length; i += IN_BATCH) {
      await this.db.deleteFrom('blob_locks').where('digest', 'in', unique.slice(i, i + IN_BATCH)).execute();
    }
  }

  /**
   * Removes `blob_locks` rows no session pins any more: a PostgreSQL pin leaves its digest's row
   * until the session's link removes it (UploadSessionStore), so a push killed or failed in
   * between leaves one. Only the row goes: a lock held right now is a row lock, which a committed
   * row does not carry, and rows of a batch in progress are not visible here. Returns how many.
   */
  async dropIdleBlobLocks(): Promise<number> {
    const res = await this.db
      .deleteFrom('blob_locks')
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom('uploads').select('uploads.id').whereRef('uploads.digest', '=', 'blob_locks.digest'))))
      .executeTakeFirst();
    return Number(res.numDeletedRows);
  }

  /** Upload sessions idle since before `cutoff` (a dry run's count of what the purge removes). */
  async staleSessions(cutoff: number): Promise<number> {
    const row = await this.db.selectFrom('uploads').select((eb) => eb.fn.countAll<number>().as('n')).where('updated_at', '<', cutoff).executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /** The subset of session ids that have a database row. */
  async knownSessions(ids: readonly string[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (let i = 0; i < ids.length; i += IN_BATCH) {
      const rows = await this.db.selectFrom('uploads').select('id').where('id', 'in', ids.slice(i, i + IN_BATCH)).execute();
      for (const r of rows) out.add(r.id);
    }
    return out;
  }
}
