/**
 * Webhooks end to end in-process, delivered over real HTTP to a receiver on 127.0.0.1: a push's
 * signed `package.published` payload, tag moves, deletes and restores, a receiver that fails twice
 * then succeeds, redelivery and the test button, who may manage webhooks, and the audit rows of
 * the push (actor, address, User-Agent) as the owner reads them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MediaType } from '../../src/oci/mediatypes.ts';
import { verifySignature } from '../../src/services/webhooks/signature.ts';
import { type Receiver, startReceiver } from '../helpers/webhook-receiver.ts';
import { startOidcIssuer } from '../helpers/access-oidc.ts';
import { scaleProfile } from '../scale/backends.ts';
import { type AccessApp, adminAuth, assertStatus, basic, createOrg, createPat, createUser, ensurePackage, json, packageUrl, seedBlob, startAccessApp } from './access-support.ts';

let app: AccessApp;
let rx: Receiver;
let alice: { username: string; auth: string };
let bob: { username: string; auth: string };
let ticker: NodeJS.Timeout;
let profile: Awaited<ReturnType<typeof scaleProfile>>;

interface Payload {
  id: string;
  event: string;
  timestamp: string;
  actor: { name: string; kind: string; tokenId: string | null };
  owner: string;
  package: string;
  kind: string | null;
  tag: string | null;
  tags: string[];
  version: string | null;
  digest: string | null;
  previousDigest?: string | null;
  mediaType: string | null;
  pull: { reference: string; commands: string[] } | null;
}

interface Delivery {
  id: string;
  event: string;
  status: string;
  attempts: number;
  responseStatus: number | null;
  responseExcerpt: string | null;
  latencyMs: number | null;
  redeliveryOf: string | null;
}

const SECRET = 'a-shared-secret-of-some-length';

/** Pushes an image manifest through /v2 as `auth`, with a client's User-Agent. */
async function push(repo: string, tag: string, auth: string, userAgent = 'containers/5.0 (github.com/containers/image)'): Promise<string> {
  const name = await ensurePackage(app, repo);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, n: Math.random() }));
  const layer = Buffer.from(`layer ${Math.random()}`);
  const configDigest = await seedBlob(app, name, config);
  const layerDigest = await seedBlob(app, name, layer);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: MediaType.OciConfig, digest: configDigest, size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerDigest, size: layer.length }],
  });
  const res = await app.req({
    method: 'PUT',
    url: `/v2/${repo}/manifests/${tag}`,
    auth,
    headers: { 'content-type': MediaType.OciManifest, 'user-agent': userAgent, host: 'registry.example:5000' },
    payload: manifest,
    remoteAddress: '203.0.113.7',
  });
  assertStatus(res, 201, `push ${repo}:${tag}`);
  return res.headers['docker-content-digest'] as string;
}

async function createHook(auth: string, url: string, body: Record<string, unknown>): Promise<{ webhook: { id: string }; secret: string }> {
  const res = await app.req({ method: 'POST', url, auth, payload: body });
  assertStatus(res, 201, 'create webhook');
  return json(res);
}

