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
import { type AuthGate, basicCredentials, clientAddress } from './auth-gate.ts';
import { HttpHeadersError } from './errors.ts';

export interface TokenRouteDeps {
  authn: AuthnService;
  tokens: RegistryTokenService;
  keys: KeyRing;
  gate: AuthGate;
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
  reply: FastifyReply,
  principal: Principal,
  scopes: Scope[],
  service: string,
  refresh: { wanted: boolean; clientId: string },
) {
  const issued = await deps.tokens.issue(principal, scopes, service);
  const body: Record<string, unknown> = {
    token: issued.token,
    access_token: issued.token,
    expires_in: issued.expiresIn,
    issued_at: issued.issuedAt,
  };
  if (refresh.wanted && principal.kind === 'user') body['refresh_token'] = await deps.tokens.issueRefresh(principal, refresh.clientId);
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
    if (err instanceof RegistryError && err.code === 'UNAUTHORIZED' && scopes.length > 0) {
      const anon = await deps.tokens.issue(ANONYMOUS, scopes, '');
      if (anon.access.some((a) => a.type === 'repository' && a.actions.length > 0)) return ANONYMOUS;
    }
    if (err instanceof RegistryError && err.code === 'UNAUTHORIZED') {
      throw new HttpHeadersError('UNAUTHORIZED', err.message, { 'www-authenticate': 'Basic realm="wharf"' });
    }
    throw err;
  }
}

export function registerTokenRoutes(app: FastifyInstance, deps: TokenRouteDeps): void {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  app.get('/token', async (req: FastifyRequest, reply) => {
    const q = req.query as Record<string, unknown>;
    const scopes = parseScopes(all(q['scope']));
    const service = one(q['service']) ?? deps.gate.serviceFor(req);
    const basic = basicCredentials(req);
    const principal = basic
      ? await principalOrAnonymous(deps, scopes, () => deps.authn.basic(basic.username, basic.password, clientAddress(req)))
      : ANONYMOUS;
    return respond(deps, reply, principal, scopes, service, { wanted: one(q['offline_token']) === 'true', clientId: one(q['client_id']) ?? '' });
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
      principal = await principalOrAnonymous(deps, scopes, () => deps.authn.basic(username, password, clientAddress(req)));
    } else if (grant === 'refresh_token') {
      principal = await principalOrAnonymous(deps, [], () => deps.tokens.redeemRefresh(one(form['refresh_token']) ?? ''));
      wantsRefresh = false;
    } else if (grant === 'urn:ietf:params:oauth:grant-type:token-exchange') {
      principal = await principalOrAnonymous(deps, [], () => deps.authn.ci(one(form['subject_token']) ?? ''));
    } else {
      throw new RegistryError('UNSUPPORTED', 'unsupported grant_type', { grant_type: grant ?? null });
    }
    return respond(deps, reply, principal, scopes, service, { wanted: wantsRefresh, clientId });
  });

  app.get('/.well-known/jwks.json', async () => deps.keys.jwks());
}
