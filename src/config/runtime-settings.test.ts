import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from './load.ts';
import { openSqlite } from '../metadata/metadata.ts';
import { SYSTEM } from '../auth/principal.ts';
import { describeRule, fileValue, isSettingKey, ruleOf, SETTING_KEYS, settingsCatalog, type SettingValues, validateSetting } from './runtime-settings.ts';
import { RuntimeSettings } from '../services/settings/service.ts';

test('every key is a config path, with the bounds of src/config/schema.ts', () => {
  const config = loadConfig({ env: {}, overrides: {} });
  for (const k of SETTING_KEYS) assert.notEqual(fileValue(config, k), undefined, `${k} has a file value`);
  assert.deepEqual(ruleOf('webhooks.maxAttempts'), { type: 'integer', minimum: 1, maximum: 50 });
  assert.deepEqual(ruleOf('gc.loadShare'), { type: 'number', exclusiveMinimum: 0, maximum: 1 });
  assert.deepEqual(ruleOf('auth.defaultVisibility'), { type: 'string', enum: ['public', 'internal', 'private'] });
  assert.deepEqual(ruleOf('auth.oidcSignIn.createAccounts'), { type: 'boolean' });
  assert.equal(describeRule(ruleOf('quotas.defaultBytes')), 'an integer ≥ 0');
});

test('nothing unsafe at run time is listed', () => {
  for (const k of ['storage.driver', 'database.postgres.url', 'server.port', 'server.tls.certFile', 'proxy.credentialKey', 'auth.enabled', 'auth.oidcSignIn.issuer', 'auth.oidcSignIn.clientSecret', 'metrics.token', 'auth.admin.password']) {
    assert.equal(isSettingKey(k), false, k);
  }
});

test('validation: the config schema decides, text is read like environment variables, and the message names key and rule', () => {
  assert.deepEqual(validateSetting('gc.intervalSeconds', 600), { ok: true, value: 600 });
  assert.deepEqual(validateSetting('gc.intervalSeconds', '600'), { ok: true, value: 600 }, 'the CLI passes text');
  assert.deepEqual(validateSetting('retention.intervalSeconds', 0), { ok: true, value: 0 }, '0 = only on demand');
  assert.deepEqual(validateSetting('auth.tokenTtlSeconds', '60'), { ok: true, value: 60 });
  assert.deepEqual(validateSetting('auth.oidcSignIn.createAccounts', 'true'), { ok: true, value: true });
  assert.deepEqual(validateSetting('auth.oidcSignIn.createAccounts', false), { ok: true, value: false });
  const cases: [Parameters<typeof validateSetting>[0], unknown, RegExp][] = [
    ['webhooks.maxAttempts', 0, /^webhooks\.maxAttempts must be an integer ≥ 1 and ≤ 50/],
    ['gc.loadShare', 1.5, /^gc\.loadShare must be a number > 0 and ≤ 1/],
    ['gc.graceSeconds', 1.5, /must be an integer ≥ 0/],
    ['quotas.defaultBytes', null, /must be an integer ≥ 0 \(got null\)/],
    ['quotas.defaultBytes', '', /must be an integer/],
    ['quotas.defaultBytes', true, /must be an integer/],
    ['auth.defaultVisibility', 'everyone', /must be one of public, internal, private/],
    ['auth.oidcSignIn.createAccounts', 'maybe', /must be true or false/],
    ['auth.tokenTtlSeconds', 0, /^auth\.tokenTtlSeconds must be an integer > 0/],
    ['auth.ciTokenTtlSeconds', 1.5, /^auth\.ciTokenTtlSeconds must be an integer > 0/],
    ['auth.refreshTokenTtlDays', -1, /^auth\.refreshTokenTtlDays must be an integer > 0/],
    ['uploads.purgeIntervalSeconds', 0, /^uploads\.purgeIntervalSeconds must be a number > 0/],
    ['retention.intervalSeconds', -1, /^retention\.intervalSeconds must be a number ≥ 0/],
  ];
  for (const [k, v, re] of cases) {
    const r = validateSetting(k, v);
    assert.equal(r.ok, false, `${k} = ${JSON.stringify(v)}`);
    if (!r.ok) assert.match(r.message, re);
  }
});

test('RuntimeSettings: an override wins, a reset returns to the file, another instance sees it after refresh, invalid rows are ignored', async () => {
  const metadata = openSqlite(':memory:');
  await metadata.migrate();
  try {
    const config = loadConfig({ env: {}, overrides: { gc: { intervalSeconds: '3600' } } });
    const a = new RuntimeSettings<SettingValues>({ catalog: settingsCatalog(config), metadata, clock: () => 1000 });
    const b = new RuntimeSettings<SettingValues>({ catalog: settingsCatalog(config), metadata, clock: () => 1000 });
    await a.refresh();
    await b.refresh();
    assert.equal(a.get('gc.intervalSeconds'), 3600);
    const v = await a.set(SYSTEM, 'gc.intervalSeconds', '60');
    assert.deepEqual([v.fileValue, v.override, v.effective, v.updatedBy], [3600, 60, 60, 'system']);
    assert.equal(a.get('gc.intervalSeconds'), 60, 'at once where it was changed');
    assert.equal(b.get('gc.intervalSeconds'), 3600, 'elsewhere after the next refresh');
    await b.refresh();
    assert.equal(b.get('gc.intervalSeconds'), 60);
    await a.reset(SYSTEM, 'gc.intervalSeconds');
    await b.refresh();
    assert.equal(b.get('gc.intervalSeconds'), 3600);
    // A row that no longer passes the schema (written by hand, or the schema tightened) is ignored.
    await metadata.settings.put({ key: 'webhooks.maxAttempts', value: 500, updatedBy: 'x', updatedAt: 1 });
    await metadata.settings.put({ key: 'no.such.key', value: 1, updatedBy: 'x', updatedAt: 1 });
    await b.refresh();
    assert.equal(b.get('webhooks.maxAttempts'), 8);
    await assert.rejects(async () => a.set({ kind: 'user', name: 'alice', admin: false }, 'gc.intervalSeconds', 1), /requires a site admin/);
    await assert.rejects(a.set(SYSTEM, 'gc.intervalSeconds', -1), (err: Error & { code?: string }) => err.code === 'BAD_REQUEST' && /gc\.intervalSeconds must be an integer ≥ 0/.test(err.message));
  } finally {
    await metadata.close();
  }
});
