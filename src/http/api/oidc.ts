/**
 * /api/v1/session/oidc — web sign-in with an OpenID provider (docs/adr/0021-oidc-sign-in.md).
 *   GET  /api/v1/session/oidc            whether it is configured, and the provider's name
 *   POST /api/v1/session/oidc            starts: the provider URL to go to; sets the state cookie
 *   POST /api/v1/session/oidc/callback   finishes with the query the provider sent the browser
 *                                        back with (to the UI page /-/sign-in/oidc); sets the session cookie
 * Registry clients (docker, podman, helm) are not part of this: they use passwords or personal
 * access tokens.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { RegistryError } from '../../errors.ts';
import type { AccountService } from '../../services/accounts.ts';
import type { OidcSignInService } from '../../services/oidc-sign-in.ts';
import { clientAddress, clientInfo } from '../auth-gate.ts';
import { route, serve } from './route.ts';
import { readCookie, secureCookie, sessionSchema, setCookie } from './session.ts';

export const OIDC_STATE_COOKIE = 'wharf_oidc_state';
/** The UI page the provider sends the browser back to. */
export const OIDC_CALLBACK_PATH = '/-/sign-in/oidc';

export interface OidcRouteDeps {
  /** null: not configured (the GET says so; the POSTs answer 404). */
  oidc: OidcSignInService | null;
  accounts: AccountService;
  baseUrl: string | undefined;
  /** From the config; default: the public origin + OIDC_CALLBACK_PATH. */
  redirectUri: string | undefined;
}

/** Only same-site paths: `next` comes from a URL and must not send people elsewhere. */
const nextPath = z
  .string()
  .max(2000)
  .refine((p) => p.startsWith('/') && !p.startsWith('//') && !p.startsWith('/\\'), { message: 'must be a path on this site' });

const getOidcSignIn = route({
  method: 'GET',
  url: '/api/v1/session/oidc',
  operationId: 'getOidcSignIn',
  tags: ['session'],
  summary: 'Whether sign-in with an OpenID provider is configured, and the name of its button',
  responses: { 200: z.object({ enabled: z.boolean(), displayName: z.string().nullable() }) },
});
const startOidcSignIn = route({
  method: 'POST',
  url: '/api/v1/session/oidc',
  operationId: 'startOidcSignIn',
  tags: ['session'],
  summary: 'Start signing in with the OpenID provider: go to authorizationUrl (sets a short-lived state cookie)',
  body: z.object({ next: nextPath.optional() }),
  bodyExample: { next: '/acme' },
  responses: { 201: z.object({ authorizationUrl: z.string() }) },
  errors: [404, 503],
});
const finishOidcSignIn = route({
  method: 'POST',
  url: '/api/v1/session/oidc/callback',
  operationId: 'finishOidcSignIn',
  tags: ['session'],
  summary: "Finish signing in with the query string the provider sent the browser back with; sets the session cookie",
  body: z.object({ query: z.string().min(1).max(8192) }),
  bodyExample: { query: '?code=abc&state=xyz&iss=https%3A%2F%2Fid.example.com' },
  responses: { 201: sessionSchema.extend({ next: z.string() }) },
  errors: [403, 404],
});

function stateCookie(reply: FastifyReply, req: FastifyRequest, baseUrl: string | undefined, value: string, maxAgeSeconds: number): void {
  // SameSite=Lax: sent with the provider's top-level redirect back, never with cross-site posts.
  const attrs = [`${OIDC_STATE_COOKIE}=${value}`, 'Path=/api/v1/session/oidc', 'HttpOnly', 'SameSite=Lax', `Max-Age=${maxAgeSeconds}`];
  if (secureCookie(req, baseUrl)) attrs.push('Secure');
  reply.header('set-cookie', attrs.join('; '));
}

export function registerOidcRoutes(app: FastifyInstance, deps: OidcRouteDeps): void {
  const redirectUri = (req: FastifyRequest) => deps.redirectUri ?? `${deps.baseUrl ? deps.baseUrl.replace(/\/$/, '') : `${req.protocol}://${req.host}`}${OIDC_CALLBACK_PATH}`;
  const configured = (): OidcSignInService => {
    if (!deps.oidc) throw new RegistryError('NOT_FOUND', 'sign-in with an OpenID provider is not configured on this server (auth.oidcSignIn)');
    return deps.oidc;
  };

  serve(app, getOidcSignIn, async () => ({ enabled: deps.oidc !== null, displayName: deps.oidc?.displayName ?? null }));

  serve(app, startOidcSignIn, async ({ req, reply, body }) => {
    const oidc = configured();
    const b = body();
    const started = await oidc.start(b.next ?? '/', redirectUri(req));
    stateCookie(reply, req, deps.baseUrl, started.state, 600);
    reply.header('cache-control', 'no-store');
    return { authorizationUrl: started.url };
  });

  serve(app, finishOidcSignIn, async ({ req, reply, body }) => {
    const oidc = configured();
    const b = body();
    // The state cookie is single use whatever the outcome.
    stateCookie(reply, req, deps.baseUrl, '', 0);
    const { session, next } = await oidc.finish(b.query, readCookie(req, OIDC_STATE_COOKIE), redirectUri(req), clientAddress(req), clientInfo(req).userAgent);
    setCookie(reply, req, deps.baseUrl, session.secret, session.maxAgeSeconds);
    reply.header('cache-control', 'no-store');
    const user = await deps.accounts.user(session.principal.name);
    return {
      signedIn: true,
      user: { ...user, orgs: await deps.accounts.orgsOf(session.principal) },
      csrfToken: session.csrf,
      expiresAt: new Date(session.expiresAt).toISOString(),
      next,
    };
  });
}
