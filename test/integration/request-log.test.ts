/**
 * Request log lines, captured from pino in-process over a real socket: who called (the principal
 * the auth gate resolved, a token's id, never a secret), from where (X-Forwarded-For believed only
 * from server.trustedProxies), the user agent and the bytes in and out; the "request rejected"
 * line carries one `msg`; `log.format: pretty` prints for a terminal.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { loadConfig } from '../../src/config/load.ts';
import { digestOf } from '../../src/oci/digest.ts';
import { buildTestApp, type TestApp } from '../helpers/app.ts';

type Line = Record<string, unknown> & { msg: string; raw: string };

const PASSWORD = 'admin-password-for-logs';

async function startLogged(server: Record<string, unknown> = {}): Promise<{ wharf: TestApp; url: string; lines: Line[]; close(): Promise<void> }> {
  const lines: Line[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const raw of chunk.toString('utf8').split('\n')) if (raw.trim() !== '') lines.push({ ...(JSON.parse(raw) as Line), raw });
      done();
    },
  });
  const wharf = await buildTestApp({ auth: { enabled: 'true', admin: { password: PASSWORD } }, server: server as never }, { logger: pino({ level: 'debug' }, sink) });
  const url = await wharf.app.listen({ host: '127.0.0.1', port: 0 });
  return { wharf, url, lines, close: () => wharf.close() };
}

const basic = `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}`;

/** The request line of the response that carried this x-request-id. */
function requestLine(lines: Line[], res: Response): Line {
  const id = res.headers.get('x-request-id');
  const line = lines.find((l) => l.msg === 'request' && l['reqId'] === id);
  assert.ok(line, `no request line for ${id}`);
  return line;
}

describe('request log', () => {
  let s: Awaited<ReturnType<typeof startLogged>>;
  before(async () => {
    s = await startLogged();
  });
  after(async () => s?.close());

  test('names the principal, client, user agent and bytes of a push and a pull', async () => {
    const layer = Buffer.alloc(64 * 1024, 7);
    const digest = digestOf(layer);
    const start = await fetch(`${s.url}/v2/admin/logs/blobs/uploads/`, { method: 'POST', headers: { authorization: basic, 'user-agent': 'log-test/1.0' } });
    assert.equal(start.status, 202);
    const put = await fetch(`${s.url}${start.headers.get('location')}?digest=${digest}`, {
      method: 'PUT',
      headers: { authorization: basic, 'user-agent': 'log-test/1.0', 'content-type': 'application/octet-stream' },
      body: layer,
    });
    assert.equal(put.status, 201, await put.text());
    const get = await fetch(`${s.url}/v2/admin/logs/blobs/${digest}`, { headers: { authorization: basic, 'user-agent': 'log-test/1.0' } });
    assert.equal(Buffer.from(await get.arrayBuffer()).length, layer.length);
    await new Promise((r) => setTimeout(r, 50));

    const push = requestLine(s.lines, put);
    assert.equal(push['principal'], 'admin');
    assert.equal(push['principalKind'], 'user');
    assert.equal(push['auth'], 'basic');
    assert.equal(push['client'], '127.0.0.1');
    assert.equal(push['userAgent'], 'log-test/1.0');
    assert.equal(push['repo'], 'admin/logs');
    assert.equal(push['status'], 201);
    assert.ok(Number(push['bytesIn']) >= layer.length && Number(push['bytesIn']) < layer.length + 2048, `bytesIn ${String(push['bytesIn'])}`);
    assert.ok(Number(push['bytesOut']) > 0 && Number(push['bytesOut']) < 2048);
    const pull = requestLine(s.lines, get);
    assert.ok(Number(pull['bytesOut']) >= layer.length && Number(pull['bytesOut']) < layer.length + 2048, `bytesOut ${String(pull['bytesOut'])}`);
    assert.ok(Number(pull['bytesIn']) > 0 && Number(pull['bytesIn']) < 2048);
    for (const l of [push, pull]) assert.ok(!l.raw.includes(PASSWORD) && !l.raw.includes(basic), 'no credential in the log');
  });

  test('a personal access token is named by its id, never its secret; /token names who got a token', async () => {
    const actor = { kind: 'user' as const, name: 'admin', admin: true };
    const { token, secret } = await s.wharf.access.personalTokens.create(actor, { name: 'logs', scopes: ['read:packages'] });
    const res = await fetch(`${s.url}/v2/`, { headers: { authorization: `Bearer ${secret}` } });
    assert.equal(res.status, 200);
    const tok = await fetch(`${s.url}/token?service=x&scope=repository:admin/logs:pull`, { headers: { authorization: basic } });
    assert.equal(tok.status, 200);
    await new Promise((r) => setTimeout(r, 50));
    const line = requestLine(s.lines, res);
    assert.equal(line['principal'], 'admin');
    assert.equal(line['tokenId'], token.id);
    assert.equal(line['auth'], 'bearer');
    assert.ok(!line.raw.includes(secret));
    const tokenLine = requestLine(s.lines, tok);
    assert.equal(tokenLine['principal'], 'admin');
    assert.ok(!tokenLine.raw.includes(PASSWORD));
  });

  test('anonymous callers are named anonymous; a rejected request has one msg and a reason', async () => {
    const res = await fetch(`${s.url}/v2/admin/logs/manifests/latest`);
    assert.equal(res.status, 401);
    await new Promise((r) => setTimeout(r, 50));
    const id = res.headers.get('x-request-id');
    const rejected = s.lines.find((l) => l.msg === 'request rejected' && l['reqId'] === id);
    assert.ok(rejected, 'request rejected line');
    assert.equal(rejected.raw.match(/"msg":/g)?.length, 1, rejected.raw);
    assert.equal(rejected['reason'], 'authentication required');
    assert.equal(rejected['code'], 'UNAUTHORIZED');
    assert.equal(requestLine(s.lines, res)['principal'], 'anonymous');
  });
});

