/** Registry token signing keys. */
import type { Kysely } from 'kysely';
import type { DB } from './schema.ts';

export interface SigningKeyRow {
  kid: string;
  privatePem: string;
  publicJwk: string;
  createdAt: number;
  retiredAt: number | null;
}

export class SigningKeyStore {
  private readonly db: Kysely<DB>;
  constructor(db: Kysely<DB>) {
    this.db = db;
  }

  async all(): Promise<SigningKeyRow[]> {
    const rows = await this.db.selectFrom('signing_keys').selectAll().orderBy('created_at').execute();
    return rows.map((r) => ({ kid: r.kid, privatePem: r.private_pem, publicJwk: r.public_jwk, createdAt: Number(r.created_at), retiredAt: r.retired_at === null ? null : Number(r.retired_at) }));
  }

  async insert(k: SigningKeyRow): Promise<void> {
    await this.db
      .insertInto('signing_keys')
      .values({ kid: k.kid, private_pem: k.privatePem, public_jwk: k.publicJwk, created_at: k.createdAt, retired_at: k.retiredAt })
      .onConflict((oc) => oc.column('kid').doNothing())
      .execute();
  }

  async retire(kid: string, now: number): Promise<void> {
    await this.db.updateTable('signing_keys').set({ retired_at: now }).where('kid', '=', kid).execute();
  }

  async remove(kid: string): Promise<void> {
    await this.db.deleteFrom('signing_keys').where('kid', '=', kid).execute();
  }
}
