/**
 * Database work per pushed blob and per image push (issue 18, "50 concurrent small pushes"):
 * statements and transactions counted from the registry's own statement metric
 * (`wharf_db_query_duration_seconds_count`, fed by src/metadata/instrumented-dialect.ts), so a
 * change that adds a statement or a transaction to the push path fails here.
 *
 * Default profile: fs + SQLite (a file, as served). `WHARF_TEST_PROFILE=scale` (with
 * /tmp/svc.env sourced): S3 + PostgreSQL. The counts are the same on both: the push path issues
 * the same statements through the one query layer.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MediaType } from '../../src/oci/mediatypes.ts';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { Client } from './support.ts';

const scale = process.env['WHARF_TEST_PROFILE'] === 'scale';
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/**
 * The most each flow may cost: statements (begin and commit included) and transactions. Before
 * issue 18's cut (fs+sqlite / s3+postgres): POST+PUT 14/14 statements and 2 transactions,
 * POST ?digest= 13/13 and 2, POST+PATCH+PUT 18/18 and 2, image push 57/55 and 5.
 */
const LIMITS = scale
  ? { postPut: [9, 1], monolithic: [8, 1], chunked: [11, 1], image: [45, 3] }
  : { postPut: [8, 1], monolithic: [7, 1], chunked: [10, 1], image: [45, 3] };

function assertAtMost(w: Work, [statements, transactions]: number[]): void {
  assert.ok(w.statements <= (statements ?? 0), `statements: ${w.statements} > ${statements} ${JSON.stringify(w.byOperation)}`);
  assert.ok(w.transactions <= (transactions ?? 0), `transactions: ${w.transactions} > ${transactions} ${JSON.stringify(w.byOperation)}`);
}

type Counts = Map<string, number>;
const total = (c: Counts) => [...c.values()].reduce((a, b) => a + b, 0);

/** A histogram's counts by operation so far, from the registry's /metrics. */
async function countsOf(app: TestApp, histogram: string): Promise<Counts> {
  const res = await app.app.inject({ url: '/metrics' });
  assert.equal(res.statusCode, 200, res.body);
  const out: Counts = new Map();
  for (const m of res.body.matchAll(new RegExp(`^${histogram}_count\\{operation="([A-Za-z0-9]+)"\\} (\\d+)$`, 'gm'))) out.set(m[1] ?? '', Number(m[2]));
  return out;
}

/** Statements by operation (select, insert, begin, commit, …) the registry has run so far. */
const counts = (app: TestApp) => countsOf(app, 'wharf_db_query_duration_seconds');
/** Object store (S3) requests by operation so far; none on fs. */
const storeCounts = (app: TestApp) => countsOf(app, 'wharf_object_store_request_duration_seconds');

interface Work {
  statements: number;
  transactions: number;
  byOperation: Record<string, number>;
}

function diff(a: Counts, b: Counts, idle: Counts): Work {
  const byOperation: Record<string, number> = {};
  let statements = 0;
  for (const [op, n] of b) {
    const d = n - (a.get(op) ?? 0) - (idle.get(op) ?? 0);
    if (d === 0) continue;
    byOperation[op] = d;
    // begin/commit are statements too (on both dialects): they are what a transaction costs.
    statements += d;
  }
  return { statements, transactions: byOperation['begin'] ?? 0, byOperation };
}

