/**
 * The Docker token endpoint and the credentials behind it: GET /token (Basic password or PAT,
 * anonymous), POST /token (password grant as Helm 3 sends it, refresh_token with offline
 * tokens), response fields, wrong credentials, failed-login rate limits, personal access token
 * revocation, expiry, scopes and restrictions, signing-key rotation and the JWKS.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  type AccessApp,
  adminAuth,
  assertStatus,
  basic,
  bearer,
  claimsOf,
  createPat,
  createUser,
  errorCode,
  grantedActions,
  json,
  kidOf,
  registryToken,
  type Res,
  SERVICE,
  seedImage,
  type SeededImage,
  startAccessApp,
  tokenRequest,
} from './access-support.ts';

interface TokenBody {
  token: string;
  access_token: string;
  expires_in: number;
  issued_at: string;
  refresh_token?: string;
}

let app: AccessApp;
let alice: { username: string; password: string; auth: string };
let bob: { username: string; password: string; auth: string };
let priv: SeededImage;
let pub: SeededImage;
let other: SeededImage;

const pullPriv = () => `repository:${priv.repo}:pull`;

before(async () => {
  // Wrong passwords are tried on purpose from the one test address: the throttle has its own suites.
  app = await startAccessApp({ auth: { loginRateLimit: { perAccountAddress: '1000', perAccount: '1000' } } });
  alice = await createUser(app, 'alice');
  bob = await createUser(app, 'bob');
  priv = await seedImage(app, 'alice/private-app', 'v1');
  pub = await seedImage(app, 'alice/public-app', 'v1');
  other = await seedImage(app, 'alice/other-app', 'v1');
  await app.wharf.metadata.packages.setVisibility(pub.repo, 'public');
});
after(async () => {
  await app.close();
});

describe('challenge', () => {
  test('GET /v2/ without credentials: 401 with the Bearer challenge naming realm and service', async () => {
    const res = await app.req({ url: '/v2/' });
    assertStatus(res, 401, 'GET /v2/');
    assert.equal(errorCode(res), 'UNAUTHORIZED');
    assert.equal(res.headers['www-authenticate'], `Bearer realm="http://localhost:80/token",service="${SERVICE}"`);
  });

  test('an anonymous pull of a private package: 401 whose challenge carries the scope', async () => {
    const res = await app.req({ url: `/v2/${priv.repo}/manifests/v1` });
    assertStatus(res, 401, 'anonymous pull');
    assert.equal(res.headers['www-authenticate'], `Bearer realm="http://localhost:80/token",service="${SERVICE}",scope="repository:${priv.repo}:pull"`);
    const head = await app.req({ method: 'HEAD', url: `/v2/${priv.repo}/manifests/v1` });
    assertStatus(head, 401, 'anonymous HEAD');
    assert.match(String(head.headers['www-authenticate']), /^Bearer realm=/);
  });

  test("without server.baseUrl the realm and service follow the request's Host", async () => {
    const other = await startAccessApp({ auth: {} });
    try {
      const res = await other.req({ url: '/v2/', headers: { host: 'registry.example.com:5000' } });
      assert.equal(res.headers['www-authenticate'], 'Bearer realm="http://registry.example.com:5000/token",service="registry.example.com:5000"');
    } finally {
      await other.close();
    }
  });
});

describe('GET /token', () => {
  test('Basic password: a signed token with token, access_token, expires_in and issued_at', async () => {
    const before = app.clock.now;
    const res = await tokenRequest(app, alice.auth, [`repository:${priv.repo}:pull,push`], { account: 'alice', client_id: 'containers' });
    assertStatus(res, 200, 'token');
    assert.equal(res.headers['cache-control'], 'no-store');
    const body = json<TokenBody>(res);
    assert.equal(body.token, body.access_token);
    assert.equal(body.expires_in, 300);
    assert.equal(Date.parse(body.issued_at), before, 'issued_at is the server clock, as RFC 3339');
    assert.equal(body.refresh_token, undefined, 'no refresh token unless asked for');
    const claims = claimsOf(body.token);
    assert.equal(claims.sub, 'alice');
    assert.equal(claims.aud, SERVICE);
    assert.equal(claims.exp - claims.iat, 300);
    assert.deepEqual(grantedActions(res, priv.repo), ['pull', 'push']);
    // The token works on /v2.
    const pull = await app.req({ url: `/v2/${priv.repo}/manifests/v1`, auth: bearer(body.token) });
    assertStatus(pull, 200, 'pull with the token');
  });

  test('granted actions are the intersection of what is asked and what the caller may do', async () => {
    // bob has no access to alice's private package; public gives everyone pull only.
    const res = await tokenRequest(app, bob.auth, [`repository:${priv.repo}:pull,push,delete`, `repository:${pub.repo}:pull,push,delete`, 'repository:bob/new:*']);
    assertStatus(res, 200, 'token');
    assert.deepEqual(grantedActions(res, priv.repo), []);
    assert.deepEqual(grantedActions(res, pub.repo), ['pull']);
    assert.deepEqual(grantedActions(res, 'bob/new'), ['delete', 'pull', 'push'], "'*' expands to every action of the owner's own namespace");
    // Only what was asked for, never more.
    const onlyPull = await tokenRequest(app, alice.auth, [`repository:${priv.repo}:pull`]);
    assert.deepEqual(grantedActions(onlyPull, priv.repo), ['pull']);
  });

  test('a cross-repository mount needs pull on the source in the token, not only in the account', async () => {
    const into = 'alice/mount-into';
    const url = `/v2/${into}/blobs/uploads/?mount=${priv.layerDigest}&from=${priv.repo}`;
    // A token that never asked about the source is challenged for it (as Distribution does) ...
    const narrow = await registryToken(app, alice.auth, [`repository:${into}:pull,push`]);
    const challenged = await app.req({ method: 'POST', url, auth: bearer(narrow) });
    assertStatus(challenged, 401, 'a token without the source is challenged for it');
    assert.equal(errorCode(challenged), 'UNAUTHORIZED');
    assert.equal(
      challenged.headers['www-authenticate'],
      `Bearer realm="http://localhost:80/token",service="${SERVICE}",scope="repository:${into}:pull,push repository:${priv.repo}:pull",error="insufficient_scope"`,
    );
    const wide = await registryToken(app, alice.auth, [`repository:${into}:pull,push`, `repository:${priv.repo}:pull`]);
    const mounted = await app.req({ method: 'POST', url, auth: bearer(wide) });
    assertStatus(mounted, 201, 'a token with pull on the source mounts');
    assertStatus(await app.req({ method: 'HEAD', url: `/v2/${into}/blobs/${priv.layerDigest}`, auth: alice.auth }), 200, 'the blob is in the target');
  });

  /** What a token-auth client does: the request, then a token for exactly the challenge's scope, then the request again. */
  async function followChallenge(auth: string, url: string): Promise<{ first: Res; second: Res; challenge: string }> {
    const first = await app.req({ method: 'POST', url });
    const challenge = String(first.headers['www-authenticate']);
    const scope = /scope="([^"]*)"/.exec(challenge)?.[1] ?? '';
    const token = await registryToken(app, auth, scope.split(' '));
    return { first, second: await app.req({ method: 'POST', url, auth: bearer(token) }), challenge };
  }

  test('a mount under token auth: the challenge names the source, so a client that follows it mounts (201)', async () => {
    const into = 'alice/mount-follow';
    const url = `/v2/${into}/blobs/uploads/?mount=${priv.layerDigest}&from=${priv.repo}`;
    const { first, second, challenge } = await followChallenge(alice.auth, url);
    assertStatus(first, 401, 'anonymous POST');
    assert.equal(challenge, `Bearer realm="http://localhost:80/token",service="${SERVICE}",scope="repository:${into}:pull,push repository:${priv.repo}:pull"`);
    assertStatus(second, 201, 'mounted with the token the challenge asked for');
    assert.equal(second.headers['docker-content-digest'], priv.layerDigest);
    assert.equal(second.headers.location, `/v2/${into}/blobs/${priv.layerDigest}`);
    // Without `from` (or with a malformed one) only the target is named.
    const plain = await app.req({ method: 'POST', url: `/v2/${into}/blobs/uploads/?mount=${priv.layerDigest}&from=Not/Valid` });
    assert.match(String(plain.headers['www-authenticate']), new RegExp(`scope="repository:${into}:pull,push"$`));
  });

  test('a mount from a source the user may not read: a normal upload, and nothing tells the source apart from a missing one', async () => {
    const into = 'bob/mount-follow';
    const fromPrivate = await followChallenge(bob.auth, `/v2/${into}/blobs/uploads/?mount=${priv.layerDigest}&from=${priv.repo}`);
    const fromNowhere = await followChallenge(bob.auth, `/v2/${into}/blobs/uploads/?mount=${priv.layerDigest}&from=alice/no-such-package`);
    for (const { first, second } of [fromPrivate, fromNowhere]) {
      assertStatus(first, 401, 'anonymous POST');
      assertStatus(second, 202, 'falls back to a new upload session');
      assert.match(String(second.headers.location), new RegExp(`^/v2/${into}/blobs/uploads/[0-9a-f-]{36}$`));
      assert.equal(second.headers['docker-content-digest'], undefined);
      assert.equal(second.headers.range, '0-0');
    }
    // The same answers, header for header, but for the names the client itself sent.
    const shape = (r: Res) => ({ status: r.statusCode, body: r.body.replaceAll('alice/no-such-package', priv.repo), headers: Object.keys(r.headers).sort() });
    assert.deepEqual(shape(fromNowhere.first), shape(fromPrivate.first));
    assert.equal(fromNowhere.challenge.replace('alice/no-such-package', priv.repo), fromPrivate.challenge);
    assert.deepEqual(Object.keys(fromNowhere.second.headers).sort(), Object.keys(fromPrivate.second.headers).sort());
    assertStatus(await app.req({ method: 'HEAD', url: `/v2/${into}/blobs/${priv.layerDigest}`, auth: bob.auth }), 404, 'nothing was mounted');
    // Basic credentials are not challenged: no read on the source is a plain 202 as well.
    const basicAnswer = await app.req({ method: 'POST', url: `/v2/${into}/blobs/uploads/?mount=${priv.layerDigest}&from=${priv.repo}`, auth: bob.auth });
    assertStatus(basicAnswer, 202, 'Basic credentials without read on the source');
  });

  test('several scope parameters and space-separated scopes are all honoured', async () => {
    const q = new URLSearchParams({ service: SERVICE });
    q.append('scope', `repository:${priv.repo}:pull repository:${other.repo}:pull`);
    q.append('scope', `repository:${pub.repo}:pull`);
    const res = await app.req({ url: `/token?${q.toString()}`, auth: alice.auth });
    assertStatus(res, 200, 'token');
    for (const r of [priv.repo, other.repo, pub.repo]) assert.deepEqual(grantedActions(res, r), ['pull'], r);
  });

  test('a password with the dotted shape of a JWT is still a password', async () => {
    const dotted = await createUser(app, 'dotty', 'correct.horse.battery');
    const res = await tokenRequest(app, dotted.auth, []);
    assertStatus(res, 200, 'login');
    assert.equal(claimsOf(json<TokenBody>(res).token).sub, 'dotty');
    assertStatus(await app.req({ url: '/v2/', auth: dotted.auth }), 200, 'Basic on /v2');
  });

  test('Basic with a personal access token as the password', async () => {
    const pat = await createPat(app, alice.auth, { scopes: ['write:packages'] });
    const res = await tokenRequest(app, basic('alice', pat.token), [`repository:${priv.repo}:pull,push,delete`]);
    assertStatus(res, 200, 'token');
    assert.deepEqual(grantedActions(res, priv.repo), ['pull', 'push'], 'a write token cannot delete');
    // The PAT belongs to alice: presenting it as bob fails.
    const asBob = await tokenRequest(app, basic('bob', pat.token), [`repository:${priv.repo}:pull`]);
    assertStatus(asBob, 401, 'PAT with the wrong username');
  });

  test('anonymous: a token for public pulls, an empty grant for private ones', async () => {
    const res = await tokenRequest(app, undefined, [`repository:${pub.repo}:pull,push`, pullPriv()]);
    assertStatus(res, 200, 'anonymous token');
    assert.equal(claimsOf(json<TokenBody>(res).token).kind, 'anonymous');
    assert.deepEqual(grantedActions(res, pub.repo), ['pull']);
    assert.deepEqual(grantedActions(res, priv.repo), []);
    const token = json<TokenBody>(res).token;
    assertStatus(await app.req({ url: `/v2/${pub.repo}/manifests/v1`, auth: bearer(token) }), 200, 'anonymous public pull');
    const denied = await app.req({ url: `/v2/${priv.repo}/manifests/v1`, auth: bearer(token) });
    assertStatus(denied, 401, 'anonymous token on a private package');
    assert.match(String(denied.headers['www-authenticate']), /error="insufficient_scope"/);
    // With an anonymous token, /v2/ answers 200 (the client is "logged in" anonymously).
    assertStatus(await app.req({ url: '/v2/', auth: bearer(token) }), 200, 'GET /v2/ with an anonymous token');
  });

  test('wrong credentials: 401 for a login (no scope), 401 for a private pull, an anonymous token for a public pull', async () => {
    const wrong = basic('alice', 'not-her-password');
    const login = await tokenRequest(app, wrong, []);
    assertStatus(login, 401, 'login with a wrong password');
    assert.equal(errorCode(login), 'UNAUTHORIZED');
    assert.ok(login.headers['www-authenticate'], 'UNAUTHORIZED always carries a challenge');
    assertStatus(await tokenRequest(app, wrong, [pullPriv()]), 401, 'private pull with a wrong password');
    const stale = await tokenRequest(app, wrong, [`repository:${pub.repo}:pull`]);
    assertStatus(stale, 200, 'public pull with stale credentials');
    assert.equal(claimsOf(json<TokenBody>(stale).token).sub, '', 'the token is anonymous');
    assert.deepEqual(grantedActions(stale, pub.repo), ['pull']);
    // Unknown users are treated the same as wrong passwords.
    assertStatus(await tokenRequest(app, basic('nobody', 'whatever-pw'), []), 401, 'unknown user');
    // A malformed Basic header is a 401, not a 500.
    const malformed = await app.req({ url: `/token?service=${SERVICE}`, auth: `Basic ${Buffer.from('no-colon').toString('base64')}` });
    assertStatus(malformed, 401, 'malformed Basic');
    assert.ok(malformed.headers['www-authenticate']);
    await app.wharf.metadata.loginFailures.reset('user:alice');
  });

  test('Basic credentials sent straight to /v2 are accepted; wrong ones are 401 with a challenge', async () => {
    assertStatus(await app.req({ url: `/v2/${priv.repo}/manifests/v1`, auth: alice.auth }), 200, 'Basic password');
    const wrong = await app.req({ url: `/v2/${priv.repo}/manifests/v1`, auth: basic('alice', 'wrong-password') });
    assertStatus(wrong, 401, 'wrong Basic password on /v2');
    assert.match(String(wrong.headers['www-authenticate']), /^Bearer realm=/);
    const denied = await app.req({ url: `/v2/${priv.repo}/manifests/v1`, auth: bob.auth });
    assertStatus(denied, 403, 'authenticated but not allowed');
    assert.equal(errorCode(denied), 'DENIED');
    await app.wharf.metadata.loginFailures.reset('user:alice');
  });
});

