/**
 * Real container clients against Wharf with authentication on: `skopeo login`, `podman login`
 * and `buildah login` with a password and with a personal access token, then push and pull of
 * private packages; a wrong password fails cleanly; after logout a private pull fails with
 * `unauthorized`; public packages pull anonymously, even with stale credentials.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { buildahImage, type ClientEnv, createClientEnv, missingClients, randomFiles, umociImage } from '../helpers/clients.ts';
import { assertCleanLog, authSkip, packagePath, type User, useAuthServer } from './auth-support.ts';

const NO_TLS = '--tls-verify=false';
const skip = authSkip(missingClients('skopeo', 'podman', 'buildah', 'umoci'));
const ctx = useAuthServer(skip);

let alice: User;
let bob: User;
let alicePat = '';
let layout = '';
let layoutDigest = '';
const secrets: string[] = [];
const envs: ClientEnv[] = [];

async function freshEnv(): Promise<ClientEnv> {
  const env = await createClientEnv(ctx().server.host);
  envs.push(env);
  return env;
}

async function login(env: ClientEnv, tool: 'skopeo' | 'podman' | 'buildah', username: string, secret: string): Promise<void> {
  await env.runOk(tool, ['login', NO_TLS, '--username', username, '--password-stdin', ctx().server.host], { input: secret });
}

const ref = (repo: string, tag = 'v1') => `${ctx().server.host}/${repo}:${tag}`;

/** A refused pull: non-zero exit and an authorization message, never a crash or a 5xx. */
function assertAuthFailure(stderr: string, what: string): void {
  assert.match(stderr, /unauthorized|authentication required|denied/i, `${what}: ${stderr}`);
  assert.doesNotMatch(stderr, /\b50\d\b|internal server error/i, what);
}