describe(`database work per push (${scale ? 's3 + postgres' : 'fs + sqlite'})`, () => {
  let wharf: TestApp;
  let c: Client;
  /** What one /metrics scrape itself costs (the open-sessions gauge reads the database). */
  let idle: Counts;

  const dbDir = mkdtempSync(join(tmpdir(), 'wharf-push-statements-'));

  before(async () => {
    // A database file, as served (not :memory:), and the fs store.
    // The webhook outbox poller (every second by default) would land in the counts.
    const quiet = { webhooks: { pollIntervalSeconds: '60' } };
    wharf = await buildTestApp(scale ? quiet : { ...quiet, storage: { driver: 'fs' }, database: { sqlite: { path: join(dbDir, 'wharf.db') } } });
    c = new Client(wharf);
    // Warm up: the first push creates the package and prepares the statements.
    await c.pushImage('acme/warm', 'v1');
    // The least of a few idle deltas: background pollers (settings, jobs, webhooks) only add.
    let best: Counts | null = null;
    for (let i = 0; i < 5; i++) {
      const a = await counts(wharf);
      const b = await counts(wharf);
      const d: Counts = new Map([...b].map(([op, n]) => [op, n - (a.get(op) ?? 0)]));
      if (best === null || total(d) < total(best)) best = d;
    }
    idle = best ?? new Map();
  });
  after(async () => {
    await wharf.close();
    rmSync(dbDir, { recursive: true, force: true });
  });

  /** The least work of a few runs: a background poller's statement may land in one of them, never in all. */
  async function measure(fn: (i: number) => Promise<void>): Promise<Work> {
    let best: Work | null = null;
    for (let i = 0; i < 6; i++) {
      const a = await counts(wharf);
      await fn(i);
      const b = await counts(wharf);
      const w = diff(a, b, idle);
      if (best === null || w.statements < best.statements) best = w;
    }
    assert.ok(best);
    return best;
  }

  const report = (what: string, w: Work) => {
    console.log(`# ${scale ? 's3+postgres' : 'fs+sqlite'} ${what}: ${w.statements} statements, ${w.transactions} transactions ${JSON.stringify(w.byOperation)}`);
  };

  /** POST then PUT ?digest= with the bytes (containers/image and the bench). */
  async function postPut(repo: string, blob: Buffer): Promise<void> {
    const start = await c.req({ method: 'POST', url: `/v2/${repo}/blobs/uploads/` });
    assert.equal(start.statusCode, 202, start.body);
    const put = await c.req({ method: 'PUT', url: `${String(start.headers.location)}?digest=${sha(blob)}`, headers: { 'content-type': 'application/octet-stream' }, body: blob });
    assert.equal(put.statusCode, 201, put.body);
  }

  test('one blob, POST then PUT ?digest= with the bytes', async () => {
    await c.pushImage('acme/blob', 'v1');
    const w = await measure(() => postPut('acme/blob', randomBytes(512)));
    report('blob POST+PUT', w);
    assertAtMost(w, LIMITS.postPut);
  });

  test('S3 calls per blob, POST then PUT ?digest= with the bytes', { skip: !scale && 'the fs store makes no object store calls' }, async () => {
    let least: { calls: number; byOperation: Record<string, number> } | null = null;
    for (let i = 0; i < 4; i++) {
      const a = await storeCounts(wharf);
      await postPut('acme/blob', randomBytes(512));
      const b = await storeCounts(wharf);
      const byOperation = Object.fromEntries([...b].map(([op, n]) => [op, n - (a.get(op) ?? 0)]).filter(([, n]) => n !== 0));
      const calls = Object.values(byOperation).reduce((x: number, y) => x + Number(y), 0);
      if (least === null || calls < least.calls) least = { calls, byOperation };
    }
    assert.ok(least);
    console.log(`# s3+postgres blob POST+PUT: ${least.calls} S3 calls ${JSON.stringify(least.byOperation)}`);
    // POST writes the session state; PUT reads it, writes the tail and the state, reads the state,
    // checks the blob is new, copies the tail to it and deletes the tail and the state. Before
    // the commit stopped listing the session's objects and multipart uploads: 11.
    assert.ok(least.calls <= 9, `S3 calls: ${least.calls} > 9 ${JSON.stringify(least.byOperation)}`);
    assert.equal(least.byOperation['ListObjectsV2'] ?? 0, 0, 'a commit lists nothing');
    assert.equal(least.byOperation['ListMultipartUploads'] ?? 0, 0, 'a commit lists nothing');
  });

  test('one blob, monolithic POST ?digest=', async () => {
    const w = await measure(async () => {
      const blob = randomBytes(512);
      const res = await c.req({ method: 'POST', url: `/v2/acme/blob/blobs/uploads/?digest=${sha(blob)}`, headers: { 'content-type': 'application/octet-stream' }, body: blob });
      assert.equal(res.statusCode, 201, res.body);
    });
    report('blob POST ?digest=', w);
    assertAtMost(w, LIMITS.monolithic);
  });

  test('one blob, POST, PATCH, PUT ?digest= without a body (chunked)', async () => {
    const w = await measure(async () => {
      const blob = randomBytes(512);
      const start = await c.req({ method: 'POST', url: '/v2/acme/blob/blobs/uploads/' });
      assert.equal(start.statusCode, 202, start.body);
      const patch = await c.req({ method: 'PATCH', url: String(start.headers.location), headers: { 'content-type': 'application/octet-stream' }, body: blob });
      assert.equal(patch.statusCode, 202, patch.body);
      const put = await c.req({ method: 'PUT', url: `${String(patch.headers.location)}?digest=${sha(blob)}` });
      assert.equal(put.statusCode, 201, put.body);
    });
    report('blob POST+PATCH+PUT', w);
    assertAtMost(w, LIMITS.chunked);
  });

  test('one small image into a new repository: HEAD, POST, PUT per blob, then the manifest', async () => {
    const w = await measure(async (i) => {
      const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, seed: randomBytes(8).toString('hex') }));
      const layer = randomBytes(1024);
      const repo = `acme/image-${i}`;
      for (const blob of [config, layer]) {
        const head = await c.head(`/v2/${repo}/blobs/${sha(blob)}`);
        assert.equal(head.statusCode, 404);
        await postPut(repo, blob);
      }
      const manifest = JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OciManifest,
        config: { mediaType: MediaType.OciConfig, digest: sha(config), size: config.length },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha(layer), size: layer.length }],
      });
      const res = await c.putManifest(repo, 'v1', manifest, MediaType.OciManifest);
      assert.equal(res.statusCode, 201, res.body);
    });
    report('image push (new repository)', w);
    assertAtMost(w, LIMITS.image);
  });
});
