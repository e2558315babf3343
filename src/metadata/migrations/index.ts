import { type Kysely, sql } from 'kysely';
import { type Migration, type MigrationProvider, Migrator } from 'kysely/migration';
import { registryCore } from './0001_registry_core.ts';
import { charts } from './0002_charts.ts';
import { accounts } from './0003_accounts.ts';
import { sessionsDownloads } from './0005_sessions_downloads.ts';
import { tagVersion } from './0006_tag_version.ts';
import { jobs } from './0007_jobs.ts';
import { trash } from './0009_trash.ts';
import { gc } from './0008_gc.ts';
import { loginThrottle } from './0010_login_throttle.ts';
import { webhooksAudit } from './0011_webhooks_audit.ts';
import { policies } from './0012_policies.ts';
import { proxy } from './0013_proxy.ts';
import { oidcSignIn } from './0014_oidc_sign_in.ts';
import { settings } from './0015_settings.ts';
import { columnTypes, type DialectKind } from './types.ts';

export type { DialectKind } from './types.ts';

/**
 * Every migration, in order. Migrations live in code so the server carries them; each is
 * append-only once released, and runs on SQLite and PostgreSQL alike. One file per migration,
 * numbered; add new ones at the end.
 */
export function migrations(dialect: DialectKind): Record<string, Migration> {
  const t = columnTypes(dialect);
  return {
    '0001_registry_core': registryCore(t),
    '0002_charts': charts(t),
    '0003_accounts': accounts(t),
    '0005_sessions_downloads': sessionsDownloads(t),
    '0006_tag_version': tagVersion(t),
    '0007_jobs': jobs(t),
    '0009_trash': trash(t),
    '0008_gc': gc(t),
    '0010_login_throttle': loginThrottle(t),
    '0011_webhooks_audit': webhooksAudit(t),
    '0012_policies': policies(t),
    '0013_proxy': proxy(t),
    '0014_oidc_sign_in': oidcSignIn(t),
    '0015_settings': settings(t),
  };
}

class InCodeProvider implements MigrationProvider {
  private readonly all: Record<string, Migration>;
  constructor(all: Record<string, Migration>) {
    this.all = all;
  }
  async getMigrations(): Promise<Record<string, Migration>> {
    return this.all;
  }
}

export async function migrateToLatest(db: Kysely<unknown>, dialect: DialectKind): Promise<string[]> {
  // On PostgreSQL, pin Kysely's bookkeeping tables to the schema we migrate: unpinned, it takes a
  // kysely_migration table in ANY schema of the database (another app's, another Wharf's) as ours.
  const schema = dialect === 'postgres' ? (await sql<{ s: string }>`select current_schema() as s`.execute(db)).rows[0]?.s : undefined;
  // Features are developed in parallel, so numbers may land out of order; each is independent.
  const migrator = new Migrator({
    db,
    provider: new InCodeProvider(migrations(dialect)),
    allowUnorderedMigrations: true,
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error('migration failed', { cause: error });
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
