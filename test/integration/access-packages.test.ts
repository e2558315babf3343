/**
 * Ownership and package settings through the API and the registry: package creation on first
 * push (owner's default visibility, creator granted admin), visibility changes, grants to users
 * and teams, organization and team membership rules, deletion of versions and packages, the
 * source link, Kubernetes pull secrets, the audit log, and logs that never contain secrets.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { digestOf } from '../../src/oci/digest.ts';
import { MediaType } from '../../src/oci/mediatypes.ts';
import {
  type AccessApp,
  adminAuth,
  assertStatus,
  basic,
  bearer,
  createOrg,
  createPat,
  createUser,
  errorCode,
  json,
  packageUrl,
  registryToken,
  SERVICE,
  seedImage,
  startAccessApp,
  tokenRequest,
} from './access-support.ts';

type User = { username: string; password: string; auth: string };
let app: AccessApp;
let olivia: User; // owner of org acme
let max: User; // member of acme
let tina: User; // maintainer of team acme/devs
let dev: User; // member of team acme/devs
let sam: User; // nobody to acme

/** Pushes a small image over HTTP with `auth` (Basic straight to /v2); returns the manifest digest. */
async function push(repo: string, tag: string, auth: string, extra: Record<string, unknown> = {}): Promise<string> {
  const blob = async (bytes: Buffer) => {
    const d = digestOf(bytes);
    const res = await app.req({ method: 'POST', url: `/v2/${repo}/blobs/uploads/?digest=${d}`, auth, headers: { 'content-type': 'application/octet-stream' }, payload: bytes });
    assertStatus(res, 201, `blob upload to ${repo}`);
    return d;
  };
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, ...extra }));
  const layer = Buffer.from(`layer ${repo} ${tag} ${Math.random()}`);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: MediaType.OciConfig, digest: await blob(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: await blob(layer), size: layer.length }],
    }),
  );
  const res = await app.req({ method: 'PUT', url: `/v2/${repo}/manifests/${tag}`, auth, headers: { 'content-type': MediaType.OciManifest }, payload: manifest });
  assertStatus(res, 201, `manifest to ${repo}`);
  await app.wharf.events.settled();
  return digestOf(manifest);
}

const setVisibility = (repo: string, visibility: string, auth: string) => app.req({ method: 'PATCH', url: packageUrl(repo), auth, payload: { visibility } });
const grant = (repo: string, auth: string, subjectKind: string, subject: string, role: string) =>
  app.req({ method: 'PUT', url: packageUrl(repo, '/grants'), auth, payload: { subjectKind, subject, role } });

before(async () => {
  app = await startAccessApp();
  const users = await Promise.all(['olivia', 'max', 'tina', 'dev', 'sam'].map((u) => createUser(app, u)));
  [olivia, max, tina, dev, sam] = users as [User, User, User, User, User];
  await createOrg(app, olivia.auth, 'acme');
  assertStatus(await app.req({ method: 'PUT', url: '/api/v1/orgs/acme/members/max', auth: olivia.auth, payload: { role: 'member' } }), 204, 'add max');
  assertStatus(await app.req({ method: 'POST', url: '/api/v1/orgs/acme/teams', auth: olivia.auth, payload: { name: 'devs' } }), 201, 'team');
  assertStatus(await app.req({ method: 'PUT', url: '/api/v1/orgs/acme/teams/devs/members/tina', auth: olivia.auth, payload: { role: 'maintainer' } }), 204, 'tina');
});
after(async () => {
  await app.close();
});

