import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Semaphore } from './semaphore.ts';

test('runs at most `limit` tasks at once, in arrival order, and passes failures through', async () => {
  const gate = new Semaphore(2);
  let running = 0;
  let most = 0;
  const started: number[] = [];
  const task = (i: number) =>
    gate.run(async () => {
      started.push(i);
      running++;
      most = Math.max(most, running);
      await sleep(5);
      running--;
      if (i === 3) throw new Error('task 3 failed');
      return i;
    });
  const results = await Promise.allSettled([0, 1, 2, 3, 4, 5].map(task));
  assert.equal(most, 2);
  assert.deepEqual(started, [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message)), [0, 1, 2, 'task 3 failed', 4, 5]);
  // The slots are all free again.
  assert.equal(await gate.run(async () => 'after'), 'after');
});
