import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { topOwners, WharfMetrics } from './metrics.ts';

async function values(m: WharfMetrics, name: string): Promise<{ labels: Partial<Record<string, string | number>>; value: number }[]> {
  const metric = await m.registry.getSingleMetric(name)?.get();
  return (metric?.values ?? []).map((v) => ({ labels: v.labels, value: v.value }));
}

test('topOwners keeps the largest and sums the rest as "other"', () => {
  const rows = [
    { owner: 'a', bytes: 10 },
    { owner: 'b', bytes: 30 },
    { owner: 'c', bytes: 20 },
    { owner: 'd', bytes: 5 },
  ];
  assert.deepEqual(topOwners(rows, 2), [
    { owner: 'b', bytes: 30 },
    { owner: 'c', bytes: 20 },
    { owner: 'other', bytes: 15 },
  ]);
  assert.deepEqual(topOwners(rows, 4).map((r) => r.owner), ['b', 'c', 'a', 'd'], 'no "other" when nobody is left out');
  assert.deepEqual(topOwners(rows, 0), [{ owner: 'other', bytes: 65 }]);
});

test('requests reuse one series per route, method and status class', async () => {
  const m = new WharfMetrics(new Registry());
  m.request('/v2/<name>/manifests/<reference>', 'GET', 200, 0.002, 100, 900);
  m.request('/v2/<name>/manifests/<reference>', 'GET', 204, 0.004, 100, 0);
  m.request('/v2/<name>/manifests/<reference>', 'GET', 404, 0.001, 100, 50);
  m.request('/v2/<name>/manifests/<reference>', 'GET', 999, 0.001, 0, 0);
  const requests = await values(m, 'wharf_http_requests_total');
  assert.deepEqual(
    requests.map((r) => [r.labels['status_class'], r.value]),
    [
      ['2xx', 2],
      ['4xx', 1],
      ['5xx', 1],
    ],
  );
  const sent = await values(m, 'wharf_http_sent_bytes_total');
  assert.equal(sent.find((r) => r.labels['status_class'] === '2xx')?.value, 900);
});

test('jobFinished counts runs, and the numbers of succeeded, non-dry summaries', async () => {
  const m = new WharfMetrics(new Registry(), { clock: () => 1_700_000_000_000 });
  m.jobFinished('gc', 'succeeded', 2, { bytesFreed: 10, blobsDeleted: 1, durationMs: 2000, dryRun: false, phases: { blobs: { bytes: 10 } } });
  m.jobFinished('gc', 'succeeded', 1, { bytesFreed: 99, dryRun: true });
  m.jobFinished('gc', 'failed', 1, null);
  m.jobFinished('gc', 'succeeded', 1, { bytesFreed: -5, blobsDeleted: Number.NaN });
  const summary = await values(m, 'wharf_job_summary_total');
  assert.deepEqual(
    summary.map((s) => [s.labels['field'], s.value]),
    [
      ['bytesFreed', 10],
      ['blobsDeleted', 1],
    ],
  );
  const runs = await values(m, 'wharf_job_runs_total');
  assert.deepEqual(
    runs.map((r) => [r.labels['status'], r.value]),
    [
      ['succeeded', 3],
      ['failed', 1],
    ],
  );
  assert.deepEqual(await values(m, 'wharf_job_last_success_timestamp_seconds'), [{ labels: { job: 'gc' }, value: 1_700_000_000 }]);
});

test('storage per owner is computed once per interval and kept when the query fails', async () => {
  let now = 0;
  let calls = 0;
  let fail = false;
  const m = new WharfMetrics(new Registry(), { clock: () => now, storageTopOwners: 1, storageRefreshMs: 1000, onCollectError: () => undefined });
  m.setSources({
    storageByOwner: async () => {
      calls++;
      if (fail) throw new Error('database down');
      return [
        { owner: 'a', bytes: calls * 10 },
        { owner: 'b', bytes: 1 },
      ];
    },
  });
  const owners = async (): Promise<Record<string, number>> => Object.fromEntries((await values(m, 'wharf_storage_owner_bytes')).map((v) => [String(v.labels['owner']), v.value]));
  assert.deepEqual(await owners(), { a: 10, other: 1 });
  assert.deepEqual(await owners(), { a: 10, other: 1 });
  assert.equal(calls, 1);
  now = 1000;
  fail = true;
  await owners();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(await owners(), { a: 10, other: 1 }, 'the last figures stay');
  assert.equal(calls, 2, 'a failure waits a whole interval too');
});

test('request histograms export cumulative buckets, sum and count', async () => {
  const m = new WharfMetrics(new Registry());
  for (const s of [0.0005, 0.003, 0.003, 2, 100]) m.request('/healthz', 'GET', 200, s, 0, 0);
  const text = await m.registry.metrics();
  const line = (le: string) => text.split('\n').find((l) => l.startsWith('wharf_http_request_duration_seconds_bucket{') && l.includes(`le="${le}"`));
  assert.match(String(line('0.001')), / 1$/);
  assert.match(String(line('0.005')), / 3$/);
  assert.match(String(line('60')), / 4$/);
  assert.match(String(line('+Inf')), / 5$/);
  assert.match(text, /wharf_http_request_duration_seconds_count\{route="\/healthz",method="GET",status_class="2xx"\} 5\n/);
  assert.match(text, /wharf_http_request_duration_seconds_sum\{route="\/healthz",method="GET",status_class="2xx"\} 102\.0065\n/);
});