describe('packages are created on first push', () => {
  test("in a user's own namespace, private by default", async () => {
    await push('sam/tool', 'v1', sam.auth);
    const res = await app.req({ url: packageUrl('sam/tool'), auth: sam.auth });
    assertStatus(res, 200, 'settings');
    const view = json<{ name: string; owner: string; visibility: string; createdBy: string; viewerRole: string }>(res);
    assert.deepEqual([view.name, view.owner, view.visibility, view.createdBy, view.viewerRole], ['sam/tool', 'sam', 'private', 'sam', 'admin']);
    assertStatus(await app.req({ url: '/v2/sam/tool/manifests/v1' }), 401, 'anonymous');
    assertStatus(await app.req({ url: '/v2/sam/tool/manifests/v1', auth: max.auth }), 403, 'another user');
  });

  test("with the owner's default visibility when the owner chose one", async () => {
    assertStatus(await app.req({ method: 'PUT', url: '/api/v1/owners/sam/default-visibility', auth: max.auth, payload: { visibility: 'public' } }), 403, 'not the owner');
    const pat = await createPat(app, sam.auth, { scopes: ['write:packages', 'delete:packages'] });
    assertStatus(await app.req({ method: 'PUT', url: '/api/v1/owners/sam/default-visibility', auth: bearer(pat.token), payload: { visibility: 'public' } }), 403, 'with a PAT');
    assertStatus(await app.req({ method: 'PUT', url: '/api/v1/owners/sam/default-visibility', auth: sam.auth, payload: { visibility: 'public' } }), 204, 'owner');
    await push('sam/open', 'v1', sam.auth);
    assertStatus(await app.req({ url: '/v2/sam/open/manifests/v1', auth: bearer(await registryToken(app, undefined, ['repository:sam/open:pull'])) }), 200, 'anonymous pull');
    assertStatus(await app.req({ method: 'PUT', url: '/api/v1/owners/sam/default-visibility', auth: sam.auth, payload: { visibility: 'private' } }), 204, 'back');
  });

  test('nobody pushes into a namespace they do not belong to', async () => {
    for (const repo of ['olivia/x', 'acme/x', 'nobody-here/x']) {
      const res = await app.req({ method: 'POST', url: `/v2/${repo}/blobs/uploads/`, auth: sam.auth });
      assertStatus(res, 403, repo);
      assert.equal(errorCode(res), 'DENIED');
      assert.equal(await app.wharf.metadata.packages.get(repo), null, `${repo} was not created`);
    }
  });

  test('an org member creates a package and is its admin; other members do not see it until granted', async () => {
    await push('acme/max-app', 'v1', max.auth);
    const view = json<{ viewerRole: string; createdBy: string }>(await app.req({ url: packageUrl('acme/max-app'), auth: max.auth }));
    assert.equal(view.viewerRole, 'admin');
    assert.equal(view.createdBy, 'max');
    // Org owners administer every org package.
    assert.equal(json<{ viewerRole: string }>(await app.req({ url: packageUrl('acme/max-app'), auth: olivia.auth })).viewerRole, 'admin');
    // Another org member: the private package does not exist for them.
    assertStatus(await app.req({ method: 'PUT', url: '/api/v1/orgs/acme/teams/devs/members/dev', auth: olivia.auth, payload: { role: 'member' } }), 204, 'dev joins devs');
    assertStatus(await app.req({ url: packageUrl('acme/max-app'), auth: dev.auth }), 404, 'dev reads settings');
    assertStatus(await app.req({ url: '/v2/acme/max-app/manifests/v1', auth: dev.auth }), 403, 'dev pulls');
    const listed = json<{ name: string }[]>(await app.req({ url: '/api/v1/owners/acme/packages', auth: dev.auth }));
    assert.equal(listed.some((p) => p.name === 'acme/max-app'), false);
    // …but org members may create their own packages in the org.
    await push('acme/dev-app', 'v1', dev.auth);
  });
});

