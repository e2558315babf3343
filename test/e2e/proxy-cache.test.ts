/**
 * Pull-through cache (docs/adr/0017-pull-through-cache.md) with real upstreams and real clients:
 * a CNCF Distribution upstream with token auth (a token server of the test) behind a counting
 * forwarder, a second one with htpasswd, and a tiny lying upstream for the digest-mismatch case.
 * skopeo, podman and Helm 3/4 pull an image, a multi-arch index and a chart through a proxy
 * organization of an in-process Wharf (WHARF_TEST_PROFILE=scale: S3 + PostgreSQL); then the same
 * pulls with the upstream stopped, a tag moved upstream after its TTL, stale-if-error on 429 and
 * on a dead upstream, unknown tags, concurrent cold pulls fetched once, a client that goes away
 * mid-blob, and pushes refused.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { createWharf, type Wharf } from '../../src/main.ts';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { chartTgz } from '../helpers/charts.ts';
import { addIndex, type ClientEnv, createClientEnv, type Descriptor, findBinary, missingClients, randomFiles, runOk, umociImage } from '../helpers/clients.ts';
import { type DistributionUpstream, type Forwarder, removeUpstreamDir, startDistributionUpstream, startForwarder, startTokenServer, type TokenServer } from '../helpers/upstream.ts';

const skip = missingClients('skopeo', 'podman', 'umoci', 'docker-registry', 'htpasswd', 'openssl', 'helm3', 'helm4');
const ADMIN = { username: 'admin', password: 'admin-password' };
const UPSTREAM_USER = { alice: 'alice-upstream-password' };
const CREDENTIAL_KEY = 'proxy-test-credential-key-0123456789';
const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
const ADMIN_AUTH = basic(ADMIN.username, ADMIN.password);
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('pull-through cache', { skip }, () => {
  let dir = '';
  let token: TokenServer;
  let upstream: DistributionUpstream & { dir: string };
  let fwd: Forwarder;
  let wharf: TestApp;
  let replica: Wharf;
  let url2 = '';
  let host = '';
  let url = '';
  let clients: ClientEnv;
  let helmEnv: Record<string, string> = {};
  const fx: { layout: string; v1: Descriptor; v2: Descriptor; index: Descriptor; big: Descriptor; chartDigest: string; chart: Buffer } = {} as never;

  const api = async <T>(method: string, path: string, body?: unknown, auth = ADMIN_AUTH): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${url}${path}`, { method, headers: { authorization: auth, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
  };
  const v2 = (method: string, path: string, headers: Record<string, string> = {}) => fetch(`${url}/v2/${path}`, { method, headers: { authorization: ADMIN_AUTH, accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json', ...headers } });
  const upstreamCopy = (args: string[]) => clients.runOk('skopeo', ['copy', '--dest-tls-verify=false', '--dest-creds', `alice:${UPSTREAM_USER.alice}`, ...args], { timeoutMs: 120_000 });
  const helm = (tool: 'helm3' | 'helm4', args: string[]) => runOk(findBinary(tool) ?? tool, args, { env: { ...helmEnv, HELM_CONFIG_HOME: join(dir, `${tool}-config`) }, timeoutMs: 120_000 });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wharf-proxy-e2e-'));
    token = await startTokenServer(UPSTREAM_USER, dir);
    upstream = await startDistributionUpstream({ kind: 'token', token }, 'proxy-upstream-token');
    fwd = await startForwarder(upstream.url);
    // Two replicas on one database and one blob store (the scale profile's S3 + PostgreSQL, else
    // files + SQLite), so concurrent cold pulls can be spread over both.
    const shared = process.env['WHARF_TEST_PROFILE'] === 'scale' ? {} : { storage: { driver: 'fs', fs: { root: join(dir, 'blobs') } }, database: { sqlite: { path: join(dir, 'wharf.db') } } };
    wharf = await buildTestApp({ ...shared, auth: { enabled: 'true', admin: { password: ADMIN.password } }, proxy: { credentialKey: CREDENTIAL_KEY } });
    url = await wharf.app.listen({ host: '127.0.0.1', port: 0 });
    replica = await createWharf(wharf.config, { logger: pino({ level: process.env['WHARF_TEST_LOG'] ?? 'silent' }) });
    url2 = await replica.app.listen({ host: '127.0.0.1', port: 0 });
    host = new URL(url).host;
    clients = await createClientEnv([host, upstream.host, fwd.host]);
    helmEnv = { HELM_CACHE_HOME: join(dir, 'helm-cache'), HELM_DATA_HOME: join(dir, 'helm-data'), HOME: join(dir, 'home') };

    // Content upstream: an image, a two-platform index, a big single-layer image, a chart.
    fx.layout = join(dir, 'oci');
    fx.v1 = await umociImage(clients, fx.layout, 'v1', { layers: [randomFiles(3, 64 * 1024, 'a'), randomFiles(2, 16 * 1024, 'b')], config: { architecture: 'amd64', os: 'linux' } });
    fx.v2 = await umociImage(clients, fx.layout, 'v2', { layers: [randomFiles(2, 48 * 1024, 'c')], config: { architecture: 'amd64', os: 'linux' } });
    const amd64 = await umociImage(clients, fx.layout, 'amd64', { layers: [randomFiles(2, 32 * 1024, 'amd')], config: { architecture: 'amd64', os: 'linux' } });
    const arm64 = await umociImage(clients, fx.layout, 'arm64', { layers: [randomFiles(2, 32 * 1024, 'arm')], config: { architecture: 'arm64', os: 'linux' } });
    fx.index = await addIndex(fx.layout, 'multi', [amd64, arm64]);
    // Incompressible, so the layer really is large on the wire.
    fx.big = await umociImage(clients, fx.layout, 'big', { layers: [{ 'big.bin': randomBytes(12 * 1024 * 1024) }, { 'big2.bin': randomBytes(6 * 1024 * 1024) }], config: { architecture: 'amd64', os: 'linux' } });
    await upstreamCopy([`oci:${fx.layout}:v1`, `docker://${upstream.host}/library/app:v1`]);
    await upstreamCopy(['--all', `oci:${fx.layout}:multi`, `docker://${upstream.host}/library/multi:1`]);
    await upstreamCopy([`oci:${fx.layout}:big`, `docker://${upstream.host}/library/big:1`]);
    fx.chart = chartTgz({ name: 'web', version: '0.1.0', description: 'proxied chart' });
    const chartFile = join(dir, 'web-0.1.0.tgz');
    await writeFile(chartFile, fx.chart);
    await helm('helm4', ['registry', 'login', upstream.host, '-u', 'alice', '-p', UPSTREAM_USER.alice, '--plain-http']);
    const pushed = await helm('helm4', ['push', chartFile, `oci://${upstream.host}/charts`, '--plain-http']);
    fx.chartDigest = /Digest: (sha256:[0-9a-f]{64})/.exec(pushed.stdout + pushed.stderr)?.[1] ?? '';

    await clients.runOk('skopeo', ['login', '--tls-verify=false', '-u', ADMIN.username, '-p', ADMIN.password, host]);
  });

  after(async () => {
    await clients?.cleanup();
    await replica?.close();
    await wharf?.close();
    await fwd?.stop();
    await upstream?.stop();
    await token?.stop();
    if (upstream) await removeUpstreamDir(upstream);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('a site admin creates a proxy organization; the password is sealed and never returned', async () => {
    const created = await api<Record<string, unknown>>('POST', '/api/v1/admin/proxies', { name: 'hub', url: fwd.url, username: 'alice', password: UPSTREAM_USER.alice });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body['hasPassword'], true);
    assert.equal(JSON.stringify(created.body).includes(UPSTREAM_USER.alice), false);
    const row = await wharf.metadata.proxies.get('hub');
    assert.ok(row?.sealedPassword && !row.sealedPassword.includes(UPSTREAM_USER.alice));
    const list = await api<{ name: string; url: string }[]>('GET', '/api/v1/admin/proxies');
    assert.deepEqual(list.body.map((p) => [p.name, p.url]), [['hub', fwd.url]]);
    // A proxy organization is private by default.
    const org = await wharf.metadata.accounts.get('hub');
    assert.equal(org?.defaultVisibility, 'private');
    const invalid = await api<{ errors: { message: string }[] }>('POST', '/api/v1/admin/proxies', { name: 'bad', url: 'ftp://x' });
    assert.equal(invalid.status, 400);
  });

  test('cold pulls: skopeo (image, index --all), podman and Helm 3/4 (chart); each blob fetched from the upstream once', async () => {
    const out = join(dir, 'cold');
    await clients.runOk('skopeo', ['copy', '--src-tls-verify=false', `docker://${host}/hub/library/app:v1`, `oci:${out}:v1`], { timeoutMs: 120_000 });
    const inspected = JSON.parse((await clients.runOk('skopeo', ['inspect', '--tls-verify=false', `docker://${host}/hub/library/app:v1`])).stdout) as { Digest: string };
    assert.equal(inspected.Digest, fx.v1.digest);
    await clients.runOk('skopeo', ['copy', '--all', '--src-tls-verify=false', `docker://${host}/hub/library/multi:1`, `oci:${out}:multi`], { timeoutMs: 120_000 });
    const index = JSON.parse((await clients.runOk('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${host}/hub/library/multi:1`])).stdout) as { manifests: unknown[] };
    assert.equal(index.manifests.length, 2);
    await clients.runOk('podman', ['pull', '--tls-verify=false', `${host}/hub/library/app:v1`], { timeoutMs: 120_000 });
    await clients.runOk('podman', ['pull', '--tls-verify=false', `${host}/hub/library/multi:1`], { timeoutMs: 120_000 });
    for (const tool of ['helm3', 'helm4'] as const) {
      await helm(tool, ['registry', 'login', host, '-u', ADMIN.username, '-p', ADMIN.password, tool === 'helm3' ? '--insecure' : '--plain-http']);
      const d = join(dir, `${tool}-pull`);
      await mkdir(d, { recursive: true });
      await helm(tool, ['pull', `oci://${host}/hub/charts/web`, '--version', '0.1.0', '--plain-http', '-d', d]);
      assert.deepEqual(await readFile(join(d, 'web-0.1.0.tgz')), fx.chart);
    }
    // Without --version Helm lists the tags: the upstream's list, through the proxy.
    const latest = join(dir, 'helm4-latest');
    await mkdir(latest, { recursive: true });
    await helm('helm4', ['pull', `oci://${host}/hub/charts/web`, '--plain-http', '-d', latest]);
    assert.deepEqual(await readFile(join(latest, 'web-0.1.0.tgz')), fx.chart);
    for (const [digest, n] of fwd.blobGets) assert.equal(n, 1, `blob ${digest} fetched from the upstream ${n} times`);
    assert.ok(fwd.blobGets.size >= 8, `blobs fetched: ${fwd.blobGets.size}`);
    // Cached as ordinary packages of the organization.
    assert.ok(await wharf.metadata.packages.get('hub/library/app'));
    assert.ok(await wharf.metadata.packages.get('hub/charts/web'));
  });

  test('warm: with the upstream stopped the same pulls succeed from the cache', async () => {
    await upstream.stop();
    try {
      const before = fwd.blobGets.size;
      const out = join(dir, 'warm');
      await clients.runOk('skopeo', ['copy', '--src-tls-verify=false', `docker://${host}/hub/library/app:v1`, `oci:${out}:v1`], { timeoutMs: 120_000 });
      await clients.runOk('skopeo', ['copy', '--all', '--src-tls-verify=false', `docker://${host}/hub/library/multi:1`, `oci:${out}:multi`], { timeoutMs: 120_000 });
      await clients.runOk('podman', ['rmi', '-f', `${host}/hub/library/app:v1`, `${host}/hub/library/multi:1`]);
      await clients.runOk('podman', ['pull', '--tls-verify=false', `${host}/hub/library/app:v1`], { timeoutMs: 120_000 });
      await clients.runOk('podman', ['pull', '--tls-verify=false', `${host}/hub/library/multi:1`], { timeoutMs: 120_000 });
      for (const tool of ['helm3', 'helm4'] as const) {
        const d = join(dir, `${tool}-warm`);
        await mkdir(d, { recursive: true });
        await helm(tool, ['pull', `oci://${host}/hub/charts/web`, '--version', '0.1.0', '--plain-http', '-d', d]);
        assert.deepEqual(await readFile(join(d, 'web-0.1.0.tgz')), fx.chart);
      }
      // Without --version: the cached tags, as the upstream cannot list them.
      const latest = join(dir, 'helm3-latest');
      await mkdir(latest, { recursive: true });
      await helm('helm3', ['pull', `oci://${host}/hub/charts/web`, '--plain-http', '-d', latest]);
      assert.equal(fwd.blobGets.size, before, 'no blob was asked of the upstream');
    } finally {
      await upstream.start();
    }
  });

  test('unknown tag: 404 MANIFEST_UNKNOWN in the OCI format', async () => {
    const res = await v2('GET', 'hub/library/app/manifests/no-such-tag');
    assert.equal(res.status, 404);
    const body = (await res.json()) as { errors: { code: string; message: string }[] };
    assert.equal(body.errors[0]?.code, 'MANIFEST_UNKNOWN');
    assert.match(body.errors[0]?.message ?? '', /upstream/);
  });

  test('a multi-arch index is cached alone; a child is fetched when its platform is pulled', async () => {
    await upstreamCopy(['--all', `oci:${fx.layout}:multi`, `docker://${upstream.host}/library/lazy:1`]);
    const res = await v2('GET', 'hub/library/lazy/manifests/1');
    assert.equal(res.status, 200);
    const index = (await res.json()) as { manifests: { digest: string; platform: { architecture: string } }[] };
    const arm = index.manifests.find((m) => m.platform.architecture === 'arm64')?.digest ?? '';
    const amd = index.manifests.find((m) => m.platform.architecture === 'amd64')?.digest ?? '';
    const repo = 'hub/library/lazy' as never;
    assert.equal(await wharf.metadata.manifests.get(repo, arm as never), null, 'children are not fetched with the index');
    const out = join(dir, 'lazy');
    await clients.runOk('skopeo', ['copy', '--override-arch', 'arm64', '--src-tls-verify=false', `docker://${host}/hub/library/lazy:1`, `oci:${out}:arm`], { timeoutMs: 120_000 });
    assert.ok(await wharf.metadata.manifests.get(repo, arm as never), 'the pulled platform is cached');
    assert.equal(await wharf.metadata.manifests.get(repo, amd as never), null, 'the other platform is not');
  });

  test('a tag moved upstream is seen after its TTL, not before', async () => {
    assert.equal((await api('PATCH', '/api/v1/admin/proxies/hub', { tagTtlSeconds: 3 })).status, 200);
    const digestOf = async () => (await v2('HEAD', 'hub/library/app/manifests/v1')).headers.get('docker-content-digest');
    assert.equal(await digestOf(), fx.v1.digest); // re-checked (old TTL check), confirmed
    await upstreamCopy([`oci:${fx.layout}:v2`, `docker://${upstream.host}/library/app:v1`]);
    assert.equal(await digestOf(), fx.v1.digest, 'within the TTL the cached tag is served');
    await sleep(3200);
    assert.equal(await digestOf(), fx.v2.digest, 'after the TTL the moved tag is fetched');
    const out = join(dir, 'moved');
    await clients.runOk('skopeo', ['copy', '--src-tls-verify=false', `docker://${host}/hub/library/app:v1`, `oci:${out}:v1`], { timeoutMs: 120_000 });
  });

  test('stale-if-error: upstream 429 or down → the cached tag is served, with a metric and the last error', async () => {
    assert.equal((await api('PATCH', '/api/v1/admin/proxies/hub', { tagTtlSeconds: 0 })).status, 200);
    for (const mode of ['429', 'down'] as const) {
      fwd.mode = mode;
      try {
        const res = await v2('GET', 'hub/library/multi/manifests/1');
        assert.equal(res.status, 200, `served stale while the upstream is ${mode}`);
        assert.equal(res.headers.get('docker-content-digest'), fx.index.digest);
        await res.arrayBuffer();
      } finally {
        fwd.mode = 'pass';
      }
    }
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const stale = /wharf_proxy_requests_total\{kind="manifest",outcome="stale"\} (\d+)/.exec(metrics);
    assert.ok(stale && Number(stale[1]) >= 2, 'stale answers are counted');
    const p = await api<{ lastError: string | null }>('GET', '/api/v1/admin/proxies/hub');
    assert.match(p.body.lastError ?? '', /unreachable|429/);
    // A tag never cached cannot be served stale: the client learns the upstream is down.
    fwd.mode = 'down';
    try {
      const res = await v2('GET', 'hub/library/never/manifests/1');
      assert.equal(res.status, 503);
    } finally {
      fwd.mode = 'pass';
    }
    await api('PATCH', '/api/v1/admin/proxies/hub', { tagTtlSeconds: 3600 });
  });

  test('concurrent cold pulls of one big blob fetch it from the upstream once', async () => {
    const manifest = (await (await v2('GET', 'hub/library/big/manifests/1')).json()) as { layers: { digest: string; size: number }[] };
    const layer = manifest.layers[0];
    assert.ok(layer && layer.size > 10 * 1024 * 1024);
    const bodies = await Promise.all(Array.from({ length: 8 }, async () => Buffer.from(await (await v2('GET', `hub/library/big/blobs/${layer.digest}`)).arrayBuffer())));
    for (const b of bodies) assert.equal(sha(b), layer.digest);
    assert.equal(fwd.blobGets.get(layer.digest), 1);
  });

  test('concurrent cold pulls of one blob on two replicas fetch it from the upstream once (a lease in the database)', async () => {
    // A repository not pulled yet, with the same content as library/big upstream.
    await upstreamCopy([`oci:${fx.layout}:big`, `docker://${upstream.host}/library/big-too:1`]);
    const big = (await (await v2('GET', 'hub/library/big-too/manifests/1')).json()) as { layers: { digest: string; size: number }[] };
    const layer = big.layers[0];
    assert.ok(layer);
    const before = fwd.blobGets.get(layer.digest) ?? 0;
    const get = (base: string) =>
      fetch(`${base}/v2/hub/library/big-too/blobs/${layer.digest}`, { headers: { authorization: ADMIN_AUTH } }).then(async (r) => {
        const body = Buffer.from(await r.arrayBuffer());
        assert.equal(r.status, 200, `${base}: ${body.subarray(0, 500).toString()}`);
        return body;
      });
    // The blob was fetched for hub/library/big already: another repository links it after a fetch
    // of its own (the upstream decides what each repository holds), still once for all 8 pulls.
    const bodies = await Promise.all(Array.from({ length: 8 }, (_, i) => get(i % 2 === 0 ? url : url2)));
    for (const b of bodies) assert.equal(sha(b), layer.digest);
    assert.equal((fwd.blobGets.get(layer.digest) ?? 0) - before, 1);
  });

  test('a client that goes away mid-blob leaves nothing half-visible; the blob is complete when it appears', async () => {
    const manifest = (await (await v2('GET', 'hub/library/big/manifests/1')).json()) as { layers: { digest: string; size: number }[] };
    const layer = manifest.layers[1];
    assert.ok(layer);
    const controller = new AbortController();
    const res = await v2('GET', `hub/library/big/blobs/${layer.digest}`);
    const reader = res.body?.getReader();
    await reader?.read();
    controller.abort();
    await reader?.cancel();
    // Until verified, the blob is not linked; once linked, it is whole.
    const deadline = Date.now() + 20_000;
    for (;;) {
      const link = await wharf.metadata.blobLinks.get('hub/library/big' as never, layer.digest as never);
      if (link) {
        assert.equal(link.size, layer.size);
        break;
      }
      if (Date.now() > deadline) assert.fail('the fetch the client left was not finished');
      await sleep(100);
    }
    const again = Buffer.from(await (await v2('GET', `hub/library/big/blobs/${layer.digest}`)).arrayBuffer());
    assert.equal(sha(again), layer.digest);
  });

  test('periodic sync: the proxy.sync job fetches its references ahead of any pull', async () => {
    await upstreamCopy([`oci:${fx.layout}:v2`, `docker://${upstream.host}/library/synced:1`]);
    assert.equal((await api('PATCH', '/api/v1/admin/proxies/hub', { sync: ['library/synced:1'] })).status, 200);
    const outcome = await wharf.jobs.run(wharf.proxy.syncJob(), { options: {}, trigger: 'api' });
    assert.equal(outcome.status, 'succeeded');
    assert.ok(outcome.status === 'succeeded' && outcome.summary['blobs'] === 2 && outcome.summary['failed'] === 0, JSON.stringify(outcome));
    // Now pullable with the upstream unreachable: everything was fetched by the job.
    fwd.mode = 'down';
    try {
      const out = join(dir, 'synced');
      await clients.runOk('skopeo', ['copy', '--src-tls-verify=false', `docker://${host}/hub/library/synced:1`, `oci:${out}:1`], { timeoutMs: 120_000 });
    } finally {
      fwd.mode = 'pass';
    }
    const bad = await api('PATCH', '/api/v1/admin/proxies/hub', { sync: ['no-tag-here'] });
    assert.equal(bad.status, 400);
  });

  test('pushes into a proxy organization are refused with DENIED and the reason', async () => {
    const r = await clients.run('skopeo', ['copy', '--dest-tls-verify=false', `oci:${fx.layout}:v1`, `docker://${host}/hub/library/mine:1`], { timeoutMs: 60_000 });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /proxy organization/);
    const res = await v2('POST', 'hub/library/mine/blobs/uploads/');
    assert.equal(res.status, 403);
    assert.equal(((await res.json()) as { errors: { code: string }[] }).errors[0]?.code, 'DENIED');
  });

  test('pulls need the pull permission: a user outside the organization is refused', async () => {
    const created = await api('POST', '/api/v1/users', { username: 'bob', password: 'bob-password-123' });
    assert.ok(created.status === 201 || created.status === 200, JSON.stringify(created.body));
    const res = await fetch(`${url}/v2/hub/library/app/manifests/v1`, { headers: { authorization: basic('bob', 'bob-password-123') } });
    assert.equal(res.status, 403);
  });

  test('an upstream with htpasswd (Basic) authentication', async () => {
    const plain = await startDistributionUpstream({ kind: 'htpasswd', users: UPSTREAM_USER }, 'proxy-upstream-htpasswd');
    try {
      await upstreamCopy([`oci:${fx.layout}:v1`, `docker://${plain.host}/team/app:v1`]);
      assert.equal((await api('POST', '/api/v1/admin/proxies', { name: 'basic', url: plain.url, username: 'alice', password: UPSTREAM_USER.alice, allow: ['team/*'] })).status, 201);
      const out = join(dir, 'basic');
      await clients.runOk('skopeo', ['copy', '--src-tls-verify=false', `docker://${host}/basic/team/app:v1`, `oci:${out}:v1`], { timeoutMs: 120_000 });
      // Outside the allow patterns: refused, naming them.
      const res = await v2('GET', 'basic/other/app/manifests/v1');
      assert.equal(res.status, 403);
      assert.match(((await res.json()) as { errors: { message: string }[] }).errors[0]?.message ?? '', /allow patterns/);
    } finally {
      await plain.stop();
      await removeUpstreamDir(plain);
    }
  });

  test('a second Wharf as the upstream (its own token service, Basic credentials for the token)', async () => {
    const other = await buildTestApp({ auth: { enabled: 'true', admin: { password: 'other-admin-password' } } });
    try {
      const otherUrl = await other.app.listen({ host: '127.0.0.1', port: 0 });
      const otherHost = new URL(otherUrl).host;
      const env = await createClientEnv([otherHost]);
      try {
        await env.runOk('skopeo', ['copy', '--dest-tls-verify=false', '--dest-creds', 'admin:other-admin-password', `oci:${fx.layout}:multi`, `docker://${otherHost}/acme/multi:1`, '--all'], { timeoutMs: 120_000 });
      } finally {
        await env.cleanup();
      }
      assert.equal((await api('POST', '/api/v1/admin/proxies', { name: 'peer', url: otherUrl, username: 'admin', password: 'other-admin-password' })).status, 201);
      const out = join(dir, 'peer');
      await clients.runOk('skopeo', ['copy', '--all', '--src-tls-verify=false', `docker://${host}/peer/acme/multi:1`, `oci:${out}:multi`], { timeoutMs: 120_000 });
      const res = await v2('HEAD', 'peer/acme/multi/manifests/1');
      assert.equal(res.headers.get('docker-content-digest'), fx.index.digest);
    } finally {
      await other.close();
    }
  });

  test('an upstream that lies about a blob: refused, nothing stored', async () => {
    const real = randomBytes(64 * 1024);
    const digest = sha(real);
    const served = Buffer.from(real);
    served[100] = (served[100] ?? 0) ^ 0xff;
    const liar = createServer((req, res) => {
      if (req.url === '/v2/') return res.writeHead(200).end('{}');
      if (req.url === `/v2/x/app/blobs/${digest}`) return res.writeHead(200, { 'content-length': String(served.length), 'content-type': 'application/octet-stream' }).end(served);
      res.writeHead(404).end();
    });
    liar.listen(0, '127.0.0.1');
    await new Promise((r) => liar.once('listening', r));
    try {
      const port = (liar.address() as AddressInfo).port;
      assert.equal((await api('POST', '/api/v1/admin/proxies', { name: 'liar', url: `http://127.0.0.1:${port}` })).status, 201);
      const res = await v2('GET', `liar/x/app/blobs/${digest}`);
      const got = await res.arrayBuffer().then((b) => Buffer.from(b), () => null);
      assert.ok(got === null || got.length < served.length, 'the client never receives the whole wrong blob');
      await sleep(300);
      assert.equal(await wharf.metadata.blobLinks.get('liar/x/app' as never, digest as never), null);
      const p = await api<{ lastError: string | null }>('GET', '/api/v1/admin/proxies/liar');
      assert.match(p.body.lastError ?? '', /do not match the digest/);
    } finally {
      liar.closeAllConnections();
      await new Promise((r) => liar.close(r));
    }
  });
});
