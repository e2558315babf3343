import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { eventFor, pullInfo } from './events.ts';
import { sendWebhook } from './send.ts';
import { signBody, verifySignature } from './signature.ts';
import { checkTargetUrl, isPrivateAddress } from './target.ts';
import { backoffMs } from './worker.ts';

test('signature: GitHub X-Hub-Signature-256 format, verified in constant time', () => {
  // The value GitHub documents for secret "It's a Secret to Everybody" and body "Hello, World!".
  assert.equal(signBody("It's a Secret to Everybody", 'Hello, World!'), 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17');
  assert.ok(verifySignature('k'.repeat(16), '{"a":1}', signBody('k'.repeat(16), '{"a":1}')));
  assert.equal(verifySignature('k'.repeat(16), '{"a":2}', signBody('k'.repeat(16), '{"a":1}')), false);
  assert.equal(verifySignature('k'.repeat(16), '{"a":1}', undefined), false);
  assert.equal(verifySignature('k'.repeat(16), '{"a":1}', 'sha256=short'), false);
});

test('private targets: loopback, private, link-local, metadata, CGNAT, mapped IPv6', () => {
  for (const a of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', 'fe80::1', 'fd00:ec2::254', '::ffff:127.0.0.1', '224.0.0.1']) {
    assert.ok(isPrivateAddress(a), a);
  }
  for (const a of ['93.184.216.34', '8.8.8.8', '2606:4700::1111', '::ffff:8.8.8.8']) assert.equal(isPrivateAddress(a), false, a);
  assert.throws(() => checkTargetUrl('http://169.254.169.254/latest/meta-data', false), /allowPrivateTargets/);
  assert.throws(() => checkTargetUrl('http://[::1]:8080/', false), /allowPrivateTargets/);
  assert.throws(() => checkTargetUrl('ftp://example.com/', false), /http or https/);
  assert.throws(() => checkTargetUrl('http://user:pw@example.com/', false), /credentials/);
  assert.equal(checkTargetUrl('http://127.0.0.1:9/', true).port, '9');
  assert.equal(checkTargetUrl('https://hooks.example.com/x', false).hostname, 'hooks.example.com');
});

test('a name resolving to a private address is refused at connection time', async () => {
  const r = await sendWebhook({ url: 'http://localhost:9/hook', body: '{}', headers: {}, timeoutMs: 2000, allowPrivate: false });
  assert.equal(r.outcome, 'refused');
  assert.match(r.error ?? '', /localhost resolves to .* private/);
});

test('send: redirects are not followed; slow receivers time out; the excerpt is bounded', async () => {
  const server = createServer((req, res) => {
    if (req.url === '/redirect') return res.writeHead(302, { location: 'http://169.254.169.254/' }).end();
    if (req.url === '/slow') return void setTimeout(() => res.end('late'), 2000);
    res.writeHead(500).end('x'.repeat(100_000));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const redirect = await sendWebhook({ url: `${base}/redirect`, body: '{}', headers: {}, timeoutMs: 2000, allowPrivate: true });
    assert.equal(redirect.outcome, 'http_error');
    assert.equal(redirect.status, 302);
    assert.match(redirect.error ?? '', /not followed/);
    const slow = await sendWebhook({ url: `${base}/slow`, body: '{}', headers: {}, timeoutMs: 200, allowPrivate: true });
    assert.equal(slow.outcome, 'timeout');
    assert.ok(slow.ms < 1000);
    const big = await sendWebhook({ url: `${base}/big`, body: '{}', headers: {}, timeoutMs: 2000, allowPrivate: true });
    assert.equal(big.status, 500);
    assert.equal(big.excerpt?.length, 1024);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

test('backoff doubles from the base, capped, with jitter', () => {
  const mid = () => 0.5;
  assert.equal(backoffMs(1, 10_000, 3_600_000, mid), 10_000);
  assert.equal(backoffMs(2, 10_000, 3_600_000, mid), 20_000);
  assert.equal(backoffMs(5, 10_000, 3_600_000, mid), 160_000);
  assert.equal(backoffMs(30, 10_000, 3_600_000, mid), 3_600_000);
  assert.equal(backoffMs(1, 10_000, 3_600_000, () => 0), 8_000);
  assert.equal(backoffMs(1, 10_000, 3_600_000, () => 1), 12_000);
});

test('one event per change: a chart is package.published, or chart.published for hooks that want only charts', () => {
  assert.equal(eventFor(['package.published', 'chart.published'], 'package.published', 'chart'), 'package.published');
  assert.equal(eventFor(['chart.published'], 'package.published', 'chart'), 'chart.published');
  assert.equal(eventFor(['chart.published'], 'package.published', 'image'), null);
  assert.equal(eventFor(['tag.moved'], 'tag.moved', 'image'), 'tag.moved');
  assert.deepEqual(pullInfo('r.example', 'acme/charts/web', 'chart', '1.0.0_b.1', 'sha256:x')?.commands, ['helm pull oci://r.example/acme/charts/web --version 1.0.0+b.1']);
  assert.equal(pullInfo(null, 'acme/web', 'image', '1', null), null);
});
