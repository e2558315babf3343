import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { everyLive } from './live-interval.ts';

test('a shorter interval applies within checkMs, not after the old interval; 0 pauses; stop waits for the run', async () => {
  let interval = 60_000;
  let runs = 0;
  const gate = { release: () => {} };
  const timer = everyLive({
    intervalMs: () => interval,
    run: async () => {
      runs++;
      if (runs === 3) await new Promise<void>((r) => (gate.release = r));
    },
    checkMs: 50,
    onError: (err) => assert.fail(String(err)),
  });
  try {
    await sleep(500);
    assert.equal(runs, 0, 'the first run is one interval after the start');
    interval = 400;
    await sleep(150);
    assert.equal(runs, 1, 'overdue under the new interval: runs at the next check');
    await sleep(500);
    assert.ok(runs >= 2, `then every 400 ms: ${String(runs)}`);
    // The third run hangs until released; stop() waits for it, and nothing starts afterwards.
    while (runs < 3) await sleep(20);
    let stopped = false;
    const stopping = timer.stop().then(() => (stopped = true));
    await sleep(150);
    assert.equal(stopped, false, 'stop waits for the run in progress');
    gate.release();
    await stopping;
    await sleep(250);
    assert.equal(runs, 3, 'no run after stop');
  } finally {
    await timer.stop();
  }
});

test('interval 0 pauses until it is set again; a failed run is reported and the timer goes on', async () => {
  let interval = 0;
  let runs = 0;
  const errors: unknown[] = [];
  const timer = everyLive({
    intervalMs: () => interval,
    run: async () => {
      runs++;
      throw new Error('boom');
    },
    checkMs: 30,
    onError: (err) => errors.push(err),
  });
  try {
    await sleep(150);
    assert.equal(runs, 0, 'paused');
    interval = 20;
    await sleep(200);
    assert.ok(runs >= 2, `runs again after a failure: ${String(runs)}`);
    assert.equal(errors.length, runs);
  } finally {
    await timer.stop();
  }
});
