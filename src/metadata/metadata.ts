import { setTimeout as sleep } from 'node:timers/promises';
import { Kysely } from 'kysely';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { type DialectKind, migrateToLatest } from './migrations/index.ts';
import { AccessFactStore } from './access-facts.ts';
import { AccountStore, MembershipStore } from './accounts.ts';
import { AuditStore } from './audit.ts';
import { SettingsStore } from './settings.ts';
import { KnownAddressStore, LoginFailureStore } from './login-throttle.ts';
import { PackageStore } from './packages.ts';
import { SigningKeyStore } from './signing-keys.ts';
import { TokenStore } from './tokens.ts';
import { TrustStore } from './trusts.ts';
import { BlobLinkStore, ManifestStore, TagStore, UploadSessionStore } from './registry.ts';
import { ChartStore } from './charts.ts';
import { DownloadStore } from './downloads.ts';
import { JobRunStore, LeaseStore } from './jobs.ts';
import { GcStore } from './gc.ts';
import { PackageViewStore } from './package-views.ts';
import { PolicyStore } from './policies.ts';
import { ProxyStore } from './proxies.ts';
import { QuotaStore } from './quotas.ts';
import { SessionStore } from './sessions.ts';
import { OidcStore } from './oidc.ts';
import { TrashStore } from './trash.ts';
import { UsageStore } from './usage.ts';
import { DeliveryStore, WebhookStore } from './webhooks.ts';
import type { DB } from './schema.ts';
import { instrumentDialect, type QueryObserver } from './instrumented-dialect.ts';
import { NodeSqliteDialect } from './sqlite-dialect.ts';
import { withConstraintErrors } from './constraints.ts';

/** PostgreSQL's SQLSTATE for a transaction chosen to break a deadlock. */
const PG_DEADLOCK = '40P01';
const DEADLOCK_ATTEMPTS = 4;

/** All metadata stores bound to one Kysely handle (the database, or a transaction). */
export class Metadata {
  readonly blobLinks: BlobLinkStore;
  readonly manifests: ManifestStore;
  readonly tags: TagStore;
  readonly uploads: UploadSessionStore;
  readonly accounts: AccountStore;
  readonly memberships: MembershipStore;
  readonly packages: PackageStore;
  readonly accessFacts: AccessFactStore;
  readonly tokens: TokenStore;
  readonly trusts: TrustStore;
  readonly signingKeys: SigningKeyStore;
  readonly audit: AuditStore;
  readonly loginFailures: LoginFailureStore;
  readonly knownAddresses: KnownAddressStore;
  readonly charts: ChartStore;
  readonly sessions: SessionStore;
  readonly oidc: OidcStore;
  readonly downloads: DownloadStore;
  readonly packageViews: PackageViewStore;
  readonly leases: LeaseStore;
  readonly jobRuns: JobRunStore;
  readonly trash: TrashStore;
  readonly usage: UsageStore;
  readonly gc: GcStore;
  readonly policies: PolicyStore;
  readonly quotas: QuotaStore;
  readonly webhooks: WebhookStore;
  readonly deliveries: DeliveryStore;
  readonly proxies: ProxyStore;
  /** Instance settings overridden at run time (migration 0015). */
  readonly settings: SettingsStore;
  readonly db: Kysely<DB>;
  readonly dialect: DialectKind;

  constructor(db: Kysely<DB>, dialect: DialectKind) {
    this.db = db;
    this.dialect = dialect;
    this.blobLinks = new BlobLinkStore(db);
    this.manifests = new ManifestStore(db, { rowLocks: dialect === 'postgres' });
    this.tags = new TagStore(db);
    this.uploads = new UploadSessionStore(db, { rowLocks: dialect === 'postgres' });
    this.accounts = new AccountStore(db, dialect);
    this.memberships = new MembershipStore(db, dialect);
    this.packages = new PackageStore(db);
    this.accessFacts = new AccessFactStore(db, dialect);
    this.tokens = new TokenStore(db);
    this.trusts = new TrustStore(db);
    this.signingKeys = new SigningKeyStore(db);
    this.audit = new AuditStore(db);
    this.loginFailures = new LoginFailureStore(db);
    this.knownAddresses = new KnownAddressStore(db);
    this.charts = new ChartStore(db);
    this.sessions = new SessionStore(db);
    this.oidc = new OidcStore(db);
    this.downloads = new DownloadStore(db);
    this.packageViews = new PackageViewStore(db);
    this.leases = new LeaseStore(db);
    this.jobRuns = new JobRunStore(db);
    this.trash = new TrashStore(db);
    this.usage = new UsageStore(db);
    this.gc = new GcStore(db);
    this.policies = new PolicyStore(db);
    this.quotas = new QuotaStore(db, { rowLocks: dialect === 'postgres' });
    this.webhooks = new WebhookStore(db);
    this.deliveries = new DeliveryStore(db, { rowLocks: dialect === 'postgres' });
    this.proxies = new ProxyStore(db);
    this.settings = new SettingsStore(db);
  }

  /**
   * Runs `fn` in one transaction. PostgreSQL may break a lock cycle between concurrent writers of
   * one owner (a push, a delete, a GC batch, each holding rows the other needs) by failing one of
   * them with "deadlock detected"; that transaction rolled back whole, so it is run again, a few
   * times with a short random pause, instead of answering 500. Anything `fn` does outside the
   * database must therefore be safe to repeat (it is: content-addressed writes and deletes).
   */
  async transaction<T>(fn: (m: Metadata) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.db.transaction().execute((trx) => fn(new Metadata(trx, this.dialect)));
      } catch (err) {
        if (attempt >= DEADLOCK_ATTEMPTS || (err as { code?: unknown }).code !== PG_DEADLOCK) throw err;
        await sleep(Math.random() * 20 * attempt);
      }
    }
  }

  async migrate(): Promise<string[]> {
    return migrateToLatest(this.db as unknown as Kysely<unknown>, this.dialect);
  }

  async ping(): Promise<void> {
    await this.db.selectFrom('repositories').select('name').limit(1).execute();
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}

export function openSqlite(path: string, opts: { observe?: QueryObserver | undefined } = {}): Metadata {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  // Timing wraps the driver's own connections, under the constraint mapping, so transaction
  // control (which the mapping forwards to the unwrapped connection) is timed too.
  const base = new NodeSqliteDialect(path);
  const dialect = withConstraintErrors(opts.observe ? instrumentDialect(base, opts.observe) : base);
  return new Metadata(new Kysely<DB>({ dialect }), 'sqlite');
}