describe('package settings', () => {
  test('visibility: private → public → internal → private, with the effect on pulls', async () => {
    const repo = 'acme/vis';
    await push(repo, 'v1', olivia.auth);
    const anonPull = async () => app.req({ url: `/v2/${repo}/manifests/v1`, auth: bearer(await registryToken(app, undefined, [`repository:${repo}:pull`])) });
    assertStatus(await anonPull(), 401, 'private: anonymous');
    assertStatus(await app.req({ url: `/v2/${repo}/manifests/v1`, auth: sam.auth }), 403, 'private: signed in');

    const res = await setVisibility(repo, 'public', olivia.auth);
    assertStatus(res, 200, 'make public');
    assert.equal(json<{ visibility: string }>(res).visibility, 'public');
    assertStatus(await anonPull(), 200, 'public: anonymous');
    assertStatus(await app.req({ method: 'POST', url: `/v2/${repo}/blobs/uploads/`, auth: sam.auth }), 403, 'public: others still cannot push');

    assertStatus(await setVisibility(repo, 'internal', olivia.auth), 200, 'make internal');
    assertStatus(await anonPull(), 401, 'internal: anonymous');
    assertStatus(await app.req({ url: `/v2/${repo}/manifests/v1`, auth: sam.auth }), 200, 'internal: any signed-in user');

    assertStatus(await setVisibility(repo, 'private', olivia.auth), 200, 'make private');
    assertStatus(await app.req({ url: `/v2/${repo}/manifests/v1`, auth: sam.auth }), 403, 'private again');
    assertStatus(await setVisibility(repo, 'secret', olivia.auth), 400, 'unknown visibility');
  });

  test('who may change settings: package admins (and org owners, site admins); others 403, or 404 when they cannot read', async () => {
    const repo = 'acme/settings';
    await push(repo, 'v1', olivia.auth);
    assertStatus(await grant(repo, olivia.auth, 'user', 'max', 'write'), 204, 'max write');
    assertStatus(await grant(repo, olivia.auth, 'user', 'dev', 'read'), 204, 'dev read');
    assertStatus(await setVisibility(repo, 'public', max.auth), 403, 'writer');
    assertStatus(await setVisibility(repo, 'public', dev.auth), 403, 'reader');
    assertStatus(await setVisibility(repo, 'public', sam.auth), 404, 'stranger');
    assertStatus(await setVisibility(repo, 'public', ''), 401, 'anonymous');
    assertStatus(await setVisibility('acme/does-not-exist', 'public', olivia.auth), 404, 'missing package');
    assertStatus(await setVisibility(repo, 'private', adminAuth()), 200, 'site admin');
    // A PAT of the org owner needs delete:packages (the admin scope) for settings.
    const writeOnly = await createPat(app, olivia.auth, { scopes: ['write:packages'] });
    assertStatus(await setVisibility(repo, 'private', bearer(writeOnly.token)), 403, 'owner PAT without delete:packages');
    const full = await createPat(app, olivia.auth, { scopes: ['write:packages', 'delete:packages'] });
    assertStatus(await setVisibility(repo, 'private', bearer(full.token)), 200, 'owner PAT with delete:packages');
    // Grants are listed to admins only.
    assertStatus(await app.req({ url: packageUrl(repo, '/grants'), auth: max.auth }), 403, 'writer lists grants');
    const grants = json<{ subjectKind: string; subject: string; role: string }[]>(await app.req({ url: packageUrl(repo, '/grants'), auth: olivia.auth }));
    // The creator of an org package is granted admin of it (it outlives a later change of org role).
    assert.deepEqual(grants.map((g) => `${g.subjectKind}:${g.subject}:${g.role}`).sort(), ['user:dev:read', 'user:max:write', 'user:olivia:admin']);
  });

  test('grants to users and teams; removing them takes effect at once', async () => {
    const repo = 'acme/granted';
    await push(repo, 'v1', olivia.auth);
    assertStatus(await app.req({ method: 'POST', url: `/v2/${repo}/blobs/uploads/`, auth: dev.auth }), 403, 'dev before');
    assertStatus(await grant(repo, olivia.auth, 'team', 'acme/devs', 'write'), 204, 'team devs write');
    assertStatus(await app.req({ method: 'POST', url: `/v2/${repo}/blobs/uploads/`, auth: dev.auth }), 202, 'dev pushes through the team');
    assertStatus(await app.req({ method: 'DELETE', url: `/v2/${repo}/manifests/v1`, auth: dev.auth }), 403, 'write is not delete');
    // Removing dev from the team removes the access.
    assertStatus(await app.req({ method: 'DELETE', url: '/api/v1/orgs/acme/teams/devs/members/dev', auth: olivia.auth }), 204, 'remove dev from devs');
    assertStatus(await app.req({ url: `/v2/${repo}/manifests/v1`, auth: dev.auth }), 403, 'dev after leaving the team');
    assertStatus(await app.req({ method: 'PUT', url: '/api/v1/orgs/acme/teams/devs/members/dev', auth: olivia.auth, payload: { role: 'member' } }), 204, 'back');
    // A direct user grant, then its removal.
    assertStatus(await grant(repo, olivia.auth, 'user', 'sam', 'read'), 204, 'sam read');
    assertStatus(await app.req({ url: `/v2/${repo}/manifests/v1`, auth: sam.auth }), 200, 'sam reads');
    const del = await app.req({ method: 'DELETE', url: `${packageUrl(repo, '/grants')}?subjectKind=user&subject=sam`, auth: olivia.auth });
    assertStatus(del, 204, 'remove sam');
    assertStatus(await app.req({ url: `/v2/${repo}/manifests/v1`, auth: sam.auth }), 403, 'sam after removal');
    assertStatus(await app.req({ method: 'DELETE', url: `${packageUrl(repo, '/grants')}?subjectKind=user&subject=sam`, auth: olivia.auth }), 404, 'removing twice');
    // Bad grants.
    assertStatus(await grant(repo, olivia.auth, 'user', 'ghost', 'read'), 400, 'unknown user');
    assertStatus(await grant(repo, olivia.auth, 'team', 'acme/ghosts', 'read'), 400, 'unknown team');
    assertStatus(await grant(repo, olivia.auth, 'team', 'other/devs', 'read'), 400, "another org's team");
    assertStatus(await grant(repo, olivia.auth, 'user', 'sam', 'owner'), 400, 'unknown role');
    // A grant of admin lets its holder manage the package.
    assertStatus(await grant(repo, olivia.auth, 'user', 'sam', 'admin'), 204, 'sam admin');
    assertStatus(await setVisibility(repo, 'private', sam.auth), 200, 'sam changes settings');
  });

  test('deleting a version or the whole package needs admin', async () => {
    const repo = 'acme/deletable';
    const digest = await push(repo, 'v1', olivia.auth);
    const second = await push(repo, 'v2', olivia.auth);
    assertStatus(await grant(repo, olivia.auth, 'user', 'max', 'write'), 204, 'max write');
    const versionUrl = (d: string) => packageUrl(repo, `/versions/${d}`);
    assertStatus(await app.req({ method: 'DELETE', url: versionUrl(digest), auth: max.auth }), 403, 'writer deletes a version');
    assertStatus(await app.req({ method: 'DELETE', url: versionUrl(digest), auth: sam.auth }), 404, 'stranger deletes a version');
    assertStatus(await app.req({ method: 'DELETE', url: versionUrl(digest) }), 401, 'anonymous deletes a version');
    assertStatus(await app.req({ method: 'DELETE', url: versionUrl('sha256:nope'), auth: olivia.auth }), 400, 'bad digest');
    assertStatus(await app.req({ method: 'DELETE', url: versionUrl(digest), auth: olivia.auth }), 200, 'admin moves a version to the trash');
    assertStatus(await app.req({ url: `/v2/${repo}/manifests/${digest}`, auth: olivia.auth }), 404, 'version gone');
    assertStatus(await app.req({ url: `/v2/${repo}/manifests/${second}`, auth: olivia.auth }), 200, 'the other version stays');

    assertStatus(await app.req({ method: 'DELETE', url: packageUrl(repo), auth: max.auth }), 403, 'writer deletes the package');
    assertStatus(await app.req({ method: 'DELETE', url: packageUrl(repo), auth: sam.auth }), 404, 'stranger deletes the package');
    const trashed = await app.req({ method: 'DELETE', url: packageUrl(repo), auth: olivia.auth });
    assertStatus(trashed, 200, 'admin moves the package to the trash');
    assertStatus(await app.req({ url: packageUrl(repo), auth: olivia.auth }), 404, 'package gone');
    assertStatus(await app.req({ url: `/v2/${repo}/manifests/${second}`, auth: olivia.auth }), 404, 'its manifests gone');
    assert.notDeepEqual(await app.wharf.metadata.packages.grants(repo), [], 'grants stay while it is in the trash (a restore brings them back)');
    const { id } = JSON.parse(trashed.body) as { id: string };
    assertStatus(await app.req({ method: 'DELETE', url: `/api/v1/trash/${id}`, auth: max.auth }), 404, 'a writer cannot purge it');
    assertStatus(await app.req({ method: 'DELETE', url: `/api/v1/trash/${id}`, auth: olivia.auth }), 200, 'admin purges it');
    const grants = await app.wharf.metadata.packages.grants(repo);
    assert.deepEqual(grants, [], 'its grants gone after the purge (a new package of that name starts clean)');
  });

  test('the source repository is linked from org.opencontainers.image.source', async () => {
    await push('acme/linked', 'v1', olivia.auth, { config: { Labels: { 'org.opencontainers.image.source': 'https://github.com/acme/linked.git' } } });
    const view = json<{ source: string | null }>(await app.req({ url: packageUrl('acme/linked'), auth: olivia.auth }));
    assert.equal(view.source, 'https://github.com/acme/linked');
    // From a manifest annotation (indexes, artifacts, Helm charts).
    const img = await seedImage(app, 'acme/annotated', 'v1', { annotations: { 'org.opencontainers.image.source': 'https://git.example.com/acme/annotated' } });
    assert.equal((await app.wharf.metadata.packages.get(img.repo))?.source, 'https://git.example.com/acme/annotated');
    // Anything but an http(s) URL is ignored.
    const bad = await seedImage(app, 'acme/not-linked', 'v1', { annotations: { 'org.opencontainers.image.source': 'javascript:alert(1)' } });
    assert.equal((await app.wharf.metadata.packages.get(bad.repo))?.source, null);
  });
});

