/**
 * kill -9 of a Wharf in the middle of a pull-through fetch (docs/adr/0017-pull-through-cache.md,
 * "Why kill -9 is safe"): the half-fetched blob is never visible; after a restart on the same data
 * directory the dead process's fetch lease expires, the blob is fetched again, verified and served
 * whole. The upstream is Debian's docker-registry behind a forwarder that sends blobs slowly.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createClientEnv, type ClientEnv, missingClients, umociImage } from '../helpers/clients.ts';
import { type StartedServer, startWharf } from '../helpers/server.ts';
import { type DistributionUpstream, type Forwarder, removeUpstreamDir, startDistributionUpstream, startForwarder } from '../helpers/upstream.ts';

const skip = missingClients('skopeo', 'umoci', 'docker-registry');
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const PASSWORD = 'crash-admin-password';
const AUTH = `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}`;
const ENV = { WHARF_AUTH__ADMIN__PASSWORD: PASSWORD, WHARF_PROXY__FETCH_LEASE_SECONDS: '5' };

let dir = '';
let upstream: (DistributionUpstream & { dir: string }) | undefined;
let fwd: Forwarder | undefined;
let clients: ClientEnv | undefined;
let server: StartedServer | undefined;

before(async () => {
  if (skip) return;
  dir = await mkdtemp(join(tmpdir(), 'wharf-proxy-crash-'));
  upstream = await startDistributionUpstream({ kind: 'none' }, 'proxy-crash-upstream');
  fwd = await startForwarder(upstream.url);
  clients = await createClientEnv([upstream.host]);
  const layout = join(dir, 'oci');
  await umociImage(clients, layout, 'big', { layers: [{ 'big.bin': randomBytes(4 * 1024 * 1024) }], config: { architecture: 'amd64', os: 'linux' } });
  await clients.runOk('skopeo', ['copy', '--dest-tls-verify=false', `oci:${layout}:big`, `docker://${upstream.host}/library/big:1`], { timeoutMs: 120_000 });
});

after(async () => {
  await server?.stop();
  await clients?.cleanup();
  await fwd?.stop();
  await upstream?.stop();
  if (upstream) await removeUpstreamDir(upstream);
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('kill -9 mid-fetch: nothing half-visible; after a restart the blob is fetched again and served whole', { skip, timeout: 240_000 }, async () => {
  assert.ok(fwd);
  server = await startWharf({ env: ENV, keepDataDir: true });
  const created = await fetch(`${server.url}/api/v1/admin/proxies`, { method: 'POST', headers: { authorization: AUTH, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'hub', url: fwd.url }) });
  assert.equal(created.status, 201, await created.text());
  const get = (path: string, init: RequestInit = {}) => fetch(`${server?.url}/v2/hub/library/big/${path}`, { ...init, headers: { authorization: AUTH, accept: 'application/vnd.oci.image.manifest.v1+json' } });
  const manifest = (await (await get('manifests/1')).json()) as { layers: { digest: string; size: number }[] };
  const layer = manifest.layers[0];
  assert.ok(layer);

  // A slow upstream: the first pull is still streaming when the server dies.
  fwd.blobBytesPerSecond = 512 * 1024;
  const res = await get(`blobs/${layer.digest}`);
  assert.equal(res.status, 200);
  const reader = res.body?.getReader();
  let received = 0;
  while (received < 256 * 1024) {
    const chunk = await reader?.read();
    if (!chunk || chunk.done) break;
    received += chunk.value.length;
  }
  assert.ok(received > 0 && received < layer.size, `mid-fetch (${received} of ${layer.size} bytes)`);
  await server.kill('SIGKILL');
  await reader?.cancel().catch(() => undefined);

  fwd.blobBytesPerSecond = null;
  server = await startWharf({ env: ENV, dataDir: server.dataDir });
  const started = Date.now();
  const again = await get(`blobs/${layer.digest}`);
  assert.equal(again.status, 200);
  const bytes = Buffer.from(await again.arrayBuffer());
  assert.equal(bytes.length, layer.size);
  assert.equal(sha(bytes), layer.digest);
  assert.equal(fwd.blobGets.get(layer.digest), 2, 'fetched again after the crash');
  // The dead holder's lease had to expire first (5 s from its last renewal).
  assert.ok(Date.now() - started < 15_000);
  // Served from the cache from now on.
  const third = Buffer.from(await (await get(`blobs/${layer.digest}`)).arrayBuffer());
  assert.equal(sha(third), layer.digest);
  assert.equal(fwd.blobGets.get(layer.digest), 2);
});