async function deliveries(hookId: string, auth: string): Promise<Delivery[]> {
  const res = await app.req({ url: `/api/v1/webhooks/${hookId}/deliveries`, auth });
  assertStatus(res, 200, 'deliveries');
  return json(res);
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const payloadOf = (r: { body: string }) => JSON.parse(r.body) as Payload;

before(async () => {
  rx = await startReceiver();
  // WHARF_TEST_PROFILE=scale: on PostgreSQL + S3 (the outbox claims with SKIP LOCKED there).
  profile = await scaleProfile();
  app = await startAccessApp({
    // Everything down to trace, so a secret logged at any level is caught (last test).
    captureLogs: true,
    overrides: { ...profile?.overrides, webhooks: { allowPrivateTargets: 'true', retryBaseSeconds: 0.05, retryMaxSeconds: 0.2, pollIntervalSeconds: 0.1, maxAttempts: 4 } },
  });
  // The app's clock follows real time here: retries are due by it.
  ticker = setInterval(() => (app.clock.now = Math.max(app.clock.now, Date.now())), 10);
  alice = await createUser(app, 'alice');
  bob = await createUser(app, 'bob');
});

after(async () => {
  clearInterval(ticker);
  await app.close();
  await profile?.cleanup();
  await rx.close();
});

describe('webhooks', () => {
  let hookId = '';
  let firstDigest = '';

  test('a push delivers a signed package.published payload within a second', async () => {
    const created = await createHook(alice.auth, '/api/v1/owners/alice/webhooks', { url: rx.url, secret: SECRET, events: ['package.published', 'tag.moved', 'version.deleted', 'version.restored', 'tag.deleted'] });
    hookId = created.webhook.id;
    assert.equal(created.secret, SECRET);
    const got = json<{ url: string; secret?: string }>(await app.req({ url: `/api/v1/webhooks/${hookId}`, auth: alice.auth }));
    assert.equal(got.url, rx.url);
    assert.equal(got.secret, undefined, 'the secret is never shown again');

    firstDigest = await push('alice/web', '1.0.0', alice.auth);
    const t0 = Date.now(); // the push has been answered
    const [hit] = await rx.waitFor(1, (r) => r.headers['x-wharf-event'] === 'package.published', 5000);
    assert.ok(hit);
    assert.ok(hit.at - t0 < 1000, `delivered ${hit.at - t0} ms after the push was answered`);
    // Signature: HMAC-SHA256 of the raw body with the secret, GitHub's format, under both names.
    assert.match(String(hit.headers['x-wharf-signature-256']), /^sha256=[0-9a-f]{64}$/);
    assert.ok(verifySignature(SECRET, hit.body, String(hit.headers['x-wharf-signature-256'])));
    assert.equal(hit.headers['x-hub-signature-256'], hit.headers['x-wharf-signature-256']);
    assert.equal(verifySignature('another-secret-entirely', hit.body, String(hit.headers['x-wharf-signature-256'])), false);
    assert.equal(hit.headers['content-type'], 'application/json');
    assert.match(String(hit.headers['user-agent']), /^Wharf-Webhook\//);
    assert.ok(hit.headers['x-wharf-delivery']);

    const p = payloadOf(hit);
    assert.equal(p.event, 'package.published');
    assert.deepEqual(p.actor, { name: 'alice', kind: 'user', tokenId: null });
    assert.equal(p.owner, 'alice');
    assert.equal(p.package, 'alice/web');
    assert.equal(p.kind, 'image');
    assert.equal(p.tag, '1.0.0');
    assert.deepEqual(p.tags, ['1.0.0']);
    assert.equal(p.version, '1.0.0');
    assert.equal(p.digest, firstDigest);
    assert.equal(p.mediaType, MediaType.OciManifest);
    assert.ok(!Number.isNaN(Date.parse(p.timestamp)) && p.timestamp.endsWith('Z'));
    assert.deepEqual(p.pull, { reference: 'registry.example:5000/alice/web:1.0.0', commands: ['podman pull registry.example:5000/alice/web:1.0.0', 'docker pull registry.example:5000/alice/web:1.0.0'] });

    const log = await until('a succeeded delivery', async () => (await deliveries(hookId, alice.auth)).find((d) => d.status === 'succeeded'));
    assert.equal(log.attempts, 1);
    assert.equal(log.responseStatus, 200);
    assert.equal(log.responseExcerpt, 'thanks');
    assert.ok(log.latencyMs !== null && log.latencyMs >= 0);
  });

  test('re-pushing a tag to the same digest publishes nothing; moving it sends tag.moved with the old digest', async () => {
    const before = rx.received.length;
    // The same manifest bytes again (a client retrying) are no new publication.
    const res = await app.req({ url: `/v2/alice/web/manifests/1.0.0`, auth: alice.auth, headers: { accept: MediaType.OciManifest } });
    assertStatus(await app.req({ method: 'PUT', url: '/v2/alice/web/manifests/1.0.0', auth: alice.auth, headers: { 'content-type': MediaType.OciManifest }, payload: res.rawPayload }), 201, 're-push');
    const moved = await push('alice/web', '1.0.0', alice.auth);
    const hits = await rx.waitFor(1, (r) => r.headers['x-wharf-event'] === 'tag.moved');
    const p = payloadOf(hits[0] as { body: string });
    assert.equal(p.tag, '1.0.0');
    assert.equal(p.digest, moved);
    assert.equal(p.previousDigest, firstDigest);
    await rx.waitFor(2, (r) => r.headers['x-wharf-event'] === 'package.published');
    await new Promise((r) => setTimeout(r, 300));
    const events = rx.received.slice(before).map((r) => r.headers['x-wharf-event']).sort();
    assert.deepEqual(events, ['package.published', 'tag.moved'], 'one publication and one move, nothing for the identical re-push');
  });

  test('deleting and restoring a version through the trash, and deleting a tag, are delivered', async () => {
    const digest = await push('alice/web', '2.0.0', alice.auth);
    const trashed = await app.req({ method: 'DELETE', url: packageUrl('alice/web', `/versions/${digest}`), auth: alice.auth });
    assertStatus(trashed, 200, 'trash version');
    const del = payloadOf((await rx.waitFor(1, (r) => r.headers['x-wharf-event'] === 'version.deleted'))[0] as { body: string });
    assert.equal(del.digest, digest);
    assert.deepEqual(del.tags, ['2.0.0']);
    assert.equal(del.pull, null);
    const entry = json<{ id: string }>(trashed);
    assertStatus(await app.req({ method: 'POST', url: `/api/v1/trash/${entry.id}/restore`, auth: alice.auth }), 200, 'restore');
    const restored = payloadOf((await rx.waitFor(1, (r) => r.headers['x-wharf-event'] === 'version.restored'))[0] as { body: string });
    assert.equal(restored.digest, digest);
    assert.equal(restored.tag, '2.0.0');
    assertStatus(await app.req({ method: 'DELETE', url: '/v2/alice/web/manifests/2.0.0', auth: alice.auth }), 202, 'delete tag');
    const tagDel = payloadOf((await rx.waitFor(1, (r) => r.headers['x-wharf-event'] === 'tag.deleted'))[0] as { body: string });
    assert.equal(tagDel.tag, '2.0.0');
    assert.equal(tagDel.digest, digest);
  });

  test('a receiver that fails twice gets the delivery on the third attempt; the log shows each', async () => {
    rx.failNext(500, 503);
    const before = rx.received.length;
    const digest = await push('alice/web', '3.0.0', alice.auth);
    const hits = await rx.waitFor(3, (r) => r.headers['x-wharf-event'] === 'package.published' && payloadOf(r).digest === digest);
    assert.deepEqual(hits.map((h) => h.status), [500, 503, 200]);
    assert.equal(new Set(hits.map((h) => h.headers['x-wharf-delivery'])).size, 1, 'retries carry the same delivery id');
    assert.equal(new Set(hits.map((h) => h.body)).size, 1, 'and the same bytes');
    assert.ok(rx.received.length - before >= 3);
    const d = await until('the retried delivery to succeed', async () => (await deliveries(hookId, alice.auth)).find((x) => x.status === 'succeeded' && x.attempts === 3));
    assert.equal(d.responseStatus, 200);
  });

  test('a receiver that keeps failing is given up after maxAttempts; redeliver sends the same payload again', async () => {
    rx.failNext(500, 500, 500, 500);
    const digest = await push('alice/web', '4.0.0', alice.auth);
    const failed = await until('the delivery to be given up', async () =>
      (await deliveries(hookId, alice.auth)).find((x) => x.status === 'failed' && x.attempts === 4),
    );
    assert.equal(failed.responseStatus, 500);
    assert.match(failed.responseExcerpt ?? '', /failing on purpose/);
    const one = json<{ payload: Payload }>(await app.req({ url: `/api/v1/webhooks/${hookId}/deliveries/${failed.id}`, auth: alice.auth }));
    assert.equal(one.payload.digest, digest);

    const redo = await app.req({ method: 'POST', url: `/api/v1/webhooks/${hookId}/deliveries/${failed.id}/redeliver`, auth: alice.auth });
    assertStatus(redo, 202, 'redeliver');
    const redelivery = json<Delivery>(redo);
    assert.equal(redelivery.redeliveryOf, failed.id);
    const hit = await rx.waitFor(1, (r) => r.headers['x-wharf-delivery'] === redelivery.id);
    assert.equal(payloadOf(hit[0] as { body: string }).digest, digest);

    // The attempts are in the metrics: successes, HTTP errors, and the one given up.
    const scrape = (await app.req({ url: '/metrics' })).body;
    const value = (re: RegExp) => Number(re.exec(scrape)?.[1] ?? 'NaN');
    assert.ok(value(/^wharf_webhook_deliveries_total\{outcome="success"\} (\d+)/m) >= 5, scrape.match(/^wharf_webhook.*$/gm)?.join('\n'));
    assert.ok(value(/^wharf_webhook_deliveries_total\{outcome="http_error"\} (\d+)/m) >= 6);
    assert.ok(value(/^wharf_webhook_deliveries_abandoned_total (\d+)/m) >= 1);
    assert.ok(value(/^wharf_webhook_delivery_duration_seconds_count (\d+)/m) >= 11);
  });

  test('webhooks.maxAttempts lowered at run time (ADR 0025): the next failing delivery is given up sooner', async () => {
    const set = await app.req({ method: 'PUT', url: '/api/v1/admin/settings/webhooks.maxAttempts', auth: adminAuth(), payload: { value: 2 } });
    assertStatus(set, 200, 'set maxAttempts 2');
    try {
      rx.failNext(500, 500);
      const digest = await push('alice/web', '4.1.0', alice.auth);
      const failed = await until('the delivery to be given up after 2 attempts', async () =>
        (await deliveries(hookId, alice.auth)).find((x) => x.status === 'failed' && x.attempts === 2),
      );
      const one = json<{ payload: Payload }>(await app.req({ url: `/api/v1/webhooks/${hookId}/deliveries/${failed.id}`, auth: alice.auth }));
      assert.equal(one.payload.digest, digest);
    } finally {
      assertStatus(await app.req({ method: 'DELETE', url: '/api/v1/admin/settings/webhooks.maxAttempts', auth: adminAuth() }), 200, 'reset');
    }
  });

  test('the test button sends a signed ping', async () => {
    const res = await app.req({ method: 'POST', url: `/api/v1/webhooks/${hookId}/test`, auth: alice.auth });
    assertStatus(res, 202, 'test');
    const d = json<Delivery>(res);
    const [hit] = await rx.waitFor(1, (r) => r.headers['x-wharf-delivery'] === d.id);
    assert.equal(hit?.headers['x-wharf-event'], 'ping');
    assert.ok(verifySignature(SECRET, hit?.body ?? '', String(hit?.headers['x-wharf-signature-256'])));
  });

  test('an inactive webhook is not delivered; a package webhook hears only its package', async () => {
    assertStatus(await app.req({ method: 'PATCH', url: `/api/v1/webhooks/${hookId}`, auth: alice.auth, payload: { active: false } }), 200, 'deactivate');
    await ensurePackage(app, 'alice/api');
    const pkgHook = await createHook(alice.auth, packageUrl('alice/api', '/webhooks'), { url: `${rx.url}?pkg`, events: ['package.published'] });
    assert.match(pkgHook.secret, /^whsec_/, 'a secret is generated when none is given');
    const before = rx.received.length;
    await push('alice/web', '5.0.0', alice.auth);
    const apiDigest = await push('alice/api', '1.0.0', alice.auth);
    const [hit] = await rx.waitFor(1, (r) => payloadOf(r).digest === apiDigest);
    assert.ok(verifySignature(pkgHook.secret, hit?.body ?? '', String(hit?.headers['x-wharf-signature-256'])));
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(rx.received.slice(before).map((r) => payloadOf(r).package), ['alice/api'], 'nothing for the inactive owner webhook');
    assertStatus(await app.req({ method: 'PATCH', url: `/api/v1/webhooks/${hookId}`, auth: alice.auth, payload: { active: true } }), 200, 'reactivate');
  });

  test('only owner and package administrators manage webhooks; bad input says why', async () => {
    const denied = await app.req({ method: 'POST', url: '/api/v1/owners/alice/webhooks', auth: bob.auth, payload: { url: rx.url, events: ['package.published'] } });
    assertStatus(denied, 403, 'another user');
    assert.match(denied.body, /owner administrators only/);
    assertStatus(await app.req({ url: `/api/v1/webhooks/${hookId}`, auth: bob.auth }), 403, 'another user reads one');
    assertStatus(await app.req({ url: '/api/v1/owners/alice/webhooks' }), 401, 'anonymous');
    const pat = await createPat(app, alice.auth, { scopes: ['write:packages', 'delete:packages'] });
    const withPat = await app.req({ url: '/api/v1/owners/alice/webhooks', auth: `Bearer ${pat.token}` });
    assertStatus(withPat, 403, 'a personal access token');
    assert.match(withPat.body, /personal access token; sign in with your password/);
    // An org: its owner manages the org's webhooks; a member does not.
    await createOrg(app, alice.auth, 'acme');
    assertStatus(await app.req({ method: 'PUT', url: '/api/v1/orgs/acme/members/bob', auth: alice.auth, payload: { role: 'member' } }), 204, 'bob joins');
    assertStatus(await app.req({ method: 'POST', url: '/api/v1/owners/acme/webhooks', auth: bob.auth, payload: { url: rx.url, events: ['package.published'] } }), 403, 'org member');
    await createHook(alice.auth, '/api/v1/owners/acme/webhooks', { url: rx.url, events: ['package.published'] });
    await createHook(adminAuth(), '/api/v1/owners/acme/webhooks', { url: rx.url, events: ['package.deleted'] });

    const unknown = await app.req({ method: 'POST', url: '/api/v1/owners/alice/webhooks', auth: alice.auth, payload: { url: rx.url, events: ['package.exploded'] } });
    assertStatus(unknown, 400, 'unknown event');
    const scheme = await app.req({ method: 'POST', url: '/api/v1/owners/alice/webhooks', auth: alice.auth, payload: { url: 'ftp://example.com/x', events: ['package.published'] } });
    assertStatus(scheme, 400, 'ftp');
    assert.match(scheme.body, /http or https/);
    const short = await app.req({ method: 'POST', url: '/api/v1/owners/alice/webhooks', auth: alice.auth, payload: { url: rx.url, secret: 'short', events: ['package.published'] } });
    assertStatus(short, 400, 'short secret');
  });

  test('a push by a CI identity and one with a personal access token: actor kind and token id in the payload and the audit', async () => {
    const issuer = await startOidcIssuer();
    try {
      const trust = await app.req({ method: 'POST', url: '/api/v1/owners/alice/trusts', auth: alice.auth, payload: { issuer: issuer.url, audience: 'wharf', role: 'write', conditions: { repository: 'alice/ci-app' } } });
      assertStatus(trust, 201, 'trust');
      const idToken = issuer.sign({ aud: 'wharf', repository: 'alice/ci-app', ref: 'refs/heads/main', sub: 'repo:alice/ci-app:ref:refs/heads/main' });
      const ciDigest = await push('alice/ci-app', 'ci-1', basic('ci', idToken), 'buildah/1.28 (CI)');
      const hit = payloadOf((await rx.waitFor(1, (r) => payloadOf(r).digest === ciDigest))[0] as { body: string });
      assert.equal(hit.actor.kind, 'ci');
      assert.match(hit.actor.name, /^ci:http:\/\/127\.0\.0\.1:\d+#repo:alice\/ci-app/);
      const rows = json<{ actor: string; actorKind: string; userAgent: string; detail: { digest: string } }[]>(
        await app.req({ url: `/api/v1/audit?owner=alice&action=package.push&package=alice%2Fci-app`, auth: alice.auth }),
      );
      const row = rows.find((r) => r.detail.digest === ciDigest);
      assert.ok(row, 'CI push audited');
      assert.equal(row.actorKind, 'ci');
      assert.equal(row.actor, hit.actor.name);
      assert.equal(row.userAgent, 'buildah/1.28 (CI)');
    } finally {
      await issuer.close();
    }
    const pat = await createPat(app, alice.auth, { scopes: ['write:packages'] });
    const patDigest = await push('alice/web', 'pat-1', basic('alice', pat.token));
    const hit = payloadOf((await rx.waitFor(1, (r) => payloadOf(r).digest === patDigest))[0] as { body: string });
    assert.deepEqual(hit.actor, { name: 'alice', kind: 'user', tokenId: pat.id });
    const rows = json<{ tokenId: string | null; detail: { digest: string } }[]>(await app.req({ url: '/api/v1/audit?owner=alice&action=package.push', auth: alice.auth }));
    assert.equal(rows.find((r) => r.detail.digest === patDigest)?.tokenId, pat.id);
  });

  test('the audit log records who pushed, from where, with which client; owners read their own', async () => {
    const res = await app.req({ url: '/api/v1/audit?owner=alice&action=package.push', auth: alice.auth });
    assertStatus(res, 200, 'owner reads own audit');
    const rows = json<{ at: string; actor: string; actorKind: string; action: string; target: string; address: string; userAgent: string; outcome: string; detail: { digest: string; tags: string[] } }[]>(res);
    // Newest first: the oldest row of the digest is the first push (a re-push of it followed).
    const first = rows.filter((r) => r.detail.digest === firstDigest).at(-1);
    assert.ok(first, 'the first push is audited');
    assert.equal(first.actor, 'alice');
    assert.equal(first.actorKind, 'user');
    assert.equal(first.target, 'alice/web');
    assert.equal(first.address, '203.0.113.7');
    assert.match(first.userAgent, /^containers\//);
    assert.equal(first.outcome, 'success');
    assert.deepEqual(first.detail.tags, ['1.0.0']);
    assert.ok(first.at.endsWith('Z') && !Number.isNaN(Date.parse(first.at)), 'ISO timestamp');
    assert.ok(rows.every((r) => r.action === 'package.push'));

    const moves = json<{ action: string; detail: { tag: string; from: string } }[]>(await app.req({ url: '/api/v1/audit?owner=alice&action=tag.move', auth: alice.auth }));
    assert.ok(moves.some((m) => m.detail.tag === '1.0.0' && m.detail.from === firstDigest), 'tag move audited');
    const hooks = json<{ action: string }[]>(await app.req({ url: '/api/v1/audit?owner=alice&action=webhook.', auth: alice.auth }));
    assert.ok(hooks.some((h) => h.action === 'webhook.create') && hooks.some((h) => h.action === 'webhook.redeliver'));

    assertStatus(await app.req({ url: '/api/v1/audit?owner=alice', auth: bob.auth }), 403, "another user's audit");
    assertStatus(await app.req({ url: '/api/v1/audit?owner=acme', auth: bob.auth }), 403, 'an org member');
    assertStatus(await app.req({ url: '/api/v1/audit?owner=acme', auth: alice.auth }), 200, 'an org owner');

    // Failed sign-ins are audited with the address.
    assertStatus(await app.req({ method: 'POST', url: '/api/v1/session', payload: { username: 'alice', password: 'wrong-password' }, remoteAddress: '198.51.100.9' }), 401, 'bad password');
    const logins = json<{ actor: string; outcome: string; address: string }[]>(await app.req({ url: '/api/v1/audit?action=login', auth: adminAuth() }));
    assert.ok(logins.some((l) => l.actor === 'alice' && l.outcome === 'failure' && l.address === '198.51.100.9'), 'failed login audited');

    // JSON lines export.
    const lines = await app.req({ url: '/api/v1/audit?owner=alice&format=jsonl', auth: alice.auth });
    assertStatus(lines, 200, 'export');
    assert.match(String(lines.headers['content-type']), /application\/x-ndjson/);
    const parsed = lines.body.trim().split('\n').map((l) => JSON.parse(l) as { action: string });
    assert.ok(parsed.length >= rows.length && parsed.some((p) => p.action === 'package.push'));
    assert.equal(lines.body.includes(SECRET), false, 'no webhook secret in the audit log');
  });

  test('webhook secrets appear in no log line, at any level', () => {
    const logs = app.logs();
    assert.ok(logs.includes('webhook delivered'), 'deliveries are logged');
    assert.equal(logs.includes(SECRET), false);
    assert.equal(/whsec_[A-Za-z0-9_-]{20,}/.test(logs), false, 'nor a generated one');
  });
});
