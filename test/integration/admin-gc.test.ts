/**
 * Garbage collection over HTTP: /api/v1/admin/gc for site admins (history, progress, schedule,
 * starting runs and dry runs, 409 while the lease is held), the refusal to delete a manifest an
 * index lists (/v2: 409 DENIED naming the index; /api/v1: the same readable message), and a
 * deleted version's bytes freed by a run started through the API.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { adminAuth, createUser, errorCode, expect, json, OCI_MANIFEST, packageUrl, pushImage, pushIndex, Session, startUiApp, type UiApp } from './ui-api-support.ts';

interface Run {
  id: string;
  status: string;
  dryRun: boolean;
  trigger: string;
  actor: string | null;
  summary: Record<string, unknown> | null;
  progress: Record<string, unknown> | null;
}
interface Status {
  graceSeconds: number;
  intervalSeconds: number;
  nextRunAt: string | null;
  running: Run | null;
  runs: Run[];
}

async function finished(app: UiApp, id: string): Promise<Run> {
  for (let i = 0; i < 200; i++) {
    const s = json<Status>(await app.req({ url: '/api/v1/admin/gc', auth: adminAuth() }));
    const run = s.runs.find((r) => r.id === id);
    if (run && run.status !== 'running') return run;
    await sleep(25);
  }
  throw new Error(`run ${id} did not finish`);
}

describe('/api/v1/admin/gc', () => {
  let app: UiApp;
  let admin: Session;
  let alice: Session;

  before(async () => {
    app = await startUiApp({}, { gc: { graceSeconds: '0', intervalSeconds: '7200' } });
    await createUser(app, 'alice');
    admin = await Session.signIn(app, 'admin', 'admin-password');
    alice = await Session.signIn(app, 'alice', 'alice-password');
  });
  after(() => app.close());

  test('site admins only; the state before any run shows the schedule', async () => {
    expect(await app.req({ url: '/api/v1/admin/gc' }), 401, 'anonymous', 'UNAUTHORIZED');
    expect(await alice.get('/api/v1/admin/gc'), 403, 'a user', 'DENIED');
    expect(await alice.req({ method: 'POST', url: '/api/v1/admin/gc', payload: { dryRun: true } }), 403, 'a user cannot start one', 'DENIED');
    const res = await admin.get('/api/v1/admin/gc');
    expect(res, 200, 'admin');
    const s = json<Status>(res);
    assert.equal(s.graceSeconds, 0);
    assert.equal(s.intervalSeconds, 7200);
    assert.equal(s.running, null);
    assert.ok(s.nextRunAt && Date.parse(s.nextRunAt) > app.clock.now, 'next run one interval after start');
    expect(await admin.req({ method: 'POST', url: '/api/v1/admin/gc', payload: { dryRun: 'yes' } }), 400, 'bad body', 'BAD_REQUEST');
    expect(await admin.req({ method: 'POST', url: '/api/v1/admin/gc', payload: { dryRun: true, extra: 1 } }), 400, 'unknown field', 'BAD_REQUEST');
    expect(await admin.get('/api/v1/admin/gc?limit=0'), 400, 'bad limit', 'BAD_REQUEST');
  });

  test('a personal access token never carries site-admin powers, even an admin\'s', async () => {
    const token = json<{ token: string }>(await admin.req({ method: 'POST', url: '/api/v1/user/tokens', payload: { name: 'ops', scopes: ['read:packages'] } })).token;
    expect(await app.req({ url: '/api/v1/admin/gc', auth: `Bearer ${token}` }), 403, 'look', 'DENIED');
    expect(await app.req({ method: 'POST', url: '/api/v1/admin/gc', auth: `Bearer ${token}`, payload: {} }), 403, 'start', 'DENIED');
    expect(await app.req({ url: '/api/v1/admin/gc', auth: adminAuth() }), 200, 'the password works');
  });

  test('a dry run then a run free a deleted version; both recorded with their summaries and audited', async () => {
    const shared = await pushImage(app, adminAuth(), 'admin/web', 'keep', { layerBytes: 2000 });
    const gone = await pushImage(app, adminAuth(), 'admin/web', 'gone', { layerBytes: 300_000 });
    // An API delete moves the version to the trash; its bytes are freed only once it is purged.
    const trashed = await admin.req({ method: 'DELETE', url: packageUrl('admin/web', `/versions/${gone.digest}`) });
    expect(trashed, 200, 'delete version');
    const entry = json<{ id: string }>(trashed);
    expect(await admin.req({ method: 'DELETE', url: `/api/v1/trash/${entry.id}` }), 200, 'purge it');
    app.clock.advance(1000); // grace 0: out of it as soon as the clock moves

    const dryRes = await admin.req({ method: 'POST', url: '/api/v1/admin/gc', payload: { dryRun: true } });
    expect(dryRes, 202, 'start dry run');
    const dryId = json<{ id: string; status: string }>(dryRes).id;
    const dry = await finished(app, dryId);
    assert.equal(dry.status, 'succeeded');
    assert.equal(dry.dryRun, true);
    assert.equal(dry.actor, 'admin');
    assert.equal(dry.trigger, 'api');
    const dryBytes = dry.summary?.['bytesFreed'];
    assert.ok(typeof dryBytes === 'number' && dryBytes >= 300_000, `dry run found ${String(dryBytes)}`);

    const realId = json<{ id: string }>(await admin.req({ method: 'POST', url: '/api/v1/admin/gc', payload: {} })).id;
    const real = await finished(app, realId);
    assert.equal(real.summary?.['bytesFreed'], dryBytes, 'the dry run reported what the run freed');
    assert.equal(real.summary?.['manifestsDeleted'], 0);
    assert.ok((real.progress?.['phase'] ?? '') === 'blobs');
    expect(await app.req({ url: `/v2/admin/web/manifests/keep`, auth: adminAuth(), headers: { accept: OCI_MANIFEST } }), 200, 'the kept image still pulls');
    expect(await app.req({ url: `/v2/admin/web/blobs/${shared.configDigest}`, auth: adminAuth() }), 200, 'its config too');
    assert.equal(gone.configDigest, shared.configDigest, 'the two images share their config');
    const goneLayer = `sha256:${createHash('sha256').update(Buffer.alloc(300_000, 'admin/web:gone:')).digest('hex')}`;
    expect(await app.req({ url: `/v2/admin/web/blobs/${goneLayer}`, auth: adminAuth() }), 404, "the deleted version's layer is gone", 'BLOB_UNKNOWN');
    assert.equal(await app.wharf.metadata.blobLinks.get('admin/web' as never, goneLayer as never), null);

    const audit = json<{ action: string; actor: string; detail: { run: string; summary?: { bytesFreed: number } } }[]>(await admin.get('/api/v1/audit?limit=20'));
    const rows = audit.filter((a) => a.action === 'gc.run');
    assert.deepEqual(rows.map((r) => r.detail.run).sort(), [dryId, realId].sort());
    assert.equal(rows.find((r) => r.detail.run === realId)?.detail.summary?.bytesFreed, dryBytes);
    // Who started each run, from where (the run's own row says how it ended).
    const starts = (audit as unknown as { action: string; actor: string; actorKind: string; address: string | null; outcome: string; detail: { run: string; dryRun: boolean } }[]).filter((a) => a.action === 'gc.start');
    assert.deepEqual(starts.map((s) => [s.detail.run, s.detail.dryRun]).sort(), [[dryId, true], [realId, false]].sort());
    assert.ok(starts.every((s) => s.actor === 'admin' && s.actorKind === 'user' && s.address !== null));
    assert.ok(audit.filter((a) => a.action === 'gc.run').every((a) => (a as unknown as { outcome: string }).outcome === 'success'));
  });

  test('409 while another process (or a backup) holds the gc lease', async () => {
    const { metadata } = app.wharf;
    assert.ok(await metadata.leases.acquire('gc', 'backup:1', app.clock.now, app.clock.now + 60_000));
    try {
      const res = await admin.req({ method: 'POST', url: '/api/v1/admin/gc', payload: { dryRun: true } });
      expect(res, 409, 'busy', 'CONFLICT');
      assert.match(res.body, /already running/);
    } finally {
      await metadata.leases.release('gc', 'backup:1');
    }
  });
});

describe('deleting a manifest an index lists', () => {
  let app: UiApp;
  before(async () => {
    app = await startUiApp();
  });
  after(() => app.close());

  test('is refused on /v2 (409 DENIED naming the index) and on /api/v1, until the index goes', async () => {
    const { digest: index, children } = await pushIndex(app, adminAuth(), 'admin/multi', 'v1');
    const child = children[0]?.digest ?? '';
    const res = await app.req({ method: 'DELETE', url: `/v2/admin/multi/manifests/${child}`, auth: adminAuth() });
    expect(res, 409, '/v2 delete of a child', 'DENIED');
    const err = json<{ errors: { message: string; detail: { indexes: { digest: string; tags: string[] }[] } }[] }>(res).errors[0];
    assert.match(err?.message ?? '', new RegExp(`listed by index ${index} \\(tag v1\\)`));
    assert.deepEqual(err?.detail.indexes, [{ digest: index, tags: ['v1'] }]);
    const api = await app.req({ method: 'DELETE', url: packageUrl('admin/multi', `/versions/${child}`), auth: adminAuth() });
    expect(api, 409, 'api delete of a child', 'CONFLICT');
    assert.match(api.body, /listed by index .* delete that index first/);
    expect(await app.req({ url: `/v2/admin/multi/manifests/v1`, auth: adminAuth(), headers: { accept: 'application/vnd.oci.image.index.v1+json' } }), 200, 'index intact');
    expect(await app.req({ method: 'DELETE', url: `/v2/admin/multi/manifests/${index}`, auth: adminAuth() }), 202, 'delete the index');
    expect(await app.req({ method: 'DELETE', url: `/v2/admin/multi/manifests/${child}`, auth: adminAuth() }), 202, 'then the child');
    assert.equal(errorCode(await app.req({ url: `/v2/admin/multi/manifests/${child}`, auth: adminAuth() })), 'MANIFEST_UNKNOWN');
  });
});
