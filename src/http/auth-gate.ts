import type { FastifyRequest } from 'fastify';
import type { Decision } from '../auth/decision.ts';
import { ANONYMOUS, type ClientInfo, type Principal, type RepoAction } from '../auth/principal.ts';
import { looksLikeSecret, PAT_PREFIX } from '../auth/secrets.ts';
import { RegistryError } from '../errors.ts';
import type { RepoName } from '../oci/name.ts';
import type { AuthMetrics, AuthnService } from '../services/authn.ts';
import type { AuthzService } from '../services/authz.ts';
import type { RegistryTokenService } from '../services/registry-tokens.ts';
import type { TagStamp } from '../oci/tag-stamp.ts';
import type { AccessGate, AccessRequest } from './access.ts';
import { HttpHeadersError } from './errors.ts';

export interface Identity {
  principal: Principal;
  /** How the caller authenticated; bearer tokens also carry their granted access. */
  via: 'none' | 'basic' | 'bearer' | 'session';
  access?: Map<string, Set<string>>;
}

export interface AuthGateDeps {
  authn: AuthnService;
  authz: AuthzService;
  tokens: RegistryTokenService;
  baseUrl: string | undefined;
  service: string | undefined;
  /** Session-cookie authentication for the web UI, when present. */
  session?: (req: FastifyRequest) => Promise<Principal | null>;
  metrics?: AuthMetrics;
}

/** Who a request's log line names: the principal the gate resolved, never a credential. */
export function principalLogFields(principal: Principal, via?: Identity['via']): Record<string, string> {
  const fields: Record<string, string> = { principal: principal.kind === 'anonymous' ? 'anonymous' : principal.name, principalKind: principal.kind };
  if (via) fields['auth'] = via;
  if (principal.token) fields['tokenId'] = principal.token.id;
  return fields;
}

export function clientAddress(req: FastifyRequest): string {
  return req.ip;
}

/** Address (X-Forwarded-For believed only from server.trustedProxies: Fastify's trustProxy), User-Agent and Host of a request. */
export function clientInfo(req: FastifyRequest): ClientInfo {
  const ua = req.headers['user-agent'];
  return { address: req.ip, userAgent: typeof ua === 'string' ? ua.slice(0, 512) : null, host: req.host || null };
}

export function publicBase(req: FastifyRequest, baseUrl: string | undefined): string {
  return (baseUrl ?? `${req.protocol}://${req.host}`).replace(/\/$/, '');
}

/** Parses `Authorization: Basic …`; null when absent or not Basic. */
export function basicCredentials(req: FastifyRequest): { username: string; password: string } | null {
  const h = req.headers.authorization;
  if (!h || !/^basic /i.test(h)) return null;
  const decoded = Buffer.from(h.slice(6).trim(), 'base64').toString('utf8');
  const idx = decoded.indexOf(':');
  if (idx < 0) throw new RegistryError('UNAUTHORIZED', 'malformed Basic credentials');
  return { username: decoded.slice(0, idx), password: decoded.slice(idx + 1) };
}

/**
 * Basic credentials → principal: a CI token Wharf issued by token-exchange (valid as the
 * password of any registry client), else a password, personal access token or CI identity token.
 */
export async function basicPrincipal(
  deps: { authn: AuthnService; tokens: RegistryTokenService },
  credentials: { username: string; password: string },
  address: string | null,
  service: string,
): Promise<Principal> {
  return (await deps.tokens.ciCredential(credentials.password, service)) ?? (await deps.authn.basic(credentials.username, credentials.password, address));
}

/**
 * The scope a challenge names: the repository and actions asked for, plus pull on a mount's
 * source (space-separated, as Distribution's token challenge lists several access records).
 */
function challengeScope(access: AccessRequest): string | null {
  if (access.type === 'registry') return 'registry:catalog:*';
  if (access.type !== 'repository') return null;
  const own = `repository:${access.name}:${access.actions.join(',')}`;
  return access.mountFrom !== undefined && access.mountFrom !== access.name ? `${own} repository:${access.mountFrom}:pull` : own;
}

/**
 * The Docker token-auth gate for /v2 (and the other HTTP surfaces): identifies the caller from
 * a registry bearer token, Basic credentials (password, PAT or CI identity token), a PAT as
 * bearer, or the UI session; then checks the requested actions, answering 401 with a
 * `WWW-Authenticate: Bearer realm=…,service=…,scope=…` challenge or 403.
 */
