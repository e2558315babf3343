import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { openSqlite } from '../../metadata/metadata.ts';
import { type Job, JobRunner } from './runner.ts';

const log = pino({ level: 'silent' });

async function setup() {
  const metadata = openSqlite(':memory:');
  await metadata.migrate();
  return metadata;
}

test('a run is recorded with its progress and summary; a second runner is told it is busy', async () => {
  const metadata = await setup();
  const a = new JobRunner({ metadata, clock: Date.now, log, holder: 'a', progressEveryMs: 0 });
  const b = new JobRunner({ metadata, clock: Date.now, log, holder: 'b' });
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const seen: unknown[] = [];
  const job: Job<{ n: number }, { done: number }> = {
    name: 'demo',
    async run(ctx, opts) {
      ctx.progress({ phase: 'work', n: opts.n });
      await gate;
      return { done: opts.n };
    },
  };
  const first = a.run(job, { options: { n: 3 }, trigger: 'cli', actor: 'admin', onProgress: (p) => seen.push(p) });
  await new Promise((r) => setTimeout(r, 20));
  const busy = await b.run(job, { options: { n: 1 }, trigger: 'api' });
  assert.deepEqual(busy, { status: 'busy', holder: 'a' });
  release();
  const out = await first;
  assert.equal(out.status, 'succeeded');
  if (out.status !== 'succeeded') return;
  assert.deepEqual(out.summary, { done: 3 });
  assert.equal(out.run.status, 'succeeded');
  assert.deepEqual(out.run.progress, { phase: 'work', n: 3 });
  assert.deepEqual(seen, [{ phase: 'work', n: 3 }]);
  assert.equal(await metadata.leases.holder('demo'), null, 'the lease is released');
  const again = await b.run(job, { options: { n: 1 }, trigger: 'api' });
  assert.equal(again.status, 'succeeded', 'free again once the first run ended');
  await metadata.close();
});

test('a failing job is recorded as failed; a run left by a dead process is marked interrupted', async () => {
  const metadata = await setup();
  await metadata.jobRuns.start({ id: 'orphan', job: 'boom', trigger: 'schedule', actor: null, options: null, holder: 'dead', now: 1 });
  const runner = new JobRunner({ metadata, clock: Date.now, log, holder: 'me' });
  const out = await runner.run({ name: 'boom', run: async () => Promise.reject(new Error('disk on fire')) }, { options: {}, trigger: 'api' });
  assert.equal(out.status, 'failed');
  assert.equal(out.status === 'failed' ? out.run.error : null, 'disk on fire');
  assert.equal((await metadata.jobRuns.get('orphan'))?.status, 'interrupted');
  await metadata.close();
});

test('a lost lease aborts the job, which ends as interrupted', async () => {
  const metadata = await setup();
  const runner = new JobRunner({ metadata, clock: Date.now, log, holder: 'me', leaseMs: 60 });
  const job: Job = {
    name: 'long',
    run: (ctx) =>
      new Promise((_, reject) => {
        ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error));
      }),
  };
  const running = runner.run(job, { options: {}, trigger: 'api' });
  await new Promise((r) => setTimeout(r, 10));
  // Another process takes the lease over (as if ours had expired).
  await metadata.leases.release('long', 'me');
  await metadata.leases.acquire('long', 'thief', Date.now(), Date.now() + 60_000);
  const out = await running;
  assert.equal(out.status, 'interrupted');
  assert.equal(await metadata.leases.holder('long'), 'thief', 'the loser does not release the new holder');
  await metadata.close();
});

test('the schedule runs a job once per interval across runners sharing the database', async () => {
  const metadata = await setup();
  let runs = 0;
  const job: Job = {
    name: 'tick',
    async run() {
      runs++;
      await new Promise((r) => setTimeout(r, 5));
      return {};
    },
  };
  const runners = ['a', 'b', 'c'].map((holder) => new JobRunner({ metadata, clock: Date.now, log, holder }));
  for (const r of runners) r.schedule(job, 200, {});
  const started = Date.now();
  for (const r of runners) r.start();
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(runs, 0, 'a job that never ran is first due one interval after the schedule started');
  // Until two runs happened (bounded): however slow the machine, the shared clock allows at most
  // one run per 200 ms interval; three runners each checking on their own would allow three.
  while (runs < 2 && Date.now() - started < 20_000) await new Promise((r) => setTimeout(r, 50));
  await Promise.all(runners.map((r) => r.stop()));
  const elapsed = Date.now() - started;
  assert.ok(runs >= 2 && runs <= Math.floor(elapsed / 200) + 1, `runs: ${runs} in ${elapsed} ms`);
  const next = await runners[0]?.nextRun('tick');
  assert.ok(next !== null && next !== undefined && next > Date.now() - 250);
  await metadata.close();
});

test('an interval given as a function is read at every check: a longer one or 0 (paused) applies without a restart', async () => {
  const metadata = await setup();
  let runs = 0;
  const job: Job = {
    name: 'live',
    async run() {
      runs++;
      return {};
    },
  };
  let interval = 100;
  const runner = new JobRunner({ metadata, clock: Date.now, log, holder: 'a' });
  runner.schedule(job, () => interval, {});
  runner.start();
  const started = Date.now();
  while (runs < 2 && Date.now() - started < 20_000) await new Promise((r) => setTimeout(r, 20));
  assert.ok(runs >= 2, 'runs at the first interval');
  interval = 0;
  assert.equal(await runner.nextRun('live'), null, 'paused: no next run');
  const paused = runs;
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(runs, paused, 'no run while the interval is 0');
  interval = 60_000;
  const next = await runner.nextRun('live');
  assert.ok(next !== null && next > Date.now() + 50_000, 'the next run follows the new interval');
  await runner.stop();
  await metadata.close();
});