// Which address a log line names does not depend on the storage profile: the matrix runs once, in the embedded pass.
const embeddedOnly = process.env['WHARF_TEST_PROFILE'] === 'scale' ? 'runs in the embedded pass' : false;

describe('request log: client address and trusted proxies', { skip: embeddedOnly }, () => {
  const cases: { name: string; server: Record<string, unknown>; xff: string; client: string }[] = [
    { name: 'no proxy trusted: the peer', server: {}, xff: '203.0.113.7', client: '127.0.0.1' },
    { name: 'a trusted proxy: its X-Forwarded-For', server: { trustedProxies: ['127.0.0.1'] }, xff: '203.0.113.7', client: '203.0.113.7' },
    { name: 'a trusted CIDR, from the environment as a list', server: { trustedProxies: '10.0.0.0/8, 127.0.0.0/8' }, xff: '203.0.113.7', client: '203.0.113.7' },
    { name: 'an untrusted peer: its header is ignored', server: { trustedProxies: ['10.0.0.0/8'] }, xff: '203.0.113.7', client: '127.0.0.1' },
    { name: 'a chain: the first hop not trusted', server: { trustedProxies: ['127.0.0.1', '198.51.100.0/24'] }, xff: '192.0.2.9, 203.0.113.7, 198.51.100.2', client: '203.0.113.7' },
    { name: 'the old trustProxy: true still believes any peer', server: { trustProxy: true }, xff: '192.0.2.9, 203.0.113.7', client: '192.0.2.9' },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const s = await startLogged(c.server);
      try {
        const res = await fetch(`${s.url}/healthz`, { headers: { 'x-forwarded-for': c.xff } });
        assert.equal(res.status, 200);
        await new Promise((r) => setTimeout(r, 50));
        assert.equal(requestLine(s.lines, res)['client'], c.client);
      } finally {
        await s.close();
      }
    });
  }

  test('an entry that is no address or CIDR is a configuration error', () => {
    assert.throws(() => loadConfig({ env: { WHARF_SERVER__TRUSTED_PROXIES: '10.0.0.0/33' } }), /server\.trustedProxies[\s\S]*CIDR/);
    assert.throws(() => loadConfig({ env: {}, overrides: { server: { trustedProxies: ['proxy.example'] } } }), /CIDR/);
    assert.deepEqual(loadConfig({ env: { WHARF_SERVER__TRUSTED_PROXIES: 'loopback,fd00::/8' } }).server.trustedProxies, ['loopback', 'fd00::/8']);
  });
});

describe('log.format pretty', { skip: embeddedOnly }, () => {
  test('prints readable lines, not JSON', () => {
    const script = `
      import { createLogger } from './src/main.ts';
      import { loadConfig } from './src/config/load.ts';
      createLogger(loadConfig({ env: { WHARF_LOG__FORMAT: 'pretty' } })).info({ repo: 'acme/web' }, 'pretty line');`;
    const out = execFileSync(process.execPath, ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', script], {
      cwd: join(import.meta.dirname, '..', '..'),
      encoding: 'utf8',
    });
    assert.match(out, /INFO.*pretty line/);
    assert.match(out, /repo: "acme\/web"/);
    assert.throws(() => JSON.parse(out.trim()));
  });
});
