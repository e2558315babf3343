/**
 * /api/v1/session — the web UI's sign-in. A session is an HttpOnly, SameSite=Lax cookie (Secure
 * over https); state-changing calls made with it must carry the session's CSRF token in the
 * `X-Wharf-CSRF` header (callers using Bearer or Basic credentials are not affected).
 *   GET    /api/v1/session   who is signed in (always 200) and the CSRF token
 *   POST   /api/v1/session   {username, password} → sets the cookie
 *   DELETE /api/v1/session   signs out, clears the cookie
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Principal } from '../../auth/principal.ts';
import { RegistryError } from '../../errors.ts';
import type { AccountService } from '../../services/accounts.ts';
import { SessionService } from '../../services/sessions.ts';
import { clientAddress, clientInfo } from '../auth-gate.ts';
import { HttpHeadersError } from '../errors.ts';
import { route, serve } from './route.ts';
import { userWithOrgsSchema } from './schemas.ts';

export const SESSION_COOKIE = 'wharf_session';
export const CSRF_HEADER = 'x-wharf-csrf';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface SessionRouteDeps {
  sessions: SessionService;
  accounts: AccountService;
  baseUrl: string | undefined;
}

/** The value of one cookie of the request, or undefined. */
export function readCookie(req: FastifyRequest, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) {
      const raw = part.slice(eq + 1).trim();
      try {
        return decodeURIComponent(raw);
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

export function secureCookie(req: FastifyRequest, baseUrl: string | undefined): boolean {
  return baseUrl ? baseUrl.startsWith('https:') : req.protocol === 'https';
}

export function setCookie(reply: FastifyReply, req: FastifyRequest, baseUrl: string | undefined, value: string, maxAgeSeconds: number): void {
  const attrs = [`${SESSION_COOKIE}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Lax', `Max-Age=${maxAgeSeconds}`];
  if (secureCookie(req, baseUrl)) attrs.push('Secure');
  reply.header('set-cookie', attrs.join('; '));
}

/**
 * The AuthGate's session hook: the signed-in user of the cookie, or null. A state-changing
 * request authenticated only by the cookie must present the CSRF token, or it is refused (403)
 * — a cross-site form or fetch can send the cookie but cannot read the token.
 */
export function sessionAuthenticator(sessions: SessionService): (req: FastifyRequest) => Promise<Principal | null> {
  return async (req) => {
    const secret = readCookie(req, SESSION_COOKIE);
    if (!secret) return null;
    const s = await sessions.resolve(secret);
    if (!s) return null;
    if (!SAFE_METHODS.has(req.method)) {
      const presented = req.headers[CSRF_HEADER];
      if (!SessionService.csrfMatches(typeof presented === 'string' ? presented : undefined, s.csrf)) {
        throw new RegistryError('DENIED', `missing or invalid CSRF token: send the session's token in the X-Wharf-CSRF header`);
      }
    }
    return s.principal;
  };
}

export const sessionSchema = z
  .object({
    signedIn: z.boolean(),
    user: userWithOrgsSchema.nullable(),
    /** Send it as X-Wharf-CSRF on state-changing calls made with the cookie. */
    csrfToken: z.string().nullable(),
    expiresAt: z.string().optional(),
  })
  .meta({ id: 'SessionInfo' });

const getSession = route({
  method: 'GET',
  url: '/api/v1/session',
  operationId: 'getSession',
  tags: ['session'],
  summary: 'The signed-in user of the session cookie and its CSRF token (always 200)',
  responses: { 200: sessionSchema },
});
const signIn = route({
  method: 'POST',
  url: '/api/v1/session',
  operationId: 'signIn',
  tags: ['session'],
  summary: 'Sign in: sets the HttpOnly session cookie',
  body: z.object({ username: z.string().min(1).max(255), password: z.string().min(1).max(1024) }),
  bodyExample: { username: 'alice', password: 'correct horse battery staple' },
  responses: { 201: sessionSchema },
  errors: [429],
});
const signOut = route({
  method: 'DELETE',
  url: '/api/v1/session',
  operationId: 'signOut',
  tags: ['session'],
  summary: 'Sign out, clearing the cookie (needs X-Wharf-CSRF)',
  responses: { 204: null },
  errors: [403],
});

export function registerSessionRoutes(app: FastifyInstance, deps: SessionRouteDeps): void {
  const { sessions, accounts } = deps;

  const userView = async (p: Principal) => {
    const u = await accounts.user(p.name);
    return { ...u, orgs: await accounts.orgsOf(p) };
  };

  serve(app, getSession, async ({ req, reply }) => {
    reply.header('cache-control', 'no-store');
    const secret = readCookie(req, SESSION_COOKIE);
    const s = secret ? await sessions.resolve(secret) : null;
    if (!s) return { signedIn: false, user: null, csrfToken: null };
    return { signedIn: true, user: await userView(s.principal), csrfToken: s.csrf, expiresAt: new Date(s.expiresAt).toISOString() };
  });

  serve(app, signIn, async ({ req, reply, body }) => {
    const b = body();
    let opened;
    try {
      opened = await sessions.signIn(b.username, b.password, clientAddress(req), clientInfo(req).userAgent);
    } catch (err) {
      if (err instanceof RegistryError && err.code === 'UNAUTHORIZED') {
        throw new HttpHeadersError('UNAUTHORIZED', err.message, { 'www-authenticate': 'Bearer realm="wharf"' });
      }
      throw err;
    }
    setCookie(reply, req, deps.baseUrl, opened.secret, opened.maxAgeSeconds);
    reply.header('cache-control', 'no-store');
    return {
      signedIn: true,
      user: await userView(opened.principal),
      csrfToken: opened.csrf,
      expiresAt: new Date(opened.expiresAt).toISOString(),
    };
  });

  serve(app, signOut, async ({ req, reply }) => {
    const secret = readCookie(req, SESSION_COOKIE);
    const s = secret ? await sessions.resolve(secret) : null;
    if (secret && s) {
      const presented = req.headers[CSRF_HEADER];
      if (!SessionService.csrfMatches(typeof presented === 'string' ? presented : undefined, s.csrf)) {
        throw new RegistryError('DENIED', 'missing or invalid CSRF token: send the session token in the X-Wharf-CSRF header');
      }
      await sessions.signOut(secret);
    }
    setCookie(reply, req, deps.baseUrl, '', 0);
    return undefined;
  });
}
