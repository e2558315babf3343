import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { ColumnTypes } from './types.ts';

/**
 * Webhooks and richer audit rows (docs/adr/0016-webhooks-and-audit.md):
 * - `webhooks`: a receiver registered on an owner (repo null) or one package;
 * - `webhook_deliveries`: the outbox. A row is written in the same transaction as the change it
 *   reports, then claimed (`claimed_until`) and sent by whichever process gets it first;
 * - `audit_log` gains who (kind, token), from where (user agent), about whom (owner) and how it ended.
 */
export function webhooksAudit(t: ColumnTypes): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('webhooks')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('owner', 'text', (c) => c.notNull())
        .addColumn('repo', 'text')
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('secret', 'text', (c) => c.notNull())
        .addColumn('events', 'text', (c) => c.notNull())
        .addColumn('active', t.int, (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', t.int, (c) => c.notNull())
        .addColumn('updated_at', t.int, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('webhooks_owner').on('webhooks').columns(['owner', 'repo']).execute();

      await db.schema
        .createTable('webhook_deliveries')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('webhook_id', 'text', (c) => c.notNull())
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('event', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempts', t.int, (c) => c.notNull())
        .addColumn('next_attempt_at', t.int, (c) => c.notNull())
        .addColumn('claimed_until', t.int, (c) => c.notNull())
        .addColumn('claimed_by', 'text')
        .addColumn('created_at', t.int, (c) => c.notNull())
        .addColumn('finished_at', t.int)
        .addColumn('response_status', t.int)
        .addColumn('response_excerpt', 'text')
        .addColumn('latency_ms', t.int)
        .addColumn('error', 'text')
        .addColumn('redelivery_of', 'text')
        .execute();
      await db.schema.createIndex('webhook_deliveries_due').on('webhook_deliveries').columns(['status', 'next_attempt_at']).execute();
      await db.schema.createIndex('webhook_deliveries_hook').on('webhook_deliveries').columns(['webhook_id', 'created_at']).execute();

      await db.schema.alterTable('audit_log').addColumn('actor_kind', 'text').execute();
      await db.schema.alterTable('audit_log').addColumn('token_id', 'text').execute();
      await db.schema.alterTable('audit_log').addColumn('user_agent', 'text').execute();
      await db.schema.alterTable('audit_log').addColumn('owner', 'text').execute();
      await db.schema.alterTable('audit_log').addColumn('outcome', 'text').execute();
      await db.schema.createIndex('audit_log_owner_at').on('audit_log').columns(['owner', 'at']).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropIndex('audit_log_owner_at').execute();
      for (const c of ['outcome', 'owner', 'user_agent', 'token_id', 'actor_kind']) await db.schema.alterTable('audit_log').dropColumn(c).execute();
      await db.schema.dropTable('webhook_deliveries').execute();
      await db.schema.dropTable('webhooks').execute();
    },
  };
}
