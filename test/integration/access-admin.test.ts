/**
 * The first start creates the site administrator: with the configured password, or with a
 * generated one printed once on stderr (never logged), and never again on later starts.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import pino from 'pino';
import { verifyPassword } from '../../src/auth/passwords.ts';
import { loadConfig } from '../../src/config/load.ts';
import { openSqlite } from '../../src/metadata/metadata.ts';
import { ensureAdmin } from '../../src/services/access.ts';

function capture(): { logger: pino.Logger; text: () => string } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(c: Buffer, _e, done) {
      chunks.push(c.toString());
      done();
    },
  });
  return { logger: pino({ level: 'trace' }, sink), text: () => chunks.join('') };
}

async function withStderr<T>(fn: () => Promise<T>): Promise<{ result: T; stderr: string }> {
  const original = process.stderr.write.bind(process.stderr);
  let out = '';
  process.stderr.write = ((chunk: string | Uint8Array) => {
    out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  }) as typeof process.stderr.write;
  try {
    return { result: await fn(), stderr: out };
  } finally {
    process.stderr.write = original;
  }
}

test('without a configured password, one is generated, printed once on stderr, and never logged', async () => {
  const metadata = openSqlite(':memory:');
  await metadata.migrate();
  try {
    const config = loadConfig({ env: {}, overrides: { auth: { admin: { username: 'root' } } } });
    const { logger, text } = capture();
    const first = await withStderr(() => ensureAdmin(config.auth, metadata, () => 1000, logger));
    const m = /username "root", password "([^"]+)"/.exec(first.stderr);
    assert.ok(m?.[1], first.stderr);
    const password = m[1];
    assert.ok(password.length >= 20, 'a long random password');
    const account = await metadata.accounts.get('root');
    assert.equal(account?.isAdmin, true);
    assert.equal(await verifyPassword(password, account?.passwordHash ?? ''), true, 'the printed password is the one stored');
    assert.equal(text().includes(password), false, 'not in the logs');
    assert.match(text(), /created admin account/);
    const audit = await metadata.audit.list({ limit: 10 });
    assert.ok(audit.some((e) => e.action === 'user.create' && e.target === 'root' && e.actor === 'system'));

    // A later start finds accounts and neither creates nor prints anything.
    const second = await withStderr(() => ensureAdmin(config.auth, metadata, () => 2000, logger));
    assert.equal(second.stderr, '');
    assert.equal((await metadata.accounts.list('user')).length, 1);
  } finally {
    await metadata.close();
  }
});

test('a configured password (WHARF_AUTH__ADMIN__PASSWORD) is used and not printed', async () => {
  const metadata = openSqlite(':memory:');
  await metadata.migrate();
  try {
    const config = loadConfig({ env: { WHARF_AUTH__ADMIN__PASSWORD: 'from-the-environment' } });
    const { logger, text } = capture();
    const { stderr } = await withStderr(() => ensureAdmin(config.auth, metadata, () => 1000, logger));
    assert.equal(stderr, '');
    const account = await metadata.accounts.get('admin');
    assert.equal(await verifyPassword('from-the-environment', account?.passwordHash ?? ''), true);
    assert.equal(text().includes('from-the-environment'), false);
  } finally {
    await metadata.close();
  }
});
