/** Sign-in throttling: failure counters per account and address, and known addresses. */
import { type Kysely, sql } from 'kysely';
import type { DB } from './schema.ts';

export interface FailureCount {
  count: number;
  /** When the counter's window ends. */
  resetAt: number;
  /** The latest failure (0 when none). */
  lastAt: number;
}

/** Fixed-window failure counters shared by every replica (they live in the database). */
export class LoginFailureStore {
  private readonly db: Kysely<DB>;
  constructor(db: Kysely<DB>) {
    this.db = db;
  }

  /** The counters of `keys` (absent or expired ones count zero). */
  async getMany(keys: readonly string[], now: number, windowMs: number): Promise<Map<string, FailureCount>> {
    const out = new Map<string, FailureCount>();
    for (const k of keys) out.set(k, { count: 0, resetAt: now + windowMs, lastAt: 0 });
    if (keys.length === 0) return out;
    const rows = await this.db.selectFrom('login_failures').selectAll().where('key', 'in', [...keys]).execute();
    for (const r of rows) {
      if (Number(r.window_start) + windowMs <= now) continue;
      out.set(r.key, { count: Number(r.count), resetAt: Number(r.window_start) + windowMs, lastAt: Number(r.last_at ?? 0) });
    }
    return out;
  }

  async get(key: string, now: number, windowMs: number): Promise<FailureCount> {
    return (await this.getMany([key], now, windowMs)).get(key) ?? { count: 0, resetAt: now + windowMs, lastAt: 0 };
  }

  /** Counts one failure, atomically (concurrent failures are all counted), starting a new window when the old one ended. */
  async bump(key: string, now: number, windowMs: number): Promise<void> {
    const expired = sql<boolean>`login_failures.window_start + ${windowMs} <= ${now}`;
    await this.db
      .insertInto('login_failures')
      .values({ key, window_start: now, count: 1, last_at: now })
      .onConflict((oc) =>
        oc.column('key').doUpdateSet({
          count: sql<number>`case when ${expired} then 1 else login_failures.count + 1 end`,
          window_start: sql<number>`case when ${expired} then ${now} else login_failures.window_start end`,
          last_at: now,
        }),
      )
      .execute();
  }

  async reset(key: string): Promise<void> {
    await this.db.deleteFrom('login_failures').where('key', '=', key).execute();
  }
}

/** Addresses each account signed in from: their failures slow down instead of locking out. */
export class KnownAddressStore {
  private readonly db: Kysely<DB>;
  constructor(db: Kysely<DB>) {
    this.db = db;
  }

  async isKnown(username: string, address: string, since: number): Promise<boolean> {
    const r = await this.db
      .selectFrom('login_known_addresses')
      .select('address')
      .where('username', '=', username)
      .where('address', '=', address)
      .where('last_success_at', '>=', since)
      .executeTakeFirst();
    return r !== undefined;
  }

  /** Records a successful sign-in; keeps the `keep` most recent addresses of the account. */
  async remember(username: string, address: string, now: number, keep: number): Promise<void> {
    await this.db
      .insertInto('login_known_addresses')
      .values({ username, address, last_success_at: now })
      .onConflict((oc) => oc.columns(['username', 'address']).doUpdateSet({ last_success_at: now }))
      .execute();
    const recent = this.db
      .selectFrom('login_known_addresses')
      .select('address')
      .where('username', '=', username)
      .orderBy('last_success_at', 'desc')
      .limit(keep);
    await this.db.deleteFrom('login_known_addresses').where('username', '=', username).where('address', 'not in', recent).execute();
  }
}
