/**
 * Recoverable chart indexing (issue 12): indexing follows a push's commit in the same process,
 * so a kill -9 in between leaves a chart manifest without its index record (and a crash before a
 * delete's listener leaves a record listed). The state such a crash leaves is made here by
 * removing the index rows after the push; the repair pass (`charts.reindex`) must put it right:
 * as a job (both profiles), at the next start, and with `wharf reindex`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { runCli } from '../../src/cli/main.ts';
import type { Digest } from '../../src/oci/digest.ts';
import { parseRepoName } from '../../src/oci/name.ts';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { pushChart } from '../helpers/charts.ts';
import { getIndex, http, versionsOf } from './charts-support.ts';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The state a kill -9 between the push's commit and its indexing leaves: no index record. */
async function forgetIndexing(app: TestApp, repo: string, digest: string): Promise<void> {
  await app.events.settled();
  assert.ok(await app.metadata.charts.delete(parseRepoName(repo), digest as Digest), 'the push was indexed before the crash is staged');
}

describe('chart index repair', () => {
  test('the reindex job lists a chart whose indexing never ran and relists a stale listing; a second run finds nothing', async () => {
    const app = await buildTestApp();
    try {
      const web = await pushChart(http(app), 'rx1/charts/web', { name: 'web', version: '1.0.0' });
      const api = await pushChart(http(app), 'rx1/charts/api', { name: 'api', version: '0.2.0' });
      await forgetIndexing(app, 'rx1/charts/web', web.digest);
      await app.events.settled();
      // A listing that went stale (listed = false although tagged).
      await app.metadata.charts.setListed(parseRepoName('rx1/charts/api'), api.digest as Digest, false);
      assert.deepEqual(versionsOf((await getIndex(app, 'rx1')).index), {}, 'nothing listed before the repair');

      const run = await app.jobs.run(app.charts.indexer.reindexJob(0), { options: {}, trigger: 'cli' });
      assert.equal(run.status, 'succeeded');
      if (run.status !== 'succeeded') return;
      assert.deepEqual(run.summary, { checked: 2, repaired: 2, failed: 0 });
      assert.deepEqual(versionsOf((await getIndex(app, 'rx1')).index), { api: ['0.2.0'], web: ['1.0.0'] });

      const again = await app.jobs.run(app.charts.indexer.reindexJob(0), { options: {}, trigger: 'cli' });
      assert.equal(again.status === 'succeeded' && again.summary.checked, 0, 'an index in step has nothing to repair');
    } finally {
      await app.close();
    }
  });

  test('pushes younger than the grace are left to their own listener', async () => {
    const app = await buildTestApp();
    try {
      const web = await pushChart(http(app), 'rx2/charts/web', { name: 'web', version: '1.0.0' });
      await forgetIndexing(app, 'rx2/charts/web', web.digest);
      const run = await app.jobs.run(app.charts.indexer.reindexJob(60_000), { options: {}, trigger: 'cli' });
      assert.equal(run.status === 'succeeded' && run.summary.checked, 0);
    } finally {
      await app.close();
    }
  });

  test('wharf reindex repairs from the command line, and the start-up run after a restart (fs + SQLite)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wharf-reindex-'));
    dirs.push(dir);
    const overrides = { dataDir: dir, storage: { driver: 'fs' }, database: { sqlite: { path: join(dir, 'wharf.db') } } };
    // Pushed two minutes ago: older than the repair's grace.
    const first = await buildTestApp(overrides, { clock: () => Date.now() - 120_000 });
    const web = await pushChart(http(first), 'rx3/charts/web', { name: 'web', version: '1.0.0' });
    const api = await pushChart(http(first), 'rx3/charts/api', { name: 'api', version: '0.1.0' });
    await forgetIndexing(first, 'rx3/charts/web', web.digest);
    await forgetIndexing(first, 'rx3/charts/api', api.digest);
    await first.close();

    // The command line, on the same data directory, with no server running.
    let stdout = '';
    let stderr = '';
    const env = { WHARF_DATA_DIR: dir, WHARF_STORAGE__DRIVER: 'fs', WHARF_DATABASE__SQLITE__PATH: join(dir, 'wharf.db') };
    const io = { env, stdout: (t: string) => (stdout += t), stderr: (t: string) => (stderr += t), stdin: async () => '' };
    assert.equal(await runCli(['reindex', '--json'], io), 0, stderr);
    const summary = JSON.parse(stdout) as { status: string; checked: number; repaired: number; failed: number };
    assert.deepEqual({ ...summary, id: undefined }, { id: undefined, status: 'succeeded', checked: 2, repaired: 2, failed: 0 });
    assert.match(stderr, /reindex: 2 checked, 2 repaired, 0 failed/, 'progress on the terminal');

    // Crash again after the repair, then restart: the new process repairs on its own at start.
    const second = await buildTestApp(overrides, { clock: () => Date.now() - 120_000 });
    await forgetIndexing(second, 'rx3/charts/api', api.digest);
    await second.close();
    const third = await buildTestApp(overrides);
    try {
      let listed: Record<string, string[]> = {};
      for (let i = 0; i < 100 && !listed['api']; i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, 50));
        listed = versionsOf((await getIndex(third, 'rx3')).index);
      }
      assert.deepEqual(listed, { api: ['0.1.0'], web: ['1.0.0'] }, 'the start-up run listed the chart again');
    } finally {
      await third.close();
    }
  });
});
