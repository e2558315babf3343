import type { Kysely } from 'kysely';
import type { DB } from './schema.ts';

/** Table of migration 0005_sessions_downloads. */
export interface SessionsTable {
  id: string;
  username: string;
  csrf: string;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
}

export type SessionTables = { sessions: SessionsTable };

export interface SessionRecord {
  /** sha256 (hex) of the cookie secret. */
  id: string;
  username: string;
  csrf: string;
  createdAt: number;
  lastSeenAt: number;
  expiresAt: number;
}

/** Web UI sign-in sessions, shared by every replica through the database. */
export class SessionStore {
  private readonly db: Kysely<DB & SessionTables>;
  constructor(db: Kysely<DB>) {
    this.db = db.withTables<SessionTables>();
  }

  async create(s: SessionRecord): Promise<void> {
    await this.db
      .insertInto('sessions')
      .values({ id: s.id, username: s.username, csrf: s.csrf, created_at: s.createdAt, last_seen_at: s.lastSeenAt, expires_at: s.expiresAt })
      .execute();
  }

  /** The live session with this id (expired ones are treated as absent). */
  async get(id: string, now: number): Promise<SessionRecord | null> {
    const r = await this.db.selectFrom('sessions').selectAll().where('id', '=', id).where('expires_at', '>', now).executeTakeFirst();
    if (!r) return null;
    return {
      id: r.id,
      username: r.username,
      csrf: r.csrf,
      createdAt: Number(r.created_at),
      lastSeenAt: Number(r.last_seen_at),
      expiresAt: Number(r.expires_at),
    };
  }

  async touch(id: string, now: number, expiresAt: number): Promise<void> {
    await this.db.updateTable('sessions').set({ last_seen_at: now, expires_at: expiresAt }).where('id', '=', id).execute();
  }

  async delete(id: string): Promise<boolean> {
    const res = await this.db.deleteFrom('sessions').where('id', '=', id).executeTakeFirst();
    return res.numDeletedRows > 0n;
  }

  async deleteAllFor(username: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('username', '=', username).execute();
  }

  async purgeExpired(now: number): Promise<void> {
    await this.db.deleteFrom('sessions').where('expires_at', '<=', now).execute();
  }
}
