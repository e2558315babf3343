/**
 * What CI pipelines rely on beyond the exchange itself (docs/ci.md): the exchanged Wharf token
 * works as the password of any registry client and stops working when its trust is removed;
 * trusts that pin no repository need an explicit confirmation; a package's settings list the
 * owner-level trusts it inherits; the version is public at /api/v1/version.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { pinsRepository } from '../../src/auth/oidc.ts';
import { type OidcIssuer, startOidcIssuer } from '../helpers/access-oidc.ts';
import { type AccessApp, assertStatus, basic, createOrg, createUser, errorCode, grantedActions, json, packageUrl, SERVICE, seedImage, startAccessApp, tokenRequest } from './access-support.ts';

const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JOB = { aud: 'wharf', repository: 'initech/app', ref: 'refs/heads/main' };

let app: AccessApp;
let issuer: OidcIssuer;
let owner: { auth: string };

async function exchange(idToken: string, scopes: string[] = []) {
  const form = new URLSearchParams({ grant_type: EXCHANGE, subject_token: idToken, subject_token_type: 'urn:ietf:params:oauth:token-type:id_token', service: SERVICE });
  for (const s of scopes) form.append('scope', s);
  return app.req({ method: 'POST', url: '/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: form.toString() });
}

async function addOwnerTrust(body: Record<string, unknown>) {
  return app.req({ method: 'POST', url: '/api/v1/owners/initech/trusts', auth: owner.auth, payload: { issuer: issuer.url, audience: 'wharf', role: 'write', ...body } });
}

before(async () => {
  issuer = await startOidcIssuer();
  app = await startAccessApp();
  owner = await createUser(app, 'peter');
  await createOrg(app, owner.auth, 'initech');
  await seedImage(app, 'initech/app', 'v1');
});
after(async () => {
  await app.close();
  await issuer.close();
});

describe('the exchanged token as a registry password', () => {
  test('GET /token with Basic, POST /token password grant (Helm 3) and Basic on /v2 accept it; removing the trust stops it', async () => {
    const trust = await addOwnerTrust({ conditions: { repository: 'initech/app' } });
    assertStatus(trust, 201, 'owner trust');
    const res = await exchange(issuer.sign(JOB));
    assertStatus(res, 200, 'exchange without scopes');
    const ciToken = json<{ token: string }>(res).token;

    // docker/podman login: GET /token with the token as the password.
    const login = await tokenRequest(app, basic('ci', ciToken), ['repository:initech/app:pull,push']);
    assertStatus(login, 200, 'GET /token');
    assert.deepEqual(grantedActions(login, 'initech/app'), ['pull', 'push']);
    // A package of the owner that does not exist yet (first push) is covered by the owner trust.
    assert.deepEqual(grantedActions(await tokenRequest(app, basic('ci', ciToken), ['repository:initech/charts/app:pull,push']), 'initech/charts/app'), ['pull', 'push']);
    // Helm 3: POST /token, grant_type=password.
    const form = new URLSearchParams({ grant_type: 'password', username: 'ci', password: ciToken, service: SERVICE, scope: 'repository:initech/app:pull' });
    const helm = await app.req({ method: 'POST', url: '/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: form.toString() });
    assertStatus(helm, 200, 'POST /token password grant');
    assert.deepEqual(grantedActions(helm, 'initech/app'), ['pull']);
    // Basic straight on /v2.
    assertStatus(await app.req({ url: '/v2/initech/app/tags/list', auth: basic('ci', ciToken) }), 200, 'Basic on /v2');
    // Still only what the trust allows: another owner's package is refused.
    const other = await createUser(app, 'bill');
    await createOrg(app, other.auth, 'other');
    await seedImage(app, 'other/app', 'v1');
    assert.deepEqual(grantedActions(await tokenRequest(app, basic('ci', ciToken), ['repository:other/app:pull']), 'other/app'), []);

    assertStatus(await app.req({ method: 'DELETE', url: `/api/v1/trusts/${json<{ id: string }>(trust).id}`, auth: owner.auth }), 204, 'remove trust');
    const after = await app.req({ url: '/v2/initech/app/tags/list', auth: basic('ci', ciToken) });
    assertStatus(after, 401, 'after the trust is gone');
    assert.match(json<{ errors: { message: string }[] }>(after).errors[0]?.message ?? '', /trust .* removed/);
  });

  test('an expired exchanged token is refused, and so is one for another service', async () => {
    const trust = await addOwnerTrust({ conditions: { repository: 'initech/app' } });
    const ciToken = json<{ token: string }>(await exchange(issuer.sign(JOB))).token;
    const otherService = await app.req({ url: '/token?service=elsewhere.example&scope=repository:initech/app:pull', auth: basic('ci', ciToken) });
    assertStatus(otherService, 401, 'audience of another registry');
    app.clock.advance(901_000);
    try {
      assertStatus(await tokenRequest(app, basic('ci', ciToken), ['repository:initech/app:pull']), 401, 'after auth.ciTokenTtlSeconds');
    } finally {
      app.clock.advance(-901_000);
    }
    await app.req({ method: 'DELETE', url: `/api/v1/trusts/${json<{ id: string }>(trust).id}`, auth: owner.auth });
  });
});

describe('trusts that match any repository', () => {
  test('pinsRepository: owner or repository fixed, across GitHub, Forgejo and GitLab claims', () => {
    for (const c of [{ repository: 'globex/app' }, { repository: 'globex/*' }, { sub: 'repo:globex/app:ref:refs/heads/main' }, { sub: 'repo:globex/*' }, { project_path: 'group/sub/*' }, { repository_owner: 'globex', ref: '*' }, { namespace_id: '42' }]) {
      assert.equal(pinsRepository(c), true, JSON.stringify(c));
    }
    for (const c of [{ repository: '*' }, { repository: '*/app' }, { repository: 'glob*' }, { sub: 'repo:*' }, { ref: 'refs/heads/main' }, { workflow: 'release' }, { repository_owner: 'glob*' }, { repository: '' }]) {
      assert.equal(pinsRepository(c), false, JSON.stringify(c));
    }
  });

  test('are refused with the reason unless confirmAnyRepository is sent, for owners and packages', async () => {
    for (const conditions of [{ repository: '*' }, { ref: 'refs/heads/main' }]) {
      const refused = await addOwnerTrust({ conditions });
      assertStatus(refused, 400, `owner trust ${JSON.stringify(conditions)}`);
      assert.equal(errorCode(refused), 'BAD_REQUEST');
      const err = json<{ errors: { message: string; detail: { requires: string } }[] }>(refused).errors[0];
      assert.match(err?.message ?? '', /any repository/);
      assert.equal(err?.detail.requires, 'confirmAnyRepository');
    }
    const pkg = await app.req({ method: 'POST', url: packageUrl('initech/app', '/trusts'), auth: owner.auth, payload: { issuer: issuer.url, audience: 'wharf', role: 'read', conditions: { repository: '*' } } });
    assertStatus(pkg, 400, 'package trust for any repository');
    assert.equal((await app.wharf.metadata.trusts.list('initech')).length, 0, 'nothing was stored');

    const confirmed = await addOwnerTrust({ conditions: { ref: 'refs/heads/main' }, confirmAnyRepository: true, role: 'read' });
    assertStatus(confirmed, 201, 'confirmed');
    const id = json<{ id: string }>(confirmed).id;
    await app.req({ method: 'DELETE', url: `/api/v1/trusts/${id}`, auth: owner.auth });
    const audit = await app.wharf.metadata.audit.list({ limit: 20, target: 'initech' });
    assert.equal(audit.find((a) => a.action === 'trust.create' && a.detail?.['id'] === id)?.detail?.['anyRepository'], true, 'the audit log records the confirmation');
  });
});

