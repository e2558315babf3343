/**
 * Site administration of accounts through /api/v1 (both profiles: WHARF_TEST_PROFILE=scale runs
 * it on PostgreSQL + S3): deleting a user is refused while they own packages (the trash
 * included) or are an organization's last owner, and otherwise removes everything that named
 * them, their live sessions and tokens first; the list of organizations is for site admins.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { adminAuth, createUser, expect, json, packageUrl, pushImage, Session, startUiApp, type UiApp } from './ui-api-support.ts';

describe('admin: users and organizations', () => {
  let app: UiApp;
  before(async () => {
    app = await startUiApp();
  });
  after(() => app.close());

  test('deleting a user who owns nothing ends their sessions and tokens, and frees nothing else', async () => {
    const zed = await createUser(app, 'zed');
    const s = await Session.signIn(app, 'zed', zed.password);
    const token = await app.req({ method: 'POST', url: '/api/v1/user/tokens', auth: zed.auth, payload: { name: 'ci', scopes: ['read:packages'] } });
    expect(token, 201, 'token');
    const pat = json<{ token: string }>(token).token;
    expect(await app.req({ method: 'POST', url: '/api/v1/orgs', auth: adminAuth(), payload: { name: 'zorg' } }), 201, 'org');
    expect(await app.req({ method: 'PUT', url: '/api/v1/orgs/zorg/members/zed', auth: adminAuth(), payload: { role: 'member' } }), 204, 'member');

    expect(await app.req({ method: 'DELETE', url: '/api/v1/users/zed', auth: zed.auth }), 403, 'not by themself (not an admin)', 'DENIED');
    expect(await app.req({ method: 'DELETE', url: '/api/v1/users/zed', auth: adminAuth() }), 204, 'delete');
    expect(await app.req({ url: '/api/v1/users/zed', auth: adminAuth() }), 404, 'gone');
    expect(await s.get('/api/v1/user'), 401, 'their session ended', 'UNAUTHORIZED');
    expect(await app.req({ url: '/api/v1/user', auth: `Bearer ${pat}` }), 401, 'their token is gone');
    const org = json<{ members: { username: string }[] }>(await app.req({ url: '/api/v1/orgs/zorg', auth: adminAuth() }));
    assert.deepEqual(
      org.members.map((m) => m.username),
      ['admin'],
    );
    expect(await app.req({ method: 'DELETE', url: '/api/v1/users/zed', auth: adminAuth() }), 404, 'twice');
    // The name may be taken again, by a new account that inherits nothing.
    const again = await createUser(app, 'zed');
    expect(await app.req({ url: '/api/v1/user', auth: again.auth }), 200, 'new zed');
    expect(await app.req({ url: '/api/v1/user', auth: `Bearer ${pat}` }), 401, 'the old token stays dead');
  });

  test('refused while they own packages, the trash included, saying so', async () => {
    const yan = await createUser(app, 'yan');
    await pushImage(app, yan.auth, 'yan/web', '1.0.0');
    const res = await app.req({ method: 'DELETE', url: '/api/v1/users/yan', auth: adminAuth() });
    expect(res, 409, 'owns a package', 'CONFLICT');
    assert.match(res.body, /yan owns 1 package/);
    expect(await app.req({ method: 'DELETE', url: packageUrl('yan/web'), auth: yan.auth }), 200, 'to the trash');
    assert.match((await app.req({ method: 'DELETE', url: '/api/v1/users/yan', auth: adminAuth() })).body, /the trash included/);
    expect(await app.req({ url: '/api/v1/users/yan', auth: adminAuth() }), 200, 'still there');
  });

  test("refused while they are an organization's last owner, and for one's own account", async () => {
    const xia = await createUser(app, 'xia');
    expect(await app.req({ method: 'POST', url: '/api/v1/orgs', auth: xia.auth, payload: { name: 'xorg' } }), 201, 'org');
    const res = await app.req({ method: 'DELETE', url: '/api/v1/users/xia', auth: adminAuth() });
    expect(res, 409, 'last owner', 'CONFLICT');
    assert.match(res.body, /last owner of xorg/);
    expect(await app.req({ method: 'DELETE', url: '/api/v1/users/admin', auth: adminAuth() }), 409, 'own account', 'CONFLICT');
  });

  test('changing one\'s password checks the current one when sent, then ends every session', async () => {
    const vic = await createUser(app, 'vic');
    const here = await Session.signIn(app, 'vic', vic.password);
    const there = await Session.signIn(app, 'vic', vic.password);
    const wrong = await here.req({ method: 'PUT', url: '/api/v1/user/password', payload: { currentPassword: 'not it', password: 'vic-new-password' } });
    expect(wrong, 403, 'wrong current password', 'DENIED');
    assert.match(wrong.body, /current password is not correct/);
    expect(await there.get('/api/v1/user'), 200, 'a refused change ends nothing');
    expect(await here.req({ method: 'PUT', url: '/api/v1/user/password', payload: { currentPassword: vic.password, password: 'vic-new-password' } }), 204, 'change');
    expect(await there.get('/api/v1/user'), 401, 'the other session ended', 'UNAUTHORIZED');
    expect(await here.get('/api/v1/user'), 401, 'this one too: sign in again', 'UNAUTHORIZED');
    expect(await Session.signIn(app, 'vic', 'vic-new-password').then((s) => s.get('/api/v1/user')), 200, 'the new password works');
  });

  test('every organization, for site admins only', async () => {
    const w = await createUser(app, 'wen');
    expect(await app.req({ url: '/api/v1/orgs', auth: w.auth }), 403, 'not an admin', 'DENIED');
    const orgs = json<{ name: string; owners: string[]; members: number; createdAt: string }[]>(await app.req({ url: '/api/v1/orgs', auth: adminAuth() }));
    assert.deepEqual(
      orgs.find((o) => o.name === 'xorg'),
      { name: 'xorg', owners: ['xia'], members: 1, defaultVisibility: 'private', createdAt: orgs.find((o) => o.name === 'xorg')?.createdAt },
    );
  });
});
