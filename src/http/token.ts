/**
 * The Docker token endpoint (docs.docker.com/registry/spec/auth/token + oauth):
 * GET /token with Basic auth or anonymously; POST /token with an OAuth2 form
 * (grant_type=password | refresh_token | token-exchange). Also the JWKS of the signing keys.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { KeyRing } from '../auth/keyring.ts';
import { ANONYMOUS, type Principal } from '../auth/principal.ts';
import { parseScopes, type Scope } from '../auth/scope.ts';
import { RegistryError } from '../errors.ts';
import type { AuthnService } from '../services/authn.ts';
import type { RegistryTokenService } from '../services/registry-tokens.ts';
import type { TokenPrincipal } from '../lib/metrics.ts';
import { type AuthGate, basicCredentials, basicPrincipal, clientAddress, principalLogFields } from './auth-gate.ts';
import { bindLog } from './log-context.ts';
import { HttpHeadersError } from './errors.ts';

/** Counts issued registry tokens (lib/metrics.ts implements it). */
export interface TokenMetrics {
  tokenIssued(type: 'access' | 'refresh', principal: TokenPrincipal): void;
}

export interface TokenRouteDeps {
  authn: AuthnService;
  tokens: RegistryTokenService;
  keys: KeyRing;
  gate: AuthGate;
  metrics?: TokenMetrics;
}

function tokenPrincipal(p: Principal): TokenPrincipal {
  if (p.kind === 'ci') return 'ci';
  if (p.kind === 'anonymous') return 'anonymous';
  return p.token ? 'pat' : 'user';
}

function all(v: unknown): string[] {
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return typeof v === 'string' ? [v] : [];
}

function one(v: unknown): string | undefined {
  return all(v)[0];
}

async function respond(
  deps: TokenRouteDeps,
  req: FastifyRequest,
  reply: FastifyReply,
  principal: Principal,
  scopes: Scope[],
  service: string,
  refresh: { wanted: boolean; clientId: string },
) {
  bindLog(req, principalLogFields(principal));
  const issued = await deps.tokens.issue(principal, scopes, service);
  deps.metrics?.tokenIssued('access', tokenPrincipal(principal));
  const body: Record<string, unknown> = {
    token: issued.token,
    access_token: issued.token,
    expires_in: issued.expiresIn,
    issued_at: issued.issuedAt,
  };
  // Only password logins get refresh tokens: one minted from a PAT would outlive the PAT's
  // revocation, and clients without one simply keep the PAT they logged in with.
  if (refresh.wanted && principal.kind === 'user' && !principal.token) {
    body['refresh_token'] = await deps.tokens.issueRefresh(principal, refresh.clientId);
    deps.metrics?.tokenIssued('refresh', 'user');
  }
  return reply.code(200).header('cache-control', 'no-store').send(body);
}

/**
 * Credentials that fail are not always fatal: a client with stale or wrong credentials pulling
 * a public package gets an anonymous token, as registries do. A login check (no scope) fails.
 */
async function principalOrAnonymous(deps: TokenRouteDeps, scopes: Scope[], authenticate: () => Promise<Principal>): Promise<Principal> {
  try {
    return await authenticate();
  } catch (err) {
    // A rate-limited account pulling public content also gets the anonymous token: stale
    // credentials must not lock a client out of public pulls, and answering "anonymous" tells a
    // guesser nothing about the password.
    const recoverable = err instanceof RegistryError && (err.code === 'UNAUTHORIZED' || err.code === 'TOOMANYREQUESTS');
    if (recoverable && scopes.length > 0) {
      const anon = await deps.tokens.issue(ANONYMOUS, scopes, '');
      if (anon.access.some((a) => a.type === 'repository' && a.actions.length > 0)) return ANONYMOUS;
    }
    if (err instanceof RegistryError && err.code === 'UNAUTHORIZED') {
      throw new HttpHeadersError('UNAUTHORIZED', err.message, { 'www-authenticate': 'Basic realm="wharf"' });
    }
    // A throttled sign-in for a pull or push: containers/image shows only a fixed text for a 429
    // ("too many requests to registry") but prints a 401's message, which says how long to wait.
    // A login check (no scope) keeps the 429, whose fixed text is at least not misleading.
    if (err instanceof RegistryError && err.code === 'TOOMANYREQUESTS' && scopes.length > 0) {
      const retry = (err.detail as { retryAfterSeconds?: number } | undefined)?.retryAfterSeconds;
      throw new HttpHeadersError('UNAUTHORIZED', err.message, { 'www-authenticate': 'Basic realm="wharf"', ...(retry ? { 'retry-after': String(retry) } : {}) }, err.detail);
    }
    throw err;
  }
}

/** Basic credentials of a token request; a malformed header is a 401 with a challenge. */
function basicOrChallenge(req: FastifyRequest): { username: string; password: string } | null {
  try {
    return basicCredentials(req);
  } catch (err) {
    if (err instanceof RegistryError && err.code === 'UNAUTHORIZED') {
      throw new HttpHeadersError('UNAUTHORIZED', err.message, { 'www-authenticate': 'Basic realm="wharf"' });
    }
    throw err;
  }
}

export function registerTokenRoutes(app: FastifyInstance, deps: TokenRouteDeps): void {
  // A token request's body is its credential: only the OAuth2 form, under a small cap; any other
  // type is refused (415) without reading it.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_req, body, done) => {
    // Repeated fields (several `scope`s) are kept as arrays.
    const form: Record<string, string | string[]> = {};
    for (const [k, v] of new URLSearchParams(body as string)) {
      const prev = form[k];
      form[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
    done(null, form);
  });

  app.get('/token', async (req: FastifyRequest, reply) => {
    const q = req.query as Record<string, unknown>;
    const scopes = parseScopes(all(q['scope']));
    const service = one(q['service']) ?? deps.gate.serviceFor(req);
    const basic = basicOrChallenge(req);
    const principal = basic
      ? await principalOrAnonymous(deps, scopes, () => basicPrincipal(deps, basic, clientAddress(req), service))
      : ANONYMOUS;
    return respond(deps, req, reply, principal, scopes, service, { wanted: one(q['offline_token']) === 'true', clientId: one(q['client_id']) ?? '' });
  });

  app.post('/token', async (req: FastifyRequest, reply) => {
    const form = (req.body ?? {}) as Record<string, unknown>;
    const scopes = parseScopes(all(form['scope']));
    const service = one(form['service']) ?? deps.gate.serviceFor(req);
    const clientId = one(form['client_id']) ?? '';
    const grant = one(form['grant_type']);
    let principal: Principal;
    let wantsRefresh = one(form['access_type']) === 'offline';
    if (grant === 'password') {
      const username = one(form['username']) ?? '';
      const password = one(form['password']) ?? '';
      principal = await principalOrAnonymous(deps, scopes, () => basicPrincipal(deps, { username, password }, clientAddress(req), service));
    } else if (grant === 'refresh_token') {
      principal = await principalOrAnonymous(deps, [], () => deps.tokens.redeemRefresh(one(form['refresh_token']) ?? ''));
      wantsRefresh = false;
    } else if (grant === 'urn:ietf:params:oauth:grant-type:token-exchange') {
      principal = await principalOrAnonymous(deps, [], () => deps.authn.ci(one(form['subject_token']) ?? ''));
    } else {
      throw new RegistryError('BAD_REQUEST', 'unsupported grant_type (password, refresh_token or token-exchange)', { grant_type: grant ?? null });
    }
    return respond(deps, req, reply, principal, scopes, service, { wanted: wantsRefresh, clientId });
  });

  app.get('/.well-known/jwks.json', async () => deps.keys.jwks());
}
