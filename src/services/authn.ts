import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { looksLikeJwt } from '../auth/jwt.ts';
import { claimMatches, OidcError, OidcVerifier } from '../auth/oidc.ts';
import { DUMMY_HASH, verifyPassword } from '../auth/passwords.ts';
import { actionsOfScopes } from '../auth/policy.ts';
import type { CiGrant, Principal } from '../auth/principal.ts';
import { hashSecret, looksLikeSecret, PAT_PREFIX } from '../auth/secrets.ts';
import { RegistryError } from '../errors.ts';
import type { AuthFailureReason } from '../lib/metrics.ts';
import type { Metadata } from '../metadata/metadata.ts';

/** Counts refused credentials by reason (lib/metrics.ts implements it). */
export interface AuthMetrics {
  authFailure(reason: AuthFailureReason): void;
}

/** Sign-in throttling (config `auth.loginRateLimit`): per account and address, then per account, then per address. */
export interface LoginRateLimit {
  windowSeconds: number;
  perAccountAddress: number;
  knownAddressMaxDelaySeconds: number;
  perAccount: number;
  perAddress: number;
}

export interface AuthnDeps {
  metadata: Metadata;
  clock: () => number;
  log: Logger;
  oidc: OidcVerifier;
  allowInsecureIssuers: boolean;
  rateLimit: LoginRateLimit;
  credentialCacheSeconds: number;
  metrics?: AuthMetrics;
}

function unauthorized(message = 'authentication required'): RegistryError {
  return new RegistryError('UNAUTHORIZED', message);
}

/** Runs `fn`, counting an UNAUTHORIZED it throws as a failure for `reason`. */
export async function countingFailures<T>(metrics: AuthMetrics | undefined, reason: AuthFailureReason, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (metrics && err instanceof RegistryError && err.code === 'UNAUTHORIZED') metrics.authFailure(reason);
    throw err;
  }
}

/** How long an address stays "known" to an account after a successful sign-in from it. */
const KNOWN_FOR_MS = 90 * 86_400_000;
const KNOWN_PER_ACCOUNT = 20;

/**
 * The address a throttle counts: IPv4 as is, IPv6 by its /64 (one host usually holds a whole
 * /64, so counting single IPv6 addresses would count nothing).
 */
