/**
 * server.workers: one primary and N worker processes on one port (src/cli/cluster.ts). A chunked
 * upload whose requests land on different workers completes; /metrics counts every worker's
 * requests whichever worker answers the scrape; a worker killed with -9 is replaced; SIGHUP stops
 * nobody; SIGTERM drains them all; and the workers do not outlive a primary killed with -9.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type StartedServer, startWharf } from '../helpers/server.ts';

/** The pids whose parent is `pid` (from /proc). */
function childrenOf(pid: number): number[] {
  const raw = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return raw === '' ? [] : raw.split(/\s+/).map(Number);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until<T>(what: string, f: () => T | undefined | false, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

const start = (env: Record<string, string> = {}) => startWharf({ env: { WHARF_SERVER__WORKERS: '2', ...env }, readyTimeoutMs: 120_000 });

describe('server.workers = 2', () => {
  let server: StartedServer;
  let auth: string;
  // A new connection per request: the primary deals connections to the workers in turn.
  const call = (path: string, init: RequestInit = {}) =>
    fetch(`${server.url}${path}`, { ...init, headers: { connection: 'close', authorization: auth, ...(init.headers as Record<string, string> | undefined) } });

  before(async () => {
    server = await start();
    auth = `Basic ${Buffer.from(`${server.admin?.username}:${server.admin?.password}`).toString('base64')}`;
  });
  after(async () => server.stop());

  test('two worker processes serve the port, and an upload spread over them completes', async () => {
    const pid = server.pid ?? 0;
    await until('two workers', () => childrenOf(pid).length === 2);
    const blob = randomBytes(3 * 1024 * 1024);
    const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
    const started = await call('/v2/admin/spread/blobs/uploads/', { method: 'POST' });
    assert.equal(started.status, 202);
    let location = started.headers.get('location') ?? '';
    const chunk = 1024 * 1024;
    for (let off = 0; off < blob.length; off += chunk) {
      const part = blob.subarray(off, off + chunk);
      const res = await call(location, { method: 'PATCH', body: part, headers: { 'content-type': 'application/octet-stream', 'content-range': `${off}-${off + part.length - 1}` } });
      assert.equal(res.status, 202, await res.text());
      location = res.headers.get('location') ?? location;
    }
    const put = await call(`${location}${location.includes('?') ? '&' : '?'}digest=${digest}`, { method: 'PUT' });
    assert.equal(put.status, 201, await put.text());
    for (let i = 0; i < 4; i++) {
      const got = await call(`/v2/admin/spread/blobs/${digest}`);
      assert.equal(got.status, 200);
      assert.equal(createHash('sha256').update(Buffer.from(await got.arrayBuffer())).digest('hex'), digest.slice(7));
    }
  });

  test('concurrent pushes land on both workers and all succeed (SQLite written by two processes)', async () => {
    const push = async (i: number) => {
      const repo = `admin/concurrent-${i % 4}`;
      const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, n: i }));
      const layer = randomBytes(64 * 1024);
      const descs = [];
      for (const [blob, mediaType] of [[config, 'application/vnd.oci.image.config.v1+json'], [layer, 'application/vnd.oci.image.layer.v1.tar']] as const) {
        const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
        const res = await call(`/v2/${repo}/blobs/uploads/?digest=${digest}`, { method: 'POST', body: blob, headers: { 'content-type': 'application/octet-stream' } });
        assert.equal(res.status, 201, await res.text());
        descs.push({ mediaType, digest, size: blob.length });
      }
      const manifest = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: descs[0], layers: [descs[1]] });
      const put = await call(`/v2/${repo}/manifests/v${i}`, { method: 'PUT', body: manifest, headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } });
      assert.equal(put.status, 201, await put.text());
    };
    await Promise.all(Array.from({ length: 24 }, (_, i) => push(i)));
    for (let r = 0; r < 4; r++) {
      const tags = (await (await call(`/v2/admin/concurrent-${r}/tags/list`)).json()) as { tags: string[] };
      assert.equal(tags.tags.length, 6, JSON.stringify(tags));
    }
  });

  test("/metrics counts every worker's requests, whichever worker answers", async () => {
    const route = '/v2/admin/metrics-probe/tags/list';
    const n = 10;
    for (let i = 0; i < n; i++) assert.equal((await call(route)).status, 404);
    for (let scrape = 0; scrape < 3; scrape++) {
      const text = await (await call('/metrics')).text();
      const line = text.split('\n').find((l) => l.startsWith('wharf_http_requests_total{route="/v2/<name>/tags/list",method="GET",status_class="4xx"}'));
      assert.ok(line, 'the tags/list series');
      assert.equal(Number(line.split(' ').at(-1)), n, line);
    }
  });

  test('a worker killed with -9 is replaced, and the server keeps answering', async () => {
    const pid = server.pid ?? 0;
    const [victim] = childrenOf(pid);
    assert.ok(victim);
    process.kill(victim, 'SIGKILL');
    const replaced = await until('a replacement worker', () => {
      const now = childrenOf(pid);
      return now.length === 2 && !now.includes(victim) ? now : undefined;
    });
    assert.equal(replaced.length, 2);
    for (let i = 0; i < 6; i++) assert.equal((await call('/v2/')).status, 200);
    assert.match(await server.logs(), /worker died; starting another/);
  });

  test('SIGHUP (TLS reload, systemd reload) stops neither the primary nor a worker', async () => {
    const pid = server.pid ?? 0;
    const before = childrenOf(pid).sort();
    process.kill(pid, 'SIGHUP');
    await sleep(1000);
    assert.equal(alive(pid), true, 'the primary lives');
    assert.deepEqual(childrenOf(pid).sort(), before, 'the same workers');
    assert.equal((await call('/v2/')).status, 200);
  });

  test('SIGTERM stops the primary and every worker', async () => {
    const pid = server.pid ?? 0;
    const workers = childrenOf(pid);
    const status = await server.kill('SIGTERM');
    assert.equal(status.code, 0, JSON.stringify(status));
    for (const w of workers) assert.equal(alive(w), false, `worker ${w} stopped`);
  });
});

test('workers do not outlive a primary killed with -9', async () => {
  const server = await start();
  try {
    const pid = server.pid ?? 0;
    const workers = await until('two workers', () => (childrenOf(pid).length === 2 ? childrenOf(pid) : undefined));
    await server.kill('SIGKILL');
    await until('the workers to exit', () => workers.every((w) => !alive(w)), 30_000);
  } finally {
    await server.stop().catch(() => undefined);
  }
});
