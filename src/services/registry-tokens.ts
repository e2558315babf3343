import { randomUUID } from 'node:crypto';
import type { KeyRing } from '../auth/keyring.ts';
import { checkTimes, decodeJwt, type JwtClaims, looksLikeJwt, signJwt } from '../auth/jwt.ts';
import { ANONYMOUS, type CiGrant, type Principal, type RepoAction } from '../auth/principal.ts';
import { isRepoAction, type Scope } from '../auth/scope.ts';
import { hashSecret, looksLikeSecret, newSecret, REFRESH_PREFIX, secretHint } from '../auth/secrets.ts';
import { RegistryError } from '../errors.ts';
import type { Metadata } from '../metadata/metadata.ts';
import { isRepoName, type RepoName } from '../oci/name.ts';
import { type AuthMetrics, type AuthnService, countingFailures } from './authn.ts';
import type { AuthzService } from './authz.ts';

export interface RegistryTokenDeps {
  metadata: Metadata;
  keys: KeyRing;
  authn: AuthnService;
  authz: AuthzService;
  clock: () => number;
  /** Read at each issue: the lifetimes are run-time settings (ADR 0025). */
  lifetimes: () => TokenLifetimes;
  metrics?: AuthMetrics;
}

export interface TokenLifetimes {
  ttlSeconds: number;
  ciTtlSeconds: number;
  refreshTtlDays: number;
}

export interface IssuedToken {
  token: string;
  expiresIn: number;
  issuedAt: string;
  access: Scope[];
}

/** What a verified registry token lets its bearer do, besides who they are. */
export interface TokenGrant {
  principal: Principal;
  access: Map<string, Set<string>>;
}

interface Claims extends JwtClaims {
  sub: string;
  aud: string;
  access: Scope[];
  kind: Principal['kind'];
  pat?: { id: string; actions: RepoAction[]; owners: string[] | null; packages: string[] | null };
  ci?: CiGrant[];
}

/**
 * Docker registry tokens: short-lived ES256 JWTs whose `access` claim is the intersection of
 * what was asked for and what the caller may do. Refresh tokens (`offline_token`) are opaque
 * secrets stored hashed, revocable like personal access tokens.
 */
export class RegistryTokenService {
  private readonly deps: RegistryTokenDeps;
  private readonly verifiedCache = new Map<string, Claims>();

  constructor(deps: RegistryTokenDeps) {
    this.deps = deps;
  }

  async issue(principal: Principal, requested: readonly Scope[], service: string): Promise<IssuedToken> {
    const access: Scope[] = [];
    for (const scope of requested) {
      if (scope.type === 'repository' && isRepoName(scope.name)) {
        const allowed = await this.deps.authz.actions(principal, scope.name as RepoName);
        const wanted = scope.actions.flatMap((a) => (a === '*' ? ['pull', 'push', 'delete'] : [a]));
        access.push({ type: 'repository', name: scope.name, actions: [...new Set(wanted.filter((a) => isRepoAction(a) && allowed.has(a)))] });
      } else if (scope.type === 'registry' && scope.name === 'catalog') {
        // The catalog is filtered per caller, so everyone may ask for it.
        access.push({ type: 'registry', name: 'catalog', actions: ['*'] });
      }
    }
    const nowMs = this.deps.clock();
    const now = Math.floor(nowMs / 1000);
    // Read once: exp and expires_in must agree even if the setting changes meanwhile.
    const lifetimes = this.deps.lifetimes();
    const ttl = principal.kind === 'ci' ? lifetimes.ciTtlSeconds : lifetimes.ttlSeconds;
    const claims: Claims = {
      iss: 'wharf',
      sub: principal.name,
      aud: service,
      iat: now,
      nbf: now - 5,
      exp: now + ttl,
      jti: randomUUID(),
      access,
      kind: principal.kind,
    };
    if (principal.token) {
      claims.pat = { id: principal.token.id, actions: [...principal.token.actions], owners: principal.token.owners ? [...principal.token.owners] : null, packages: principal.token.packages ? [...principal.token.packages] : null };
    }
    if (principal.ci) claims.ci = [...principal.ci];
    const { kid, key } = this.deps.keys.signing();
    return { token: signJwt(claims, key, kid), expiresIn: ttl, issuedAt: new Date(nowMs).toISOString(), access };
  }

  /** Verifies a bearer token; throws UNAUTHORIZED when it is invalid, expired or revoked. */
  async verify(token: string, service: string): Promise<TokenGrant> {
    return countingFailures(this.deps.metrics, 'bad_registry_token', () => this.grantOf(token, service));
  }

  private async grantOf(token: string, service: string): Promise<TokenGrant> {
    const claims = await this.verifiedClaims(token);
    if (claims.aud !== service) throw new RegistryError('UNAUTHORIZED', 'token was issued for another service');
    const principal = await this.principalOf(claims);
    const access = new Map<string, Set<string>>();
    for (const a of claims.access) access.set(`${a.type}:${a.name}`, new Set(a.actions));
    return { principal, access };
  }

