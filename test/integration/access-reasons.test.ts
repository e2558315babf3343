/**
 * A refusal on /v2 says why (issue 12: one access decision): the missing role, the token's
 * scope or its package restriction, in the error message clients print — with Basic
 * credentials (403 DENIED) and with a registry token (401 insufficient scope) alike, and
 * without telling a stranger whether a private package exists.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type AccessApp, basic, bearer, createPat, createUser, ensurePackage, registryToken, startAccessApp } from './access-support.ts';

let app: AccessApp;
let alice: { username: string; password: string; auth: string };
let sam: { username: string; password: string; auth: string };

const startUpload = (repo: string, auth: string) => app.req({ method: 'POST', url: `/v2/${repo}/blobs/uploads/`, auth });
const messageOf = (body: string): string => (JSON.parse(body) as { errors: { message: string }[] }).errors[0]?.message ?? '';

describe('refusals name the reason', () => {
  before(async () => {
    app = await startAccessApp();
    alice = await createUser(app, 'alice');
    sam = await createUser(app, 'sam');
    await ensurePackage(app, 'alice/public', 'public');
    await ensurePackage(app, 'alice/secret', 'private');
  });
  after(async () => app.close());

  test('Basic credentials: 403 DENIED with the missing role', async () => {
    const res = await startUpload('alice/public', sam.auth);
    assert.equal(res.statusCode, 403);
    assert.equal(messageOf(res.body), 'requested access to the resource is denied: sam has read access to alice/public; push needs write');
    const secret = await app.req({ url: '/v2/alice/secret/tags/list', auth: sam.auth });
    const missing = await app.req({ url: '/v2/alice/nothing-here/tags/list', auth: sam.auth });
    assert.equal(secret.statusCode, missing.statusCode);
    assert.equal(messageOf(secret.body).replace('secret', 'X'), messageOf(missing.body).replace('nothing-here', 'X'), 'private and missing read the same');
    assert.match(messageOf(secret.body), /sam has no access to alice\/secret \(pull needs read\)/);
  });

  test("a personal access token's scope and package restriction are named", async () => {
    const readOnly = await createPat(app, alice.auth, { scopes: ['read:packages'] });
    const res = await startUpload('alice/public', basic('alice', readOnly.token));
    assert.equal(res.statusCode, 403);
    assert.match(messageOf(res.body), /the token does not allow push \(it allows pull\)$/);
    const limited = await createPat(app, alice.auth, { scopes: ['write:packages'], packages: ['alice/public'] });
    const other = await startUpload('alice/secret', basic('alice', limited.token));
    assert.match(messageOf(other.body), /the token is limited to alice\/public$/);
  });

  test('a registry token: 401 insufficient scope with the reason', async () => {
    const token = await registryToken(app, sam.auth, ['repository:alice/public:pull,push']);
    const res = await startUpload('alice/public', bearer(token));
    assert.equal(res.statusCode, 401);
    assert.equal(messageOf(res.body), 'insufficient scope: sam has read access to alice/public; push needs write');
  });
});