describe('organizations and teams', () => {
  test('only org owners manage members; the last owner stays', async () => {
    assertStatus(await app.req({ method: 'PUT', url: '/api/v1/orgs/acme/members/sam', auth: max.auth, payload: { role: 'member' } }), 403, 'a member adds someone');
    assertStatus(await app.req({ method: 'DELETE', url: '/api/v1/orgs/acme/members/olivia', auth: olivia.auth }), 409, 'remove the last owner');
    assertStatus(await app.req({ method: 'PUT', url: '/api/v1/orgs/acme/members/olivia', auth: olivia.auth, payload: { role: 'member' } }), 409, 'demote the last owner');
    assertStatus(await app.req({ method: 'PUT', url: '/api/v1/orgs/acme/members/max', auth: olivia.auth, payload: { role: 'owner' } }), 204, 'promote max');
    assertStatus(await app.req({ method: 'PUT', url: '/api/v1/orgs/acme/members/max', auth: olivia.auth, payload: { role: 'member' } }), 204, 'demote max (another owner remains)');
    assertStatus(await app.req({ method: 'PUT', url: '/api/v1/orgs/acme/members/ghost', auth: olivia.auth, payload: { role: 'member' } }), 404, 'unknown user');
    assertStatus(await app.req({ method: 'PUT', url: '/api/v1/orgs/nope/members/sam', auth: olivia.auth, payload: { role: 'member' } }), 404, 'unknown org');
    assertStatus(await app.req({ method: 'PUT', url: '/api/v1/orgs/acme/members/sam', auth: olivia.auth, payload: { role: 'boss' } }), 400, 'unknown role');
  });

  test('team maintainers manage their team, but only with existing org members', async () => {
    assertStatus(await app.req({ method: 'PUT', url: '/api/v1/orgs/acme/teams/devs/members/max', auth: tina.auth, payload: { role: 'member' } }), 204, 'maintainer adds an org member');
    const res = await app.req({ method: 'PUT', url: '/api/v1/orgs/acme/teams/devs/members/sam', auth: tina.auth, payload: { role: 'member' } });
    assertStatus(res, 403, 'maintainer adds an outsider');
    assert.equal((await app.wharf.metadata.memberships.orgRole('acme', 'sam')), null, 'sam did not join the org');
    assertStatus(await app.req({ method: 'PUT', url: '/api/v1/orgs/acme/teams/devs/members/tina', auth: dev.auth, payload: { role: 'member' } }), 403, 'a plain team member manages the team');
    assertStatus(await app.req({ method: 'POST', url: '/api/v1/orgs/acme/teams', auth: tina.auth, payload: { name: 'ops' } }), 403, 'a maintainer creates a team');
    assertStatus(await app.req({ method: 'DELETE', url: '/api/v1/orgs/acme/teams/devs/members/max', auth: tina.auth }), 204, 'maintainer removes');
    assertStatus(await app.req({ method: 'POST', url: '/api/v1/orgs/acme/teams', auth: olivia.auth, payload: { name: 'Bad Name' } }), 400, 'bad team name');
    assertStatus(await app.req({ method: 'POST', url: '/api/v1/orgs/acme/teams', auth: olivia.auth, payload: { name: 'devs' } }), 409, 'duplicate team');
  });

  test('membership is visible to members only', async () => {
    const asMember = json<{ members: { username: string }[]; teams: unknown[] }>(await app.req({ url: '/api/v1/orgs/acme', auth: max.auth }));
    assert.ok(asMember.members.some((m) => m.username === 'olivia'));
    assert.ok(asMember.teams.length >= 1);
    for (const auth of [sam.auth, undefined]) {
      const res = await app.req({ url: '/api/v1/orgs/acme', auth });
      assertStatus(res, 200, 'org page');
      const view = json<{ members: unknown[]; teams: unknown[] }>(res);
      assert.deepEqual([view.members, view.teams], [[], []]);
    }
  });

  test("a user's email is visible to themselves and site admins only", async () => {
    assertStatus(await app.req({ method: 'PATCH', url: '/api/v1/users/olivia', auth: adminAuth(), payload: { email: 'olivia@example.com' } }), 200, 'set email');
    assertStatus(await app.req({ method: 'PATCH', url: '/api/v1/users/olivia', auth: olivia.auth, payload: { admin: true } }), 403, 'self-promotion');
    const email = async (auth: string) => json<{ username: string; email: string | null }>(await app.req({ url: '/api/v1/users/olivia', auth })).email;
    assert.equal(await email(olivia.auth), 'olivia@example.com');
    assert.equal(await email(adminAuth()), 'olivia@example.com');
    assert.equal(await email(sam.auth), null);
    assertStatus(await app.req({ url: '/api/v1/users/olivia' }), 401, 'anonymous');
    assertStatus(await app.req({ url: '/api/v1/users', auth: sam.auth }), 403, 'listing users is for admins');
  });

  test('names: reserved words, case and collisions are refused', async () => {
    for (const name of ['v2', 'api', 'token', 'charts', 'Acme', 'a--b', '-x', 'x'.repeat(40)]) {
      assertStatus(await app.req({ method: 'POST', url: '/api/v1/orgs', auth: sam.auth, payload: { name } }), 400, name);
    }
    assertStatus(await app.req({ method: 'POST', url: '/api/v1/orgs', auth: sam.auth, payload: { name: 'olivia' } }), 409, 'a user name');
    assertStatus(await app.req({ method: 'POST', url: '/api/v1/users', auth: adminAuth(), payload: { username: 'acme', password: 'long-enough-pw' } }), 409, 'an org name');
    assertStatus(await app.req({ method: 'POST', url: '/api/v1/users', auth: adminAuth(), payload: { username: 'newbie', password: 'short' } }), 400, 'short password');
    assertStatus(await app.req({ method: 'POST', url: '/api/v1/users', auth: sam.auth, payload: { username: 'newbie', password: 'long-enough-pw' } }), 403, 'non-admin creates users');
  });
});

