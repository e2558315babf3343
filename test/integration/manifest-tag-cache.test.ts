/**
 * GET by tag answered from this process's memory behind the repository's tag stamp (issue 18,
 * ADR 0026 addendum): every way a tag changes — a push that moves it, an untag, a version moved
 * to the trash and restored, a whole package trashed and restored — is seen by the very next
 * GET, for a non-admin caller (whose decision reads the stamp with the access facts) as for an
 * admin (who reads the database). Both profiles (test/scale/integration-profile); across two
 * replicas: test/scale/read-path.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { adminAuth, createUser, expect, json, OCI_MANIFEST, packageUrl, pushImage, type Res, startUiApp, type UiApp } from './ui-api-support.ts';

describe('manifest GET by tag behind the tag stamp', () => {
  let app: UiApp;
  let alice: { auth: string };

  before(async () => {
    app = await startUiApp();
    alice = await createUser(app, 'alice');
  });
  after(() => app.close());

  const get = (repo: string, tag: string, auth: string): Promise<Res> => app.req({ url: `/v2/${repo}/manifests/${tag}`, auth, headers: { accept: OCI_MANIFEST } });
  const bearer = async (repo: string, auth: string): Promise<string> => {
    const res = await app.req({ url: `/token?service=localhost:80&scope=repository:${repo}:pull`, auth });
    expect(res, 200, 'token');
    return `Bearer ${json<{ token: string }>(res).token}`;
  };
  /**
   * The digest GET answers (null when 404) for alice and the admin, each with a password and with
   * a registry token (the two ways a decision is read), twice in a row each.
   */
  const answered = async (repo: string, tag: string): Promise<(string | null)[]> => {
    const out: (string | null)[] = [];
    const callers = [alice.auth, await bearer(repo, alice.auth), adminAuth(), await bearer(repo, adminAuth())];
    for (const auth of callers.flatMap((c) => [c, c])) {
      const res = await get(repo, tag, auth);
      if (res.statusCode === 404) {
        assert.match(res.body, /MANIFEST_UNKNOWN/);
        out.push(null);
      } else {
        expect(res, 200, `GET ${repo}:${tag}`);
        out.push(String(res.headers['docker-content-digest']));
      }
    }
    return out;
  };
  const all = (d: string | null) => Array<string | null>(8).fill(d);

  test('a moved tag, an untag and a re-push are seen by the next GET', async () => {
    const repo = 'alice/app';
    const one = await pushImage(app, alice.auth, repo, 'latest');
    await pushImage(app, alice.auth, repo, 'stable');
    assert.deepEqual(await answered(repo, 'latest'), all(one.digest));
    const two = await pushImage(app, alice.auth, repo, 'latest', { annotations: { build: '2' } });
    assert.notEqual(two.digest, one.digest);
    assert.deepEqual(await answered(repo, 'latest'), all(two.digest));
    // HEAD goes the same way.
    const head = await app.req({ method: 'HEAD', url: `/v2/${repo}/manifests/latest`, auth: alice.auth, headers: { accept: OCI_MANIFEST } });
    assert.equal(head.headers['docker-content-digest'], two.digest);
    expect(await app.req({ method: 'DELETE', url: `/v2/${repo}/manifests/latest`, auth: alice.auth }), 202, 'untag');
    assert.deepEqual(await answered(repo, 'latest'), all(null));
    // Another tag of the repository changed the stamp too, and still answers.
    assert.equal((await answered(repo, 'stable'))[0] !== null, true);
    const again = await pushImage(app, alice.auth, repo, 'latest');
    assert.deepEqual(await answered(repo, 'latest'), all(again.digest));
  });

  test('a version moved to the trash and restored, and a whole package trashed and restored', async () => {
    const repo = 'alice/svc';
    const v = await pushImage(app, alice.auth, repo, 'v1');
    assert.deepEqual(await answered(repo, 'v1'), all(v.digest));
    const trashed = await app.req({ method: 'DELETE', url: packageUrl(repo, `/versions/${v.digest}`), auth: alice.auth });
    expect(trashed, 200, 'version to the trash');
    assert.deepEqual(await answered(repo, 'v1'), all(null));
    expect(await app.req({ method: 'POST', url: `/api/v1/trash/${json<{ id: string }>(trashed).id}/restore`, auth: alice.auth }), 200, 'restore version');
    assert.deepEqual(await answered(repo, 'v1'), all(v.digest));

    const pkg = await app.req({ method: 'DELETE', url: packageUrl(repo), auth: alice.auth });
    expect(pkg, 200, 'package to the trash');
    const gone = await get(repo, 'v1', alice.auth);
    assert.equal(gone.statusCode, 404, gone.body);
    expect(await app.req({ method: 'POST', url: `/api/v1/trash/${json<{ id: string }>(pkg).id}/restore`, auth: alice.auth }), 200, 'restore package');
    assert.deepEqual(await answered(repo, 'v1'), all(v.digest));
  });
});
