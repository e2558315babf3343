/**
 * Removes a user and every row that names them, in the caller's transaction. The service checks
 * first that they own no packages (ADR 0021's delete rule, see AccountService.deleteUser): package rows,
 * tags and blobs are never removed here.
 */
import { type Kysely, sql } from 'kysely';
import type { DB } from './schema.ts';

/** Tables with a column naming the user (directly, or as an owner of settings without packages). */
const USER_COLUMNS: readonly (readonly [table: string, column: string])[] = [
  ['sessions', 'username'],
  ['tokens', 'username'],
  ['team_members', 'username'],
  ['org_members', 'username'],
  ['oidc_identities', 'username'],
  ['login_known_addresses', 'username'],
  // Owner-level settings of the user's own namespace (no packages are left in it).
  ['ci_trusts', 'owner'],
  ['webhooks', 'owner'],
  ['policies', 'owner'],
  ['owner_quotas', 'owner'],
  ['owner_usage', 'owner'],
  ['owner_blobs', 'owner'],
];

export async function deleteUserRows(db: Kysely<DB>, username: string): Promise<void> {
  await sql`delete from webhook_deliveries where webhook_id in (select id from webhooks where owner = ${username})`.execute(db);
  for (const [table, column] of USER_COLUMNS) {
    await sql`delete from ${sql.table(table)} where ${sql.ref(column)} = ${username}`.execute(db);
  }
  await sql`delete from grants where subject_kind = 'user' and subject = ${username}`.execute(db);
  await sql`delete from accounts where name = ${username} and kind = 'user'`.execute(db);
}

/** Packages (trashed ones too: they can be restored, and would come back under a reused name) owned by `owner`. */
export async function packagesOwnedBy(db: Kysely<DB>, owner: string): Promise<number> {
  const r = await sql<{ n: number | string }>`select count(*) as n from repositories where owner = ${owner}`.execute(db);
  return Number(r.rows[0]?.n ?? 0);
}
