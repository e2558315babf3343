/**
 * Webhooks against a started server with real clients: a `podman push` and a `helm push` each
 * reach a local receiver as a correctly signed `package.published` within a second, with the
 * audit rows naming who pushed with which client (a user, and a CI job whose ID token is the
 * password); a delivery waiting for its retry survives a kill -9 of the server (after the restart
 * it is delivered, once); and one whose attempt was in flight at the kill is sent again once the
 * dead process's claim expires (at-least-once, same X-Wharf-Delivery).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { verifySignature } from '../../src/services/webhooks/signature.ts';
import { startOidcIssuer } from '../helpers/access-oidc.ts';
import { type ClientEnv, createClientEnv, findBinary, randomFiles, run, uniqueName } from '../helpers/clients.ts';
import { login } from '../helpers/e2e.ts';
import { type StartedServer, startWharf } from '../helpers/server.ts';
import { type Receiver, type Received, startReceiver } from '../helpers/webhook-receiver.ts';

const HELM = findBinary('helm3') ?? findBinary('helm');
const skip = findBinary('podman') === undefined || HELM === undefined ? 'needs podman and helm (scripts/install-test-deps.sh)' : false;

const SECRET = `e2e-${randomBytes(16).toString('hex')}`;
const ENV = {
  WHARF_WEBHOOKS__ALLOW_PRIVATE_TARGETS: 'true',
  // A retry ~2 s after a failure: time to kill the server while the delivery waits for it.
  WHARF_WEBHOOKS__RETRY_BASE_SECONDS: '2',
  WHARF_WEBHOOKS__POLL_INTERVAL_SECONDS: '0.2',
  // A claim lasts 2 × the time limit + 10 s: 14 s, for the test of a kill in the middle of an attempt.
  WHARF_WEBHOOKS__TIMEOUT_SECONDS: '2',
  WHARF_AUTH__ADMIN__PASSWORD: `hooks-${randomBytes(8).toString('hex')}`,
  // The test's OIDC issuer (a CI identity) serves its keys over http on 127.0.0.1.
  WHARF_AUTH__OIDC__ALLOW_INSECURE_ISSUERS: 'true',
};

let server: StartedServer;
let clients: ClientEnv;
let rx: Receiver;
let ns = '';
let auth = '';

interface Payload {
  event: string;
  actor: { name: string };
  package: string;
  kind: string;
  tag: string;
  version: string;
  digest: string;
  pull: { reference: string; commands: string[] } | null;
}

const payload = (r: Received) => JSON.parse(r.body) as Payload;
const signed = (r: Received) => verifySignature(SECRET, r.body, String(r.headers['x-wharf-signature-256']));

async function api<T>(path: string, init: RequestInit = {}): Promise<{ status: number; body: T }> {
  const res = await fetch(`${server.url}${path}`, { ...init, headers: { authorization: auth, 'content-type': 'application/json', ...(init.headers as Record<string, string>) } });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
}

before(async () => {
  if (skip !== false) return;
  rx = await startReceiver();
  server = await startWharf({ env: ENV, keepDataDir: true });
  const admin = server.admin;
  assert.ok(admin);
  auth = `Basic ${Buffer.from(`${admin.username}:${admin.password}`).toString('base64')}`;
  clients = await createClientEnv(server.host);
  await login(clients, server.host, admin);
  ns = uniqueName('e2e-hooks');
  const hook = await api<{ webhook: { id: string } }>(`/api/v1/owners/${ns}/webhooks`, { method: 'POST', body: JSON.stringify({ url: rx.url, secret: SECRET, events: ['package.published'] }) });
  assert.equal(hook.status, 201, JSON.stringify(hook.body));
});

after(async () => {
  await clients?.cleanup();
  await server?.stop();
  if (server?.dataDir) await rm(server.dataDir, { recursive: true, force: true });
  await rx?.close();
});

test('podman push: a signed package.published within a second, and the audit row names the client', { skip }, async () => {
  const dir = await clients.tempDir('rootfs');
  for (const [path, content] of Object.entries(randomFiles(2, 16 * 1024, 'hooks'))) await writeFile(join(dir, path), content);
  const tar = join(await clients.tempDir('tar'), 'rootfs.tar');
  assert.equal((await run('tar', ['-C', dir, '-cf', tar, '.'])).code, 0);
  await clients.runOk('podman', ['import', '--quiet', tar, `localhost/${ns}/app:local`]);
  const ref = `${server.host}/${ns}/app:1.0.0`;
  await clients.runOk('podman', ['push', '--tls-verify=false', '--format', 'oci', `localhost/${ns}/app:local`, ref]);
  const pushed = Date.now();
  const [hit] = await rx.waitFor(1, (r) => payload(r).package === `${ns}/app`, 5000);
  assert.ok(hit);
  assert.ok(hit.at - pushed < 1000, `delivered ${hit.at - pushed} ms after podman finished`);
  assert.ok(signed(hit), 'X-Wharf-Signature-256 is the HMAC-SHA256 of the body');
  const p = payload(hit);
  assert.equal(p.event, 'package.published');
  assert.equal(p.kind, 'image');
  assert.equal(p.tag, '1.0.0');
  assert.equal(p.actor.name, 'admin');
  assert.deepEqual(p.pull?.commands[0], `podman pull ${ref}`);

  const audit = await api<{ actor: string; userAgent: string; address: string; detail: { digest: string; tags: string[] } }[]>(`/api/v1/audit?owner=${ns}&action=package.push&package=${encodeURIComponent(`${ns}/app`)}`);
  const row = audit.body.find((a) => a.detail.digest === p.digest);
  assert.ok(row, 'the push is audited');
  assert.equal(row.actor, 'admin');
  assert.deepEqual(row.detail.tags, ['1.0.0']);
  assert.equal(row.address, '127.0.0.1');
  assert.match(row.userAgent, /containers|podman/i);
});

test('helm push: a signed package.published for the chart within a second', { skip }, async () => {
  const dir = await clients.tempDir('helm');
  const env = { HELM_CONFIG_HOME: join(dir, 'config'), HELM_CACHE_HOME: join(dir, 'cache'), HELM_DATA_HOME: join(dir, 'data'), HOME: join(dir, 'home') };
  const helm = (args: string[], input?: string) => clients.runOk(HELM ?? 'helm', args, { env, cwd: dir, timeoutMs: 120_000, ...(input !== undefined ? { input } : {}) });
  await helm(['create', 'web']);
  await helm(['package', join(dir, 'web'), '--version', '1.2.3+build.4', '-d', dir]);
  await helm(['registry', 'login', server.host, '--username', 'admin', '--password-stdin', '--insecure'], ENV.WHARF_AUTH__ADMIN__PASSWORD);
  await helm(['push', join(dir, 'web-1.2.3+build.4.tgz'), `oci://${server.host}/${ns}/charts`, '--plain-http']);
  const pushed = Date.now();
  const [hit] = await rx.waitFor(1, (r) => payload(r).package === `${ns}/charts/web`, 5000);
  assert.ok(hit);
  assert.ok(hit.at - pushed < 1000, `delivered ${hit.at - pushed} ms after helm finished`);
  assert.ok(signed(hit));
  const p = payload(hit);
  assert.equal(p.event, 'package.published');
  assert.equal(p.kind, 'chart');
  assert.equal(p.tag, '1.2.3_build.4');
  assert.equal(p.version, '1.2.3+build.4');
  assert.deepEqual(p.pull?.commands, [`helm pull oci://${server.host}/${ns}/charts/web --version 1.2.3+build.4`]);
  const audit = await api<{ userAgent: string; detail: { digest: string } }[]>(`/api/v1/audit?owner=${ns}&action=package.push`);
  assert.match(audit.body.find((a) => a.detail.digest === p.digest)?.userAgent ?? '', /helm/i);
});

test('podman push by a CI identity: the payload and the audit row name the CI job', { skip }, async () => {
  const issuer = await startOidcIssuer();
  try {
    const trust = await api(`/api/v1/owners/${ns}/trusts`, { method: 'POST', body: JSON.stringify({ issuer: issuer.url, audience: 'wharf', role: 'write', conditions: { repository: `${ns}/ci-app` } }) });
    assert.equal(trust.status, 201, JSON.stringify(trust.body));
    const idToken = issuer.sign({ aud: 'wharf', repository: `${ns}/ci-app`, ref: 'refs/heads/main', sub: `repo:${ns}/ci-app:ref:refs/heads/main` });
    // The job's ID token is the password (no stored secret), as docs/ci.md shows.
    await clients.runOk('podman', ['push', '--tls-verify=false', '--creds', `ci:${idToken}`, `localhost/${ns}/app:local`, `${server.host}/${ns}/ci-app:1.0.0`]);
    const [hit] = await rx.waitFor(1, (r) => payload(r).package === `${ns}/ci-app`, 5000);
    assert.ok(hit && signed(hit));
    const p = JSON.parse(hit.body) as Payload & { actor: { kind: string } };
    assert.equal(p.actor.kind, 'ci');
    assert.match(p.actor.name, new RegExp(`^ci:${issuer.url.replace(/[.]/g, '\\.')}#repo:${ns}/ci-app`));
    const audit = await api<{ actor: string; actorKind: string; userAgent: string; detail: { digest: string } }[]>(`/api/v1/audit?owner=${ns}&action=package.push&package=${encodeURIComponent(`${ns}/ci-app`)}`);
    const row = audit.body.find((a) => a.detail.digest === p.digest);
    assert.ok(row, 'the CI push is audited');
    assert.equal(row.actorKind, 'ci');
    assert.equal(row.actor, p.actor.name);
    assert.match(row.userAgent, /containers|podman/i);
  } finally {
    await issuer.close();
  }
});

test('kill -9 while a delivery waits for its retry: delivered after the restart, once', { skip }, async () => {
  const http = async (method: string, path: string, body: Buffer, type: string) => {
    const res = await fetch(`${server.url}${path}`, { method, headers: { authorization: auth, 'content-type': type }, body });
    assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${await res.text()}`);
  };
  const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, crash: true }));
  const layer = randomBytes(1024);
  for (const b of [config, layer]) await http('POST', `/v2/${ns}/crash/blobs/uploads/?digest=${sha(b)}`, b, 'application/octet-stream');
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha(layer), size: layer.length }],
    }),
  );
  rx.failNext(503);
  await http('PUT', `/v2/${ns}/crash/manifests/v1`, manifest, 'application/vnd.oci.image.manifest.v1+json');
  const mine = (r: Received) => payload(r).package === `${ns}/crash`;
  const [first] = await rx.waitFor(1, mine, 5000);
  assert.equal(first?.status, 503);
  await sleep(300); // the failed attempt is recorded (ms); its retry is due in ~2 s
  const dataDir = server.dataDir;
  await server.kill('SIGKILL');
  server = await startWharf({ env: ENV, dataDir, keepDataDir: true });

  const hits = await rx.waitFor(2, mine, 15_000);
  assert.deepEqual(hits.map((h) => h.status), [503, 200]);
  assert.equal(hits[1]?.headers['x-wharf-delivery'], first?.headers['x-wharf-delivery'], 'the same delivery, retried');
  assert.equal(hits[1]?.body, first?.body);
  await sleep(1500);
  assert.equal(rx.received.filter(mine).length, 2, 'delivered once after the restart, not again');
});

test('kill -9 in the middle of an attempt: the claim expires and the delivery is sent again after the restart', { skip }, async () => {
  const http = async (method: string, path: string, body: Buffer, type: string) => {
    const res = await fetch(`${server.url}${path}`, { method, headers: { authorization: auth, 'content-type': type }, body });
    assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${await res.text()}`);
  };
  const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, midAttempt: true }));
  await http('POST', `/v2/${ns}/mid/blobs/uploads/?digest=${sha(config)}`, config, 'application/octet-stream');
  const manifest = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length }, layers: [] }),
  );
  rx.failNext(0); // the receiver takes the request and never answers
  await http('PUT', `/v2/${ns}/mid/manifests/v1`, manifest, 'application/vnd.oci.image.manifest.v1+json');
  const mine = (r: Received) => payload(r).package === `${ns}/mid`;
  const [first] = await rx.waitFor(1, mine, 5000);
  const dataDir = server.dataDir;
  await server.kill('SIGKILL'); // while the attempt is in flight: the row stays claimed
  const killedAt = Date.now();
  server = await startWharf({ env: ENV, dataDir, keepDataDir: true });
  const hits = await rx.waitFor(2, mine, 30_000);
  assert.equal(hits[1]?.status, 200);
  assert.equal(hits[1]?.headers['x-wharf-delivery'], first?.headers['x-wharf-delivery'], 'the same delivery, sent again');
  assert.ok((hits[1]?.at ?? 0) - killedAt > 5000, 'not before the claim of the killed process expired');
  await sleep(1000);
  assert.equal(rx.received.filter(mine).length, 2);
  const log = await api<{ id: string; status: string; attempts: number }[]>(`/api/v1/webhooks/${String(first?.headers['x-wharf-hook-id'])}/deliveries?limit=50`);
  const d = log.body.find((x) => x.id === first?.headers['x-wharf-delivery']);
  // The killed attempt never recorded anything: one attempt, the one that succeeded.
  assert.deepEqual([d?.status, d?.attempts], ['succeeded', 1]);
});