test("a package's trusts list its own first, then the owner-level ones it inherits", async () => {
  const own = await app.req({ method: 'POST', url: packageUrl('initech/app', '/trusts'), auth: owner.auth, payload: { issuer: issuer.url, audience: 'wharf', role: 'write', conditions: { repository: 'initech/app' } } });
  const inherited = await addOwnerTrust({ conditions: { repository: 'initech/*' }, role: 'read' });
  await seedImage(app, 'initech/lib', 'v1');
  const libOwn = await app.req({ method: 'POST', url: packageUrl('initech/lib', '/trusts'), auth: owner.auth, payload: { issuer: issuer.url, audience: 'wharf', role: 'write', conditions: { repository: 'initech/lib' } } });
  const listed = json<{ id: string; repo: string | null }[]>(await app.req({ url: packageUrl('initech/app', '/trusts'), auth: owner.auth }));
  assert.deepEqual(
    listed.map((t) => t.id),
    [json<{ id: string }>(own).id, json<{ id: string }>(inherited).id],
    "own then inherited; another package's trust is not listed",
  );
  assert.equal(listed[1]?.repo, null);
  assertStatus(libOwn, 201, 'trust of another package');
  // A package admin who is not an owner admin sees the inherited trust but cannot remove it.
  const dev = await createUser(app, 'milton');
  assertStatus(await app.req({ method: 'PUT', url: packageUrl('initech/app', '/grants'), auth: owner.auth, payload: { subjectKind: 'user', subject: 'milton', role: 'admin' } }), 204, 'grant admin');
  assert.equal(json<unknown[]>(await app.req({ url: packageUrl('initech/app', '/trusts'), auth: dev.auth })).length, 2);
  assertStatus(await app.req({ method: 'DELETE', url: `/api/v1/trusts/${json<{ id: string }>(inherited).id}`, auth: dev.auth }), 403, 'package admin removes an owner trust');
});

test('GET /api/v1/version answers anonymously with the package version', async () => {
  const res = await app.req({ url: '/api/v1/version' });
  assertStatus(res, 200, 'version');
  const body = json<{ name: string; version: string; revision: string | null; node: string }>(res);
  const { version } = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  assert.equal(body.name, 'wharf');
  assert.equal(body.version, version);
  assert.equal(body.node, process.version);
});
