/**
 * The /api/v1 endpoints behind the UI's settings pages, called the way the UI calls them (the
 * session cookie and its CSRF header): tokens, pull secrets, organizations and teams, package
 * visibility, grants, CI trusts and deletions — each with the permission failures a page shows.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { basic, createUser, expect, json, packageUrl, pushImage, pushTestChart, Session, startUiApp, type UiApp } from './ui-api-support.ts';

describe('settings APIs through the UI session', () => {
  let app: UiApp;
  let alice: Session;
  let bob: Session;
  let carol: Session;

  before(async () => {
    app = await startUiApp({ oidc: { allowInsecureIssuers: 'true' } });
    for (const u of ['alice', 'bob', 'carol']) await createUser(app, u);
    alice = await Session.signIn(app, 'alice', 'alice-password');
    bob = await Session.signIn(app, 'bob', 'bob-password');
    carol = await Session.signIn(app, 'carol', 'carol-password');
  });
  after(() => app.close());

  test('personal access tokens: create (secret once), list, revoke; only your own', async () => {
    expect(await app.req({ url: '/api/v1/user/tokens' }), 401, 'anonymous list', 'UNAUTHORIZED');
    const res = await alice.req({ method: 'POST', url: '/api/v1/user/tokens', payload: { name: 'laptop', scopes: ['write:packages'], expiresInDays: 30, packages: ['alice/web'] } });
    expect(res, 201, 'create');
    assert.equal(res.headers['cache-control'], 'no-store');
    const created = json<{ id: string; token: string; hint: string; expiresAt: string }>(res);
    assert.match(created.token, /^wharf_pat_/);
    const list = json<{ id: string; name: string; hint: string }[]>(await alice.get('/api/v1/user/tokens'));
    assert.deepEqual(list.map((t) => t.name), ['laptop']);
    assert.ok(!JSON.stringify(list).includes(created.token), 'the list never carries the secret');
    // The token works for the registry, and can be used for the API too, but not to mint tokens.
    expect(await app.req({ url: '/api/v1/owners/alice/package-views', auth: `Bearer ${created.token}` }), 200, 'token as bearer');
    expect(await app.req({ method: 'POST', url: '/api/v1/user/tokens', auth: `Bearer ${created.token}`, payload: { name: 'x', scopes: ['read:packages'] } }), 403, 'a token cannot create tokens', 'DENIED');
    expect(await bob.req({ method: 'DELETE', url: `/api/v1/user/tokens/${created.id}` }), 404, "bob cannot revoke alice's token", 'NOT_FOUND');
    expect(await alice.req({ method: 'POST', url: '/api/v1/user/tokens', payload: { name: 'bad', scopes: ['root'] } }), 400, 'unknown scope', 'BAD_REQUEST');
    expect(await alice.req({ method: 'POST', url: '/api/v1/user/tokens', payload: { name: 'bad', scopes: [] } }), 400, 'no scope', 'BAD_REQUEST');
    expect(await alice.req({ method: 'DELETE', url: `/api/v1/user/tokens/${created.id}` }), 204, 'revoke');
    expect(await app.req({ url: '/api/v1/owners/alice/package-views', auth: `Bearer ${created.token}` }), 401, 'revoked token', 'UNAUTHORIZED');
  });

  test('pull secrets: a read-only token for chosen packages and the kubectl line', async () => {
    await pushImage(app, basic('alice', 'alice-password'), 'alice/web', '1.0.0');
    const res = await alice.req({ method: 'POST', url: '/api/v1/user/pull-secrets', payload: { packages: ['alice/web'], secretName: 'web-pull', expiresInDays: 365 } });
    expect(res, 201, 'pull secret');
    const s = json<{ token: string; kubectl: string; server: string }>(res);
    assert.equal(s.server, 'localhost:80');
    assert.match(s.kubectl, /^kubectl create secret docker-registry web-pull --docker-server=localhost:80 --docker-username=alice --docker-password=wharf_pat_/);
    expect(await app.req({ url: '/v2/alice/web/manifests/1.0.0', auth: basic('alice', s.token), headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } }), 200, 'pull with the secret');
    expect(await app.req({ method: 'POST', url: '/v2/alice/web/blobs/uploads/', auth: basic('alice', s.token) }), 403, 'the secret cannot push', 'DENIED');
    expect(await alice.req({ method: 'POST', url: '/api/v1/user/pull-secrets', payload: { packages: ['alice/web'], secretName: 'Not_Valid' } }), 400, 'bad secret name', 'BAD_REQUEST');
    expect(await alice.req({ method: 'POST', url: '/api/v1/user/pull-secrets', payload: { packages: [] } }), 400, 'no packages', 'BAD_REQUEST');
    const other = await bob.req({ method: 'POST', url: '/api/v1/user/pull-secrets', payload: { packages: ['alice/web'] } });
    assert.ok([403, 404].includes(other.statusCode), `bob cannot make a secret for alice's private package: ${other.statusCode}`);
    expect(await app.req({ method: 'POST', url: '/api/v1/user/pull-secrets', payload: { packages: ['alice/web'] } }), 401, 'anonymous');
  });

  test('organizations, members and teams: owners manage, members read, others see nothing', async () => {
    expect(await alice.req({ method: 'POST', url: '/api/v1/orgs', payload: { name: 'acme' } }), 201, 'create org');
    expect(await alice.req({ method: 'POST', url: '/api/v1/orgs', payload: { name: 'acme' } }), 409, 'taken', 'CONFLICT');
    expect(await alice.req({ method: 'POST', url: '/api/v1/orgs', payload: { name: 'Bad Name!' } }), 400, 'invalid name');
    expect(await alice.req({ method: 'PUT', url: '/api/v1/orgs/acme/members/bob', payload: { role: 'member' } }), 204, 'add bob');
    expect(await alice.req({ method: 'POST', url: '/api/v1/orgs/acme/teams', payload: { name: 'readers', description: 'pull only' } }), 201, 'create team');
    expect(await alice.req({ method: 'PUT', url: '/api/v1/orgs/acme/teams/readers/members/carol', payload: { role: 'member' } }), 204, 'carol joins the team');
    const view = json<{ members: { username: string; role: string }[]; teams: { name: string; members: { username: string }[] }[]; viewerRole: string }>(await alice.get('/api/v1/orgs/acme'));
    assert.equal(view.viewerRole, 'owner');
    assert.deepEqual(view.teams.map((t) => [t.name, t.members.map((m) => m.username)]), [['readers', ['carol']]]);

    // A member reads but cannot manage.
    const asBob = json<{ viewerRole: string; teams: unknown[] }>(await bob.get('/api/v1/orgs/acme'));
    assert.equal(asBob.viewerRole, 'member');
    assert.equal(asBob.teams.length, 1);
    expect(await bob.req({ method: 'PUT', url: '/api/v1/orgs/acme/members/carol', payload: { role: 'owner' } }), 403, 'member adds member', 'DENIED');
    expect(await bob.req({ method: 'POST', url: '/api/v1/orgs/acme/teams', payload: { name: 'mine' } }), 403, 'member creates team', 'DENIED');
    expect(await bob.req({ method: 'DELETE', url: '/api/v1/orgs/acme/teams/readers' }), 403, 'member deletes team', 'DENIED');
    // Outsiders and anonymous callers see no membership.
    const anon = json<{ members: unknown[]; teams: unknown[]; viewerRole: null }>(await app.req({ url: '/api/v1/orgs/acme' }));
    assert.deepEqual([anon.members, anon.teams, anon.viewerRole], [[], [], null]);
    expect(await app.req({ url: '/api/v1/orgs/nope' }), 404, 'unknown org', 'NOT_FOUND');
    expect(await alice.req({ method: 'DELETE', url: '/api/v1/orgs/acme/members/alice' }), 409, 'the last owner stays', 'CONFLICT');
    expect(await alice.req({ method: 'PUT', url: '/api/v1/orgs/acme/members/ghost', payload: { role: 'member' } }), 404, 'unknown user', 'NOT_FOUND');
    // The CSRF rule holds on every settings call.
    expect(await alice.req({ method: 'PUT', url: '/api/v1/orgs/acme/members/carol', payload: { role: 'member' }, csrf: false }), 403, 'no CSRF', 'DENIED');
  });

  test('package settings: visibility, grants (users and teams), trusts, deletions — admins only', async () => {
    const repo = 'acme/charts/shop';
    await pushTestChart(app, basic('alice', 'alice-password'), repo, { name: 'shop', version: '1.0.0' });
    const older = await pushImage(app, basic('alice', 'alice-password'), 'acme/shop', '1.0.0');
    await pushImage(app, basic('alice', 'alice-password'), 'acme/shop', '2.0.0');

    // Outsiders: 404 for everything (the package's existence does not leak).
    for (const [method, suffix, payload] of [
      ['GET', '', undefined],
      ['GET', '/grants', undefined],
      ['GET', '/trusts', undefined],
      ['PATCH', '', { visibility: 'public' }],
      ['PUT', '/grants', { subjectKind: 'user', subject: 'carol', role: 'admin' }],
      ['DELETE', '', undefined],
    ] as const) {
      const res = await carol.req({ method, url: packageUrl(repo, suffix), ...(payload ? { payload } : {}) });
      expect(res, 404, `carol ${method} ${suffix}`, 'NOT_FOUND');
    }
    expect(await app.req({ method: 'PATCH', url: packageUrl(repo), payload: { visibility: 'public' } }), 401, 'anonymous patch');

    // Team grant: carol (in acme/readers) can now read, but not administer.
    expect(await alice.req({ method: 'PUT', url: packageUrl(repo, '/grants'), payload: { subjectKind: 'team', subject: 'acme/readers', role: 'read' } }), 204, 'grant team');
    expect(await alice.req({ method: 'PUT', url: packageUrl(repo, '/grants'), payload: { subjectKind: 'team', subject: 'other/readers', role: 'read' } }), 400, "another org's team", 'BAD_REQUEST');
    expect(await alice.req({ method: 'PUT', url: packageUrl(repo, '/grants'), payload: { subjectKind: 'user', subject: 'ghost', role: 'read' } }), 400, 'unknown user', 'BAD_REQUEST');
    expect(await alice.req({ method: 'PUT', url: packageUrl(repo, '/grants'), payload: { subjectKind: 'user', subject: 'bob', role: 'owner' } }), 400, 'bad role', 'BAD_REQUEST');
    const grants = json<{ subjectKind: string; subject: string; role: string }[]>(await alice.get(packageUrl(repo, '/grants')));
    assert.ok(grants.some((g) => g.subjectKind === 'team' && g.subject === 'acme/readers' && g.role === 'read'));
    const carolView = await carol.get(packageUrl(repo, '/view'));
    expect(carolView, 200, 'carol reads through her team');
    assert.equal(json<{ canAdmin: boolean; viewerRole: string }>(carolView).canAdmin, false);
    expect(await carol.get(packageUrl(repo, '/grants')), 403, 'reader lists grants', 'DENIED');
    expect(await carol.req({ method: 'PATCH', url: packageUrl(repo), payload: { visibility: 'public' } }), 403, 'reader changes visibility', 'DENIED');
    const list = json<{ packages: { name: string }[] }>(await carol.get('/api/v1/owners/acme/package-views'));
    assert.deepEqual(list.packages.map((p) => p.name), [repo], 'carol sees only what her team was granted');

    // Trusted CI issuers.
    const trust = await alice.req({ method: 'POST', url: packageUrl(repo, '/trusts'), payload: { issuer: 'https://ci.example.com', audience: 'wharf', conditions: { repository: 'acme/shop' }, role: 'write' } });
    expect(trust, 201, 'add trust');
    const t = json<{ id: string }>(trust);
    expect(await alice.req({ method: 'POST', url: packageUrl(repo, '/trusts'), payload: { issuer: 'ftp://x', audience: 'wharf', conditions: { repository: 'x' }, role: 'write' } }), 400, 'bad issuer', 'BAD_REQUEST');
    expect(await alice.req({ method: 'POST', url: packageUrl(repo, '/trusts'), payload: { issuer: 'https://ci.example.com', audience: 'wharf', conditions: {}, role: 'write' } }), 400, 'no conditions', 'BAD_REQUEST');
    assert.equal(json<unknown[]>(await alice.get(packageUrl(repo, '/trusts'))).length, 1);
    expect(await carol.req({ method: 'DELETE', url: `/api/v1/trusts/${t.id}` }), 403, 'reader removes trust', 'DENIED');
    expect(await alice.req({ method: 'DELETE', url: `/api/v1/trusts/${t.id}` }), 204, 'remove trust');
    assert.equal(json<unknown[]>(await alice.get(packageUrl(repo, '/trusts'))).length, 0);

    // Visibility.
    expect(await alice.req({ method: 'PATCH', url: packageUrl('acme/shop'), payload: { visibility: 'secret' } }), 400, 'bad visibility', 'BAD_REQUEST');
    expect(await alice.req({ method: 'PATCH', url: packageUrl('acme/shop'), payload: { visibility: 'internal' } }), 200, 'internal');
    expect(await bob.get(packageUrl('acme/shop', '/view')), 200, 'any signed-in user reads an internal package');
    expect(await app.req({ url: packageUrl('acme/shop', '/view') }), 404, 'anonymous does not');

    // Deletions: a reader cannot, an admin can; the grant is removed.
    expect(await bob.req({ method: 'DELETE', url: packageUrl('acme/shop', `/versions/${older.digest}`) }), 403, 'reader deletes a version', 'DENIED');
    expect(await alice.req({ method: 'DELETE', url: packageUrl('acme/shop', '/versions/sha256:nothex') }), 400, 'bad digest');
    expect(await alice.req({ method: 'DELETE', url: packageUrl('acme/shop', `/versions/${older.digest}`) }), 200, 'admin moves a version to the trash');
    expect(await alice.req({ method: 'DELETE', url: packageUrl('acme/shop', `/versions/${older.digest}`) }), 409, 'already in the trash', 'CONFLICT');
    expect(await alice.req({ method: 'DELETE', url: `${packageUrl(repo, '/grants')}?subjectKind=team&subject=acme%2Freaders` }), 204, 'remove team grant');
    expect(await carol.get(packageUrl(repo, '/view')), 404, 'carol lost access');
    expect(await bob.req({ method: 'DELETE', url: packageUrl('acme/shop') }), 403, 'reader deletes the package', 'DENIED');
    expect(await alice.req({ method: 'DELETE', url: packageUrl('acme/shop') }), 200, 'admin moves the package to the trash');
    expect(await alice.get(packageUrl('acme/shop', '/view')), 404, 'trashed package');
  });

  test('owner default visibility and the owner package list', async () => {
    expect(await bob.req({ method: 'PUT', url: '/api/v1/owners/acme/default-visibility', payload: { visibility: 'public' } }), 403, 'member sets org default', 'DENIED');
    expect(await alice.req({ method: 'PUT', url: '/api/v1/owners/acme/default-visibility', payload: { visibility: 'internal' } }), 204, 'owner sets org default');
    const pkgs = json<{ name: string; viewerRole: string }[]>(await alice.get('/api/v1/owners/acme/packages'));
    assert.ok(pkgs.every((p) => p.viewerRole === 'admin'));
  });
});
