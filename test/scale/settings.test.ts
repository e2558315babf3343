/**
 * Run-time settings across replicas (ADR 0025): two Wharf processes on PostgreSQL + S3. A change
 * made through replica A (the API) or with `wharf settings set` on the shared database takes
 * effect on replica B within the stated delay (each replica re-reads the overrides every 3 s),
 * without a restart: B creates the next package with the new default visibility, issues tokens
 * with the new lifetime, and B's GC schedule shows the new interval. A reset through B returns A
 * to the config file's value.
 *
 * Skipped when the services' variables (S3_ENDPOINT, DATABASE_URL, REGISTRY_LB_URL) are unset.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { runCli } from '../../src/cli/main.ts';
import { DEFAULT_REFRESH_MS } from '../../src/services/settings/service.ts';
import { type Cluster, clusterMissing, startCluster } from './cluster.ts';

const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
/** The promised delay, with room for a loaded two-core machine. */
const WITHIN_MS = DEFAULT_REFRESH_MS + 2000;

describe('run-time settings across replicas', { skip: clusterMissing, timeout: 5 * 60_000 }, () => {
  let cluster: Cluster;
  let auth = '';
  const replica = (i: number) => cluster.replicas[i]?.url ?? '';

  const http = async (base: string, method: string, path: string, opts: { auth?: string | null; body?: Buffer | string; type?: string } = {}) => {
    const a = opts.auth === undefined ? auth : opts.auth;
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { ...(a ? { authorization: a } : {}), ...(opts.type ? { 'content-type': opts.type } : {}), accept: `${MANIFEST}, application/json` },
      ...(opts.body !== undefined ? { body: opts.body } : {}),
    });
    return { status: res.status, text: await res.text() };
  };

  /** A new package pushed to `base`; whether anonymous pull of it works there. */
  let n = 0;
  const newPackageIsPublic = async (base: string): Promise<boolean> => {
    const repo = `admin/p${++n}`;
    const config = JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, n });
    const b = await http(base, 'POST', `/v2/${repo}/blobs/uploads/?digest=${sha(config)}`, { body: config, type: 'application/octet-stream' });
    assert.equal(b.status, 201, b.text);
    const manifest = JSON.stringify({ schemaVersion: 2, mediaType: MANIFEST, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length }, layers: [] });
    const m = await http(base, 'PUT', `/v2/${repo}/manifests/1`, { body: manifest, type: MANIFEST });
    assert.equal(m.status, 201, m.text);
    const pull = await http(base, 'GET', `/v2/${repo}/manifests/1`, { auth: null });
    assert.ok(pull.status === 200 || pull.status === 401, pull.text);
    return pull.status === 200;
  };

  /** Milliseconds until `check` holds, failing after WITHIN_MS. */
  const until = async (what: string, check: () => Promise<boolean>): Promise<number> => {
    const started = Date.now();
    for (;;) {
      if (await check()) return Date.now() - started;
      assert.ok(Date.now() - started < WITHIN_MS, `${what}: not within ${WITHIN_MS} ms`);
      await sleep(200);
    }
  };

  before(async () => {
    cluster = await startCluster({ env: { WHARF_AUTH__DEFAULT_VISIBILITY: 'private', WHARF_GC__INTERVAL_SECONDS: '3600' } });
    auth = `Basic ${Buffer.from(`${cluster.admin.username}:${cluster.admin.password}`).toString('base64')}`;
  });
  after(async () => cluster?.stop());

  test('set through replica A: replica B creates the next package public within the refresh interval; reset through B: A is private again', async () => {
    assert.equal(await newPackageIsPublic(replica(1)), false, 'private by the config file');
    const set = await http(replica(0), 'PUT', '/api/v1/admin/settings/auth.defaultVisibility', { body: JSON.stringify({ value: 'public' }), type: 'application/json' });
    assert.equal(set.status, 200, set.text);
    const took = await until('replica B applies public', () => newPackageIsPublic(replica(1)));
    console.log(`# replica B applied the change after ${took} ms (promised ≤ ${DEFAULT_REFRESH_MS} ms plus a request)`);
    assert.equal(await newPackageIsPublic(replica(0)), true, 'at once on the replica that made the change');

    const reset = await http(replica(1), 'DELETE', '/api/v1/admin/settings/auth.defaultVisibility');
    assert.equal(reset.status, 200, reset.text);
    await until('replica A applies the reset', async () => !(await newPackageIsPublic(replica(0))));
  });

  test('auth.tokenTtlSeconds set through replica A: replica B issues tokens with the new lifetime within the refresh interval; reset through B', async () => {
    const expiresIn = async (base: string) => {
      const r = await http(base, 'GET', '/token');
      assert.equal(r.status, 200, r.text);
      const body = JSON.parse(r.text) as { token: string; expires_in: number };
      const claims = JSON.parse(Buffer.from(body.token.split('.')[1] ?? '', 'base64url').toString()) as { iat: number; exp: number };
      assert.equal(claims.exp - claims.iat, body.expires_in, 'expires_in is the token lifetime');
      return body.expires_in;
    };
    assert.equal(await expiresIn(replica(1)), 300, 'the file default');
    const set = await http(replica(0), 'PUT', '/api/v1/admin/settings/auth.tokenTtlSeconds', { body: JSON.stringify({ value: 120 }), type: 'application/json' });
    assert.equal(set.status, 200, set.text);
    assert.equal(await expiresIn(replica(0)), 120, 'at once on the replica that made the change');
    await until('replica B issues 120 s tokens', async () => (await expiresIn(replica(1))) === 120);
    const reset = await http(replica(1), 'DELETE', '/api/v1/admin/settings/auth.tokenTtlSeconds');
    assert.equal(reset.status, 200, reset.text);
    await until('replica A is back to the file lifetime', async () => (await expiresIn(replica(0))) === 300);
  });

  test('wharf settings set on the shared database: both replicas schedule GC at the new interval', async () => {
    let out = '';
    let err = '';
    const code = await runCli(['settings', 'set', 'gc.intervalSeconds', '120'], { env: cluster.env, stdout: (t) => (out += t), stderr: (t) => (err += t), stdin: async () => '' });
    assert.equal(code, 0, err);
    assert.match(out, /gc\.intervalSeconds = 120 \(config file: 3600\); running servers apply it within 3 s/);
    for (const i of [0, 1]) {
      await until(`replica ${i} schedules GC every 120 s`, async () => {
        const s = await http(replica(i), 'GET', '/api/v1/admin/gc?limit=1');
        return (JSON.parse(s.text) as { intervalSeconds: number }).intervalSeconds === 120;
      });
    }
    const audit = await http(replica(1), 'GET', '/api/v1/audit?action=settings.&target=gc.intervalSeconds');
    const rows = JSON.parse(audit.text) as { action: string; actor: string; detail: { old: unknown; new: unknown } }[];
    assert.deepEqual(rows.map((r) => [r.action, r.actor, r.detail.old, r.detail.new]), [['settings.update', 'system', 3600, 120]]);
    const code2 = await runCli(['settings', 'reset', 'gc.intervalSeconds'], { env: cluster.env, stdout: () => {}, stderr: (t) => (err += t), stdin: async () => '' });
    assert.equal(code2, 0, err);
  });
});