export class AuthGate implements AccessGate {
  private readonly deps: AuthGateDeps;
  private readonly identities = new WeakMap<FastifyRequest, Identity>();
  private readonly tagStamps = new WeakMap<FastifyRequest, TagStamp>();

  constructor(deps: AuthGateDeps) {
    this.deps = deps;
  }

  /** Token audience: configured, else the public base URL's host, else the request's Host. */
  serviceFor(req: FastifyRequest): string {
    return this.deps.service ?? (this.deps.baseUrl ? new URL(this.deps.baseUrl).host : req.host);
  }

  /** The principal fields of a request's log line, when the gate identified its caller. */
  logFields(req: FastifyRequest): Record<string, string> | undefined {
    const identity = this.identities.get(req);
    return identity ? principalLogFields(identity.principal, identity.via) : undefined;
  }

  async identify(req: FastifyRequest): Promise<Identity> {
    const known = this.identities.get(req);
    if (known) return known;
    const resolved = await this.resolve(req);
    // A copy: principals may be shared across requests (credential caches), the client is this request's.
    const identity = { ...resolved, principal: { ...resolved.principal, client: clientInfo(req) } };
    this.identities.set(req, identity);
    return identity;
  }

  private async resolve(req: FastifyRequest): Promise<Identity> {
    const h = req.headers.authorization;
    if (h && /^bearer /i.test(h)) {
      const token = h.slice(7).trim();
      if (looksLikeSecret(token, PAT_PREFIX)) return { principal: await this.deps.authn.pat(token), via: 'bearer' };
      const grant = await this.deps.tokens.verify(token, this.serviceFor(req));
      return { principal: grant.principal, via: 'bearer', access: grant.access };
    }
    const basic = basicCredentials(req);
    if (basic) return { principal: await basicPrincipal(this.deps, basic, clientAddress(req), this.serviceFor(req)), via: 'basic' };
    const session = this.deps.session ? await this.deps.session(req) : null;
    if (session) return { principal: session, via: 'session' };
    return { principal: ANONYMOUS, via: 'none' };
  }

  /**
   * The common case of every pull and push (issue 18): a registry token of a plain user login on
   * a repository route. Its account row is read in the same statement as the access facts
   * instead of a round trip of its own; a gone or disabled account is refused exactly as
   * verify() refuses it. Null for any other credential (the general path handles it).
   */
  private async userTokenDecision(req: FastifyRequest, repo: RepoName): Promise<{ identity: Identity; decision: Decision } | null> {
    const h = req.headers.authorization;
    if (!h || !/^bearer /i.test(h)) return null;
    const token = h.slice(7).trim();
    if (looksLikeSecret(token, PAT_PREFIX)) return null;
    const user = await this.deps.tokens.verifyUserToken(token, this.serviceFor(req));
    if (!user) return null;
    const { principal, decision } = await this.deps.authz.decisionForAccount(user.username, repo);
    if (!principal || !decision) {
      this.deps.metrics?.authFailure('bad_registry_token');
      throw new RegistryError('UNAUTHORIZED', 'account no longer active');
    }
    const identity: Identity = { principal: { ...principal, client: clientInfo(req) }, via: 'bearer', access: user.access };
    this.identities.set(req, identity);
    return { identity, decision };
  }

  challenge(req: FastifyRequest, scope: string | null, error?: 'insufficient_scope' | 'invalid_token'): Record<string, string> {
    const parts = [`realm="${publicBase(req, this.deps.baseUrl)}/token"`, `service="${this.serviceFor(req)}"`];
    if (scope) parts.push(`scope="${scope}"`);
    if (error) parts.push(`error="${error}"`);
    return { 'www-authenticate': `Bearer ${parts.join(',')}` };
  }

