import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { ColumnTypes } from './types.ts';

/**
 * Accounts and access: users and organizations (one namespace of owners), teams, memberships,
 * package visibility and grants, personal access and refresh tokens, trusted CI issuers,
 * token signing keys, the audit log and failed-login counters.
 */
export function accounts(t: ColumnTypes): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('accounts')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('email', 'text')
        .addColumn('password_hash', 'text')
        .addColumn('is_admin', t.int, (c) => c.notNull().defaultTo(0))
        .addColumn('default_visibility', 'text', (c) => c.notNull().defaultTo('private'))
        .addColumn('disabled', t.int, (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', t.int, (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('org_members')
        .addColumn('org', 'text', (c) => c.notNull())
        .addColumn('username', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('org_members_pk', ['org', 'username'])
        .execute();
      await db.schema.createIndex('org_members_user').on('org_members').column('username').execute();

      await db.schema
        .createTable('teams')
        .addColumn('org', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('created_at', t.int, (c) => c.notNull())
        .addPrimaryKeyConstraint('teams_pk', ['org', 'name'])
        .execute();

      await db.schema
        .createTable('team_members')
        .addColumn('org', 'text', (c) => c.notNull())
        .addColumn('team', 'text', (c) => c.notNull())
        .addColumn('username', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('team_members_pk', ['org', 'team', 'username'])
        .execute();
      await db.schema.createIndex('team_members_user').on('team_members').column('username').execute();

      // Package settings live on the repository row: a package is a repository.
      await db.schema.alterTable('repositories').addColumn('visibility', 'text', (c) => c.notNull().defaultTo('private')).execute();
      await db.schema.alterTable('repositories').addColumn('source', 'text').execute();
      await db.schema.alterTable('repositories').addColumn('created_by', 'text').execute();

      await db.schema
        .createTable('grants')
        .addColumn('repo', 'text', (c) => c.notNull())
        .addColumn('subject_kind', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('created_at', t.int, (c) => c.notNull())
        .addPrimaryKeyConstraint('grants_pk', ['repo', 'subject_kind', 'subject'])
        .execute();

      await db.schema
        .createTable('tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('username', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull().unique())
        .addColumn('hint', 'text', (c) => c.notNull())
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('owners', 'text')
        .addColumn('packages', 'text')
        .addColumn('expires_at', t.int)
        .addColumn('last_used_at', t.int)
        .addColumn('revoked_at', t.int)
        .addColumn('created_at', t.int, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('tokens_user').on('tokens').columns(['username', 'kind']).execute();

      await db.schema
        .createTable('ci_trusts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('owner', 'text', (c) => c.notNull())
        .addColumn('repo', 'text')
        .addColumn('issuer', 'text', (c) => c.notNull())
        .addColumn('audience', 'text', (c) => c.notNull())
        .addColumn('conditions', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('created_at', t.int, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('ci_trusts_issuer').on('ci_trusts').column('issuer').execute();

      await db.schema
        .createTable('signing_keys')
        .addColumn('kid', 'text', (c) => c.primaryKey())
        .addColumn('private_pem', 'text', (c) => c.notNull())
        .addColumn('public_jwk', 'text', (c) => c.notNull())
        .addColumn('created_at', t.int, (c) => c.notNull())
        .addColumn('retired_at', t.int)
        .execute();

      await db.schema
        .createTable('audit_log')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('at', t.int, (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('detail', 'text')
        .addColumn('address', 'text')
        .execute();
      await db.schema.createIndex('audit_log_at').on('audit_log').column('at').execute();

      await db.schema
        .createTable('login_failures')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('window_start', t.int, (c) => c.notNull())
        .addColumn('count', t.int, (c) => c.notNull())
        .execute();
    },
  };
}