describe('container clients with authentication', { skip }, () => {
  before(async () => {
    const { createUser, createPat } = ctx();
    alice = await createUser('alice');
    bob = await createUser('bob');
    alicePat = await createPat(alice, ['write:packages', 'delete:packages']);
    secrets.push(alice.password, bob.password, alicePat);
    const env = await freshEnv();
    layout = join(await env.tempDir('layout'), 'oci');
    layoutDigest = (await umociImage(env, layout, 'v1', { layers: [randomFiles(2, 8 * 1024, 'auth')], config: { architecture: 'amd64', os: 'linux' } })).digest;
  });

  test('skopeo: login with a password, push and inspect a private image, logout, then refused', async () => {
    const env = await freshEnv();
    await login(env, 'skopeo', alice.username, alice.password);
    const auth = JSON.parse(await readFile(env.authFile, 'utf8')) as { auths: Record<string, unknown> };
    assert.ok(auth.auths[ctx().server.host], 'credentials stored in auth.json');
    await env.runOk('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${layout}:v1`, `docker://${ref('alice/sk-app')}`]);
    const settings = await ctx().api<{ visibility: string }>('GET', packagePath('alice/sk-app'), alice);
    assert.equal(settings.body.visibility, 'private', 'a new package is private');
    const inspected = JSON.parse((await env.runOk('skopeo', ['inspect', NO_TLS, `docker://${ref('alice/sk-app')}`])).stdout) as { Digest: string };
    assert.equal(inspected.Digest, layoutDigest);

    await env.runOk('skopeo', ['logout', ctx().server.host]);
    const refused = await env.runFails('skopeo', ['inspect', NO_TLS, `docker://${ref('alice/sk-app')}`]);
    assertAuthFailure(refused.stderr, 'after logout');
    assert.match(refused.stderr, /unauthorized/i);
    // Another user is denied, and cannot push into alice's namespace.
    const asBob = await env.runFails('skopeo', ['inspect', NO_TLS, '--creds', `${bob.username}:${bob.password}`, `docker://${ref('alice/sk-app')}`]);
    assertAuthFailure(asBob.stderr, 'bob inspects');
    const bobPush = await env.runFails('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', `${bob.username}:${bob.password}`, `oci:${layout}:v1`, `docker://${ref('alice/bob-was-here')}`]);
    assertAuthFailure(bobPush.stderr, 'bob pushes');
  });

  test('skopeo: login with a personal access token', async () => {
    const env = await freshEnv();
    await login(env, 'skopeo', alice.username, alicePat);
    await env.runOk('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${layout}:v1`, `docker://${ref('alice/sk-pat')}`]);
    const tags = JSON.parse((await env.runOk('skopeo', ['list-tags', NO_TLS, `docker://${ctx().server.host}/alice/sk-pat`])).stdout) as { Tags: string[] };
    assert.deepEqual(tags.Tags, ['v1']);
    // A read-only token can pull but not push.
    const readOnly = await ctx().createPat(alice, ['read:packages']);
    secrets.push(readOnly);
    const ro = await freshEnv();
    await login(ro, 'skopeo', alice.username, readOnly);
    await ro.runOk('skopeo', ['inspect', NO_TLS, `docker://${ref('alice/sk-pat')}`]);
    const push = await ro.runFails('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${layout}:v1`, `docker://${ref('alice/sk-pat', 'v2')}`]);
    assertAuthFailure(push.stderr, 'push with a read-only token');
  });

  test('a wrong password fails cleanly with every client, storing nothing', async () => {
    for (const tool of ['skopeo', 'podman', 'buildah'] as const) {
      const env = await freshEnv();
      const res = await env.runFails(tool, ['login', NO_TLS, '--username', alice.username, '--password-stdin', ctx().server.host], { input: 'not-alices-password' });
      assert.match(res.stderr, /invalid username\/password|unauthorized/i, `${tool}: ${res.stderr}`);
      const auth = JSON.parse(await readFile(env.authFile, 'utf8')) as { auths: Record<string, unknown> };
      assert.deepEqual(auth.auths, {}, `${tool} stored nothing`);
    }
  });

  test('podman: login with a password and with a PAT, pull and push private images, logout, then refused', async () => {
    const env = await freshEnv();
    await login(env, 'podman', alice.username, alice.password);
    await env.runOk('podman', ['pull', '--quiet', NO_TLS, ref('alice/sk-app')]);
    await env.runOk('podman', ['tag', ref('alice/sk-app'), ref('alice/pm-app')]);
    await env.runOk('podman', ['push', '--quiet', NO_TLS, ref('alice/pm-app'), `docker://${ref('alice/pm-app')}`]);
    await env.runOk('podman', ['logout', ctx().server.host]);
    await env.runOk('podman', ['rmi', '--all', '--force']);
    const refused = await env.runFails('podman', ['pull', '--quiet', NO_TLS, ref('alice/pm-app')]);
    assertAuthFailure(refused.stderr, 'podman pull after logout');

    await login(env, 'podman', alice.username, alicePat);
    await env.runOk('podman', ['pull', '--quiet', NO_TLS, ref('alice/pm-app')]);
  });

  test('buildah: login with a PAT, push an image built from scratch, pull it back, logout, then refused', async () => {
    const env = await freshEnv();
    await buildahImage(env, 'localhost/auth-built:v1', { files: { 'hello.txt': 'built by buildah\n' }, config: { architecture: 'amd64', os: 'linux' } });
    await login(env, 'buildah', alice.username, alicePat);
    await env.runOk('buildah', ['push', '--quiet', NO_TLS, 'localhost/auth-built:v1', `docker://${ref('alice/bh-app')}`]);
    await env.runOk('buildah', ['rmi', '--all', '--force']);
    await env.runOk('buildah', ['pull', '--quiet', NO_TLS, `docker://${ref('alice/bh-app')}`]);
    await env.runOk('buildah', ['logout', ctx().server.host]);
    await env.runOk('buildah', ['rmi', '--all', '--force']);
    const refused = await env.runFails('buildah', ['pull', '--quiet', NO_TLS, `docker://${ref('alice/bh-app')}`]);
    assertAuthFailure(refused.stderr, 'buildah pull after logout');
    // buildah login with a password works too.
    await login(env, 'buildah', alice.username, alice.password);
    await env.runOk('buildah', ['pull', '--quiet', NO_TLS, `docker://${ref('alice/bh-app')}`]);
  });

  test('a public package pulls anonymously, and with stale credentials', async () => {
    await ctx().setVisibility('alice/sk-app', 'public', alice);
    const env = await freshEnv();
    await env.runOk('skopeo', ['inspect', NO_TLS, `docker://${ref('alice/sk-app')}`]);
    await env.runOk('podman', ['pull', '--quiet', NO_TLS, ref('alice/sk-app')]);
    // A client still holding an old password keeps pulling public images.
    await env.runOk('skopeo', ['inspect', NO_TLS, '--creds', `${alice.username}:an-old-password`, `docker://${ref('alice/sk-app')}`]);
    // …but not private ones.
    const priv = await env.runFails('skopeo', ['inspect', NO_TLS, `docker://${ref('alice/pm-app')}`]);
    assertAuthFailure(priv.stderr, 'anonymous private pull');
  });

  test('the server never answered 5xx and never logged a credential', async () => {
    await assertCleanLog(ctx().server, secrets);
    for (const env of envs) await env.cleanup();
  });
});
