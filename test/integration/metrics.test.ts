/**
 * Prometheus metrics, read back with the official Prometheus text parser: every family moves
 * when its event happens (pushes and pulls by kind, uploads, tokens and auth failures, jobs,
 * storage per owner, webhooks, database and object-store calls, process), requests are labelled
 * by route template, /metrics cannot be shadowed, and two Wharfs in one process count apart.
 * Under WHARF_TEST_PROFILE=scale the same runs on PostgreSQL + S3, where the object store moves too.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { SYSTEM } from '../../src/auth/principal.ts';
import { newSecret, PAT_PREFIX } from '../../src/auth/secrets.ts';
import { MediaType } from '../../src/oci/mediatypes.ts';
import type { Job } from '../../src/services/jobs/runner.ts';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { parserMissing, Scrape } from '../helpers/prometheus.ts';
import { Client } from './support.ts';

const skip = parserMissing();
/** The config blob Client.pushImage uploads. */
const IMAGE_CONFIG_BYTES = JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }).length;
const scale = process.env['WHARF_TEST_PROFILE'] === 'scale';

async function scrape(app: TestApp, headers: Record<string, string> = {}): Promise<Scrape> {
  const res = await app.app.inject({ url: '/metrics', headers });
  assert.equal(res.statusCode, 200, res.body);
  assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  return new Scrape(res.body);
}

/** Waits for a value that is recorded after the response (blob-pull kinds are looked up off the request path). */
async function eventually(app: TestApp, check: (s: Scrape) => boolean, what: string): Promise<Scrape> {
  for (let i = 0; i < 50; i++) {
    const s = await scrape(app);
    if (check(s)) return s;
    await sleep(50);
  }
  assert.fail(`metrics never showed ${what}`);
}

/** Config blob + one layer + an OCI manifest with the given config media type and artifactType. */
async function pushArtifact(c: Client, repo: string, tag: string, configType: string, layerType: string, artifactType?: string) {
  const config = configType === MediaType.OciEmpty ? '{}' : JSON.stringify({ name: tag, kind: configType });
  const layer = `payload of ${repo}:${tag}`;
  const configDigest = await c.pushBlob(repo, config);
  const layerDigest = await c.pushBlob(repo, layer);
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    ...(artifactType ? { artifactType } : {}),
    config: { mediaType: configType, digest: configDigest, size: Buffer.byteLength(config) },
    layers: [{ mediaType: layerType, digest: layerDigest, size: Buffer.byteLength(layer) }],
  };
  const res = await c.putManifest(repo, tag, JSON.stringify(manifest), MediaType.OciManifest);
  assert.equal(res.statusCode, 201, res.body);
  return { configBytes: Buffer.byteLength(config), layerBytes: Buffer.byteLength(layer), layerDigest };
}