describe('Kubernetes pull secrets', () => {
  test('a read-only token limited to the chosen packages, with kubectl line, dockerconfigjson and YAML', async () => {
    await push('acme/k8s-a', 'v1', olivia.auth);
    await push('acme/k8s-b', 'v1', olivia.auth);
    const res = await app.req({ method: 'POST', url: '/api/v1/user/pull-secrets', auth: olivia.auth, payload: { packages: ['acme/k8s-a'], secretName: 'k8s-a-pull' } });
    assertStatus(res, 201, 'pull secret');
    assert.equal(res.headers['cache-control'], 'no-store');
    const s = json<{ token: string; server: string; username: string; secretName: string; kubectl: string; dockerconfigjson: string; yaml: string }>(res);
    assert.equal(s.server, SERVICE);
    assert.equal(s.kubectl, `kubectl create secret docker-registry k8s-a-pull --docker-server=${SERVICE} --docker-username=olivia --docker-password=${s.token}`);
    const cfg = JSON.parse(s.dockerconfigjson) as { auths: Record<string, { username: string; password: string; auth: string }> };
    assert.deepEqual(cfg.auths[SERVICE], { username: 'olivia', password: s.token, auth: Buffer.from(`olivia:${s.token}`).toString('base64') });
    assert.match(s.yaml, /^apiVersion: v1\nkind: Secret\nmetadata:\n {2}name: k8s-a-pull\ntype: kubernetes.io\/dockerconfigjson\ndata:\n {2}\.dockerconfigjson: [A-Za-z0-9+/=]+\n$/);
    assert.equal(Buffer.from(/\.dockerconfigjson: (\S+)/.exec(s.yaml)?.[1] ?? '', 'base64').toString(), s.dockerconfigjson);

    const auth = basic(s.username, s.token);
    assertStatus(await app.req({ url: '/v2/acme/k8s-a/manifests/v1', auth }), 200, 'pulls the chosen package');
    assertStatus(await app.req({ url: '/v2/acme/k8s-b/manifests/v1', auth }), 403, 'not another package');
    assertStatus(await app.req({ method: 'POST', url: '/v2/acme/k8s-a/blobs/uploads/', auth }), 403, 'cannot push');
    assertStatus(await app.req({ method: 'POST', url: '/api/v1/user/pull-secrets', auth: sam.auth, payload: { packages: ['acme/k8s-a'] } }), 404, 'for a package the caller cannot read');
    assertStatus(await app.req({ method: 'POST', url: '/api/v1/user/pull-secrets', auth: olivia.auth, payload: { packages: [] } }), 400, 'no packages');
  });
});

