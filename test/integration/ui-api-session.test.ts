/**
 * /api/v1/session: sign-in with a password sets an HttpOnly session cookie that every API
 * surface accepts; state-changing calls with the cookie need the CSRF header; sign-out ends it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ADMIN, adminAuth, basic, createUser, expect, json, packageUrl, pushImage, Session, startUiApp, type UiApp } from './ui-api-support.ts';

describe('UI session', () => {
  let app: UiApp;
  before(async () => {
    app = await startUiApp();
    await createUser(app, 'alice');
  });
  after(() => app.close());

  test('anonymous: GET /api/v1/session says signed out, /api/v1/user is 401', async () => {
    const res = await app.req({ url: '/api/v1/session' });
    expect(res, 200, 'session');
    assert.deepEqual(json(res), { signedIn: false, user: null, csrfToken: null });
    expect(await app.req({ url: '/api/v1/user' }), 401, 'user', 'UNAUTHORIZED');
  });

  test('sign-in sets an HttpOnly SameSite=Lax cookie (not Secure over http) and returns the CSRF token', async () => {
    const s = new Session(app);
    const res = await s.signIn('alice', 'alice-password');
    expect(res, 201, 'sign in');
    const body = json<{ signedIn: boolean; user: { username: string; admin: boolean }; csrfToken: string }>(res);
    assert.equal(body.signedIn, true);
    assert.equal(body.user.username, 'alice');
    assert.equal(body.user.admin, false);
    assert.ok(body.csrfToken.length >= 20);
    assert.match(s.setCookie ?? '', /^wharf_session=[A-Za-z0-9_-]{30,}; /);
    assert.match(s.setCookie ?? '', /; HttpOnly/);
    assert.match(s.setCookie ?? '', /; SameSite=Lax/);
    assert.match(s.setCookie ?? '', /; Path=\//);
    assert.doesNotMatch(s.setCookie ?? '', /Secure/);
    assert.doesNotMatch(res.body, new RegExp((s.cookie ?? 'x').split('=')[1] ?? 'x'), 'the cookie secret is not in the body');

    const who = await s.get('/api/v1/user');
    expect(who, 200, 'user with cookie');
    assert.equal(json<{ username: string }>(who).username, 'alice');
    const again = await s.get('/api/v1/session');
    assert.equal(json<{ csrfToken: string }>(again).csrfToken, body.csrfToken, 'the SPA can recover the CSRF token after a reload');
  });

  test('the cookie is Secure when the public base URL is https', async () => {
    const secure = await startUiApp({}, { server: { baseUrl: 'https://registry.example.com' } });
    try {
      const res = await secure.req({ method: 'POST', url: '/api/v1/session', payload: ADMIN });
      expect(res, 201, 'sign in');
      assert.match(String(res.headers['set-cookie']), /; Secure/);
    } finally {
      await secure.close();
    }
  });

  test('wrong password is 401 with a challenge, no cookie; bad bodies are 400', async () => {
    const res = await app.req({ method: 'POST', url: '/api/v1/session', payload: { username: 'alice', password: 'nope' } });
    expect(res, 401, 'wrong password', 'UNAUTHORIZED');
    assert.ok(res.headers['www-authenticate']);
    assert.equal(res.headers['set-cookie'], undefined);
    expect(await app.req({ method: 'POST', url: '/api/v1/session', payload: { username: 'alice' } }), 400, 'no password', 'BAD_REQUEST');
    expect(await app.req({ method: 'POST', url: '/api/v1/session', payload: 'username=alice', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415, 'a form post (cross-site) is not accepted', 'UNSUPPORTED');
    expect(await app.req({ method: 'POST', url: '/api/v1/session', payload: '{', headers: { 'content-type': 'application/json' } }), 400, 'bad JSON');
  });

  test('failed sign-ins are rate limited like every password check (429 + Retry-After)', async () => {
    const limited = await startUiApp({ loginRateLimit: { windowSeconds: '60', perAccount: '3', perAddress: '100' } });
    try {
      await createUser(limited, 'bob');
      for (let i = 0; i < 3; i++) {
        expect(await limited.req({ method: 'POST', url: '/api/v1/session', payload: { username: 'bob', password: `wrong-${i}` } }), 401, `attempt ${i}`);
      }
      const res = await limited.req({ method: 'POST', url: '/api/v1/session', payload: { username: 'bob', password: 'bob-password' } });
      expect(res, 429, 'locked out', 'TOOMANYREQUESTS');
      assert.ok(Number(res.headers['retry-after']) > 0);
      limited.clock.advance(61_000);
      expect(await limited.req({ method: 'POST', url: '/api/v1/session', payload: { username: 'bob', password: 'bob-password' } }), 201, 'after the window');
    } finally {
      await limited.close();
    }
  });

  test('writes with the cookie need X-Wharf-CSRF; Bearer/Basic callers do not', async () => {
    const s = await Session.signIn(app, 'alice', 'alice-password');
    const body = { name: 'ci', scopes: ['read:packages'] };
    expect(await s.req({ method: 'POST', url: '/api/v1/user/tokens', payload: body, csrf: false }), 403, 'no CSRF header', 'DENIED');
    expect(await s.req({ method: 'POST', url: '/api/v1/user/tokens', payload: body, csrf: 'forged-token-value-123456789' }), 403, 'wrong CSRF header', 'DENIED');
    expect(await s.req({ method: 'POST', url: '/api/v1/user/tokens', payload: body }), 201, 'with CSRF header');
    expect(await app.req({ method: 'POST', url: '/api/v1/user/tokens', payload: body, auth: basic('alice', 'alice-password') }), 201, 'Basic needs no CSRF');
    // Registry writes with only the cookie are refused too (a cross-site form could send them).
    expect(await s.req({ method: 'POST', url: '/v2/alice/web/blobs/uploads/', csrf: false }), 403, 'v2 upload with cookie, no CSRF', 'DENIED');
    // Another session's token does not work.
    const other = await Session.signIn(app, 'alice', 'alice-password');
    expect(await s.req({ method: 'POST', url: '/api/v1/user/tokens', payload: body, csrf: other.csrf ?? '' }), 403, "another session's token", 'DENIED');
  });

  test('the session reaches package settings and the registry as its user', async () => {
    await pushImage(app, basic('alice', 'alice-password'), 'alice/web', '1.0.0');
    const s = await Session.signIn(app, 'alice', 'alice-password');
    const settings = await s.get(packageUrl('alice/web'));
    expect(settings, 200, 'settings');
    assert.equal(json<{ viewerRole: string }>(settings).viewerRole, 'admin');
    expect(await s.req({ method: 'PATCH', url: packageUrl('alice/web'), payload: { visibility: 'public' } }), 200, 'visibility with CSRF');
    expect(await s.req({ method: 'PATCH', url: packageUrl('alice/web'), payload: { visibility: 'private' }, csrf: false }), 403, 'visibility without CSRF', 'DENIED');
    expect(await s.get('/v2/alice/web/tags/list'), 200, 'v2 read with the cookie');
  });

  test('sign-out deletes the session (needs CSRF); the old cookie is then anonymous', async () => {
    const s = await Session.signIn(app, 'alice', 'alice-password');
    expect(await s.req({ method: 'DELETE', url: '/api/v1/session', csrf: false }), 403, 'sign-out without CSRF', 'DENIED');
    expect(await s.get('/api/v1/user'), 200, 'still signed in');
    const out = await s.req({ method: 'DELETE', url: '/api/v1/session' });
    expect(out, 204, 'sign out');
    assert.match(String(out.headers['set-cookie']), /^wharf_session=; .*Max-Age=0/);
    expect(await s.get('/api/v1/user'), 401, 'cookie after sign-out', 'UNAUTHORIZED');
    assert.equal(json<{ signedIn: boolean }>(await s.get('/api/v1/session')).signedIn, false);
    expect(await app.req({ method: 'DELETE', url: '/api/v1/session' }), 204, 'sign-out without a session is harmless');
  });

  test('sessions expire when idle, and die with a disabled account', async () => {
    await createUser(app, 'carol');
    const s = await Session.signIn(app, 'carol', 'carol-password');
    app.clock.advance(6 * 86_400_000);
    expect(await s.get('/api/v1/user'), 200, 'used within the idle window (slides)');
    app.clock.advance(6 * 86_400_000);
    expect(await s.get('/api/v1/user'), 200, 'still alive: the last use extended it');
    app.clock.advance(8 * 86_400_000);
    expect(await s.get('/api/v1/user'), 401, 'idle for 8 days', 'UNAUTHORIZED');

    const d = await Session.signIn(app, 'carol', 'carol-password');
    expect(await app.req({ method: 'PATCH', url: '/api/v1/users/carol', auth: adminAuth(), payload: { disabled: true } }), 200, 'disable carol');
    expect(await d.get('/api/v1/user'), 401, 'disabled account', 'UNAUTHORIZED');
    expect(await d.signIn('carol', 'carol-password'), 401, 'disabled account cannot sign in');
  });

  test('changing the password or disabling the account ends every web session and refresh token', async () => {
    await createUser(app, 'dave');
    const refresh = async (password: string): Promise<string> => {
      const res = await app.req({ url: '/token?service=wharf&offline_token=true&client_id=test', auth: basic('dave', password) });
      expect(res, 200, 'token with a refresh token');
      return json<{ refresh_token: string }>(res).refresh_token;
    };
    const redeem = (token: string) =>
      app.req({
        method: 'POST',
        url: '/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token, service: 'wharf' }).toString(),
      });

    // Own password change, made from one of two sessions: both end, as does the refresh token.
    const web = await Session.signIn(app, 'dave', 'dave-password');
    const other = await Session.signIn(app, 'dave', 'dave-password');
    const rt = await refresh('dave-password');
    expect(await redeem(rt), 200, 'refresh token works before');
    expect(await web.req({ method: 'PUT', url: '/api/v1/user/password', payload: { password: 'dave-new-password' } }), 204, 'own password change');
    expect(await web.get('/api/v1/user'), 401, 'the session that changed it', 'UNAUTHORIZED');
    expect(await other.get('/api/v1/user'), 401, 'another session', 'UNAUTHORIZED');
    expect(await redeem(rt), 401, 'refresh token after the change', 'UNAUTHORIZED');

    // An admin resetting the password ends them too.
    const again = await Session.signIn(app, 'dave', 'dave-new-password');
    const rt2 = await refresh('dave-new-password');
    expect(await app.req({ method: 'PUT', url: '/api/v1/users/dave/password', auth: adminAuth(), payload: { password: 'dave-third-password' } }), 204, 'admin reset');
    expect(await again.get('/api/v1/user'), 401, 'session after an admin reset', 'UNAUTHORIZED');
    expect(await redeem(rt2), 401, 'refresh token after an admin reset', 'UNAUTHORIZED');

    // Disabling ends them for good: enabling the account again revives neither.
    const last = await Session.signIn(app, 'dave', 'dave-third-password');
    const rt3 = await refresh('dave-third-password');
    expect(await app.req({ method: 'PATCH', url: '/api/v1/users/dave', auth: adminAuth(), payload: { disabled: true } }), 200, 'disable');
    expect(await app.req({ method: 'PATCH', url: '/api/v1/users/dave', auth: adminAuth(), payload: { disabled: false } }), 200, 'enable again');
    expect(await last.get('/api/v1/user'), 401, 'session of a disabled-then-enabled account', 'UNAUTHORIZED');
    expect(await redeem(rt3), 401, 'refresh token of a disabled-then-enabled account', 'UNAUTHORIZED');
    expect(await Session.signIn(app, 'dave', 'dave-third-password').then((s) => s.get('/api/v1/user')), 200, 'a new sign-in works');
  });

  test('a garbage cookie is simply anonymous', async () => {
    for (const cookie of ['wharf_session=nope', 'wharf_session=%zz', `wharf_session=${'a'.repeat(43)}`, 'other=1']) {
      const res = await app.req({ url: '/api/v1/session', headers: { cookie } });
      expect(res, 200, cookie);
      assert.equal(json<{ signedIn: boolean }>(res).signedIn, false);
      expect(await app.req({ url: '/api/v1/user', headers: { cookie } }), 401, `user with ${cookie}`);
    }
  });
});
