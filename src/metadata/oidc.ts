/** Sign-in with an OpenID provider: identity links and sign-ins in flight (migration 0014). */
import type { Kysely } from 'kysely';
import type { DB } from './schema.ts';

export interface OidcIdentitiesTable {
  issuer: string;
  subject: string;
  username: string;
  created_at: number;
  last_sign_in_at: number;
}

export interface OidcLoginsTable {
  id: string;
  code_verifier: string;
  nonce: string;
  next: string;
  expires_at: number;
}

export type OidcTables = { oidc_identities: OidcIdentitiesTable; oidc_logins: OidcLoginsTable };

export interface OidcLogin {
  /** sha256 (hex) of the state sent to the provider. */
  id: string;
  codeVerifier: string;
  nonce: string;
  next: string;
  expiresAt: number;
}

export class OidcStore {
  private readonly db: Kysely<DB & OidcTables>;
  constructor(db: Kysely<DB>) {
    this.db = db.withTables<OidcTables>();
  }

  /** The Wharf user linked to a provider's account, or null. */
  async linkedUser(issuer: string, subject: string): Promise<string | null> {
    const r = await this.db.selectFrom('oidc_identities').select('username').where('issuer', '=', issuer).where('subject', '=', subject).executeTakeFirst();
    return r?.username ?? null;
  }

  /** Links a provider's account to a user; false when it is linked already (a concurrent sign-in won). */
  async link(issuer: string, subject: string, username: string, now: number): Promise<boolean> {
    const r = await this.db
      .insertInto('oidc_identities')
      .values({ issuer, subject, username, created_at: now, last_sign_in_at: now })
      .onConflict((oc) => oc.columns(['issuer', 'subject']).doNothing())
      .executeTakeFirst();
    return (r.numInsertedOrUpdatedRows ?? 0n) > 0n;
  }

  async touch(issuer: string, subject: string, now: number): Promise<void> {
    await this.db.updateTable('oidc_identities').set({ last_sign_in_at: now }).where('issuer', '=', issuer).where('subject', '=', subject).execute();
  }

  async unlinkUser(username: string): Promise<void> {
    await this.db.deleteFrom('oidc_identities').where('username', '=', username).execute();
  }

  async startLogin(l: OidcLogin): Promise<void> {
    await this.db.deleteFrom('oidc_logins').where('expires_at', '<=', l.expiresAt - 3_600_000).execute();
    await this.db.insertInto('oidc_logins').values({ id: l.id, code_verifier: l.codeVerifier, nonce: l.nonce, next: l.next, expires_at: l.expiresAt }).execute();
  }

  /** Takes a sign-in in flight (single use: a replayed callback finds nothing), or null when unknown or expired. */
  async takeLogin(id: string, now: number): Promise<OidcLogin | null> {
    const r = await this.db.deleteFrom('oidc_logins').where('id', '=', id).returningAll().executeTakeFirst();
    if (!r || Number(r.expires_at) <= now) return null;
    return { id: r.id, codeVerifier: r.code_verifier, nonce: r.nonce, next: r.next, expiresAt: Number(r.expires_at) };
  }
}