describe('audit log', () => {
  test('readable by site admins only, and records auth and permission changes', async () => {
    assertStatus(await app.req({ url: '/api/v1/audit' }), 401, 'anonymous');
    assertStatus(await app.req({ url: '/api/v1/audit', auth: olivia.auth }), 403, 'org owner');
    const adminPat = await createPat(app, adminAuth(), { scopes: ['write:packages', 'delete:packages'] });
    assertStatus(await app.req({ url: '/api/v1/audit', auth: bearer(adminPat.token) }), 403, "the admin's PAT");
    assertStatus(await app.req({ url: '/api/v1/audit?limit=0', auth: adminAuth() }), 400, 'bad limit');

    const res = await app.req({ url: '/api/v1/audit?limit=1000', auth: adminAuth() });
    assertStatus(res, 200, 'admin');
    const entries = json<{ actor: string; action: string; target: string; detail: Record<string, unknown> | null }[]>(res);
    const has = (actor: string, action: string, target: string) => entries.some((e) => e.actor === actor && e.action === action && e.target === target);
    assert.ok(has('system', 'user.create', 'admin'), 'first admin');
    assert.ok(has('admin', 'user.create', 'olivia'), 'user creation');
    assert.ok(has('olivia', 'org.create', 'acme'), 'org creation');
    assert.ok(has('olivia', 'org.member.set', 'acme'), 'membership');
    assert.ok(has('tina', 'team.member.set', 'acme/devs'), 'team membership');
    assert.ok(has('olivia', 'package.visibility', 'acme/vis'), 'visibility');
    assert.ok(has('olivia', 'package.grant', 'acme/granted'), 'grant');
    assert.ok(has('olivia', 'package.revoke', 'acme/granted'), 'grant removal');
    assert.ok(has('olivia', 'package.version.trash', 'acme/deletable'), 'version moved to the trash');
    assert.ok(has('olivia', 'package.trash', 'acme/deletable'), 'package moved to the trash');
    assert.ok(has('sam', 'owner.default_visibility', 'sam'), 'default visibility');
    assert.ok(has('olivia', 'token.create', 'olivia'), 'token creation');
    assert.ok(has('max', 'package.create', 'acme/max-app'), 'package creation');
    // Filters.
    const onlyOlivia = json<{ actor: string }[]>(await app.req({ url: '/api/v1/audit?actor=olivia', auth: adminAuth() }));
    assert.ok(onlyOlivia.length > 0 && onlyOlivia.every((e) => e.actor === 'olivia'));
    // No secrets in the audit trail.
    assert.equal(JSON.stringify(entries).includes(adminPat.token), false);
    assert.equal(JSON.stringify(entries).includes('olivia-password'), false);
  });
});

