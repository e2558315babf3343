import type { Logger } from 'pino';
import { KeyRing } from '../auth/keyring.ts';
import { type Fetch, OidcVerifier } from '../auth/oidc.ts';
import { generatePassword, hashPassword } from '../auth/passwords.ts';
import type { Config } from '../config/schema.ts';
import type { Metadata } from '../metadata/metadata.ts';
import { AccountService } from './accounts.ts';
import { type AuthMetrics, AuthnService } from './authn.ts';
import { AuthzService } from './authz.ts';
import { PersonalTokenService } from './personal-tokens.ts';
import { RegistryTokenService } from './registry-tokens.ts';

export interface AccessServices {
  keys: KeyRing;
  authn: AuthnService;
  authz: AuthzService;
  tokens: RegistryTokenService;
  accounts: AccountService;
  personalTokens: PersonalTokenService;
}

/** Builds the authentication and authorization services from config (called by main.ts). */
export async function createAccessServices(
  config: Config,
  deps: { metadata: Metadata; clock: () => number; log: Logger; fetch?: Fetch; metrics?: AuthMetrics },
): Promise<AccessServices> {
  const { metadata, clock, log } = deps;
  const keys = new KeyRing(metadata, clock);
  await keys.load();
  const oidc = new OidcVerifier({ fetch: deps.fetch ?? ((url, init) => fetch(url, init)), clock });
  const authn = new AuthnService({
    metadata,
    clock,
    log,
    oidc,
    allowInsecureIssuers: config.auth.oidc.allowInsecureIssuers,
    rateLimit: config.auth.loginRateLimit,
    credentialCacheSeconds: config.auth.credentialCacheSeconds,
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
  });
  const authz = new AuthzService({ metadata, clock, defaultVisibility: config.auth.defaultVisibility, enabled: config.auth.enabled });
  const tokens = new RegistryTokenService({
    metadata,
    keys,
    authn,
    authz,
    clock,
    ttlSeconds: config.auth.tokenTtlSeconds,
    ciTtlSeconds: config.auth.ciTokenTtlSeconds,
    refreshTtlDays: config.auth.refreshTokenTtlDays,
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
  });
  const accounts = new AccountService({ metadata, clock });
  const personalTokens = new PersonalTokenService({ metadata, clock, authz });
  return { keys, authn, authz, tokens, accounts, personalTokens };
}

/**
 * On the very first start (no accounts at all) creates the site admin. Its password comes from
 * config (`auth.admin.password`, or WHARF_AUTH__ADMIN__PASSWORD[_FILE]); otherwise one is
 * generated and printed once on stderr — it is never logged again.
 */
export async function ensureAdmin(config: Config, metadata: Metadata, clock: () => number, log: Logger): Promise<void> {
  if ((await metadata.accounts.count()) > 0) return;
  const { username, email } = config.auth.admin;
  const generated = config.auth.admin.password === undefined;
  const password = config.auth.admin.password ?? generatePassword();
  // Replicas starting together on a new database race here; the first one wins.
  if (!(await metadata.accounts.create({ name: username, kind: 'user', email: email ?? null, passwordHash: await hashPassword(password), isAdmin: true, now: clock() }))) return;
  await metadata.audit.append({ at: clock(), actor: 'system', action: 'user.create', target: username, detail: { admin: true }, address: null });
  log.info({ username }, 'created admin account');
  if (generated) {
    process.stderr.write(`\n  Wharf admin account created: username "${username}", password "${password}"\n  (shown once; change it with: wharf user passwd ${username})\n\n`);
  }
}
