import { type Kysely, sql } from 'kysely';
import type { DB } from './schema.ts';

/** Tables of migration 0013 (pull-through cache). */
export interface ProxyUpstreamsTable {
  owner: string;
  url: string;
  username: string | null;
  sealed_password: string | null;
  allow: string;
  deny: string;
  tag_ttl_seconds: number;
  sync: string;
  hits: number;
  misses: number;
  last_error: string | null;
  last_error_at: number | null;
  created_by: string;
  created_at: number;
  updated_at: number;
}

export interface ProxyTagChecksTable {
  repo: string;
  tag: string;
  digest: string;
  checked_at: number;
}

export type ProxyTables = { proxy_upstreams: ProxyUpstreamsTable; proxy_tag_checks: ProxyTagChecksTable };

export interface ProxyRecord {
  owner: string;
  url: string;
  username: string | null;
  /** AES-GCM sealed (lib/sealed.ts); never sent to a client. */
  sealedPassword: string | null;
  allow: string[];
  deny: string[];
  tagTtlSeconds: number;
  /** `path:tag` references the `proxy.sync` job fetches ahead of pulls. */
  sync: string[];
  hits: number;
  misses: number;
  lastError: string | null;
  lastErrorAt: number | null;
  createdBy: string;
  createdAt: number;
  updatedAt: number;
}

function record(r: ProxyUpstreamsTable): ProxyRecord {
  return {
    owner: r.owner,
    url: r.url,
    username: r.username,
    sealedPassword: r.sealed_password,
    allow: JSON.parse(r.allow) as string[],
    deny: JSON.parse(r.deny) as string[],
    tagTtlSeconds: Number(r.tag_ttl_seconds),
    sync: JSON.parse(r.sync) as string[],
    hits: Number(r.hits),
    misses: Number(r.misses),
    lastError: r.last_error,
    lastErrorAt: r.last_error_at === null ? null : Number(r.last_error_at),
    createdBy: r.created_by,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

export type ProxySettings = Pick<ProxyRecord, 'url' | 'username' | 'sealedPassword' | 'allow' | 'deny' | 'tagTtlSeconds' | 'sync'>;

/** Proxy organizations and their upstreams. */
export class ProxyStore {
  private readonly db: Kysely<DB & ProxyTables>;
  constructor(db: Kysely<DB>) {
    this.db = db.withTables<ProxyTables>();
  }

  async create(owner: string, s: ProxySettings, createdBy: string, now: number): Promise<void> {
    await this.db
      .insertInto('proxy_upstreams')
      .values({
        owner,
        url: s.url,
        username: s.username,
        sealed_password: s.sealedPassword,
        allow: JSON.stringify(s.allow),
        deny: JSON.stringify(s.deny),
        tag_ttl_seconds: s.tagTtlSeconds,
        sync: JSON.stringify(s.sync),
        hits: 0,
        misses: 0,
        last_error: null,
        last_error_at: null,
        created_by: createdBy,
        created_at: now,
        updated_at: now,
      })
      .execute();
  }

  async update(owner: string, s: ProxySettings, now: number): Promise<boolean> {
    const res = await this.db
      .updateTable('proxy_upstreams')
      .set({ url: s.url, username: s.username, sealed_password: s.sealedPassword, allow: JSON.stringify(s.allow), deny: JSON.stringify(s.deny), tag_ttl_seconds: s.tagTtlSeconds, sync: JSON.stringify(s.sync), updated_at: now })
      .where('owner', '=', owner)
      .executeTakeFirst();
    return res.numUpdatedRows > 0n;
  }

  async get(owner: string): Promise<ProxyRecord | null> {
    const r = await this.db.selectFrom('proxy_upstreams').selectAll().where('owner', '=', owner).executeTakeFirst();
    return r ? record(r) : null;
  }

  async list(): Promise<ProxyRecord[]> {
    return (await this.db.selectFrom('proxy_upstreams').selectAll().orderBy('owner').execute()).map(record);
  }

  async delete(owner: string): Promise<boolean> {
    await this.db.deleteFrom('proxy_tag_checks').where('repo', 'like', `${owner}/%`).execute();
    const res = await this.db.deleteFrom('proxy_upstreams').where('owner', '=', owner).executeTakeFirst();
    return res.numDeletedRows > 0n;
  }

  /** Adds to the hit/miss counters (one statement: concurrent replicas add, never overwrite). */
  async count(owner: string, hits: number, misses: number): Promise<void> {
    await this.db
      .updateTable('proxy_upstreams')
      .set({ hits: sql<number>`hits + ${hits}`, misses: sql<number>`misses + ${misses}` })
      .where('owner', '=', owner)
      .execute();
  }

  /** The last upstream failure (null clears nothing: errors stay until the next one replaces them). */
  async recordError(owner: string, message: string, at: number): Promise<void> {
    await this.db.updateTable('proxy_upstreams').set({ last_error: message.slice(0, 500), last_error_at: at }).where('owner', '=', owner).execute();
  }

  /** When `repo:tag` was last confirmed upstream, and the digest it had. */
  async tagCheck(repo: string, tag: string): Promise<{ digest: string; checkedAt: number } | null> {
    const r = await this.db.selectFrom('proxy_tag_checks').select(['digest', 'checked_at']).where('repo', '=', repo).where('tag', '=', tag).executeTakeFirst();
    return r ? { digest: r.digest, checkedAt: Number(r.checked_at) } : null;
  }

  async setTagCheck(repo: string, tag: string, digest: string, at: number): Promise<void> {
    await this.db
      .insertInto('proxy_tag_checks')
      .values({ repo, tag, digest, checked_at: at })
      .onConflict((oc) => oc.columns(['repo', 'tag']).doUpdateSet({ digest, checked_at: at }))
      .execute();
  }
}
