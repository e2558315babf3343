/**
 * Sign-in with an OpenID provider across two replicas sharing one database (both profiles:
 * WHARF_TEST_PROFILE=scale shares a PostgreSQL schema, the embedded profile a SQLite file):
 * the sign-in starts on replica A, the provider's real login and consent (oidc-provider, in
 * this process, driven over HTTP) send the browser back, and the callback lands on replica B.
 * The state is single use and bound to the browser's cookie.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { SYSTEM } from '../../src/auth/principal.ts';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { startOidcProvider, type StartedProvider } from '../helpers/oidc-provider.ts';
import { freePort } from '../helpers/server.ts';
import { freshSchema } from '../scale/backends.ts';

const REDIRECT = 'http://wharf.test/-/sign-in/oidc';
const scale = process.env['WHARF_TEST_PROFILE'] === 'scale';

/** The value of a cookie set by a response. */
function cookieOf(res: LightMyRequestResponse, name: string): string | undefined {
  const raw = res.headers['set-cookie'];
  for (const c of Array.isArray(raw) ? raw : raw ? [raw] : []) {
    const [pair = ''] = c.split(';');
    if (pair.startsWith(`${name}=`)) return pair.slice(name.length + 1);
  }
  return undefined;
}

/**
 * What a browser does at the provider: follow redirects with its cookies, fill the login form
 * (any password), press Continue on the consent page, until the provider sends it to REDIRECT.
 * Returns the query string of that last redirect.
 */
async function throughProvider(start: string, login: string): Promise<string> {
  const jar = new Map<string, string>();
  const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const keep = (res: Response) => {
    for (const c of res.headers.getSetCookie()) {
      const [pair = ''] = c.split(';');
      const eq = pair.indexOf('=');
      jar.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
  };
  let url = start;
  let form: URLSearchParams | null = null;
  for (let hop = 0; hop < 20; hop++) {
    if (url.startsWith(REDIRECT)) return new URL(url).search;
    const res = await fetch(url, {
      method: form ? 'POST' : 'GET',
      redirect: 'manual',
      headers: { cookie: cookie(), ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      ...(form ? { body: form.toString() } : {}),
    });
    keep(res);
    form = null;
    const location = res.headers.get('location');
    if (location) {
      url = new URL(location, url).href;
      continue;
    }
    const html = await res.text();
    assert.equal(res.status, 200, `${url}: ${html.slice(0, 300)}`);
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    const prompt = /name="prompt" value="([^"]+)"/.exec(html)?.[1];
    assert.ok(action && prompt, `no form at ${url}`);
    url = new URL(action.replaceAll('&amp;', '&'), url).href;
    form = new URLSearchParams(prompt === 'login' ? { prompt, login, password: 'any password' } : { prompt });
  }
  throw new Error('the provider never sent the browser back');
}

