import { type Kysely, sql } from 'kysely';
import type { DB } from './schema.ts';

/** Table of migration 0005_sessions_downloads. */
export interface DownloadsTable {
  repo: string;
  digest: string;
  /** Days since the Unix epoch (UTC). */
  day: number;
  count: number;
}

export type DownloadTables = { downloads: DownloadsTable };

export const DAY_MS = 86_400_000;

export function dayOf(ms: number): number {
  return Math.floor(ms / DAY_MS);
}

/** Per-day pull counters of manifests. */
export class DownloadStore {
  private readonly db: Kysely<DB & DownloadTables>;
  constructor(db: Kysely<DB>) {
    this.db = db.withTables<DownloadTables>();
  }

  /** `n` more pulls of `digest` through `repo` on `day`; atomic under concurrent writers. */
  async bump(repo: string, digest: string, day: number, n = 1): Promise<void> {
    await this.db
      .insertInto('downloads')
      .values({ repo, digest, day, count: n })
      .onConflict((oc) => oc.columns(['repo', 'digest', 'day']).doUpdateSet({ count: sql<number>`downloads.count + ${n}` }))
      .execute();
  }

  /** All-time pulls per digest of each repository. */
  async totals(repos: readonly string[]): Promise<Map<string, Map<string, number>>> {
    const out = new Map<string, Map<string, number>>();
    if (repos.length === 0) return out;
    const rows = await this.db
      .selectFrom('downloads')
      .select(['repo', 'digest', sql<number>`sum(count)`.as('total')])
      .where('repo', 'in', [...new Set(repos)])
      .groupBy(['repo', 'digest'])
      .execute();
    for (const r of rows) {
      const m = out.get(r.repo) ?? new Map<string, number>();
      m.set(r.digest, Number(r.total));
      out.set(r.repo, m);
    }
    return out;
  }

  /** Pulls of `repo` per day and digest, for days >= `fromDay`. */
  async daily(repo: string, fromDay: number): Promise<{ day: number; digest: string; count: number }[]> {
    const rows = await this.db.selectFrom('downloads').select(['day', 'digest', 'count']).where('repo', '=', repo).where('day', '>=', fromDay).execute();
    return rows.map((r) => ({ day: Number(r.day), digest: r.digest, count: Number(r.count) }));
  }

  async deleteRepo(repo: string): Promise<void> {
    await this.db.deleteFrom('downloads').where('repo', '=', repo).execute();
  }
}
