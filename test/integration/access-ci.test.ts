/**
 * CI tokens without stored secrets: owners and packages trust an OIDC issuer with claim
 * conditions; a CI job trades its ID token (token-exchange, or as the password of any client)
 * for a short-lived registry token limited to the packages that trust it. The issuer is served
 * by this test on 127.0.0.1 — never an outside service.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { type OidcIssuer, startOidcIssuer } from '../helpers/access-oidc.ts';
import {
  type AccessApp,
  assertStatus,
  basic,
  bearer,
  claimsOf,
  createOrg,
  createUser,
  errorCode,
  grantedActions,
  json,
  packageUrl,
  SERVICE,
  seedImage,
  startAccessApp,
  tokenRequest,
} from './access-support.ts';

const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';

let app: AccessApp;
let issuer: OidcIssuer;
let stranger: OidcIssuer;
let gina: { auth: string };
let appTrustId: string;

/** The claims a GitHub Actions job on globex/app's main branch would present. */
const mainBranch = { aud: 'wharf', repository: 'globex/app', ref: 'refs/heads/main', workflow: 'build' };

function exchange(idToken: string, scopes: string[]) {
  const form = new URLSearchParams({ grant_type: EXCHANGE, subject_token: idToken, subject_token_type: 'urn:ietf:params:oauth:token-type:id_token', service: SERVICE });
  for (const s of scopes) form.append('scope', s);
  return app.req({ method: 'POST', url: '/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: form.toString() });
}

const ALL = ['globex/app', 'globex/lib', 'globex/tools', 'acme/web'].map((r) => `repository:${r}:pull,push,delete`);

before(async () => {
  issuer = await startOidcIssuer();
  stranger = await startOidcIssuer();
  app = await startAccessApp();
  gina = await createUser(app, 'gina');
  await createOrg(app, gina.auth, 'globex');
  const acme = await createUser(app, 'acme-owner');
  await createOrg(app, acme.auth, 'acme');
  for (const repo of ['globex/app', 'globex/lib', 'globex/tools', 'acme/web']) await seedImage(app, repo, 'v1');

  // globex/app trusts its own main-branch builds to push.
  const res = await app.req({
    method: 'POST',
    url: packageUrl('globex/app', '/trusts'),
    auth: gina.auth,
    payload: { issuer: issuer.url, audience: 'wharf', conditions: { repository: 'globex/app', ref: 'refs/heads/main' }, role: 'write' },
  });
  assertStatus(res, 201, 'package trust');
  appTrustId = json<{ id: string }>(res).id;
  // Every globex package lets any globex repository's release workflow pull (owner-level trust).
  const owner = await app.req({
    method: 'POST',
    url: '/api/v1/owners/globex/trusts',
    auth: gina.auth,
    payload: { issuer: `${issuer.url}/`, audience: 'wharf', conditions: { repository: 'globex/*', workflow: 'release' }, role: 'read' },
  });
  assertStatus(owner, 201, 'owner trust');
});
after(async () => {
  await app.close();
  await issuer.close();
  await stranger.close();
});

describe('exchanging an ID token', () => {
  test('token-exchange: a short-lived token limited to the packages whose trust matches', async () => {
    const res = await exchange(issuer.sign(mainBranch), ALL);
    assertStatus(res, 200, 'exchange');
    const body = json<{ token: string; access_token: string; expires_in: number; issued_at: string }>(res);
    assert.equal(body.token, body.access_token);
    assert.equal(body.expires_in, 900, 'CI tokens live auth.ciTokenTtlSeconds');
    const claims = claimsOf(body.token);
    assert.equal(claims.kind, 'ci');
    assert.equal(claims.sub, `ci:${issuer.url}#repo:globex/app:ref:refs/heads/main`);
    assert.deepEqual(grantedActions(res, 'globex/app'), ['pull', 'push']);
    assert.deepEqual(grantedActions(res, 'globex/lib'), [], 'the owner trust needs the release workflow');
    assert.deepEqual(grantedActions(res, 'acme/web'), []);
    // It works on /v2 for the trusting package only.
    assertStatus(await app.req({ method: 'POST', url: '/v2/globex/app/blobs/uploads/', auth: bearer(body.token) }), 202, 'push to globex/app');
    assertStatus(await app.req({ url: '/v2/globex/lib/manifests/v1', auth: bearer(body.token) }), 401, 'pull globex/lib');
    // Short-lived.
    app.clock.advance(901_000);
    try {
      assertStatus(await app.req({ url: '/v2/globex/app/manifests/v1', auth: bearer(body.token) }), 401, 'after 900 s');
    } finally {
      app.clock.advance(-901_000);
    }
  });

  test('the ID token works as the password of any client (GET /token with Basic, or Basic on /v2)', async () => {
    const idToken = issuer.sign(mainBranch);
    const res = await tokenRequest(app, basic('ci', idToken), ['repository:globex/app:pull,push']);
    assertStatus(res, 200, 'GET /token');
    assert.deepEqual(grantedActions(res, 'globex/app'), ['pull', 'push']);
    assertStatus(await app.req({ url: '/v2/globex/app/tags/list', auth: basic('whatever', idToken) }), 200, 'Basic on /v2');
    const denied = await app.req({ url: '/v2/acme/web/tags/list', auth: basic('whatever', idToken) });
    assertStatus(denied, 403, 'Basic on an untrusting package');
    assert.equal(errorCode(denied), 'DENIED');
  });

  test('an owner-level trust covers every package of the owner, with its own role', async () => {
    const release = issuer.sign({ aud: 'wharf', repository: 'globex/tools', ref: 'refs/tags/v1.0.0', workflow: 'release' });
    const res = await exchange(release, ALL);
    assertStatus(res, 200, 'exchange');
    for (const repo of ['globex/app', 'globex/lib', 'globex/tools']) assert.deepEqual(grantedActions(res, repo), ['pull'], repo);
    assert.deepEqual(grantedActions(res, 'acme/web'), [], 'another owner');
    // Both trusts matching: the stronger role wins per package.
    const both = await exchange(issuer.sign({ ...mainBranch, workflow: 'release' }), ALL);
    assert.deepEqual(grantedActions(both, 'globex/app'), ['pull', 'push']);
    assert.deepEqual(grantedActions(both, 'globex/lib'), ['pull']);
  });

  test('an audience list containing the trusted audience is accepted', async () => {
    const res = await exchange(issuer.sign({ ...mainBranch, aud: ['sts.amazonaws.com', 'wharf'] }), ['repository:globex/app:pull']);
    assertStatus(res, 200, 'aud array');
    assert.deepEqual(grantedActions(res, 'globex/app'), ['pull']);
  });

  test('a CI job pushing a new package under a write trust creates it, private by default', async () => {
    const res = await app.req({
      method: 'POST',
      url: '/api/v1/owners/globex/trusts',
      auth: gina.auth,
      payload: { issuer: issuer.url, audience: 'wharf', conditions: { repository: 'globex/monorepo', workflow: 'publish' }, role: 'write' },
    });
    assertStatus(res, 201, 'owner write trust');
    const token = json<{ token: string }>(await exchange(issuer.sign({ aud: 'wharf', repository: 'globex/monorepo', workflow: 'publish' }), ['repository:globex/fresh:pull,push'])).token;
    assertStatus(await app.req({ method: 'POST', url: '/v2/globex/fresh/blobs/uploads/', auth: bearer(token) }), 202, 'an upload starts');
    assert.equal(await app.wharf.metadata.packages.get('globex/fresh'), null, 'no package before the first write');
    const blob = Buffer.from('a layer of globex/fresh');
    const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
    assertStatus(await app.req({ method: 'POST', url: `/v2/globex/fresh/blobs/uploads/?digest=${digest}`, auth: bearer(token), payload: blob }), 201, 'first push');
    const pkg = await app.wharf.metadata.packages.get('globex/fresh');
    assert.equal(pkg?.visibility, 'private');
    assert.match(String(pkg?.createdBy), /^ci:/);
    assertStatus(await app.req({ method: 'DELETE', url: `/api/v1/trusts/${json<{ id: string }>(res).id}`, auth: gina.auth }), 204, 'remove trust');
  });
});

describe('rejected identities', () => {
  async function refused(idToken: string, what: string): Promise<void> {
    const res = await exchange(idToken, ['repository:globex/app:pull']);
    assertStatus(res, 401, what);
    assert.equal(errorCode(res), 'UNAUTHORIZED');
    assert.ok(res.headers['www-authenticate'], `${what}: challenge`);
    // As a Basic password, likewise.
    assertStatus(await app.req({ url: '/v2/globex/app/tags/list', auth: basic('ci', idToken) }), 401, `${what} (Basic on /v2)`);
  }

  test('claims that match no trust', async () => {
    await refused(issuer.sign({ ...mainBranch, ref: 'refs/heads/feature' }), 'another branch');
    await refused(issuer.sign({ ...mainBranch, repository: 'globex/app-fork' }), 'another repository');
    await refused(issuer.sign({ ...mainBranch, repository: 'evil/app' }), 'a fork owner');
    await refused(issuer.sign({ aud: 'wharf', ref: 'refs/heads/main' }), 'no repository claim');
    await refused(issuer.sign({ aud: 'wharf', repository: 'globex/tools', workflow: 'release-candidate' }), 'a workflow that only starts like the condition');
  });

  test('a wrong audience', async () => {
    await refused(issuer.sign({ ...mainBranch, aud: 'sts.amazonaws.com' }), 'wrong aud');
    await refused(issuer.sign({ ...mainBranch, aud: undefined }), 'no aud');
  });

  test('an issuer nobody trusts is never contacted', async () => {
    await refused(stranger.sign(mainBranch), 'untrusted issuer');
    assert.equal(stranger.jwksFetches(), 0);
  });

  test('forged, expired and not-yet-valid tokens of the trusted issuer', async () => {
    await refused(issuer.sign(mainBranch, { key: 'foreign' }), 'signed with an unpublished key');
    const [h, c, s] = issuer.sign({ ...mainBranch, ref: 'refs/heads/feature' }).split('.');
    const claims = JSON.parse(Buffer.from(c ?? '', 'base64url').toString()) as Record<string, unknown>;
    await refused(`${h}.${Buffer.from(JSON.stringify({ ...claims, ref: 'refs/heads/main' })).toString('base64url')}.${s}`, 'claims edited after signing');
    const now = Math.floor(Date.now() / 1000);
    await refused(issuer.sign({ ...mainBranch, iat: now - 7200, exp: now - 3600 }), 'expired');
    await refused(issuer.sign({ ...mainBranch, nbf: now + 3600 }), 'not yet valid');
    await refused(`${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${Buffer.from(JSON.stringify({ ...mainBranch, iss: issuer.url, exp: now + 600 })).toString('base64url')}.`, 'alg none');
  });

  test('http:// issuers are refused unless auth.oidc.allowInsecureIssuers is set', async () => {
    const strict = await startAccessApp({ auth: { oidc: { allowInsecureIssuers: 'false' } } });
    try {
      await strict.wharf.metadata.trusts.create({ owner: 'globex', repo: null, issuer: issuer.url, audience: 'wharf', conditions: { repository: '*' }, role: 'read', createdAt: strict.clock.now });
      const fetchesBefore = issuer.jwksFetches();
      const res = await strict.req({ url: `/token?service=${SERVICE}&scope=repository:globex/app:pull`, auth: basic('ci', issuer.sign(mainBranch)) });
      // Refused credentials on a private package: 401 (no anonymous fallback applies).
      assertStatus(res, 401, 'insecure issuer');
      assert.match(json<{ errors: { message: string }[] }>(res).errors[0]?.message ?? '', /https/);
      assert.equal(issuer.jwksFetches(), fetchesBefore, 'the http issuer was not contacted');
    } finally {
      await strict.close();
    }
  });
});

describe('managing trusts', () => {
  test('package trusts need package admin; owner trusts need the owner', async () => {
    const mallory = await createUser(app, 'mallory');
    const body = { issuer: 'https://token.actions.githubusercontent.com', audience: 'wharf', conditions: { repository: 'mallory/x' }, role: 'write' };
    assertStatus(await app.req({ method: 'POST', url: packageUrl('globex/app', '/trusts'), auth: mallory.auth, payload: body }), 404, 'package trust by a stranger (private package: not found)');
    assertStatus(await app.req({ method: 'POST', url: '/api/v1/owners/globex/trusts', auth: mallory.auth, payload: body }), 403, 'owner trust by a stranger');
    assertStatus(await app.req({ method: 'POST', url: '/api/v1/owners/globex/trusts', payload: body }), 401, 'anonymous');
    assertStatus(await app.req({ url: '/api/v1/owners/globex/trusts', auth: mallory.auth }), 403, 'list owner trusts by a stranger');
    assertStatus(await app.req({ method: 'DELETE', url: `/api/v1/trusts/${appTrustId}`, auth: mallory.auth }), 404, 'delete by a stranger');
    const listed = json<{ id: string }[]>(await app.req({ url: packageUrl('globex/app', '/trusts'), auth: gina.auth }));
    assert.ok(listed.some((t) => t.id === appTrustId), 'a refused deletion leaves the trust (and its id) as it was');
    // The CI identity itself cannot manage trusts.
    const ci = basic('ci', issuer.sign(mainBranch));
    assertStatus(await app.req({ method: 'POST', url: packageUrl('globex/app', '/trusts'), auth: ci, payload: body }), 403, 'CI adds a trust');
  });

  test('trust bodies are validated', async () => {
    for (const payload of [
      { issuer: 'ftp://x', audience: 'wharf', conditions: { repository: 'a' }, role: 'read' },
      { issuer: 'https://x', audience: '', conditions: { repository: 'a' }, role: 'read' },
      { issuer: 'https://x', audience: 'wharf', conditions: {}, role: 'read' },
      { issuer: 'https://x', audience: 'wharf', conditions: { repository: 'a' }, role: 'admin' },
      { issuer: 'https://x', audience: 'wharf', conditions: { repository: 1 }, role: 'read' },
    ]) {
      const res = await app.req({ method: 'POST', url: packageUrl('globex/app', '/trusts'), auth: gina.auth, payload });
      assertStatus(res, 400, JSON.stringify(payload));
    }
  });

  test('removing a trust stops new exchanges at once', async () => {
    const res = await app.req({
      method: 'POST',
      url: packageUrl('globex/lib', '/trusts'),
      auth: gina.auth,
      payload: { issuer: issuer.url, audience: 'wharf', conditions: { repository: 'globex/lib' }, role: 'write' },
    });
    assertStatus(res, 201, 'add');
    const id = json<{ id: string }>(res).id;
    const claims = { aud: 'wharf', repository: 'globex/lib' };
    assert.deepEqual(grantedActions(await exchange(issuer.sign(claims), ['repository:globex/lib:push']), 'globex/lib'), ['push']);
    assertStatus(await app.req({ method: 'DELETE', url: `/api/v1/trusts/${id}`, auth: gina.auth }), 204, 'remove');
    assertStatus(await exchange(issuer.sign(claims), ['repository:globex/lib:push']), 401, 'after removal');
    assertStatus(await app.req({ method: 'DELETE', url: `/api/v1/trusts/${id}`, auth: gina.auth }), 404, 'removing twice');
  });
});