describe('metrics', { skip: skip ?? false }, () => {
  let wharf: TestApp;
  let c: Client;
  before(async () => {
    wharf = await buildTestApp();
    c = new Client(wharf);
  });
  after(async () => wharf?.close());

  test('manifest and blob pushes and pulls are counted by kind', async () => {
    const s0 = await scrape(wharf);
    const img = await c.pushImage('acme/web', '1.0', { layer: 'x'.repeat(1000) });
    const chart = await pushArtifact(c, 'acme/charts/web', '0.1.0', MediaType.HelmConfig, MediaType.HelmChart);
    const sbom = await pushArtifact(c, 'acme/web', 'sbom', MediaType.OciEmpty, 'application/spdx+json', 'application/spdx+json');
    const index = { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [{ mediaType: MediaType.OciManifest, digest: img.digest, size: img.size, platform: { architecture: 'amd64', os: 'linux' } }] };
    assert.equal((await c.putManifest('acme/web', 'multi', JSON.stringify(index), MediaType.OciIndex)).statusCode, 201);
    // The same image again under another tag publishes no blob a second time.
    assert.equal((await c.putManifest('acme/web', 'again', img.bytes, img.mediaType)).statusCode, 201);

    const s1 = await scrape(wharf);
    const moved = (name: string, labels: Record<string, string>) => s1.value(name, labels) - s0.value(name, labels);
    assert.equal(moved('wharf_manifest_pushes_total', { kind: 'image' }), 2);
    assert.equal(moved('wharf_manifest_pushes_total', { kind: 'chart' }), 1);
    assert.equal(moved('wharf_manifest_pushes_total', { kind: 'artifact' }), 1);
    assert.equal(moved('wharf_manifest_pushes_total', { kind: 'index' }), 1);
    assert.equal(moved('wharf_blob_pushes_total', { kind: 'image' }), 2);
    assert.equal(moved('wharf_blob_pushed_bytes_total', { kind: 'image' }), 1000 + IMAGE_CONFIG_BYTES);
    assert.equal(moved('wharf_blob_pushes_total', { kind: 'chart' }), 2);
    assert.equal(moved('wharf_blob_pushed_bytes_total', { kind: 'chart' }), chart.configBytes + chart.layerBytes);
    assert.equal(moved('wharf_blob_pushes_total', { kind: 'artifact' }), 2);
    assert.equal(moved('wharf_blob_pushed_bytes_total', { kind: 'artifact' }), sbom.configBytes + sbom.layerBytes);

    assert.equal((await c.get('/v2/acme/web/manifests/1.0')).statusCode, 200);
    assert.equal((await c.get('/v2/acme/web/manifests/multi')).statusCode, 200);
    assert.equal((await c.head('/v2/acme/web/manifests/1.0')).statusCode, 200, 'HEAD is no pull');
    assert.equal((await c.get(`/v2/acme/web/blobs/${img.layerDigest}`)).statusCode, 200);
    assert.equal((await c.get(`/v2/acme/web/blobs/${img.layerDigest}`, { range: 'bytes=0-9' })).statusCode, 206);
    assert.equal((await c.get(`/v2/acme/charts/web/blobs/${chart.layerDigest}`)).statusCode, 200);
    const s2 = await eventually(wharf, (s) => s.value('wharf_blob_pulls_total', { kind: 'chart' }) > s1.value('wharf_blob_pulls_total', { kind: 'chart' }) && s.value('wharf_blob_pulls_total', { kind: 'image' }) - s1.value('wharf_blob_pulls_total', { kind: 'image' }) === 2, 'blob pulls');
    const pulled = (name: string, labels: Record<string, string>) => s2.value(name, labels) - s1.value(name, labels);
    assert.equal(pulled('wharf_manifest_pulls_total', { kind: 'image' }), 1);
    assert.equal(pulled('wharf_manifest_pulls_total', { kind: 'index' }), 1);
    assert.equal(pulled('wharf_blob_pulled_bytes_total', { kind: 'image' }), 1000 + 10);
    assert.equal(pulled('wharf_blob_pulls_total', { kind: 'chart' }), 1);
    assert.equal(pulled('wharf_blob_pulled_bytes_total', { kind: 'chart' }), chart.layerBytes);
  });

  test('requests are labelled by route template, method and status class, never by path', async () => {
    await c.pushImage('acme/api', '1.0');
    assert.equal((await c.get('/v2/acme/api/manifests/1.0')).statusCode, 200);
    assert.equal((await c.get('/v2/acme/api/manifests/nope')).statusCode, 404);
    const s = await scrape(wharf);
    assert.ok(s.value('wharf_http_requests_total', { route: '/v2/<name>/manifests/<reference>', method: 'GET', status_class: '2xx' }) >= 1);
    assert.ok(s.value('wharf_http_requests_total', { route: '/v2/<name>/manifests/<reference>', method: 'GET', status_class: '4xx' }) >= 1);
    assert.ok(s.value('wharf_http_requests_total', { route: '/v2/<name>/blobs/uploads/', method: 'POST', status_class: '2xx' }) >= 2);
    assert.ok(s.value('wharf_http_requests_total', { route: '/v2/<name>/blobs/uploads/<uuid>', method: 'PUT', status_class: '2xx' }) >= 2);
    assert.ok(s.value('wharf_http_request_duration_seconds_count', { route: '/v2/<name>/manifests/<reference>', method: 'GET', status_class: '2xx' }) >= 1);
    assert.ok(s.value('wharf_http_requests_total', { route: '/metrics', method: 'GET', status_class: '2xx' }) >= 1);
    for (const name of ['wharf_http_requests_total', 'wharf_http_request_duration_seconds_bucket']) {
      for (const sample of s.samples(name)) {
        for (const v of Object.values(sample.labels)) assert.ok(!v.includes('acme') && !v.includes('sha256:'), `${name} has a raw path label: ${v}`);
      }
    }
  });

  test('active upload sessions come from the database', async () => {
    const s0 = await scrape(wharf);
    const start = await c.req({ method: 'POST', url: '/v2/acme/up/blobs/uploads/' });
    assert.equal(start.statusCode, 202);
    const s1 = await scrape(wharf);
    assert.equal(s1.value('wharf_upload_sessions_active') - s0.value('wharf_upload_sessions_active'), 1);
    assert.equal((await c.delete(String(start.headers.location))).statusCode, 204);
    assert.equal((await scrape(wharf)).value('wharf_upload_sessions_active'), s0.value('wharf_upload_sessions_active'));
  });

  test('the job runner reports every job: runs by status, duration, summary numbers', async () => {
    const freeing: Job = { name: 'metrics-test-gc', run: async () => ({ dryRun: false, bytesFreed: 4096, blobsDeleted: 3, durationMs: 12, note: 'text is ignored' }) };
    const dry: Job = { name: 'metrics-test-gc', run: async () => ({ dryRun: true, bytesFreed: 999 }) };
    const failing: Job = {
      name: 'metrics-test-gc',
      run: async () => {
        throw new Error('boom');
      },
    };
    for (const job of [freeing, dry, failing]) await wharf.jobs.run(job, { options: {}, trigger: 'api' });
    const s = await scrape(wharf);
    assert.equal(s.value('wharf_job_runs_total', { job: 'metrics-test-gc', status: 'succeeded' }), 2);
    assert.equal(s.value('wharf_job_runs_total', { job: 'metrics-test-gc', status: 'failed' }), 1);
    assert.equal(s.value('wharf_job_duration_seconds_count', { job: 'metrics-test-gc' }), 3);
    assert.equal(s.value('wharf_job_summary_total', { job: 'metrics-test-gc', field: 'bytesFreed' }), 4096, 'dry runs are not counted');
    assert.equal(s.value('wharf_job_summary_total', { job: 'metrics-test-gc', field: 'blobsDeleted' }), 3);
    assert.equal(s.samples('wharf_job_summary_total').filter((x) => x.labels['field'] === 'durationMs' || x.labels['field'] === 'note').length, 0);
    assert.ok(s.value('wharf_job_last_success_timestamp_seconds', { job: 'metrics-test-gc' }) > Date.now() / 1000 - 60);
  });

  test('webhook deliveries and failures through the facade', async () => {
    const m = wharf.metrics;
    assert.ok(m);
    m.webhookDelivery('success', 0.05);
    m.webhookDelivery('http_error', 0.2);
    m.webhookDelivery('timeout', 10);
    m.webhookGaveUp();
    const s = await scrape(wharf);
    assert.equal(s.value('wharf_webhook_deliveries_total', { outcome: 'success' }), 1);
    assert.equal(s.value('wharf_webhook_deliveries_total', { outcome: 'http_error' }), 1);
    assert.equal(s.value('wharf_webhook_deliveries_total', { outcome: 'timeout' }), 1);
    assert.equal(s.value('wharf_webhook_delivery_duration_seconds_count'), 3);
    assert.equal(s.value('wharf_webhook_deliveries_abandoned_total'), 1);
  });

  test('database and object-store calls are timed by operation', async () => {
    const s0 = await scrape(wharf);
    const img = await c.pushImage('acme/db', '1.0');
    assert.equal((await c.get(`/v2/acme/db/blobs/${img.layerDigest}`)).statusCode, 200);
    const s = await scrape(wharf);
    for (const op of ['select', 'insert', 'begin', 'commit']) {
      assert.ok(s.value('wharf_db_query_duration_seconds_count', { operation: op }) > s0.value('wharf_db_query_duration_seconds_count', { operation: op }), `no ${op} timed`);
    }
    const ops = new Set(s.samples('wharf_db_query_duration_seconds_count').map((x) => x.labels['operation']));
    for (const op of ops) assert.match(String(op), /^[a-z]+$/, 'operations, never query text');
    assert.ok(s.family('wharf_object_store_request_duration_seconds'), 'object-store family declared');
    if (scale) {
      const storeOps = new Set(s.samples('wharf_object_store_request_duration_seconds_count').map((x) => x.labels['operation']));
      assert.ok(storeOps.has('PutObject') || storeOps.has('UploadPart'), `S3 writes timed: ${[...storeOps].join(',')}`);
      assert.ok(storeOps.has('GetObject') || storeOps.has('HeadObject'), `S3 reads timed: ${[...storeOps].join(',')}`);
    } else {
      assert.equal(s.samples('wharf_object_store_request_duration_seconds_count').length, 0, 'no object store on this profile');
    }
  });

  test('process and event-loop metrics', async () => {
    const s = await scrape(wharf);
    assert.ok(s.value('process_cpu_user_seconds_total') > 0);
    assert.ok(s.value('process_resident_memory_bytes') > 0);
    assert.ok(s.family('nodejs_eventloop_lag_seconds'));
    assert.ok(s.value('nodejs_heap_size_used_bytes') > 0);
    const elu = s.value('wharf_event_loop_utilization_ratio');
    assert.ok(elu >= 0 && elu <= 1, `utilisation ${elu}`);
  });

  test('/metrics is reserved: never the UI, never an owner', async () => {
    const res = await wharf.app.inject({ url: '/metrics' });
    assert.doesNotMatch(res.body, /<html|<!doctype/i);
    const sub = await wharf.app.inject({ url: '/metrics/anything' });
    assert.equal(sub.statusCode, 404);
    assert.match(String(sub.headers['content-type']), /json/);
    await assert.rejects(wharf.access.accounts.createUser(SYSTEM, { username: 'metrics', password: 'long-enough-password' }), /reserved/);
    await assert.rejects(wharf.access.accounts.createOrg(SYSTEM, 'metrics'), /reserved/);
  });

  test('two Wharfs in one process count apart', async () => {
    const other = await buildTestApp();
    try {
      const before = (await scrape(other)).value('wharf_manifest_pushes_total');
      await c.pushImage('acme/solo', '1.0');
      assert.equal((await scrape(other)).value('wharf_manifest_pushes_total'), before);
      assert.equal(before, 0);
    } finally {
      await other.close();
    }
  });
});