describe('POST /token (OAuth2 form)', () => {
  const form = (fields: Record<string, string>) => ({
    method: 'POST' as const,
    url: '/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams(fields).toString(),
  });

  test('grant_type=password as Helm 3 sends it', async () => {
    const res = await app.req(form({ grant_type: 'password', username: 'alice', password: alice.password, service: SERVICE, scope: `repository:${priv.repo}:pull,push`, client_id: 'helm' }));
    assertStatus(res, 200, 'password grant');
    const body = json<TokenBody>(res);
    assert.equal(body.token, body.access_token);
    assert.equal(typeof body.expires_in, 'number');
    assert.ok(!Number.isNaN(Date.parse(body.issued_at)));
    assert.deepEqual(grantedActions(res, priv.repo), ['pull', 'push']);
    assertStatus(await app.req({ url: `/v2/${priv.repo}/tags/list`, auth: bearer(body.token) }), 200, 'use the token');
  });

  test('repeated scope fields in the form are all honoured', async () => {
    const payload = `grant_type=password&username=alice&password=${encodeURIComponent(alice.password)}&service=${SERVICE}&scope=${encodeURIComponent(pullPriv())}&scope=${encodeURIComponent(`repository:${other.repo}:pull`)}`;
    const res = await app.req({ method: 'POST', url: '/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload });
    assertStatus(res, 200, 'password grant');
    assert.deepEqual(grantedActions(res, priv.repo), ['pull']);
    assert.deepEqual(grantedActions(res, other.repo), ['pull']);
  });

  test('wrong password: 401 for a login, anonymous token for a public pull', async () => {
    assertStatus(await app.req(form({ grant_type: 'password', username: 'alice', password: 'nope-nope', service: SERVICE })), 401, 'wrong password');
    const pubPull = await app.req(form({ grant_type: 'password', username: 'alice', password: 'nope-nope', service: SERVICE, scope: `repository:${pub.repo}:pull` }));
    assertStatus(pubPull, 200, 'public pull with a wrong password');
    assert.deepEqual(grantedActions(pubPull, pub.repo), ['pull']);
    await app.wharf.metadata.loginFailures.reset('user:alice');
  });

  test('refresh tokens: offline_token / access_type=offline, redeemed with grant_type=refresh_token', async () => {
    const viaGet = await tokenRequest(app, alice.auth, [], { offline_token: 'true', client_id: 'docker' });
    assertStatus(viaGet, 200, 'offline token');
    const refresh = json<TokenBody>(viaGet).refresh_token;
    assert.ok(refresh, 'a refresh token was issued');
    assert.match(refresh, /^wharf_rt_[0-9A-Za-z]{38}$/);

    const viaPost = await app.req(form({ grant_type: 'password', username: 'alice', password: alice.password, service: SERVICE, access_type: 'offline', client_id: 'helm' }));
    assert.ok(json<TokenBody>(viaPost).refresh_token, 'access_type=offline also yields one');

    const redeemed = await app.req(form({ grant_type: 'refresh_token', refresh_token: refresh, service: SERVICE, scope: `repository:${priv.repo}:pull,push`, client_id: 'docker' }));
    assertStatus(redeemed, 200, 'refresh grant');
    assert.deepEqual(grantedActions(redeemed, priv.repo), ['pull', 'push']);
    assert.equal(claimsOf(json<TokenBody>(redeemed).token).sub, 'alice');
    assert.equal(json<TokenBody>(redeemed).refresh_token, undefined, 'redeeming does not mint another refresh token');

    assertStatus(await app.req(form({ grant_type: 'refresh_token', refresh_token: `${refresh.slice(0, -1)}${refresh.endsWith('x') ? 'y' : 'x'}`, service: SERVICE })), 401, 'a mangled refresh token');
    assertStatus(await app.req(form({ grant_type: 'refresh_token', refresh_token: '', service: SERVICE })), 401, 'an empty refresh token');
  });

  test('a refresh token dies with a password change', async () => {
    const carol = await createUser(app, 'carol');
    const refresh = json<TokenBody>(await tokenRequest(app, carol.auth, [], { offline_token: 'true' })).refresh_token;
    assert.ok(refresh);
    const res = await app.req({ method: 'PUT', url: '/api/v1/user/password', auth: carol.auth, payload: { password: 'carol-new-password' } });
    assertStatus(res, 204, 'change password');
    assertStatus(await app.req(form({ grant_type: 'refresh_token', refresh_token: refresh, service: SERVICE })), 401, 'old refresh token');
    assertStatus(await tokenRequest(app, carol.auth, []), 401, 'old password');
    assertStatus(await tokenRequest(app, basic('carol', 'carol-new-password'), []), 200, 'new password');
  });

  test('logins with a personal access token get no refresh token (the PAT is the long-lived credential)', async () => {
    // A refresh token minted from a PAT would outlive the PAT's revocation.
    const pat = await createPat(app, alice.auth, { scopes: ['read:packages'] });
    const res = await tokenRequest(app, basic('alice', pat.token), [], { offline_token: 'true' });
    assertStatus(res, 200, 'PAT login');
    assert.equal(json<TokenBody>(res).refresh_token, undefined);
  });

  test('an unsupported grant_type or a missing form is a clear 400', async () => {
    const res = await app.req(form({ grant_type: 'client_credentials', service: SERVICE }));
    assertStatus(res, 400, 'client_credentials');
    assert.equal(errorCode(res), 'BAD_REQUEST');
    assertStatus(await app.req({ method: 'POST', url: '/token' }), 400, 'no body');
  });
});

describe('failed-login rate limits', () => {
  let limited: AccessApp;
  before(async () => {
    limited = await startAccessApp({ auth: { loginRateLimit: { windowSeconds: '60', perAccount: '3', perAddress: '5' } } });
    await createUser(limited, 'dave');
    await createUser(limited, 'erin');
    await seedImage(limited, 'dave/public-app', 'v1');
    await limited.wharf.metadata.packages.setVisibility('dave/public-app', 'public');
  });
  after(async () => {
    await limited.close();
  });

  test('per account: after the limit, 429 TOOMANYREQUESTS with Retry-After, even for the right password', async () => {
    for (let i = 0; i < 3; i++) {
      assertStatus(await tokenRequest(limited, basic('dave', `wrong-${i}-password`), [], {}), 401, `failure ${i + 1}`);
    }
    const blocked = await tokenRequest(limited, basic('dave', 'dave-password'), []);
    assertStatus(blocked, 429, 'right password while limited');
    assert.equal(errorCode(blocked), 'TOOMANYREQUESTS');
    const retry = Number(blocked.headers['retry-after']);
    assert.ok(retry > 0 && retry <= 60, `Retry-After ${String(blocked.headers['retry-after'])}`);
    // The same limit applies to Basic straight to /v2 and to the POST form.
    assertStatus(await limited.req({ url: '/v2/', auth: basic('dave', 'dave-password') }), 429, 'Basic on /v2 while limited');
    const post = await limited.req({ method: 'POST', url: '/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'grant_type=password&username=dave&password=dave-password' });
    assertStatus(post, 429, 'password grant while limited');
    assert.ok(post.headers['retry-after']);
    // A public pull with stale credentials still gets an anonymous token (no oracle, no lock-out).
    const pubPull = await tokenRequest(limited, basic('dave', 'dave-password'), ['repository:dave/public-app:pull']);
    assertStatus(pubPull, 200, 'public pull while limited');
    assert.equal(claimsOf(json<TokenBody>(pubPull).token).sub, '');
    // Other accounts are unaffected.
    assertStatus(await tokenRequest(limited, basic('erin', 'erin-password'), []), 200, 'another account');
    // After the window the right password works again, and resets the counter.
    limited.clock.advance(retry * 1000 + 1);
    assertStatus(await tokenRequest(limited, basic('dave', 'dave-password'), []), 200, 'after the window');
  });

  test('per address: many usernames from one address are limited; other addresses are not', async () => {
    const from = '203.0.113.7';
    for (let i = 0; i < 5; i++) {
      const res = await limited.req({ url: `/token?service=${SERVICE}`, auth: basic(`guess${i}`, 'password1'), remoteAddress: from });
      assertStatus(res, 401, `guess ${i}`);
    }
    const blocked = await limited.req({ url: `/token?service=${SERVICE}`, auth: basic('erin', 'erin-password'), remoteAddress: from });
    assertStatus(blocked, 429, 'a sixth attempt from the same address, even with valid credentials');
    assert.ok(blocked.headers['retry-after']);
    const elsewhere = await limited.req({ url: `/token?service=${SERVICE}`, auth: basic('erin', 'erin-password'), remoteAddress: '198.51.100.9' });
    assertStatus(elsewhere, 200, 'another address');
  });
});

describe('personal access tokens', () => {
  test('created once (secret shown once), listed without the secret, last use recorded', async () => {
    const pat = await createPat(app, alice.auth, { name: 'ci laptop', scopes: ['read:packages'] });
    assert.match(pat.token, /^wharf_pat_[0-9A-Za-z]{38}$/);
    const list = json<{ id: string; name: string; hint: string; lastUsedAt: string | null; token?: string }[]>(await app.req({ url: '/api/v1/user/tokens', auth: alice.auth }));
    const listed = list.find((t) => t.id === pat.id);
    assert.ok(listed);
    assert.equal(listed.name, 'ci laptop');
    assert.equal(listed.lastUsedAt, null);
    assert.equal(JSON.stringify(list).includes(pat.token), false, 'the secret is never listed');
    assert.ok(listed.hint.endsWith(pat.token.slice(-4)));
    // Only a hash is stored.
    const stored = await app.wharf.metadata.tokens.get(pat.id);
    assert.ok(stored);
    assert.equal(JSON.stringify(stored).includes(pat.token), false);

    assertStatus(await app.req({ url: `/v2/${priv.repo}/tags/list`, auth: bearer(pat.token) }), 200, 'PAT as a bearer token on /v2');
    const after = json<{ id: string; lastUsedAt: string | null }[]>(await app.req({ url: '/api/v1/user/tokens', auth: alice.auth })).find((t) => t.id === pat.id);
    assert.equal(after?.lastUsedAt, new Date(app.clock.now).toISOString());
  });

  test('revocation is immediate: the PAT and registry tokens derived from it stop working', async () => {
    const pat = await createPat(app, alice.auth, { scopes: ['write:packages'] });
    const derived = await registryToken(app, basic('alice', pat.token), [pullPriv()]);
    assertStatus(await app.req({ url: `/v2/${priv.repo}/manifests/v1`, auth: bearer(derived) }), 200, 'derived token before revocation');
    assertStatus(await app.req({ url: `/v2/${priv.repo}/manifests/v1`, auth: basic('alice', pat.token) }), 200, 'PAT before revocation');

    // Someone else cannot revoke it (and does not learn it exists).
    assertStatus(await app.req({ method: 'DELETE', url: `/api/v1/user/tokens/${pat.id}`, auth: bob.auth }), 404, 'bob revokes alice token');
    assertStatus(await app.req({ method: 'DELETE', url: `/api/v1/user/tokens/${pat.id}`, auth: alice.auth }), 204, 'revoke');

    const withDerived = await app.req({ url: `/v2/${priv.repo}/manifests/v1`, auth: bearer(derived) });
    assertStatus(withDerived, 401, 'derived token after revocation');
    assert.match(String(withDerived.headers['www-authenticate']), /error="invalid_token"/);
    assertStatus(await app.req({ url: `/v2/${priv.repo}/manifests/v1`, auth: basic('alice', pat.token) }), 401, 'PAT as Basic after revocation');
    assertStatus(await app.req({ url: `/v2/${priv.repo}/manifests/v1`, auth: bearer(pat.token) }), 401, 'PAT as bearer after revocation');
    assertStatus(await tokenRequest(app, basic('alice', pat.token), [pullPriv()]), 401, 'token endpoint after revocation');
    const listed = json<{ id: string; revokedAt: string | null }[]>(await app.req({ url: '/api/v1/user/tokens', auth: alice.auth })).find((t) => t.id === pat.id);
    assert.ok(listed?.revokedAt);
  });

  test('an expired PAT is refused everywhere', async () => {
    const pat = await createPat(app, alice.auth, { scopes: ['read:packages'], expiresInDays: 1 });
    assertStatus(await app.req({ url: `/v2/${priv.repo}/manifests/v1`, auth: basic('alice', pat.token) }), 200, 'before expiry');
    const derived = await registryToken(app, basic('alice', pat.token), [pullPriv()]);
    app.clock.advance(86_400_000 + 1000);
    try {
      assertStatus(await app.req({ url: `/v2/${priv.repo}/manifests/v1`, auth: basic('alice', pat.token) }), 401, 'Basic after expiry');
      assertStatus(await app.req({ url: `/v2/${priv.repo}/manifests/v1`, auth: bearer(pat.token) }), 401, 'bearer after expiry');
      assertStatus(await tokenRequest(app, basic('alice', pat.token), [pullPriv()]), 401, 'token endpoint after expiry');
      assertStatus(await app.req({ url: `/v2/${priv.repo}/manifests/v1`, auth: bearer(derived) }), 401, 'derived registry token');
    } finally {
      app.clock.advance(-(86_400_000 + 1000));
    }
  });

  test('a token lacking a scope: granted only its scopes; Basic → 403, bearer → 401 insufficient_scope', async () => {
    const pat = await createPat(app, alice.auth, { scopes: ['read:packages'] });
    const res = await tokenRequest(app, basic('alice', pat.token), [`repository:${priv.repo}:pull,push,delete`]);
    assert.deepEqual(grantedActions(res, priv.repo), ['pull']);
    const token = json<TokenBody>(res).token;
    const viaBearer = await app.req({ method: 'POST', url: `/v2/${priv.repo}/blobs/uploads/`, auth: bearer(token) });
    assertStatus(viaBearer, 401, 'push with a pull-only token');
    assert.match(String(viaBearer.headers['www-authenticate']), new RegExp(`scope="repository:${priv.repo}:pull,push",error="insufficient_scope"`));
    const viaBasic = await app.req({ method: 'POST', url: `/v2/${priv.repo}/blobs/uploads/`, auth: basic('alice', pat.token) });
    assertStatus(viaBasic, 403, 'push with a read-only PAT as Basic');
    assert.equal(errorCode(viaBasic), 'DENIED');
    // delete:packages without write cannot push, but can delete.
    const deleter = await createPat(app, alice.auth, { scopes: ['delete:packages'] });
    assert.deepEqual(grantedActions(await tokenRequest(app, basic('alice', deleter.token), [`repository:${priv.repo}:pull,push,delete`]), priv.repo), ['delete', 'pull']);
  });

  test('a token restricted to packages or owners covers only those', async () => {
    const one = await createPat(app, alice.auth, { scopes: ['read:packages'], packages: [priv.repo] });
    const res = await tokenRequest(app, basic('alice', one.token), [pullPriv(), `repository:${other.repo}:pull`]);
    assert.deepEqual(grantedActions(res, priv.repo), ['pull']);
    assert.deepEqual(grantedActions(res, other.repo), [], 'a package not named in the token');
    assertStatus(await app.req({ url: `/v2/${other.repo}/manifests/v1`, auth: basic('alice', one.token) }), 403, 'Basic on another package');

    const acme = await createUser(app, 'acme-owner');
    await app.req({ method: 'POST', url: '/api/v1/orgs', auth: acme.auth, payload: { name: 'acme' } });
    await seedImage(app, 'acme/web', 'v1');
    const byOwner = await createPat(app, acme.auth, { scopes: ['read:packages'], owners: ['acme'] });
    const ownerRes = await tokenRequest(app, basic('acme-owner', byOwner.token), ['repository:acme/web:pull', 'repository:acme-owner/own:pull']);
    assert.deepEqual(grantedActions(ownerRes, 'acme/web'), ['pull']);
    assert.deepEqual(grantedActions(ownerRes, 'acme-owner/own'), [], 'another owner, even their own namespace');
  });

  test('bad token requests are clear 400s', async () => {
    for (const body of [
      { name: 'x', scopes: ['admin'] },
      { name: 'x', scopes: [] },
      { name: '', scopes: ['read:packages'] },
      { name: 'x', scopes: ['read:packages'], expiresInDays: 0 },
      { name: 'x', scopes: ['read:packages'], expiresInDays: 99999 },
      { name: 'x', scopes: ['read:packages'], packages: ['Not A Name'] },
      { scopes: ['read:packages'] },
    ]) {
      const res = await app.req({ method: 'POST', url: '/api/v1/user/tokens', auth: alice.auth, payload: body });
      assertStatus(res, 400, JSON.stringify(body));
      assert.equal(errorCode(res), 'BAD_REQUEST');
    }
  });

  test('a PAT cannot mint or revoke tokens (a leaked token cannot entrench itself)', async () => {
    const pat = await createPat(app, alice.auth, { scopes: ['write:packages', 'delete:packages'] });
    const res = await app.req({ method: 'POST', url: '/api/v1/user/tokens', auth: bearer(pat.token), payload: { name: 'more', scopes: ['read:packages'] } });
    assertStatus(res, 403, 'create a token with a token');
    assertStatus(await app.req({ method: 'DELETE', url: `/api/v1/user/tokens/${pat.id}`, auth: bearer(pat.token) }), 403, 'revoke with a token');
  });
});

describe('registry tokens', () => {
  test('expired, tampered and foreign-service tokens are 401 invalid_token', async () => {
    const token = await registryToken(app, alice.auth, [pullPriv()]);
    const [h, c, s] = token.split('.');
    const claims = JSON.parse(Buffer.from(c ?? '', 'base64url').toString()) as Record<string, unknown>;
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: 'admin' })).toString('base64url')}.${s}`;
    for (const [what, t] of [
      ['forged sub', forged],
      ['garbage', 'abc.def.ghi'],
      ['not a JWT', 'definitely-not-a-token'],
    ] as const) {
      const res = await app.req({ url: `/v2/${priv.repo}/manifests/v1`, auth: bearer(t) });
      assertStatus(res, 401, what);
      assert.match(String(res.headers['www-authenticate']), /error="invalid_token"/, what);
    }
    // A token minted for another service (audience) is not accepted here.
    const q = new URLSearchParams({ service: 'other-registry.example.com', scope: pullPriv() });
    const foreign = json<TokenBody>(await app.req({ url: `/token?${q.toString()}`, auth: alice.auth })).token;
    assertStatus(await app.req({ url: `/v2/${priv.repo}/manifests/v1`, auth: bearer(foreign) }), 401, 'foreign audience');
    // Expiry (300 s).
    app.clock.advance(301_000);
    try {
      assertStatus(await app.req({ url: `/v2/${priv.repo}/manifests/v1`, auth: bearer(token) }), 401, 'expired');
    } finally {
      app.clock.advance(-301_000);
    }
  });

  test("a token's grant follows permission changes at once (the role is rechecked on every request)", async () => {
    const grants = `/api/v1/packages/alice/${encodeURIComponent('other-app')}/grants`;
    assertStatus(await app.req({ method: 'PUT', url: grants, auth: alice.auth, payload: { subjectKind: 'user', subject: 'bob', role: 'read' } }), 204, 'grant bob read');
    const token = await registryToken(app, bob.auth, [`repository:${other.repo}:pull`]);
    assertStatus(await app.req({ url: `/v2/${other.repo}/manifests/v1`, auth: bearer(token) }), 200, 'with the grant');
    assertStatus(await app.req({ method: 'DELETE', url: `${grants}?subjectKind=user&subject=bob`, auth: alice.auth }), 204, 'remove the grant');
    const revoked = await app.req({ url: `/v2/${other.repo}/manifests/v1`, auth: bearer(token) });
    assertStatus(revoked, 401, 'same token after the grant was removed');
    assert.match(String(revoked.headers['www-authenticate']), /insufficient_scope/);

    // Disabling an account stops its registry tokens and logins.
    const pubToken = await registryToken(app, bob.auth, [`repository:${pub.repo}:pull`]);
    assertStatus(await app.req({ method: 'PATCH', url: '/api/v1/users/bob', auth: adminAuth(), payload: { disabled: true } }), 200, 'disable bob');
    try {
      assertStatus(await app.req({ url: `/v2/${pub.repo}/manifests/v1`, auth: bearer(pubToken) }), 401, "a disabled account's token");
      assertStatus(await tokenRequest(app, bob.auth, []), 401, 'a disabled account cannot log in');
    } finally {
      await app.req({ method: 'PATCH', url: '/api/v1/users/bob', auth: adminAuth(), payload: { disabled: false } });
    }
  });

  test('/api/v1 refuses registry tokens: a pull grant never becomes the whole account', async () => {
    const token = await registryToken(app, alice.auth, [pullPriv()]);
    for (const [method, url] of [
      ['GET', '/api/v1/user'],
      ['GET', '/api/v1/user/tokens'],
      ['POST', '/api/v1/user/tokens'],
      ['PATCH', `/api/v1/packages/alice/${encodeURIComponent('private-app')}`],
      ['DELETE', `/api/v1/packages/alice/${encodeURIComponent('other-app')}`],
    ] as const) {
      const res = await app.req({ method, url, auth: bearer(token), payload: { name: 'x', scopes: ['read:packages'], visibility: 'public' } });
      assertStatus(res, 401, `${method} ${url}`);
      assert.ok(res.headers['www-authenticate']);
    }
    assert.equal((await app.wharf.metadata.packages.get(other.repo))?.name, other.repo, 'nothing was deleted');
    // The same user's password and PATs work there.
    assertStatus(await app.req({ url: '/api/v1/user', auth: alice.auth }), 200, 'password');
  });

  test('key rotation: old tokens still verify, new ones use the new key, the JWKS publishes both', async () => {
    const oldToken = await registryToken(app, alice.auth, [pullPriv()]);
    const oldKid = kidOf(oldToken);
    const jwksBefore = json<{ keys: { kid: string; kty: string; crv: string; alg: string; d?: string }[] }>(await app.req({ url: '/.well-known/jwks.json' }));
    assert.ok(jwksBefore.keys.some((k) => k.kid === oldKid && k.kty === 'EC' && k.crv === 'P-256' && k.alg === 'ES256'));

    const newKid = await app.wharf.access.keys.rotate();
    assert.notEqual(newKid, oldKid);
    const newToken = await registryToken(app, alice.auth, [pullPriv()]);
    assert.equal(kidOf(newToken), newKid);
    assertStatus(await app.req({ url: `/v2/${priv.repo}/manifests/v1`, auth: bearer(oldToken) }), 200, 'token of the retired key');
    assertStatus(await app.req({ url: `/v2/${priv.repo}/manifests/v1`, auth: bearer(newToken) }), 200, 'token of the new key');

    const jwks = json<{ keys: { kid: string; d?: string }[] }>(await app.req({ url: '/.well-known/jwks.json' }));
    const kids = jwks.keys.map((k) => k.kid);
    assert.ok(kids.includes(oldKid) && kids.includes(newKid), kids.join());
    for (const k of jwks.keys) assert.equal(k.d, undefined, 'no private key material');
  });
});
