/**
 * Run-time instance settings (ADR 0025) over HTTP, on both profiles: /api/v1/admin/settings for
 * site admins only (a refusal says why), 400 naming the key and its rule, audit rows with old and
 * new values, and the consumers using the effective value without a restart: a new package's
 * visibility, the default quota of an owner, the login rate limit, the GC and retention schedules,
 * the lifetime of the next registry, CI and refresh token, the stale-upload purge interval; a second
 * server on the same database (a replica) sees a change within the refresh interval.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { hashSecret } from '../../src/auth/secrets.ts';
import { createWharf } from '../../src/main.ts';
import { adminAuth, basic, createUser, errorCode, expect, json, pushImage, Session, startUiApp, type UiApp } from './ui-api-support.ts';

interface Setting {
  key: string;
  area: string;
  description: string;
  rule: { type: string; minimum?: number; maximum?: number; enum?: string[] };
  ruleText: string;
  fileValue: unknown;
  override: unknown;
  effective: unknown;
  updatedBy: string | null;
  updatedAt: string | null;
}
interface AuditRow {
  action: string;
  actor: string;
  target: string;
  detail: Record<string, unknown> | null;
}

const message = (res: { body: string }) => (JSON.parse(res.body) as { errors?: { message: string }[] }).errors?.[0]?.message ?? '';

describe('/api/v1/admin/settings', () => {
  let app: UiApp;
  let admin: Session;
  let alice: Session;
  const aliceAuth = basic('alice', 'alice-password');

  before(async () => {
    app = await startUiApp({ defaultVisibility: 'private', loginRateLimit: { perAddress: '100' } }, { gc: { intervalSeconds: '3600' }, quotas: { defaultBytes: '0' } });
    await createUser(app, 'alice');
    admin = await Session.signIn(app, 'admin', 'admin-password');
    alice = await Session.signIn(app, 'alice', 'alice-password');
  });
  after(() => app.close());

  const put = (s: Session, key: string, value: unknown) => s.req({ method: 'PUT', url: `/api/v1/admin/settings/${key}`, payload: { value } });
  const reset = (s: Session, key: string) => s.req({ method: 'DELETE', url: `/api/v1/admin/settings/${key}` });

  test('site admins only, and the refusal says why', async () => {
    expect(await app.req({ url: '/api/v1/admin/settings' }), 401, 'anonymous', 'UNAUTHORIZED');
    const listed = await alice.get('/api/v1/admin/settings');
    expect(listed, 403, 'a user may not list', 'DENIED');
    assert.match(message(listed), /changing instance settings requires a site admin/);
    const changed = await put(alice, 'gc.intervalSeconds', 60);
    expect(changed, 403, 'a user may not change', 'DENIED');
    assert.match(message(changed), /requires a site admin/);
    expect(await reset(alice, 'gc.intervalSeconds'), 403, 'a user may not reset', 'DENIED');
    const settings = json<Setting[]>(await admin.get('/api/v1/admin/settings'));
    const gc = settings.find((s) => s.key === 'gc.intervalSeconds');
    assert.deepEqual({ file: gc?.fileValue, override: gc?.override, effective: gc?.effective }, { file: 3600, override: null, effective: 3600 });
    assert.ok(settings.some((s) => s.key === 'auth.defaultVisibility' && s.rule.enum?.includes('public')));
    // Never listed: what cannot safely change while running.
    for (const k of ['storage.driver', 'database.driver', 'server.port', 'proxy.credentialKey', 'auth.oidcSignIn.clientSecret']) assert.ok(!settings.some((s) => s.key === k), k);
  });

  test('a bad value is a 400 naming the key and the rule; an unknown key is a 404', async () => {
    const big = await put(admin, 'webhooks.maxAttempts', 51);
    expect(big, 400, 'over the maximum');
    assert.match(message(big), /webhooks\.maxAttempts must be an integer ≥ 1 and ≤ 50/);
    const word = await put(admin, 'auth.defaultVisibility', 'everyone');
    expect(word, 400, 'not one of the values');
    assert.match(message(word), /auth\.defaultVisibility must be one of public, internal, private/);
    const share = await put(admin, 'gc.loadShare', 0);
    expect(share, 400, 'loadShare must be above 0');
    assert.match(message(share), /gc\.loadShare must be a number > 0 and ≤ 1/);
    expect(await put(admin, 'quotas.defaultBytes', 1.5), 400, 'an integer');
    expect(await put(admin, 'quotas.defaultBytes', ''), 400, 'empty text is not 0');
    const unknown = await put(admin, 'storage.driver', 's3');
    expect(unknown, 404, 'not a run-time setting');
    assert.match(message(unknown), /storage\.driver is not a setting that can be changed at run time/);
    assert.equal(json<Setting[]>(await admin.get('/api/v1/admin/settings')).find((s) => s.key === 'webhooks.maxAttempts')?.override, null, 'nothing was stored');
  });

  test("auth.defaultVisibility public: a fresh push creates a public package (anonymous pull works); reset: private again", async () => {
    const set = await put(admin, 'auth.defaultVisibility', 'public');
    expect(set, 200, 'set');
    const v = json<Setting>(set);
    assert.deepEqual({ file: v.fileValue, override: v.override, effective: v.effective, by: v.updatedBy }, { file: 'private', override: 'public', effective: 'public', by: 'admin' });
    await pushImage(app, aliceAuth, 'alice/open', '1');
    expect(await app.req({ url: '/v2/alice/open/manifests/1', headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } }), 200, 'anonymous pull of the new package');

    const back = await reset(admin, 'auth.defaultVisibility');
    expect(back, 200, 'reset');
    assert.deepEqual([json<Setting>(back).override, json<Setting>(back).effective], [null, 'private']);
    await pushImage(app, aliceAuth, 'alice/closed', '1');
    const anon = await app.req({ url: '/v2/alice/closed/manifests/1', headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    assert.ok(anon.statusCode === 401 || anon.statusCode === 404, `anonymous pull of a private package: ${anon.statusCode}`);
    expect(await app.req({ url: '/v2/alice/open/manifests/1', headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } }), 200, 'the package made while public stays public');
  });

  test('quotas.defaultBytes applies to an owner without its own quota, at once', async () => {
    await createUser(app, 'bob');
    const bob = basic('bob', 'bob-password');
    expect(await put(admin, 'quotas.defaultBytes', 1500), 200, 'set a small default quota');
    const quota = json<{ limitBytes: number | null; source: string }>(await app.req({ url: '/api/v1/owners/bob/quota', auth: bob }));
    assert.deepEqual([quota.limitBytes, quota.source], [1500, 'site']);
    const manifest = await app.req({ method: 'POST', url: '/v2/bob/big/blobs/uploads/', auth: bob, headers: { 'content-length': '0' } });
    assert.equal(manifest.statusCode, 202, manifest.body);
    const location = String(manifest.headers['location']);
    const body = Buffer.alloc(4000, 'x');
    const refused = await app.req({ method: 'PATCH', url: location, auth: bob, headers: { 'content-type': 'application/octet-stream', 'content-length': String(body.length), 'content-range': `0-${body.length - 1}` }, payload: body });
    assert.equal(refused.statusCode, 403, refused.body);
    assert.match(refused.body, /bob uses .* of its 1\.5 KB quota|bob uses .* quota/);
    expect(await reset(admin, 'quotas.defaultBytes'), 200, 'reset');
    assert.equal(json<{ limitBytes: number | null }>(await app.req({ url: '/api/v1/owners/bob/quota', auth: bob })).limitBytes, null, 'back to no quota');
  });

  test('a low login rate limit refuses the next failed sign-ins with the limit as reason', async () => {
    const from = '192.0.2.77';
    const login = (password: string) => app.req({ url: '/token?service=wharf', headers: { authorization: basic('alice', password) }, remoteAddress: from });
    expect(await put(admin, 'auth.loginRateLimit.perAddress', 2), 200, 'two failures per address');
    assert.equal((await login('wrong-1')).statusCode, 401);
    assert.equal((await login('wrong-2')).statusCode, 401);
    const third = await login('alice-password');
    assert.equal(third.statusCode, 429, 'even the right password, once the address is over the limit');
    assert.match(message(third), /too many failed sign-in attempts from your address; try again in/);
    expect(await reset(admin, 'auth.loginRateLimit.perAddress'), 200, 'reset');
    assert.equal((await login('alice-password')).statusCode, 200, 'the file value (100) applies again');
  });

  test('the GC schedule follows gc.intervalSeconds without a restart', async () => {
    expect(await put(admin, 'gc.intervalSeconds', 120), 200, 'set');
    const status = json<{ intervalSeconds: number; nextRunAt: string | null }>(await admin.get('/api/v1/admin/gc'));
    assert.equal(status.intervalSeconds, 120);
    const next = await app.wharf.jobs.nextRun('gc');
    assert.ok(next !== null);
    expect(await put(admin, 'gc.intervalSeconds', 0), 200, 'only on demand');
    assert.equal(await app.wharf.jobs.nextRun('gc'), null, 'no scheduled run while the interval is 0');
    expect(await reset(admin, 'gc.intervalSeconds'), 200, 'reset');
    assert.equal(json<{ intervalSeconds: number }>(await admin.get('/api/v1/admin/gc')).intervalSeconds, 3600);
  });

  test('the retention schedule follows retention.intervalSeconds without a restart', async () => {
    // Before any test advances the clock: with the fake clock at the schedule's start, no run can
    // be due while this test looks, so the due time moves only with the interval.
    const listed = json<Setting[]>(await admin.get('/api/v1/admin/settings')).find((s) => s.key === 'retention.intervalSeconds');
    assert.deepEqual([listed?.area, listed?.fileValue, listed?.effective], ['Retention', 86_400, 86_400]);
    const daily = await app.wharf.jobs.nextRun('retention.apply');
    assert.ok(daily !== null, 'scheduled daily by the file');
    expect(await put(admin, 'retention.intervalSeconds', 120), 200, 'set');
    assert.equal(await app.wharf.jobs.nextRun('retention.apply'), daily - 86_400_000 + 120_000, 'due 120 s after the last start instead of a day');
    expect(await put(admin, 'retention.intervalSeconds', 0), 200, 'only on demand');
    assert.equal(await app.wharf.jobs.nextRun('retention.apply'), null, 'no scheduled run while the interval is 0');
    expect(await reset(admin, 'retention.intervalSeconds'), 200, 'reset');
    assert.equal(await app.wharf.jobs.nextRun('retention.apply'), daily, 'daily again');
  });

  test('auth.tokenTtlSeconds: the next /token answer lives the new lifetime (expires_in = exp − iat); a token already issued keeps its exp', async () => {
    const service = 'localhost:80';
    const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { iat: number; exp: number };
    const token = async () => {
      const res = await app.req({ url: `/token?service=${service}&scope=repository:alice/open:pull`, auth: aliceAuth });
      expect(res, 200, 'token');
      return json<{ token: string; expires_in: number }>(res);
    };
    const before = await token();
    assert.equal(before.expires_in, 300, 'the file default');
    const zero = await put(admin, 'auth.tokenTtlSeconds', 0);
    expect(zero, 400, 'a lifetime of 0');
    assert.match(message(zero), /auth\.tokenTtlSeconds must be an integer > 0/);

    expect(await put(admin, 'auth.tokenTtlSeconds', 42), 200, 'set');
    const after = await token();
    const c = claimsOf(after.token);
    assert.deepEqual([after.expires_in, c.exp - c.iat], [42, 42]);
    const old = claimsOf(before.token);
    assert.equal(old.exp - old.iat, 300, 'the token issued before keeps its lifetime');
    app.clock.advance(43_000);
    const v2 = (t: string) => app.req({ url: '/v2/', headers: { authorization: `Bearer ${t}` } });
    assert.equal((await v2(after.token)).statusCode, 401, 'the new token expired after 42 s');
    assert.equal((await v2(before.token)).statusCode, 200, 'the older one still works');

    // CI tokens (the token exchange) and refresh tokens follow their own settings the same way.
    expect(await put(admin, 'auth.ciTokenTtlSeconds', 77), 200, 'set the CI lifetime');
    const ci = await app.wharf.access.tokens.issue({ kind: 'ci', name: 'ci:https://ci.example#job', admin: false, ci: [{ owner: 'alice', repo: null, role: 'read' }] }, [], service);
    assert.equal(ci.expiresIn, 77);
    expect(await put(admin, 'auth.refreshTokenTtlDays', 2), 200, 'set the refresh lifetime');
    const offline = await app.req({ url: `/token?service=${service}&offline_token=true`, auth: aliceAuth });
    expect(offline, 200, 'offline token');
    const refresh = json<{ refresh_token?: string }>(offline).refresh_token ?? '';
    const row = await app.wharf.metadata.tokens.byHash(hashSecret(refresh));
    assert.equal((row?.expiresAt ?? 0) - (row?.createdAt ?? 0), 2 * 86_400_000, 'the refresh token lives two days');

    for (const k of ['auth.tokenTtlSeconds', 'auth.ciTokenTtlSeconds', 'auth.refreshTokenTtlDays']) expect(await reset(admin, k), 200, `reset ${k}`);
    assert.equal((await token()).expires_in, 300, 'the file value again');
  });

  test('uploads.purgeIntervalSeconds: a shorter interval re-arms the purge, which removes an abandoned upload without a restart', async () => {
    const listed = json<Setting[]>(await admin.get('/api/v1/admin/settings')).find((s) => s.key === 'uploads.purgeIntervalSeconds');
    assert.deepEqual([listed?.fileValue, listed?.effective], [600, 600]);
    expect(await put(admin, 'uploads.purgeIntervalSeconds', 0), 400, 'the purge cannot be switched off (the schema: > 0)');
    const started = await app.req({ method: 'POST', url: '/v2/alice/abandoned/blobs/uploads/', auth: aliceAuth, headers: { 'content-length': '0' } });
    assert.equal(started.statusCode, 202, started.body);
    const location = String(started.headers['location']);
    const sessions = () => app.wharf.metadata.uploads.staleSince(Number.MAX_SAFE_INTEGER, 1000);
    const id = (await sessions()).find((u) => location.includes(u));
    assert.ok(id, `the upload session of ${location} exists`);
    // Abandoned by the (fake) clock: older than the stale age.
    expect(await put(admin, 'uploads.staleAfterSeconds', 60), 200, 'stale after a minute');
    app.clock.advance(120_000);
    await sleep(1000);
    assert.ok((await sessions()).includes(id), 'the file interval (600 s) has not come round: still there');

    expect(await put(admin, 'uploads.purgeIntervalSeconds', 1), 200, 'purge every second');
    const since = Date.now();
    while ((await sessions()).includes(id)) {
      assert.ok(Date.now() - since < app.wharf.settings.refreshMs + 3000, 'the purge ran within the re-arm period and the new interval');
      await sleep(100);
    }
    const gone = await app.req({ url: location, auth: aliceAuth });
    assert.equal(gone.statusCode, 404, gone.body);
    assert.equal(errorCode(gone), 'BLOB_UPLOAD_UNKNOWN');
    expect(await reset(admin, 'uploads.purgeIntervalSeconds'), 200, 'reset');
    expect(await reset(admin, 'uploads.staleAfterSeconds'), 200, 'reset');
  });

  test('gc.graceSeconds: a run keeps a deleted version within the file grace, and frees it once the grace is lowered live', async () => {
    const gone = await pushImage(app, aliceAuth, 'alice/gc', 'gone', { layerBytes: 200_000 });
    const trashed = await alice.req({ method: 'DELETE', url: `/api/v1/packages/alice/gc/versions/${gone.digest}` });
    expect(trashed, 200, 'delete the version');
    expect(await admin.req({ method: 'DELETE', url: `/api/v1/trash/${json<{ id: string }>(trashed).id}` }), 200, 'purge it');
    // Ten minutes later: inside the file's grace (3600 s), outside a 30 s grace plus the touch
    // margin, which stays the file grace's (450 s; ADR 0025).
    app.clock.advance(600_000);
    const run = async () => {
      const id = json<{ id: string }>(await admin.req({ method: 'POST', url: '/api/v1/admin/gc', payload: {} })).id;
      for (let i = 0; i < 400; i++) {
        const r = json<{ runs: { id: string; status: string; summary: { graceSeconds?: number; bytesFreed?: number } | null }[] }>(await admin.get('/api/v1/admin/gc')).runs.find((x) => x.id === id);
        if (r && r.status !== 'running') return r;
        await sleep(25);
      }
      throw new Error('the run did not finish');
    };
    const kept = await run();
    assert.deepEqual([kept.status, kept.summary?.graceSeconds, kept.summary?.bytesFreed], ['succeeded', 3600, 0], 'within the file grace (3600 s) nothing goes');
    expect(await put(admin, 'gc.graceSeconds', 30), 200, 'lower the grace');
    const freed = await run();
    assert.equal(freed.summary?.graceSeconds, 30);
    assert.ok((freed.summary?.bytesFreed ?? 0) >= 200_000, `the next run frees the layer: ${JSON.stringify(freed.summary)}`);
    expect(await reset(admin, 'gc.graceSeconds'), 200, 'reset');
  });

  test('trash.days applies to what is deleted next', async () => {
    expect(await put(admin, 'trash.days', 2), 200, 'two days');
    const v = await pushImage(app, aliceAuth, 'alice/short', '1');
    const trashed = await alice.req({ method: 'DELETE', url: `/api/v1/packages/alice/short/versions/${v.digest}` });
    expect(trashed, 200, 'delete');
    const entry = json<{ trashedAt: string; expiresAt: string }>(trashed);
    assert.equal(Date.parse(entry.expiresAt) - Date.parse(entry.trashedAt), 2 * 86_400_000);
    expect(await reset(admin, 'trash.days'), 200, 'reset');
  });

  test('every change is audited with the old and new value; a reset of nothing writes nothing', async () => {
    expect(await put(admin, 'trash.purgeIntervalSeconds', 7), 200, 'set');
    app.clock.advance(1000);
    expect(await put(admin, 'trash.purgeIntervalSeconds', 3), 200, 'set again');
    app.clock.advance(1000);
    expect(await reset(admin, 'trash.purgeIntervalSeconds'), 200, 'reset');
    app.clock.advance(1000);
    expect(await reset(admin, 'trash.purgeIntervalSeconds'), 200, 'reset again: nothing to remove');
    const rows = json<AuditRow[]>(await app.req({ url: '/api/v1/audit?action=settings.&target=trash.purgeIntervalSeconds', auth: adminAuth() }));
    assert.deepEqual(
      rows.map((r) => [r.action, r.actor, r.detail?.['old'], r.detail?.['new']]),
      [
        ['settings.reset', 'admin', 3, 3600],
        ['settings.update', 'admin', 7, 3],
        ['settings.update', 'admin', 3600, 7],
      ],
    );
  });

  test('a second server on the same database applies a change within the refresh interval', async (t) => {
    if (app.wharf.config.database.driver !== 'postgres') {
      // SQLite in memory is one process's; the file database of the fs profile is shared the same way PostgreSQL is, so use it.
      t.skip('the in-memory SQLite of this profile is not shared; test/scale/settings.test.ts covers replicas');
      return;
    }
    const replica = await createWharf(app.wharf.config, { logger: pino({ level: 'silent' }) });
    try {
      assert.equal(replica.settings.get('gc.loadShare'), 0.2);
      expect(await put(admin, 'gc.loadShare', 0.5), 200, 'set on the first server');
      const started = Date.now();
      while (replica.settings.get('gc.loadShare') !== 0.5) {
        assert.ok(Date.now() - started < replica.settings.refreshMs + 2000, 'the replica saw the change in time');
        await sleep(100);
      }
      expect(await reset(admin, 'gc.loadShare'), 200, 'reset');
    } finally {
      await replica.close();
    }
  });

  test('errors are JSON with codes', async () => {
    assert.equal(errorCode(await put(admin, 'gc.graceSeconds', -1)), 'BAD_REQUEST');
  });
});
