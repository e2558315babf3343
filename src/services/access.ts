import type { Logger } from 'pino';
import { KeyRing } from '../auth/keyring.ts';
import type { Visibility } from '../auth/vocabulary.ts';
import { type Fetch, OidcVerifier } from '../auth/oidc.ts';
import { generatePassword, hashPassword } from '../auth/passwords.ts';
import type { Metadata } from '../metadata/metadata.ts';
import { AccountService } from './accounts.ts';
import { type AuthMetrics, AuthnService, type LoginRateLimit } from './authn.ts';
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

/**
 * The settings access is built from: the config's `auth` section, which main.ts passes in
 * (services take what they use, not the config schema).
 */
export interface AccessSettings {
  enabled: boolean;
  oidc: { allowInsecureIssuers: boolean };
  loginRateLimit: LoginRateLimit;
  credentialCacheSeconds: number;
  /** The three lifetimes are read at each issue: main.ts passes getters for the run-time settings (ADR 0025). */
  tokenTtlSeconds: number;
  ciTokenTtlSeconds: number;
  refreshTokenTtlDays: number;
  admin: { username: string; email?: string | undefined; password?: string | undefined };
  /** Read at each use: main.ts passes a getter for the run-time setting (ADR 0025). */
  defaultVisibility?: Visibility;
}

/** Builds the authentication and authorization services from the auth settings (called by main.ts). */
export async function createAccessServices(
  auth: AccessSettings,
  deps: { metadata: Metadata; clock: () => number; log: Logger; fetch?: Fetch; metrics?: AuthMetrics },
): Promise<AccessServices> {
  const { metadata, clock, log } = deps;
  const keys = new KeyRing(metadata.signingKeys, clock);
  await keys.load();
  const oidc = new OidcVerifier({ fetch: deps.fetch ?? ((url, init) => fetch(url, init)), clock });
  const authn = new AuthnService({
    metadata,
    clock,
    log,
    oidc,
    allowInsecureIssuers: auth.oidc.allowInsecureIssuers,
    rateLimit: auth.loginRateLimit,
    credentialCacheSeconds: auth.credentialCacheSeconds,
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
  });
  const authz = new AuthzService({ metadata, enabled: auth.enabled });
  const tokens = new RegistryTokenService({
    metadata,
    keys,
    authn,
    authz,
    clock,
    // Read at each issue, so a lifetime changed at run time applies to the next token (tokens
    // already issued keep their own exp).
    lifetimes: () => ({ ttlSeconds: auth.tokenTtlSeconds, ciTtlSeconds: auth.ciTokenTtlSeconds, refreshTtlDays: auth.refreshTokenTtlDays }),
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
  });
  const accounts = new AccountService({ metadata, clock, siteDefaultVisibility: () => auth.defaultVisibility ?? 'private' });
  const personalTokens = new PersonalTokenService({ metadata, clock, authz });
  return { keys, authn, authz, tokens, accounts, personalTokens };
}

/**
 * On the very first start (no accounts at all) creates the site admin. Its password comes from
 * config (`auth.admin.password`, or WHARF_AUTH__ADMIN__PASSWORD[_FILE]); otherwise one is
 * generated and printed once on stderr — it is never logged again.
 */
export async function ensureAdmin(auth: AccessSettings, metadata: Metadata, clock: () => number, log: Logger): Promise<void> {
  if ((await metadata.accounts.count()) > 0) return;
  const { username, email } = auth.admin;
  const generated = auth.admin.password === undefined;
  const password = auth.admin.password ?? generatePassword();
  // Replicas starting together on a new database race here; the first one wins.
  if (!(await metadata.accounts.create({ name: username, kind: 'user', email: email ?? null, passwordHash: await hashPassword(password), isAdmin: true, now: clock() }))) return;
  await metadata.audit.append({ at: clock(), actor: 'system', action: 'user.create', target: username, detail: { admin: true }, address: null });
  log.info({ username }, 'created admin account');
  if (generated) {
    process.stderr.write(`\n  Wharf admin account created: username "${username}", password "${password}"\n  (shown once; change it with: wharf user passwd ${username})\n\n`);
  }
}
