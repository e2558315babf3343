import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { ColumnTypes } from './types.ts';

/**
 * Sign-in with an OpenID provider (docs/adr/0021-oidc-sign-in.md): the link from a provider's
 * account (issuer + subject, never the email, which can change hands) to a Wharf user, and the
 * sign-ins in flight (state → PKCE verifier, nonce, where to go next) in the database so the
 * provider's callback may land on any replica.
 */
export function oidcSignIn(t: ColumnTypes): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('oidc_identities')
        .addColumn('issuer', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('username', 'text', (c) => c.notNull())
        .addColumn('created_at', t.int, (c) => c.notNull())
        .addColumn('last_sign_in_at', t.int, (c) => c.notNull())
        .addPrimaryKeyConstraint('oidc_identities_pk', ['issuer', 'subject'])
        .execute();
      await db.schema.createIndex('oidc_identities_user').on('oidc_identities').column('username').execute();
      await db.schema
        .createTable('oidc_logins')
        // sha256 of the state: the database never holds a value that completes a sign-in.
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('code_verifier', 'text', (c) => c.notNull())
        .addColumn('nonce', 'text', (c) => c.notNull())
        .addColumn('next', 'text', (c) => c.notNull())
        .addColumn('expires_at', t.int, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('oidc_logins_expires').on('oidc_logins').column('expires_at').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('oidc_logins').execute();
      await db.schema.dropTable('oidc_identities').execute();
    },
  };
}
