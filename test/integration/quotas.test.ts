/**
 * Storage quotas per owner (issue 13, ADR 0013) through the real HTTP surfaces: the maintained
 * usage equals the exact usage query (the oracle, ADR 0010) after pushes of shared layers, indexes,
 * referrers, trash moves, restores, purges and /v2 deletes; an upload of known size over the quota
 * is refused before its body is stored, a chunk that crosses it and a manifest that crosses it are
 * refused, with DENIED and the usage in the message; blobs already stored do not count again;
 * deleting gives the space back. Runs on both profiles (test/scale/integration-profile).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SYSTEM } from '../../src/auth/principal.ts';
import { buildTestApp } from '../helpers/app.ts';
import { injectHttp, pushBlob } from '../helpers/charts.ts';
import {
  adminAuth,
  createUser,
  expect,
  json,
  OCI_CONFIG,
  OCI_MANIFEST,
  LAYER,
  packageUrl,
  pushImage,
  pushIndex,
  pushReferrer,
  type Res,
  startUiApp,
  type UiApp,
} from './ui-api-support.ts';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const message = (res: Res) => (JSON.parse(res.body) as { errors: { message: string }[] }).errors[0]?.message ?? '';

interface Quota {
  owner: string;
  usedBytes: number;
  limitBytes: number | null;
  source: string;
}

describe('quotas', () => {
  let app: UiApp;
  let carol: { auth: string };
  let dave: { auth: string };

  before(async () => {
    app = await startUiApp();
    carol = await createUser(app, 'carol');
    dave = await createUser(app, 'dave');
  });
  after(() => app.close());

  const quota = async (owner = 'carol', auth = carol.auth): Promise<Quota> => {
    const res = await app.req({ url: `/api/v1/owners/${owner}/quota`, auth });
    expect(res, 200, 'quota');
    return json<Quota>(res);
  };
  const exact = async (): Promise<number> => {
    const u = json<{ liveBytes: number; trashedBytes: number }>(await app.req({ url: '/api/v1/owners/carol/usage', auth: carol.auth }));
    return u.liveBytes + u.trashedBytes;
  };
  const agree = async (what: string) => assert.equal((await quota()).usedBytes, await exact(), `maintained usage = exact usage ${what}`);
  const setQuota = (bytes: number | null, auth = adminAuth()) => app.req({ method: 'PUT', url: '/api/v1/admin/quotas/carol', auth, payload: { bytes } });

  test('the maintained usage equals the exact usage through pushes, shared layers, trash, restore, purge and deletes', async () => {
    assert.equal((await quota()).usedBytes, 0);
    const a = await pushImage(app, carol.auth, 'carol/a', '1');
    await agree('after one image');
    // The same layer and config in another package of the owner count once.
    const http = injectHttp(app.wharf.app, carol.auth);
    await pushBlob(http, 'carol/b', Buffer.alloc(1000, 'carol/a:1:'));
    const cfg = json<{ config: { digest: string; size: number }; layers: { digest: string; size: number }[] }>(await app.req({ url: `/v2/carol/a/manifests/1`, auth: carol.auth, headers: { accept: OCI_MANIFEST } }));
    const mount = await app.req({ method: 'POST', url: `/v2/carol/b/blobs/uploads/?mount=${cfg.config.digest}&from=carol/a`, auth: carol.auth });
    assert.equal(mount.statusCode, 201);
    expect(await app.req({ method: 'PUT', url: '/v2/carol/b/manifests/1', auth: carol.auth, headers: { 'content-type': OCI_MANIFEST }, payload: a.manifest }), 201, 'same image in b');
    await agree('after a shared image');
    const idx = await pushIndex(app, carol.auth, 'carol/a', 'multi');
    await pushReferrer(app, carol.auth, 'carol/a', { repo: 'carol/a', digest: idx.digest, configDigest: '', size: 0, manifest: Buffer.from('') }, 'application/vnd.dev.cosign.signature', 'sig');
    await agree('after an index and a signature');
    // Identical re-push: nothing new.
    const before = (await quota()).usedBytes;
    expect(await app.req({ method: 'PUT', url: '/v2/carol/b/manifests/1', auth: carol.auth, headers: { 'content-type': OCI_MANIFEST }, payload: a.manifest }), 201, 're-push');
    assert.equal((await quota()).usedBytes, before);

    const entry = json<{ id: string }>(await app.req({ method: 'DELETE', url: packageUrl('carol/a', `/versions/${idx.digest}`), auth: carol.auth }));
    await agree('with a version in the trash (its bytes are still stored)');
    expect(await app.req({ method: 'POST', url: `/api/v1/trash/${entry.id}/restore`, auth: carol.auth }), 200, 'restore');
    await agree('after a restore');
    const again = json<{ id: string }>(await app.req({ method: 'DELETE', url: packageUrl('carol/a', `/versions/${idx.digest}`), auth: carol.auth }));
    expect(await app.req({ method: 'DELETE', url: `/api/v1/trash/${again.id}`, auth: carol.auth }), 200, 'purge');
    await agree('after a purge');
    expect(await app.req({ method: 'DELETE', url: `/v2/carol/b/manifests/${a.digest}`, auth: carol.auth }), 202, '/v2 delete');
    await agree('after a /v2 delete');
    const pkg = json<{ id: string }>(await app.req({ method: 'DELETE', url: packageUrl('carol/b'), auth: carol.auth }));
    expect(await app.req({ method: 'DELETE', url: `/api/v1/trash/${pkg.id}`, auth: carol.auth }), 200, 'purge package');
    await agree('after a package purge');
  });

  test('over quota: uploads of known size refused before the body is stored, crossing chunks and manifests refused; deleting frees it', async () => {
    const used = (await quota()).usedBytes;
    expect(await setQuota(used + 3000, carol.auth), 403, 'owners cannot raise their own quota', 'DENIED');
    const set = await setQuota(used + 3000);
    expect(set, 200, 'set');
    assert.equal(json<Quota>(set).source, 'owner');
    const limit = used + 3000;
    const fmt = (n: number) => (n < 1024 ? `${n} B` : `${(n / 1024).toFixed(1).replace(/\.0$/, '')} KiB`);

    // Monolithic upload with Content-Length: refused before the body is read; nothing is stored.
    const big = Buffer.alloc(5000, 'big');
    const mono = await app.req({ method: 'POST', url: `/v2/carol/a/blobs/uploads/?digest=${sha(big)}`, auth: carol.auth, headers: { 'content-type': 'application/octet-stream' }, payload: big });
    expect(mono, 403, 'monolithic over quota', 'DENIED');
    assert.equal(message(mono), `carol uses ${fmt(used)} of its ${fmt(limit)} quota; this upload needs 4.9 KiB more`);
    expect(await app.req({ method: 'HEAD', url: `/v2/carol/a/blobs/${sha(big)}`, auth: carol.auth }), 404, 'not stored');

    // A blob the owner already stores does not count again.
    const layer = Buffer.alloc(1000, 'carol/a:1:');
    expect(await app.req({ method: 'POST', url: `/v2/carol/a/blobs/uploads/?digest=${sha(layer)}`, auth: carol.auth, headers: { 'content-type': 'application/octet-stream' }, payload: layer }), 201, 'held blob');

    // Chunked: the PATCH that crosses is refused.
    const start = await app.req({ method: 'POST', url: '/v2/carol/a/blobs/uploads/', auth: carol.auth });
    expect(start, 202, 'start');
    const location = String(start.headers['location']);
    expect(await app.req({ method: 'PATCH', url: location, auth: carol.auth, headers: { 'content-type': 'application/octet-stream', 'content-range': '0-1999' }, payload: Buffer.alloc(2000, 'c') }), 202, 'first chunk fits');
    const cross = await app.req({ method: 'PATCH', url: location, auth: carol.auth, headers: { 'content-type': 'application/octet-stream', 'content-range': '2000-3999' }, payload: Buffer.alloc(2000, 'c') });
    expect(cross, 403, 'crossing chunk', 'DENIED');
    assert.match(message(cross), new RegExp(`^carol uses ${fmt(used).replace('.', '\\.')} of its ${fmt(limit).replace('.', '\\.')} quota; this upload needs 3\\.9 KiB more$`));

    // A manifest whose new blobs cross it: blobs uploaded while the quota was larger, then lowered.
    expect(await setQuota(limit + 10_000), 200, 'raise');
    const http = injectHttp(app.wharf.app, carol.auth);
    const config = await pushBlob(http, 'carol/c', Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } })));
    const l = await pushBlob(http, 'carol/c', Buffer.alloc(4000, 'new layer'));
    expect(await setQuota(limit), 200, 'lower');
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: OCI_CONFIG, ...config }, layers: [{ mediaType: LAYER, ...l }] }));
    const put = await app.req({ method: 'PUT', url: '/v2/carol/c/manifests/1', auth: carol.auth, headers: { 'content-type': OCI_MANIFEST }, payload: manifest });
    expect(put, 403, 'manifest over quota', 'DENIED');
    assert.match(message(put), new RegExp(`^carol uses ${fmt(used).replace('.', '\\.')} of its ${fmt(limit).replace('.', '\\.')} quota; this push needs [0-9.]+ KiB more$`));

    // Deleting a version gives the space back: the same push then succeeds.
    const tags = json<{ tags: string[] }>(await app.req({ url: '/v2/carol/a/tags/list', auth: carol.auth })).tags;
    for (const t of tags) {
      const head = await app.req({ method: 'HEAD', url: `/v2/carol/a/manifests/${t}`, auth: carol.auth, headers: { accept: `${OCI_MANIFEST}, application/vnd.oci.image.index.v1+json` } });
      expect(await app.req({ method: 'DELETE', url: `/v2/carol/a/manifests/${String(head.headers['docker-content-digest'])}`, auth: carol.auth }), 202, `delete ${t}`);
    }
    assert.ok((await quota()).usedBytes < used);
    expect(await app.req({ method: 'PUT', url: '/v2/carol/c/manifests/1', auth: carol.auth, headers: { 'content-type': OCI_MANIFEST }, payload: manifest }), 201, 'fits after the delete');
    await agree('after the quota pushes');
  });

  test('two concurrent pushes that each fit but not both: exactly one is refused', async () => {
    expect(await setQuota(null), 200, 'no quota while uploading');
    const http = injectHttp(app.wharf.app, carol.auth);
    const prepared: Buffer[] = [];
    for (const repo of ['carol/race1', 'carol/race2']) {
      const config = await pushBlob(http, repo, Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, repo })));
      const l = await pushBlob(http, repo, Buffer.alloc(6000, repo));
      prepared.push(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: OCI_CONFIG, ...config }, layers: [{ mediaType: LAYER, ...l }] })));
    }
    const used = (await quota()).usedBytes;
    expect(await setQuota(used + 9000), 200, 'room for one');
    const results = await Promise.all(
      prepared.map((m, i) => app.req({ method: 'PUT', url: `/v2/carol/race${i + 1}/manifests/1`, auth: carol.auth, headers: { 'content-type': OCI_MANIFEST }, payload: m })),
    );
    assert.deepEqual(results.map((r) => r.statusCode).sort(), [201, 403], results.map((r) => r.body).join('\n'));
    assert.ok((await quota()).usedBytes <= used + 9000, 'the quota held');
    await agree('after the race');
  });

  test('site admins list and reset quotas; members see their own; others are refused; changes audited', async () => {
    const all = json<Quota[]>(await app.req({ url: '/api/v1/admin/quotas', auth: adminAuth() }));
    assert.ok(all.some((q) => q.owner === 'carol' && q.source === 'owner'));
    expect(await app.req({ url: '/api/v1/admin/quotas', auth: carol.auth }), 403, 'not admin', 'DENIED');
    expect(await app.req({ url: '/api/v1/owners/carol/quota', auth: dave.auth }), 403, 'dave on carol', 'DENIED');
    const reset = json<Quota>(await setQuota(null));
    assert.deepEqual([reset.limitBytes, reset.source], [null, 'none']);
    const audit = json<{ action: string }[]>(await app.req({ url: '/api/v1/audit?target=carol', auth: adminAuth() }));
    assert.ok(audit.some((e) => e.action === 'owner.quota.update'));
  });
});

describe('quotas: the site default', () => {
  test('quotas.defaultBytes applies to every owner without its own', async () => {
    const app = await startUiApp({}, { quotas: { defaultBytes: '2000' } });
    try {
      const erin = await createUser(app, 'erin');
      const q = json<Quota>(await app.req({ url: '/api/v1/owners/erin/quota', auth: erin.auth }));
      assert.deepEqual([q.limitBytes, q.source], [2000, 'site']);
      const big = Buffer.alloc(3000, 'x');
      const res = await app.req({ method: 'POST', url: `/v2/erin/x/blobs/uploads/?digest=${sha(big)}`, auth: erin.auth, headers: { 'content-type': 'application/octet-stream' }, payload: big });
      expect(res, 403, 'over the site default', 'DENIED');
      assert.equal(message(res), 'erin uses 0 B of its 2 KiB quota; this upload needs 2.9 KiB more');
    } finally {
      await app.close();
    }
  });
});

describe('two replicas sharing one database: rules and quotas set on one bind the other at once', () => {
  test('a tag rule and a quota set through replica A refuse pushes to replica B', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wharf-policy-replicas-'));
    const shared = { storage: { driver: 'fs', fs: { root: join(dir, 'blobs'), fsync: 'false' } }, database: { sqlite: { path: join(dir, 'wharf.db') } } };
    const a = await buildTestApp(shared);
    const b = await buildTestApp(shared);
    try {
      const hb = injectHttp(b.app);
      const cfg = await pushBlob(hb, 'rep/app', Buffer.from('{"architecture":"amd64","os":"linux"}'));
      const manifest = (layer: { digest: string; size: number }) =>
        Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: OCI_CONFIG, ...cfg }, layers: [{ mediaType: LAYER, ...layer }] }));
      const one = manifest(await pushBlob(hb, 'rep/app', Buffer.alloc(100, 'one')));
      const two = manifest(await pushBlob(hb, 'rep/app', Buffer.alloc(100, 'two')));
      const put = (m: Buffer) => b.app.inject({ method: 'PUT', url: '/v2/rep/app/manifests/1.0.0', payload: m, headers: { 'content-type': OCI_MANIFEST } });
      assert.equal((await put(one)).statusCode, 201);
      await a.policies.setOwner(SYSTEM, 'rep', { tagRules: [{ pattern: '*.*.*', immutable: true }] });
      const moved = await put(two);
      assert.equal(moved.statusCode, 403);
      assert.match(message(moved as unknown as Res), /^tag 1\.0\.0 of rep\/app is immutable \(owner tag rule 1/);

      await a.quotas.set(SYSTEM, 'rep', (await b.quotas.ofOwner(SYSTEM, 'rep')).usedBytes + 10);
      const big = Buffer.alloc(5000, 'z');
      const res = await b.app.inject({ method: 'POST', url: `/v2/rep/app/blobs/uploads/?digest=${sha(big)}`, payload: big, headers: { 'content-type': 'application/octet-stream' } });
      assert.equal(res.statusCode, 403);
      assert.match(message(res as unknown as Res), /^rep uses [0-9.]+ B of its [0-9.]+ B quota; this upload needs 4\.9 KiB more$/);
    } finally {
      await a.close();
      await b.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
