import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Pacer } from './pacer.ts';

/** Keeps the thread busy for `ms`, as a batch of GC work does. */
function work(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // spin
  }
}

describe('GC pacer', () => {
  test('while requests are served, pauses in proportion to the work done since the last call', async () => {
    const pacer = new Pacer({ share: 0.25, busy: () => true });
    work(20);
    const t = performance.now();
    await pacer.pace(new AbortController().signal);
    // share 0.25: three times the work, i.e. ≥ 60 ms for 20 ms of work.
    assert.ok(pacer.pausedMs >= 60, `paused ${pacer.pausedMs} ms`);
    assert.ok(performance.now() - t >= 59);
  });

  test('on an idle server, or with share 1, never pauses', async () => {
    for (const pacer of [new Pacer({ share: 0.2, busy: () => false }), new Pacer({ share: 0.2 }), new Pacer({ share: 1, busy: () => true })]) {
      work(10);
      await pacer.pace(new AbortController().signal);
      assert.equal(pacer.pausedMs, 0);
    }
  });

  test('a pause is capped, and only work since the previous call counts', async () => {
    const pacer = new Pacer({ share: 0.01, busy: () => true, maxPauseMs: 30 });
    work(10);
    await pacer.pace(new AbortController().signal);
    assert.equal(pacer.pausedMs, 30);
    // The pause itself is not work: straight away again, almost nothing to repay.
    await pacer.pace(new AbortController().signal);
    assert.ok(pacer.pausedMs < 30 + 30, `paused ${pacer.pausedMs} ms`);
  });

  test('an abort ends a pause at once', async () => {
    const pacer = new Pacer({ share: 0.01, busy: () => true, maxPauseMs: 60_000 });
    work(5);
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('shutdown')), 20);
    await assert.rejects(pacer.pace(ac.signal), /shutdown|abort/i);
  });
});