describe('OIDC sign-in across replicas', () => {
  let provider: StartedProvider;
  let a: TestApp;
  let b: TestApp;
  let cleanup: () => Promise<void>;

  before(async () => {
    provider = await startOidcProvider({
      port: await freePort(),
      redirectUris: [REDIRECT],
      accounts: {
        carol: { email: 'carol@example.com', email_verified: true, preferred_username: 'carol' },
        dave: { email: 'dave@example.com', email_verified: true, preferred_username: 'dave' },
      },
    });
    const auth = {
      enabled: 'true',
      admin: { password: 'admin-password' },
      oidc: { allowInsecureIssuers: 'true' },
      oidcSignIn: { issuer: provider.issuer, clientId: provider.clientId, clientSecret: provider.clientSecret, redirectUri: REDIRECT, createAccounts: 'true', displayName: 'Test ID' },
    };
    // One database for both replicas.
    let database: Record<string, unknown>;
    if (scale) {
      const schema = await freshSchema();
      database = { driver: 'postgres', postgres: { url: schema.url, schema: schema.schema } };
      cleanup = schema.drop;
    } else {
      const dir = await mkdtemp(join(tmpdir(), 'wharf-oidc-'));
      database = { driver: 'sqlite', sqlite: { path: join(dir, 'wharf.db') } };
      cleanup = () => rm(dir, { recursive: true, force: true });
    }
    a = await buildTestApp({ auth, database } as never);
    b = await buildTestApp({ auth, database } as never);
  });

  after(async () => {
    await a?.close();
    await b?.close();
    await provider?.stop();
    await cleanup?.();
  });

  const start = async (app: TestApp) => {
    const res = await app.app.inject({ method: 'POST', url: '/api/v1/session/oidc', payload: { next: '/carol' } });
    assert.equal(res.statusCode, 201, res.body);
    const state = cookieOf(res, 'wharf_oidc_state');
    assert.ok(state, 'state cookie');
    const url = (JSON.parse(res.body) as { authorizationUrl: string }).authorizationUrl;
    const q = new URL(url).searchParams;
    assert.equal(q.get('code_challenge_method'), 'S256');
    assert.equal(q.get('state'), state, 'the cookie holds the state sent to the provider');
    return { url, state };
  };
  const finish = (app: TestApp, query: string, state: string | undefined) =>
    app.app.inject({ method: 'POST', url: '/api/v1/session/oidc/callback', payload: { query }, headers: state ? { cookie: `wharf_oidc_state=${state}` } : {} });

  test('started on one replica, finished on the other: a session every replica knows', async () => {
    const s = await start(a);
    const query = await throughProvider(s.url, 'carol');
    assert.match(query, /code=/);
    const res = await finish(b, query, s.state);
    assert.equal(res.statusCode, 201, res.body);
    const body = JSON.parse(res.body) as { user: { username: string }; next: string };
    assert.equal(body.user.username, 'carol');
    assert.equal(body.next, '/carol');
    const session = cookieOf(res, 'wharf_session');
    assert.ok(session);
    const me = await a.app.inject({ url: '/api/v1/user', headers: { cookie: `wharf_session=${session}` } });
    assert.equal(me.statusCode, 200, me.body);
    assert.equal((JSON.parse(me.body) as { username: string }).username, 'carol');

    // Single use, on any replica.
    const replay = await finish(a, query, s.state);
    assert.equal(replay.statusCode, 400, replay.body);
    assert.match(replay.body, /expired or was already used/);
  });

  test('a callback without the browser that started it is refused (login CSRF)', async () => {
    const s = await start(a);
    const query = await throughProvider(s.url, 'carol');
    const res = await finish(b, query, undefined);
    assert.equal(res.statusCode, 400, res.body);
    assert.match(res.body, /started in another browser/);
    const other = await finish(b, query, 'x'.repeat(s.state.length));
    assert.equal(other.statusCode, 400);
    // The real browser can still finish it: the refusals did not use it up.
    assert.equal((await finish(a, query, s.state)).statusCode, 201);
  });

  test('a sign-in the provider refuses says so', async () => {
    const s = await start(b);
    const res = await finish(a, `?error=access_denied&error_description=${encodeURIComponent('the user said no')}&state=${s.state}&iss=${encodeURIComponent(provider.issuer)}`, s.state);
    assert.equal(res.statusCode, 403, res.body);
    assert.match(res.body, /the provider refused the sign-in: the user said no/);
  });

  test('auth.oidcSignIn.createAccounts turned off at run time (ADR 0025): a newcomer is refused on the other replica; reset: created', async () => {
    await a.settings.set(SYSTEM, 'auth.oidcSignIn.createAccounts', false);
    await b.settings.refresh(); // what b's timer does within 3 s
    const s = await start(a);
    const refused = await finish(b, await throughProvider(s.url, 'dave'), s.state);
    assert.equal(refused.statusCode, 403, refused.body);
    assert.match(refused.body, /accounts are not created on first sign-in here/);
    await b.settings.reset(SYSTEM, 'auth.oidcSignIn.createAccounts');
    await a.settings.refresh();
    const again = await start(b);
    const created = await finish(a, await throughProvider(again.url, 'dave'), again.state);
    assert.equal(created.statusCode, 201, created.body);
    assert.equal((JSON.parse(created.body) as { user: { username: string } }).user.username, 'dave');
  });

  test('the sign-in page learns whether and how to offer it', async () => {
    const res = await a.app.inject({ url: '/api/v1/session/oidc' });
    assert.deepEqual(JSON.parse(res.body), { enabled: true, displayName: 'Test ID' });
  });
});