  /**
   * A registry token of a plain user login (no personal access token, not CI or anonymous),
   * verified but with its account NOT looked up: the caller reads the account row together with
   * the access facts (AuthzService.decisionForAccount) and must refuse the request when it is
   * gone or disabled. Null for any other kind of token (verify() handles those).
   */
  async verifyUserToken(token: string, service: string): Promise<{ username: string; access: Map<string, Set<string>> } | null> {
    return countingFailures(this.deps.metrics, 'bad_registry_token', async () => {
      const claims = await this.verifiedClaims(token);
      if (claims.aud !== service) throw new RegistryError('UNAUTHORIZED', 'token was issued for another service');
      if (claims.kind !== 'user' || claims.pat) return null;
      const access = new Map<string, Set<string>>();
      for (const a of claims.access) access.set(`${a.type}:${a.name}`, new Set(a.actions));
      return { username: claims.sub, access };
    });
  }

  /**
   * A CI token this service issued (the token-exchange grant), presented as a password by a
   * registry client (`docker login -p`, `helm registry login`): its CI principal until it
   * expires. null when `secret` is not such a token, so the caller tries other credentials.
   */
  async ciCredential(secret: string, service: string): Promise<Principal | null> {
    if (!looksLikeJwt(secret)) return null;
    const claims = decodeJwt(secret)?.claims;
    if (claims?.['iss'] !== 'wharf' || claims['kind'] !== 'ci') return null;
    return (await this.verify(secret, service)).principal;
  }

  /**
   * A CI token's grants that a trust still backs (same issuer, owner, package, at least the
   * role), so removing a trust also stops the tokens already exchanged under it.
   */
  private async liveCiGrants(claims: Claims): Promise<CiGrant[]> {
    const issuer = /^ci:(.*?)#/.exec(claims.sub)?.[1];
    if (!issuer || !claims.ci?.length) throw new RegistryError('UNAUTHORIZED', 'invalid token');
    const trusts = await this.deps.metadata.trusts.byIssuer(issuer);
    const rank = { read: 1, write: 2 } as const;
    const live = claims.ci.filter((g) => trusts.some((t) => t.owner === g.owner && t.repo === g.repo && rank[t.role] >= rank[g.role]));
    if (live.length === 0) throw new RegistryError('UNAUTHORIZED', 'the CI trust this token was issued under has been removed');
    return live;
  }

  private async verifiedClaims(token: string): Promise<Claims> {
    const now = Math.floor(this.deps.clock() / 1000);
    let claims = this.verifiedCache.get(token);
    if (!claims) {
      const jwt = decodeJwt(token);
      if (!jwt || !(await this.deps.keys.verify(jwt))) throw new RegistryError('UNAUTHORIZED', 'invalid token');
      claims = jwt.claims as Claims;
      if (!Array.isArray(claims.access) || typeof claims.sub !== 'string') throw new RegistryError('UNAUTHORIZED', 'invalid token');
      if (this.verifiedCache.size > 10_000) this.verifiedCache.clear();
      this.verifiedCache.set(token, claims);
    }
    const timeError = checkTimes(claims, now, 0);
    if (timeError) {
      this.verifiedCache.delete(token);
      throw new RegistryError('UNAUTHORIZED', timeError);
    }
    return claims;
  }

  private async principalOf(claims: Claims): Promise<Principal> {
    if (claims.kind === 'anonymous') return ANONYMOUS;
    if (claims.kind === 'ci') return { kind: 'ci', name: claims.sub, admin: false, ci: await this.liveCiGrants(claims) };
    const user = await this.deps.authn.user(claims.sub);
    if (!user) throw new RegistryError('UNAUTHORIZED', 'account no longer active');
    if (!claims.pat) return user;
    if (!(await this.deps.authn.stillValid(claims.pat.id))) throw new RegistryError('UNAUTHORIZED', 'token has been revoked');
    return {
      ...user,
      admin: false,
      token: { id: claims.pat.id, actions: new Set(claims.pat.actions), owners: claims.pat.owners, packages: claims.pat.packages },
    };
  }

  async issueRefresh(principal: Principal, clientId: string): Promise<string> {
    // Password logins only: a refresh token minted from a PAT would outlive the PAT's revocation.
    if (principal.kind !== 'user' || principal.token) throw new RegistryError('BAD_REQUEST', 'refresh tokens are issued for password logins only');
    const secret = newSecret(REFRESH_PREFIX);
    const now = this.deps.clock();
    await this.deps.metadata.tokens.create({
      id: randomUUID(),
      kind: 'refresh',
      username: principal.name,
      name: clientId || 'registry client',
      hash: hashSecret(secret),
      hint: secretHint(secret),
      scopes: ['*'],
      owners: null,
      packages: null,
      expiresAt: now + this.deps.lifetimes().refreshTtlDays * 86_400_000,
      createdAt: now,
    });
    return secret;
  }

  async redeemRefresh(secret: string): Promise<Principal> {
    return countingFailures(this.deps.metrics, 'bad_refresh_token', () => this.refreshPrincipal(secret));
  }

  private async refreshPrincipal(secret: string): Promise<Principal> {
    const t = looksLikeSecret(secret, REFRESH_PREFIX) ? await this.deps.metadata.tokens.byHash(hashSecret(secret)) : null;
    const now = this.deps.clock();
    if (!t || t.kind !== 'refresh' || t.revokedAt !== null || (t.expiresAt !== null && t.expiresAt <= now)) {
      throw new RegistryError('UNAUTHORIZED', 'invalid or expired refresh token');
    }
    const user = await this.deps.authn.user(t.username);
    if (!user) throw new RegistryError('UNAUTHORIZED', 'account no longer active');
    if (t.scopes.includes('*')) return user;
    return { ...user, admin: false, token: { id: t.id, actions: new Set(t.scopes.filter(isRepoAction)), owners: t.owners, packages: t.packages } };
  }
}
