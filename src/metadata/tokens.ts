/** Personal access tokens. */
import type { Kysely } from 'kysely';
import type { TokensTable } from './accounts-schema.ts';
import type { DB } from './schema.ts';

export interface TokenRecord {
  id: string;
  kind: 'pat' | 'refresh';
  username: string;
  name: string;
  hint: string;
  scopes: string[];
  owners: string[] | null;
  packages: string[] | null;
  expiresAt: number | null;
  lastUsedAt: number | null;
  revokedAt: number | null;
  createdAt: number;
}

function toToken(r: TokensTable): TokenRecord {
  return {
    id: r.id,
    kind: r.kind,
    username: r.username,
    name: r.name,
    hint: r.hint,
    scopes: JSON.parse(r.scopes) as string[],
    owners: r.owners ? (JSON.parse(r.owners) as string[]) : null,
    packages: r.packages ? (JSON.parse(r.packages) as string[]) : null,
    expiresAt: r.expires_at === null ? null : Number(r.expires_at),
    lastUsedAt: r.last_used_at === null ? null : Number(r.last_used_at),
    revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
    createdAt: Number(r.created_at),
  };
}

/** Personal access and refresh tokens, stored only as a hash of the secret. */
export class TokenStore {
  private readonly db: Kysely<DB>;
  constructor(db: Kysely<DB>) {
    this.db = db;
  }

  async create(t: Omit<TokenRecord, 'lastUsedAt' | 'revokedAt'> & { hash: string }): Promise<void> {
    await this.db
      .insertInto('tokens')
      .values({
        id: t.id,
        kind: t.kind,
        username: t.username,
        name: t.name,
        hash: t.hash,
        hint: t.hint,
        scopes: JSON.stringify(t.scopes),
        owners: t.owners ? JSON.stringify(t.owners) : null,
        packages: t.packages ? JSON.stringify(t.packages) : null,
        expires_at: t.expiresAt,
        last_used_at: null,
        revoked_at: null,
        created_at: t.createdAt,
      })
      .execute();
  }

  async byHash(hash: string): Promise<TokenRecord | null> {
    const r = await this.db.selectFrom('tokens').selectAll().where('hash', '=', hash).executeTakeFirst();
    return r ? toToken(r) : null;
  }

  async get(id: string): Promise<TokenRecord | null> {
    const r = await this.db.selectFrom('tokens').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toToken(r) : null;
  }

  async listFor(username: string, kind: 'pat' | 'refresh' = 'pat'): Promise<TokenRecord[]> {
    const rows = await this.db.selectFrom('tokens').selectAll().where('username', '=', username).where('kind', '=', kind).orderBy('created_at', 'desc').execute();
    return rows.map(toToken);
  }

  async revoke(id: string, now: number): Promise<boolean> {
    const r = await this.db.updateTable('tokens').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
    return r.numUpdatedRows > 0n;
  }

  async revokeAllFor(username: string, kind: 'pat' | 'refresh', now: number): Promise<void> {
    await this.db.updateTable('tokens').set({ revoked_at: now }).where('username', '=', username).where('kind', '=', kind).where('revoked_at', 'is', null).execute();
  }

  async touch(id: string, now: number): Promise<void> {
    await this.db.updateTable('tokens').set({ last_used_at: now }).where('id', '=', id).execute();
  }
}