describe('metrics: token issuance and auth failures', { skip: skip ?? false }, () => {
  let wharf: TestApp;
  const basic = (user: string, pw: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}` });
  before(async () => {
    wharf = await buildTestApp({ auth: { enabled: 'true', admin: { password: 'admin-password' }, loginRateLimit: { perAccount: '3' } } });
  });
  after(async () => wharf?.close());

  test('counted by principal and by reason', async () => {
    const get = (url: string, headers: Record<string, string> = {}) => wharf.app.inject({ url, headers });
    const s0 = await scrape(wharf);
    assert.equal((await get('/v2/')).statusCode, 401);
    assert.equal((await get('/token?service=x&scope=repository:admin/web:pull')).statusCode, 200);
    const login = await get('/token?service=x&scope=repository:admin/web:pull,push', basic('admin', 'admin-password'));
    assert.equal(login.statusCode, 200);
    const pullOnly = (JSON.parse((await get('/token?scope=repository:admin/web:pull', basic('admin', 'admin-password'))).body) as { token: string }).token;
    assert.equal((await wharf.app.inject({ method: 'POST', url: '/v2/admin/web/blobs/uploads/', headers: { authorization: `Bearer ${pullOnly}` } })).statusCode, 401);
    assert.equal((await get('/v2/', { authorization: 'Bearer not-a-token' })).statusCode, 401);
    assert.equal((await get('/v2/', basic('admin', newSecret(PAT_PREFIX)))).statusCode, 401);
    assert.equal((await get('/token', basic('admin', 'wrong-password'))).statusCode, 401);
    assert.equal((await get('/token', basic('nobody', 'wrong-password'))).statusCode, 401);
    for (let i = 0; i < 3; i++) await get('/token', basic('victim', 'guess'));
    assert.equal((await get('/token', basic('victim', 'guess'))).statusCode, 429);
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'wharf_rt_bogus', service: 'x' }).toString();
    assert.equal((await wharf.app.inject({ method: 'POST', url: '/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: form })).statusCode, 401);

    const s = await scrape(wharf);
    const moved = (name: string, labels: Record<string, string>) => s.value(name, labels) - s0.value(name, labels);
    assert.equal(moved('wharf_tokens_issued_total', { type: 'access', principal: 'anonymous' }), 1);
    assert.equal(moved('wharf_tokens_issued_total', { type: 'access', principal: 'user' }), 2);
    assert.equal(moved('wharf_auth_failures_total', { reason: 'missing_credentials' }), 1);
    assert.equal(moved('wharf_auth_failures_total', { reason: 'insufficient_scope' }), 1);
    assert.equal(moved('wharf_auth_failures_total', { reason: 'bad_registry_token' }), 1);
    assert.equal(moved('wharf_auth_failures_total', { reason: 'bad_token' }), 1);
    assert.equal(moved('wharf_auth_failures_total', { reason: 'bad_password' }), 5);
    assert.equal(moved('wharf_auth_failures_total', { reason: 'rate_limited' }), 1);
    assert.equal(moved('wharf_auth_failures_total', { reason: 'bad_refresh_token' }), 1);
  });
});

describe('metrics: storage per owner', { skip: skip ?? false }, () => {
  let wharf: TestApp;
  let offset = 0;
  before(async () => {
    wharf = await buildTestApp({ metrics: { storageTopOwners: '2', storageRefreshSeconds: '60' } }, { clock: () => Date.now() + offset });
  });
  after(async () => wharf?.close());

  const owners = (s: Scrape) => Object.fromEntries(s.samples('wharf_storage_owner_bytes').map((x) => [x.labels['owner'], x.value]));

  test('the largest owners have their own series, the rest are "other", recomputed at most every interval', async () => {
    const c = new Client(wharf);
    const sizes: Record<string, number> = { big: 5000, mid: 3000, small1: 100, small2: 200 };
    for (const [owner, n] of Object.entries(sizes)) {
      const layer = owner[0]?.repeat(n) ?? '';
      await c.pushImage(`${owner}/app`, '1', { layer });
    }
    const s1 = await scrape(wharf);
    assert.deepEqual(owners(s1), {
      big: 5000 + IMAGE_CONFIG_BYTES,
      mid: 3000 + IMAGE_CONFIG_BYTES,
      other: 100 + 200 + 2 * IMAGE_CONFIG_BYTES,
    });
    // The config blob is shared by both of small1's repositories and counts in each (what a quota charges).
    await c.pushImage('small1/second', '1', { layer: 'b'.repeat(5000) });
    assert.deepEqual(owners(await scrape(wharf)), owners(s1), 'cached within the interval: a scrape runs no storage query');
    offset += 61_000;
    // The scrape that finds the figures stale starts the recomputation and answers with the old ones.
    await scrape(wharf);
    const s2 = await eventually(wharf, (s) => owners(s)['small1'] !== undefined, 'recomputed storage');
    assert.equal(owners(s2)['small1'], 100 + 5000 + 2 * IMAGE_CONFIG_BYTES);
    assert.equal(Object.keys(owners(s2)).length, 3);
    assert.ok(s2.value('wharf_storage_usage_computed_timestamp_seconds') > 0);
  });
});

describe('metrics: token and separate port', { skip: skip ?? false }, () => {
  test('metrics.token: bearer required, compared exactly', async () => {
    const wharf = await buildTestApp({ metrics: { token: 's3cret-scrape-token' } });
    try {
      const none = await wharf.app.inject({ url: '/metrics' });
      assert.equal(none.statusCode, 401);
      assert.match(String(none.headers['www-authenticate']), /^Bearer /);
      assert.match(none.body, /metrics\.token/);
      assert.equal((await wharf.app.inject({ url: '/metrics', headers: { authorization: 'Bearer s3cret-scrape-tokeN' } })).statusCode, 401);
      assert.equal((await wharf.app.inject({ url: '/metrics', headers: { authorization: 'Bearer s3cret' } })).statusCode, 401);
      assert.equal((await wharf.app.inject({ url: '/metrics', headers: { authorization: `Basic ${Buffer.from('x:s3cret-scrape-token').toString('base64')}` } })).statusCode, 401);
      const s = await scrape(wharf, { authorization: 'Bearer s3cret-scrape-token' });
      assert.ok(s.family('wharf_http_requests'));
    } finally {
      await wharf.close();
    }
  });

  test('metrics.port: its own listener; the registry port answers 404', async () => {
    const wharf = await buildTestApp({ metrics: { port: '0', host: '127.0.0.1', token: 'tok' } });
    try {
      const address = await wharf.listenMetrics();
      assert.ok(address, 'metrics listener started');
      const main = await wharf.app.inject({ url: '/metrics' });
      assert.equal(main.statusCode, 404);
      assert.match(String(main.headers['content-type']), /json/);
      const res = await fetch(`${address}/metrics`, { headers: { authorization: 'Bearer tok' } });
      assert.equal(res.status, 200);
      const s = new Scrape(await res.text());
      assert.ok(s.family('wharf_manifest_pushes'));
      assert.equal((await fetch(`${address}/metrics`)).status, 401);
      assert.equal((await fetch(`${address}/v2/`)).status, 404, 'nothing of the registry there');
    } finally {
      await wharf.close();
    }
  });

  test('metrics.enabled false: no /metrics at all', async () => {
    const wharf = await buildTestApp({ metrics: { enabled: 'false' } });
    try {
      assert.equal(wharf.metrics, null);
      assert.equal((await wharf.app.inject({ url: '/metrics' })).statusCode, 404);
    } finally {
      await wharf.close();
    }
  });
});