export function throttleAddress(address: string): string {
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (v4?.[1]) return v4[1];
  if (!address.includes(':')) return address;
  const [head = '', tail] = address.toLowerCase().split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

/** "42 seconds", "3 minutes": what a person reads in a client's error line. */
function humanWait(ms: number): string {
  const s = Math.max(1, Math.ceil(ms / 1000));
  if (s < 120) return `${s} second${s === 1 ? '' : 's'}`;
  return `${Math.ceil(s / 60)} minutes`;
}

function throttled(waitMs: number, why: string): RegistryError {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  return new RegistryError('TOOMANYREQUESTS', `too many failed sign-in attempts ${why}; try again in ${humanWait(waitMs)}`, { retryAfterSeconds: seconds });
}

/**
 * Turns credentials into a principal: a password, a personal access token, or a CI job's OIDC
 * ID token (usable as the password of any client, like GitHub's automatic token).
 */
export class AuthnService {
  private readonly deps: AuthnDeps;
  // scrypt is deliberately slow and clients such as Helm send Basic auth on every request, so a
  // verified password is remembered briefly per replica, keyed by a hash of the credential and
  // bound to the current stored hash (a password change invalidates it at once).
  private readonly verified = new Map<string, { passwordHash: string; until: number }>();
  /**
   * Verifications running now, by credentials and stored hash: concurrent requests with the same
   * password (docker fetching tokens for several layers at once, a CI fan-out) share one hash
   * computation instead of each running its own (measured: 50 concurrent first pushes took 10–12 s
   * instead of about 1.5 s on two workers, every request hashing the password).
   */
  private readonly verifying = new Map<string, Promise<boolean>>();

  constructor(deps: AuthnDeps) {
    this.deps = deps;
  }

  async basic(username: string, secret: string, address: string | null): Promise<Principal> {
    if (looksLikeSecret(secret, PAT_PREFIX)) return this.pat(secret, username);
    // Only a JWT that names an issuer is a CI identity token: a password such as
    // "correct.horse.battery" has the same dotted shape and must stay a password.
    if (looksLikeJwt(secret) && OidcVerifier.issuerOf(secret) !== null) return this.ci(secret);
    return this.password(username, secret, address);
  }

  /** A user principal by name (for sessions and registry tokens); null if gone or disabled. */
  async user(username: string): Promise<Principal | null> {
    const account = await this.deps.metadata.accounts.get(username);
    if (!account || account.kind !== 'user' || account.disabled) return null;
    return { kind: 'user', name: account.name, admin: account.isAdmin };
  }

  /**
   * A password sign-in, throttled per account and source address so that a guesser elsewhere can
   * neither try many passwords nor lock the owner out: see config `auth.loginRateLimit`. A refused
   * attempt is not verified (no oracle, no scrypt work), and its message says how long to wait.
   */
  async password(username: string, password: string, address: string | null): Promise<Principal> {
    const m = this.deps.metadata;
    const now = this.deps.clock();
    const limits = this.deps.rateLimit;
    const windowMs = limits.windowSeconds * 1000;
    const addr = address ? throttleAddress(address) : null;
    const pairKey = addr ? `pair:${username}\n${addr}` : null;
    const accountKey = `user:${username}`;
    const addrKey = addr ? `addr:${addr}` : null;
    // Read only when a throttle is near or a failure is counted (issue 18): a sign-in without
    // recent failures, every Basic request of Helm or docker's token GET, skips the statement.
    let knownMemo: boolean | undefined;
    const isKnown = async () => (knownMemo ??= addr !== null && (await m.knownAddresses.isKnown(username, addr, now - KNOWN_FOR_MS)));
    const keys = [pairKey, accountKey, addrKey].filter((k): k is string => k !== null);
    const counts = await m.loginFailures.getMany(keys, now, windowMs);

    const pair = pairKey ? counts.get(pairKey) : undefined;
    if (pair && pair.count >= limits.perAccountAddress) {
      // Slow down: each failure beyond the free ones doubles the wait, capped lower for a known address.
      const cap = (await isKnown()) ? limits.knownAddressMaxDelaySeconds * 1000 : windowMs;
      const delay = Math.min(2 ** (pair.count - limits.perAccountAddress) * 1000, cap);
      if (now < pair.lastAt + delay) throw this.throttledFailure(pair.lastAt + delay - now, `for ${username} from your address`);
    }
    const account = counts.get(accountKey);
    if (account && account.count >= limits.perAccount && !(await isKnown())) {
      throw this.throttledFailure(account.resetAt - now, `for ${username} from addresses it has not signed in from (a personal access token still works)`);
    }
    const fromAddr = addrKey ? counts.get(addrKey) : undefined;
    if (fromAddr && fromAddr.count >= limits.perAddress) throw this.throttledFailure(fromAddr.resetAt - now, 'from your address');

    const stored = await m.accounts.get(username);
    const hash = stored && stored.kind === 'user' && !stored.disabled ? stored.passwordHash : null;
    const cacheKey = createHash('sha256').update(`${username}\0${password}`).digest('hex');
    const cached = this.verified.get(cacheKey);
    let ok = hash !== null && cached !== undefined && cached.passwordHash === hash && cached.until > now;
    /** Whether this request ran the verification (it, not those that shared it, records the sign-in). */
    let verifiedHere = false;
    if (!ok) {
      // Unknown users cost a full verification too, so timing does not reveal which names exist.
      const flightKey = `${cacheKey}\0${hash ?? ''}`;
      let flight = this.verifying.get(flightKey);
      if (!flight) {
        verifiedHere = true;
        flight = verifyPassword(password, hash ?? DUMMY_HASH);
        this.verifying.set(flightKey, flight);
        const forget = () => this.verifying.delete(flightKey);
        flight.then(forget, forget);
      }
      ok = (await flight) && hash !== null;
      if (ok && hash && this.deps.credentialCacheSeconds > 0) {
        if (this.verified.size > 10_000) this.verified.clear();
        this.verified.set(cacheKey, { passwordHash: hash, until: now + this.deps.credentialCacheSeconds * 1000 });
      }
    }
    if (!ok || !stored) {
      if (pairKey) await m.loginFailures.bump(pairKey, now, windowMs);
      if (addrKey) await m.loginFailures.bump(addrKey, now, windowMs);
      // Failures from the owner's own addresses do not count towards shutting out new addresses.
      if (!(await isKnown())) await m.loginFailures.bump(accountKey, now, windowMs);
      this.deps.log.info({ username, address }, 'sign-in failed');
      // Audited (who tried which name from where); throttled attempts are not verified, so they are not rows.
      await m.audit.append({ at: now, actor: username.slice(0, 100), actorKind: 'user', address, action: 'login', target: username.slice(0, 100), owner: null, outcome: 'failure', detail: { method: 'password' } });
      this.deps.metrics?.authFailure('bad_password');
      throw unauthorized('invalid username or password');
    }
    if (pairKey && pair && pair.count > 0) await m.loginFailures.reset(pairKey);
    // Once per verification, not per cached request (Helm sends Basic with every request).
    if (verifiedHere && addr !== null) await m.knownAddresses.remember(username, addr, now, KNOWN_PER_ACCOUNT);
    if (verifiedHere) await m.audit.append({ at: now, actor: stored.name, actorKind: 'user', address, action: 'login', target: stored.name, owner: stored.name, detail: { method: 'password' } });
    return { kind: 'user', name: stored.name, admin: stored.isAdmin };
  }

  private throttledFailure(waitMs: number, why: string): RegistryError {
    this.deps.metrics?.authFailure('rate_limited');
    return throttled(waitMs, why);
  }

  /** A personal access token; `username`, when given, must be the token's owner. */
  async pat(secret: string, username?: string): Promise<Principal> {
    return countingFailures(this.deps.metrics, 'bad_token', () => this.patPrincipal(secret, username));
  }

  private async patPrincipal(secret: string, username?: string): Promise<Principal> {
    const m = this.deps.metadata;
    const now = this.deps.clock();
    const token = looksLikeSecret(secret, PAT_PREFIX) ? await m.tokens.byHash(hashSecret(secret)) : null;
    if (!token || token.kind !== 'pat' || token.revokedAt !== null || (token.expiresAt !== null && token.expiresAt <= now)) {
      throw unauthorized('invalid, expired or revoked token');
    }
    if (username !== undefined && username !== '' && username !== token.username) throw unauthorized('token does not belong to this user');
    const user = await this.user(token.username);
    if (!user) throw unauthorized('account disabled');
    // last-used is informational; once a minute per token is precise enough and spares writes.
    if (token.lastUsedAt === null || now - token.lastUsedAt > 60_000) await m.tokens.touch(token.id, now);
    return {
      ...user,
      // A token never carries the site-admin bypass: its scopes are the whole of its power.
      admin: false,
      token: { id: token.id, actions: actionsOfScopes(token.scopes), owners: token.owners, packages: token.packages },
    };
  }

  /** Verifies a token a registry JWT was derived from is still valid (revocation is immediate). */
  async stillValid(tokenId: string): Promise<boolean> {
    const t = await this.deps.metadata.tokens.get(tokenId);
    return t !== null && t.revokedAt === null && (t.expiresAt === null || t.expiresAt > this.deps.clock());
  }

  /** A CI job's OIDC ID token → a principal limited to what trusting owners/packages grant. */
  async ci(idToken: string): Promise<Principal> {
    return countingFailures(this.deps.metrics, 'bad_ci_token', () => this.ciPrincipal(idToken));
  }

  private async ciPrincipal(idToken: string): Promise<Principal> {
    const issuer = OidcVerifier.issuerOf(idToken);
    if (!issuer) throw unauthorized('invalid identity token');
    if (!issuer.startsWith('https://') && !this.deps.allowInsecureIssuers) throw unauthorized('identity token issuer must use https');
    const trusts = await this.deps.metadata.trusts.byIssuer(issuer);
    if (trusts.length === 0) throw unauthorized('identity token issuer is not trusted');
    let claims;
    try {
      claims = await this.deps.oidc.verify(idToken, issuer);
    } catch (err) {
      if (err instanceof OidcError) throw unauthorized(`identity token rejected: ${err.message}`);
      throw err;
    }
    const aud = claims['aud'];
    const audiences = Array.isArray(aud) ? aud : [aud];
    const grants: CiGrant[] = trusts
      .filter((t) => audiences.includes(t.audience))
      .filter((t) => Object.entries(t.conditions).every(([claim, pattern]) => claimMatches(pattern, claims[claim])))
      .map((t) => ({ owner: t.owner, repo: t.repo, role: t.role }));
    if (grants.length === 0) throw unauthorized('no package trusts this identity');
    const sub = typeof claims['sub'] === 'string' ? claims['sub'] : 'unknown';
    return { kind: 'ci', name: `ci:${issuer}#${sub}`, admin: false, ci: grants };
  }
}
