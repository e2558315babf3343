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

export interface AuthnDeps {
  metadata: Metadata;
  clock: () => number;
  log: Logger;
  oidc: OidcVerifier;
  allowInsecureIssuers: boolean;
  rateLimit: { windowSeconds: number; perAccount: number; perAddress: number };
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

  async password(username: string, password: string, address: string | null): Promise<Principal> {
    const m = this.deps.metadata;
    const now = this.deps.clock();
    const windowMs = this.deps.rateLimit.windowSeconds * 1000;
    const keys = [`user:${username}`, ...(address ? [`addr:${address}`] : [])];
    for (const key of keys) {
      const { count, resetAt } = await m.loginFailures.get(key, now, windowMs);
      const limit = key.startsWith('user:') ? this.deps.rateLimit.perAccount : this.deps.rateLimit.perAddress;
      if (count >= limit) {
        this.deps.metrics?.authFailure('rate_limited');
        throw new RegistryError('TOOMANYREQUESTS', 'too many failed sign-in attempts', { retryAfterSeconds: Math.max(1, Math.ceil((resetAt - now) / 1000)) });
      }
    }
    const account = await m.accounts.get(username);
    const stored = account && account.kind === 'user' && !account.disabled ? account.passwordHash : null;
    const cacheKey = createHash('sha256').update(`${username}\0${password}`).digest('hex');
    const cached = this.verified.get(cacheKey);
    let ok = stored !== null && cached !== undefined && cached.passwordHash === stored && cached.until > now;
    if (!ok) {
      // Unknown users cost a full verification too, so timing does not reveal which names exist.
      ok = (await verifyPassword(password, stored ?? DUMMY_HASH)) && stored !== null;
      if (ok && stored && this.deps.credentialCacheSeconds > 0) {
        if (this.verified.size > 10_000) this.verified.clear();
        this.verified.set(cacheKey, { passwordHash: stored, until: now + this.deps.credentialCacheSeconds * 1000 });
      }
    }
    if (!ok || !account) {
      for (const key of keys) await m.loginFailures.bump(key, now, windowMs);
      this.deps.log.info({ username, address }, 'sign-in failed');
      this.deps.metrics?.authFailure('bad_password');
      throw unauthorized('invalid username or password');
    }
    if (cached === undefined) await m.loginFailures.reset(`user:${username}`);
    return { kind: 'user', name: account.name, admin: account.isAdmin };
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