describe('logs never contain passwords or tokens', () => {
  test('every secret used is absent from everything logged at trace level', async () => {
    const logged = await startAccessApp({ captureLogs: true });
    try {
      const secrets: string[] = ['admin-password'];
      const u = await createUser(logged, 'logan', 'logan-secret-password');
      secrets.push(u.password, u.auth.slice('Basic '.length));
      await seedImage(logged, 'logan/app', 'v1');
      // Wrong and right passwords, on every path that takes one.
      const wrong = basic('logan', 'logan-wrong-password');
      secrets.push('logan-wrong-password', wrong.slice('Basic '.length));
      await tokenRequest(logged, wrong, []);
      await logged.req({ url: '/v2/logan/app/manifests/v1', auth: wrong });
      await logged.req({ method: 'POST', url: '/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `grant_type=password&username=logan&password=logan-wrong-password` });
      const offline = json<{ token: string; refresh_token: string }>(await tokenRequest(logged, u.auth, ['repository:logan/app:pull'], { offline_token: 'true' }));
      secrets.push(offline.token, offline.refresh_token);
      await logged.req({ url: '/v2/logan/app/manifests/v1', auth: bearer(offline.token) });
      await logged.req({ method: 'POST', url: '/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `grant_type=refresh_token&refresh_token=${offline.refresh_token}` });
      const pat = await createPat(logged, u.auth, { scopes: ['write:packages'] });
      secrets.push(pat.token);
      await logged.req({ url: '/v2/logan/app/manifests/v1', auth: basic('logan', pat.token) });
      await logged.req({ url: '/v2/logan/app/manifests/v1', auth: bearer(pat.token) });
      await logged.req({ method: 'DELETE', url: `/api/v1/user/tokens/${pat.id}`, auth: u.auth });
      await logged.req({ url: '/v2/logan/app/manifests/v1', auth: bearer(pat.token) }); // revoked
      const secret = json<{ token: string }>(await logged.req({ method: 'POST', url: '/api/v1/user/pull-secrets', auth: u.auth, payload: { packages: ['logan/app'] } }));
      secrets.push(secret.token);
      await logged.req({ method: 'PUT', url: '/api/v1/user/password', auth: u.auth, payload: { password: 'logan-next-password' } });
      secrets.push('logan-next-password');
      await logged.req({ method: 'POST', url: '/api/v1/users', auth: adminAuth(), payload: { username: 'lena', password: 'lena-initial-password' } });
      secrets.push('lena-initial-password');

      const text = logged.logs();
      assert.ok(text.includes('"msg":"request"') && text.includes('/token'), 'the capture works (requests were logged)');
      assert.ok(text.includes('sign-in failed'), 'failed sign-ins are logged (without the password)');
      for (const s of secrets) assert.equal(text.includes(s), false, `a secret appears in the logs: ${s.slice(0, 12)}…`);
      // Not even a prefix long enough to be useful.
      for (const s of secrets) assert.equal(text.includes(s.slice(0, 24)), false, `a secret prefix appears in the logs: ${s.slice(0, 12)}…`);
    } finally {
      await logged.close();
    }
  });
});