  async authorize(req: FastifyRequest, access: AccessRequest): Promise<Principal> {
    const scope = challengeScope(access);
    let identity: Identity;
    let decided: Decision | null = null;
    try {
      const fast = access.type === 'repository' && !this.identities.has(req) ? await this.userTokenDecision(req, access.name) : null;
      if (fast) {
        identity = fast.identity;
        decided = fast.decision;
      } else {
        identity = await this.identify(req);
      }
    } catch (err) {
      if (err instanceof RegistryError && err.code === 'UNAUTHORIZED') {
        throw new HttpHeadersError('UNAUTHORIZED', err.message, this.challenge(req, scope, 'invalid_token'));
      }
      throw err;
    }
    const { principal } = identity;
    const metrics = this.deps.metrics;
    if (access.type === 'base') {
      if (principal.kind === 'anonymous' && identity.via === 'none') {
        metrics?.authFailure('missing_credentials');
        throw new HttpHeadersError('UNAUTHORIZED', 'authentication required', this.challenge(req, null));
      }
      return principal;
    }
    if (access.type === 'registry') {
      if (identity.via === 'none' && principal.kind === 'anonymous' && req.url.startsWith('/v2/')) {
        metrics?.authFailure('missing_credentials');
        throw new HttpHeadersError('UNAUTHORIZED', 'authentication required', this.challenge(req, scope));
      }
      return principal;
    }
    if (access.type === 'namespace') {
      if (identity.via === 'none') throw new HttpHeadersError('UNAUTHORIZED', 'authentication required', this.challenge(req, null));
      // A registry token names its repositories; any of them under the prefix with push will do.
      const tokenAllows =
        !identity.access || [...identity.access].some(([key, actions]) => key.startsWith(`repository:${access.prefix}`) && actions.has('push'));
      if (tokenAllows && (await this.deps.authz.mayPushUnder(principal, access.prefix))) return principal;
      throw new RegistryError('DENIED', `not allowed to push to ${access.prefix}*`, { prefix: access.prefix, actions: access.actions });
    }
    const decision = decided ?? (await this.deps.authz.decision(principal, access.name));
    const allowed = new Set(decision.actions);
    if (identity.access) {
      const granted = identity.access.get(`repository:${access.name}`) ?? new Set<string>();
      for (const a of [...allowed]) if (!granted.has(a)) allowed.delete(a);
    }
    const missing = access.actions.filter((a: RepoAction) => !allowed.has(a));
    if (missing.length === 0) {
      // A registry token that never asked about the mount source: challenge for it, whatever the
      // caller may do there, so the answer tells nothing about the source. The next token names
      // the source (granted or empty), and the mount is then decided by requestMayPull.
      if (access.mountFrom !== undefined && identity.access && !identity.access.has(`repository:${access.mountFrom}`)) {
        metrics?.authFailure('insufficient_scope');
        throw new HttpHeadersError('UNAUTHORIZED', 'insufficient scope', this.challenge(req, scope, 'insufficient_scope'), {
          repository: access.mountFrom,
          actions: ['pull'],
        });
      }
      if (access.actions.includes('push')) await this.deps.authz.refuseIfTrashed(access.name);
      if (decision.tagStamp) this.tagStamps.set(req, decision.tagStamp);
      return principal;
    }
    // The reason names the missing permission (role, token scope or restriction), as podman,
    // skopeo and Helm print the message; a bearer token narrower than the decision says so.
    const reason = decision.why(missing.filter((a) => !decision.actions.has(a)));
    if (identity.via === 'none' || identity.via === 'bearer') {
      metrics?.authFailure(identity.via === 'none' ? 'missing_credentials' : 'insufficient_scope');
      const message = identity.via === 'none' ? 'authentication required' : `insufficient scope: ${reason || `the token was not issued for ${missing.join(', ')} on ${access.name}`}`;
      throw new HttpHeadersError('UNAUTHORIZED', message, this.challenge(req, scope, identity.via === 'bearer' ? 'insufficient_scope' : undefined), {
        repository: access.name,
        actions: missing,
      });
    }
    metrics?.authFailure('denied');
    throw new RegistryError('DENIED', `requested access to the resource is denied: ${reason}`, { repository: access.name, actions: missing });
  }

  tagStampOf(req: FastifyRequest): TagStamp | null {
    return this.tagStamps.get(req) ?? null;
  }

  async canPull(principal: Principal, repo: RepoName): Promise<boolean> {
    return this.deps.authz.canPull(principal, repo);
  }

  async pullable(principal: Principal, repos: readonly RepoName[]): Promise<ReadonlySet<RepoName>> {
    return this.deps.authz.pullable(principal, repos);
  }

  async requestMayPull(req: FastifyRequest, repo: RepoName): Promise<boolean> {
    const identity = await this.identify(req);
    if (identity.access && !identity.access.get(`repository:${repo}`)?.has('pull')) return false;
    return this.deps.authz.canPull(identity.principal, repo);
  }
}
