/**
 * `wharf settings list|set|reset` on the embedded profile's database (SQLite file), as an
 * operator scripts it: a set is visible to a server started afterwards and to `list`; a bad value
 * exits 1 with one line naming the key and the rule; an unknown key says which keys exist.
 * (The scale profile runs the same commands against PostgreSQL beside two live replicas:
 * test/scale/settings.test.ts.)
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { runCli } from '../../src/cli/main.ts';
import { loadConfig } from '../../src/config/load.ts';
import { createWharf } from '../../src/main.ts';

let dataDir: string;
const env = () => ({ WHARF_DATA_DIR: dataDir, WHARF_AUTH__ADMIN__PASSWORD: 'admin-password', WHARF_TRASH__DAYS: '30' });

async function wharf(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, { env: env(), stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), stdin: async () => '' });
  return { code, stdout, stderr };
}

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'wharf-cli-settings-'));
});
after(() => rm(dataDir, { recursive: true, force: true }));

test('set, list, a server sees it, reset; bad values and unknown keys are one clear line', async () => {
  const set = await wharf(['settings', 'set', 'trash.days', '7']);
  assert.equal(set.code, 0, set.stderr);
  assert.match(set.stdout, /^trash\.days = 7 \(config file: 30\); running servers apply it within 3 s/);

  const list = await wharf(['settings', 'list', '--json']);
  assert.equal(list.code, 0, list.stderr);
  const rows = JSON.parse(list.stdout) as { key: string; fileValue: unknown; override: unknown; effective: unknown; updatedBy: string | null }[];
  assert.deepEqual(rows.find((r) => r.key === 'trash.days'), { ...rows.find((r) => r.key === 'trash.days'), fileValue: 30, override: 7, effective: 7, updatedBy: 'system' });
  const table = await wharf(['settings', 'list']);
  assert.match(table.stdout, /trash\.days\s+7 days\s+30\s+7 \(system/);
  assert.ok(rows.some((r) => r.key === 'uploads.purgeIntervalSeconds' && r.effective === 600), 'the upload purge interval is listed');

  const config = loadConfig({ env: env(), overrides: { log: { level: 'silent' } } });
  const server = await createWharf(config, { logger: pino({ level: 'silent' }), startupJobs: false });
  try {
    assert.equal(server.settings.get('trash.days'), 7, 'a server started on this database uses the override');
  } finally {
    await server.close();
  }

  const bad = await wharf(['settings', 'set', 'webhooks.maxAttempts', 'lots']);
  assert.equal(bad.code, 1);
  assert.equal(bad.stderr.trimEnd().split('\n').length, 1, bad.stderr);
  assert.match(bad.stderr, /^error: webhooks\.maxAttempts must be an integer ≥ 1 and ≤ 50/);
  const zero = await wharf(['settings', 'set', 'auth.tokenTtlSeconds', '0']);
  assert.equal(zero.code, 1);
  assert.match(zero.stderr, /^error: auth\.tokenTtlSeconds must be an integer > 0/);
  const unknown = await wharf(['settings', 'set', 'storage.driver', 's3']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /storage\.driver is not a setting that can be changed at run time \(wharf settings list shows those that can\)/);

  const reset = await wharf(['settings', 'reset', 'trash.days']);
  assert.equal(reset.code, 0, reset.stderr);
  assert.match(reset.stdout, /^trash\.days = 30 from the config file/);
});
