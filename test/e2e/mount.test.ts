/**
 * Cross-repository blob mount under token auth with a real client: `skopeo copy` between two
 * repositories of one user mounts every blob (the server answers the mount POST with 201 and
 * receives no blob bytes). A user who may not read the source gets a normal upload: the probe
 * of the source is refused as for any repository he cannot see, every layer is uploaded, the
 * push succeeds, and nothing in what the client prints names the source. (The mount POST's own
 * fallback, 202 whatever the source, is covered in test/integration/access-token.test.ts.)
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { type ClientEnv, createClientEnv, missingClients, randomFiles, umociImage } from '../helpers/clients.ts';
import { assertCleanLog, authSkip, type User, useAuthServer } from './auth-support.ts';

const NO_TLS = '--tls-verify=false';
const skip = authSkip(missingClients('skopeo', 'umoci'));
const ctx = useAuthServer(skip);

interface LoggedRequest {
  method: string;
  url: string;
  status: number;
}

/** The requests the server logged (debug level logs every one), oldest first. */
async function requests(): Promise<LoggedRequest[]> {
  const out: LoggedRequest[] = [];
  for (const line of (await ctx().server.logs()).split('\n')) {
    if (!line.includes('"msg":"request"')) continue;
    try {
      const r = JSON.parse(line) as Partial<LoggedRequest>;
      if (typeof r.method === 'string' && typeof r.url === 'string' && typeof r.status === 'number') out.push({ method: r.method, url: r.url, status: r.status });
    } catch {
      // a partial line at the end of the file
    }
  }
  return out;
}

describe('cross-repository mount with skopeo', { skip }, () => {
  let alice: User;
  let bob: User;
  let env: ClientEnv;
  let layout = '';
  let layers: string[] = [];

  before(async () => {
    alice = await ctx().createUser('alice');
    bob = await ctx().createUser('bob');
    env = await createClientEnv(ctx().server.host);
    layout = join(await env.tempDir('layout'), 'oci');
    await umociImage(env, layout, 'v1', {
      layers: [randomFiles(2, 32 * 1024, 'mount-a'), randomFiles(1, 16 * 1024, 'mount-b')],
      config: { architecture: 'amd64', os: 'linux' },
    });
    const host = ctx().server.host;
    await env.runOk('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', `${alice.username}:${alice.password}`, `oci:${layout}:v1`, `docker://${host}/alice/mount-src:v1`]);
    const inspected = JSON.parse(
      (await env.runOk('skopeo', ['inspect', NO_TLS, '--creds', `${alice.username}:${alice.password}`, `docker://${host}/alice/mount-src:v1`])).stdout,
    ) as { Layers: string[] };
    layers = inspected.Layers;
    assert.equal(layers.length, 2);
  });

  test('skopeo copy between two repositories of the same user mounts every layer (201), uploading none', async () => {
    const host = ctx().server.host;
    const creds = `${alice.username}:${alice.password}`;
    const seen = (await requests()).length;
    await env.runOk('skopeo', ['copy', '--quiet', '--src-tls-verify=false', '--dest-tls-verify=false', '--src-creds', creds, '--dest-creds', creds, `docker://${host}/alice/mount-src:v1`, `docker://${host}/alice/mount-dst:v1`]);
    const during = (await requests()).slice(seen);
    for (const layer of layers) {
      const mounts = during.filter((r) => r.method === 'POST' && r.url.startsWith('/v2/alice/mount-dst/blobs/uploads/?') && r.url.includes(`mount=${encodeURIComponent(layer)}`));
      assert.ok(mounts.length > 0, `skopeo tried to mount ${layer}: ${JSON.stringify(during)}`);
      assert.ok(mounts.every((m) => m.url.includes('from=alice%2Fmount-src')), JSON.stringify(mounts));
      assert.equal(mounts.at(-1)?.status, 201, `the server mounted ${layer}: ${JSON.stringify(mounts)}`);
    }
    const uploads = during.filter((r) => r.url.startsWith('/v2/alice/mount-dst/blobs/uploads/') && (r.method === 'PATCH' || r.method === 'PUT'));
    const layerUploads = uploads.filter((r) => layers.some((l) => r.url.includes(encodeURIComponent(l))));
    assert.deepEqual(layerUploads, [], 'no layer bytes were uploaded');
    const copied = JSON.parse((await env.runOk('skopeo', ['inspect', NO_TLS, '--creds', creds, `docker://${host}/alice/mount-dst:v1`])).stdout) as { Layers: string[] };
    assert.deepEqual(copied.Layers, layers);
  });

  test('a user without read on the source: a normal upload of every layer, and the push succeeds', async () => {
    const host = ctx().server.host;
    const creds = `${bob.username}:${bob.password}`;
    // The same client environment: its blob cache knows the layers are in alice/mount-src, so
    // containers/image tries to mount them from there.
    const seen = (await requests()).length;
    const pushed = await env.runOk('skopeo', ['copy', '--dest-tls-verify=false', '--dest-creds', creds, `oci:${layout}:v1`, `docker://${host}/bob/mount-dst:v1`]);
    const during = (await requests()).slice(seen);
    // containers/image first checks the candidate source with a token asking pull on it (HEAD);
    // that token grants bob nothing there, so the HEAD is 401 as for any repository he cannot
    // see, and he mounts nothing.
    const probes = during.filter((r) => r.url.startsWith('/v2/alice/'));
    assert.ok(probes.length > 0, `skopeo considered alice's package as a mount source: ${JSON.stringify(during)}`);
    for (const p of probes) assert.deepEqual([p.method, p.status], ['HEAD', 401], JSON.stringify(p));
    const mounted = during.filter((r) => r.method === 'POST' && r.url.includes('mount=') && r.status === 201);
    assert.deepEqual(mounted, [], 'nothing was mounted');
    for (const layer of layers) {
      const put = during.find((r) => r.method === 'PUT' && r.url.startsWith('/v2/bob/mount-dst/blobs/uploads/') && r.url.includes(encodeURIComponent(layer)));
      assert.equal(put?.status, 201, `${layer} was uploaded by bob: ${JSON.stringify(during)}`);
    }
    assert.doesNotMatch(pushed.stdout + pushed.stderr, /alice|mount-src|denied|unauthorized/i, 'the client was told nothing about the source');
    const copied = JSON.parse((await env.runOk('skopeo', ['inspect', NO_TLS, '--creds', creds, `docker://${host}/bob/mount-dst:v1`])).stdout) as { Layers: string[] };
    assert.deepEqual(copied.Layers, layers);
    await assertCleanLog(ctx().server, [alice.password, bob.password]);
  });
});
