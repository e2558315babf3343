/**
 * Failed sign-ins are throttled per account AND source address, so a guesser elsewhere cannot
 * lock the owner out (issue 10): the owner's usual address (one it signed in from) is slowed
 * down, never shut out, even while the account is under attack from other addresses; personal
 * access tokens and web sessions keep working; refusals say how long to wait. On both profiles.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildTestApp, type TestApp } from '../helpers/app.ts';

const HOME = '198.51.100.10';
const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

describe('sign-in throttling per account and address', () => {
  let app: TestApp;
  const clock = { now: Date.UTC(2030, 0, 1) };
  let pat = '';
  let cookie = '';

  const login = async (password: string, from: string) => {
    const res = await app.app.inject({ url: '/token?service=wharf', headers: { authorization: basic('alice', password) }, remoteAddress: from });
    assert.ok(res.statusCode < 500, res.body);
    return res;
  };

  before(async () => {
    app = await buildTestApp(
      {
        auth: {
          enabled: 'true',
          admin: { password: 'admin-password' },
          loginRateLimit: { windowSeconds: '900', perAccountAddress: '3', knownAddressMaxDelaySeconds: '30', perAccount: '5', perAddress: '1000' },
        },
      },
      { clock: () => clock.now },
    );
    const admin = basic('admin', 'admin-password');
    const created = await app.app.inject({ method: 'POST', url: '/api/v1/users', headers: { authorization: admin }, payload: { username: 'alice', password: 'alice-password' } });
    assert.equal(created.statusCode, 201, created.body);
    // Alice signs in from home: that address is now known for her account.
    assert.equal((await login('alice-password', HOME)).statusCode, 200);
    const token = await app.app.inject({ method: 'POST', url: '/api/v1/user/tokens', headers: { authorization: basic('alice', 'alice-password') }, remoteAddress: HOME, payload: { name: 'ci', scopes: ['read:packages'] } });
    pat = (JSON.parse(token.body) as { token: string }).token;
    const session = await app.app.inject({ method: 'POST', url: '/api/v1/session', payload: { username: 'alice', password: 'alice-password' }, remoteAddress: HOME });
    cookie = String(session.headers['set-cookie']).split(';')[0] ?? '';
  });
  after(async () => app.close());

  test('guessing from many addresses shuts out new addresses only: home, tokens and sessions keep working', async () => {
    // Ten addresses, two wrong guesses each: over the account's limit for unknown addresses.
    for (let i = 0; i < 10; i++) for (let j = 0; j < 2; j++) await login(`guess-${i}-${j}`, `203.0.113.${i + 1}`);
    const stranger = await login('alice-password', '203.0.113.200');
    assert.equal(stranger.statusCode, 429, 'even the right password, from an address alice never used');
    const message = (JSON.parse(stranger.body) as { errors: { message: string }[] }).errors[0]?.message ?? '';
    assert.match(message, /too many failed sign-in attempts for alice from addresses it has not signed in from/);
    assert.match(message, /try again in \d+ (seconds|minutes)/, 'the message says how long to wait');
    assert.ok(Number(stranger.headers['retry-after']) > 0);

    assert.equal((await login('alice-password', HOME)).statusCode, 200, 'the owner at home is not locked out');
    assert.equal((await app.app.inject({ url: '/v2/', headers: { authorization: `Bearer ${pat}` }, remoteAddress: '203.0.113.201' })).statusCode, 200, 'a PAT works from anywhere');
    assert.equal((await app.app.inject({ url: '/api/v1/user', headers: { cookie }, remoteAddress: '203.0.113.202' })).statusCode, 200, 'a session keeps working');
    const web = await app.app.inject({ method: 'POST', url: '/api/v1/session', payload: { username: 'alice', password: 'alice-password' }, remoteAddress: HOME });
    assert.equal(web.statusCode, 201, 'web sign-in from home');
  });

  test('wrong passwords from home slow down (growing, capped waits), never lock out', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await login(`typo-${i}`, HOME)).statusCode, 401, `free failure ${i + 1}`);
    let waited = 0;
    for (let round = 0; round < 8; round++) {
      const refused = await login('alice-password', HOME);
      assert.equal(refused.statusCode, 429, refused.body);
      const retry = Number(refused.headers['retry-after']);
      assert.ok(retry >= 1 && retry <= 30, `a known address waits at most 30 s, not ${retry}`);
      assert.match(refused.body, new RegExp(`try again in ${retry} seconds?`));
      clock.now += retry * 1000;
      waited += retry;
      // Another typo after the wait: the next wait doubles, up to the cap.
      assert.equal((await login(`typo-again-${round}`, HOME)).statusCode, 401);
    }
    assert.ok(waited < 8 * 30 + 1);
    const refused = await login('alice-password', HOME);
    clock.now += Number(refused.headers['retry-after']) * 1000;
    assert.equal((await login('alice-password', HOME)).statusCode, 200, 'the right password after the wait');
    // ... and a success clears the slow-down.
    assert.equal((await login('typo-x', HOME)).statusCode, 401);
    assert.equal((await login('alice-password', HOME)).statusCode, 200);
  });

  test('concurrent wrong guesses are all counted (no lost updates)', async () => {
    const from = '192.0.2.77';
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => login(`parallel-${i}`, from)));
    const verified = answers.filter((a) => a.statusCode === 401).length;
    assert.equal(verified + answers.filter((a) => a.statusCode === 429).length, 8);
    const row = await app.metadata.loginFailures.get(`pair:alice\n${from}`, clock.now, 900_000);
    assert.equal(row.count, verified, 'every verified failure counted once');
  });

  test('concurrent sign-ins with one password share one verification: all succeed, one login recorded', async () => {
    const from = '192.0.2.55';
    clock.now += 3_600_000; // past the credential cache of earlier sign-ins
    const before = (await app.metadata.audit.list({ limit: 1000, actor: 'alice', action: 'login' })).length;
    const answers = await Promise.all(Array.from({ length: 12 }, () => login('alice-password', from)));
    assert.deepEqual(
      answers.map((a) => a.statusCode),
      answers.map(() => 200),
    );
    const rows = (await app.metadata.audit.list({ limit: 1000, actor: 'alice', action: 'login' })).length;
    assert.equal(rows - before, 1, 'one verification, so one login row, not one per request');
  });

  test('a throttled pull shows the wait in the 401 message containers/image prints', async () => {
    const from = '192.0.2.99';
    for (let i = 0; i < 3; i++) await login(`pull-${i}`, from);
    const res = await app.app.inject({ url: '/token?service=wharf&scope=repository:alice/app:pull', headers: { authorization: basic('alice', 'alice-password') }, remoteAddress: from });
    assert.equal(res.statusCode, 401, res.body);
    assert.match(res.body, /try again in/);
    assert.ok(Number(res.headers['retry-after']) > 0);
  });
});
