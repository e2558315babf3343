import type { JsonWebKey, KeyObject } from 'node:crypto';
import { checkTimes, decodeJwt, type JwtClaims, keyFromJwk, verifySignature } from './jwt.ts';

export type Fetch = (url: string, init?: { signal?: AbortSignal }) => Promise<{ ok: boolean; status: number; json(): Promise<unknown> }>;

interface IssuerKeys {
  keys: Map<string, KeyObject>;
  fetchedAt: number;
}

export class OidcError extends Error {}

/**
 * Verifies CI identity tokens (GitHub Actions, GitLab CI, any OIDC issuer) against the issuer's
 * published keys. Only issuers that some owner or package trusts are ever contacted, so a token
 * cannot make the registry fetch arbitrary URLs.
 */
export class OidcVerifier {
  private readonly cache = new Map<string, IssuerKeys>();
  private readonly fetch: Fetch;
  private readonly clock: () => number;
  private readonly ttlMs: number;

  constructor(opts: { fetch: Fetch; clock: () => number; ttlMs?: number }) {
    this.fetch = opts.fetch;
    this.clock = opts.clock;
    this.ttlMs = opts.ttlMs ?? 10 * 60 * 1000;
  }

  /** The unverified issuer of a token, to look up trust before any network call. */
  static issuerOf(token: string): string | null {
    const iss = decodeJwt(token)?.claims['iss'];
    return typeof iss === 'string' ? iss : null;
  }

  async verify(token: string, issuer: string): Promise<JwtClaims> {
    const jwt = decodeJwt(token);
    if (!jwt) throw new OidcError('not a JWT');
    if (jwt.claims['iss'] !== issuer) throw new OidcError('issuer mismatch');
    let keys = await this.keys(issuer, false);
    let key = jwt.header.kid ? keys.get(jwt.header.kid) : keys.size === 1 ? [...keys.values()][0] : undefined;
    if (!key) {
      keys = await this.keys(issuer, true);
      key = jwt.header.kid ? keys.get(jwt.header.kid) : undefined;
    }
    if (!key) throw new OidcError('signing key not found at issuer');
    if (!verifySignature(jwt, key)) throw new OidcError('bad signature');
    const timeError = checkTimes(jwt.claims, Math.floor(this.clock() / 1000), 60);
    if (timeError) throw new OidcError(timeError);
    return jwt.claims;
  }

  private async keys(issuer: string, refresh: boolean): Promise<Map<string, KeyObject>> {
    const cached = this.cache.get(issuer);
    const now = this.clock();
    // A forced refresh still waits 30 s between fetches, so unknown kids cannot hammer the issuer.
    if (cached && (now - cached.fetchedAt < this.ttlMs) && (!refresh || now - cached.fetchedAt < 30_000)) return cached.keys;
    const discovery = await this.getJson(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
    const jwksUri = (discovery as { jwks_uri?: unknown }).jwks_uri;
    if (typeof jwksUri !== 'string') throw new OidcError('issuer discovery document has no jwks_uri');
    const jwks = (await this.getJson(jwksUri)) as { keys?: unknown };
    const keys = new Map<string, KeyObject>();
    for (const k of Array.isArray(jwks.keys) ? jwks.keys : []) {
      const jwk = k as JsonWebKey & { kid?: string };
      if (typeof jwk.kid !== 'string') continue;
      try {
        keys.set(jwk.kid, keyFromJwk(jwk));
      } catch {
        // Keys of unsupported types are skipped, as OIDC clients do.
      }
    }
    this.cache.set(issuer, { keys, fetchedAt: now });
    return keys;
  }

  private async getJson(url: string): Promise<unknown> {
    const res = await this.fetch(url, { signal: AbortSignal.timeout(5000) }).catch((err: unknown) => {
      throw new OidcError(`cannot reach ${url}: ${(err as Error).message}`);
    });
    if (!res.ok) throw new OidcError(`${url} answered ${res.status}`);
    return res.json();
  }
}

/** Glob match for claim conditions: `*` matches any run of characters. */
export function claimMatches(pattern: string, value: unknown): boolean {
  if (typeof value !== 'string') return false;
  const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return re.test(value);
}

/**
 * Claims that name the repository (or project) a CI job runs for, across GitHub and Forgejo
 * Actions (`repository`, `sub` = `repo:owner/name:…`) and GitLab CI (`project_path`, `sub` =
 * `project_path:group/project:…`), by path or by immutable id. Owner-level claims pin the
 * account the repository belongs to, which on these platforms only its members can create
 * repositories in.
 */
const REPOSITORY_PATH_CLAIMS = new Set(['repository', 'project_path', 'sub', 'job_workflow_ref']);
const REPOSITORY_EXACT_CLAIMS = new Set(['repository_id', 'project_id', 'repository_owner', 'repository_owner_id', 'namespace_path', 'namespace_id']);

/**
 * Whether claim conditions tie a trust to a known repository or owner. A trust without such a
 * condition (`repository: *`, a pattern that starts with a wildcard, only `ref: refs/heads/main`…) would let a job in any
 * repository at the issuer — anybody's, on a public service such as github.com — act with the
 * trust's role, so creating one needs an explicit confirmation.
 *
 * Pinned: a path claim whose pattern has no `*`, or whose literal text before the first `*`
 * already contains the owner and its `/` (`globex/*`, `repo:globex/app:*`); an id or owner claim
 * without `*`.
 */
export function pinsRepository(conditions: Readonly<Record<string, string>>): boolean {
  return Object.entries(conditions).some(([claim, pattern]) => {
    const wildcard = pattern.indexOf('*');
    if (REPOSITORY_EXACT_CLAIMS.has(claim)) return pattern !== '' && wildcard < 0;
    if (!REPOSITORY_PATH_CLAIMS.has(claim)) return false;
    if (wildcard < 0) return pattern !== '';
    const prefix = pattern.slice(0, wildcard);
    // `repo:` / `project_path:` in front of a sub claim is not an owner yet.
    const afterKind = claim === 'sub' ? prefix.slice(prefix.indexOf(':') + 1) : prefix;
    const slash = afterKind.indexOf('/');
    return slash > 0;
  });
}
