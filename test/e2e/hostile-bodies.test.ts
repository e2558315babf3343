/**
 * Hostile bodies against a started server (`bin/wharf serve`, as deployed): a seeded, fixed set of
 * cases — gzip bombs and deeply nested YAML in chart uploads and in pushed chart layers, garbage
 * archives, JSON nesting and width bombs as manifests and API bodies, oversized headers and
 * bodies, trickled bodies and headers — sent a few at a time while another client keeps pulling
 * a manifest. Asserts: every hostile request gets a 4xx (or, for a stalled connection, is
 * closed), every pull of the other client succeeds, and the server's peak RSS stays bounded.
 * Seed and count are fixed so a failure replays; WHARF_TEST_FUZZ_SEED overrides the seed.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { tarArchive } from '../helpers/charts.ts';
import { openSocket, rawExchange, requestHead } from '../helpers/raw-http.ts';
import { startWharf, type StartedServer } from '../helpers/server.ts';

const SEED = Number(process.env['WHARF_TEST_FUZZ_SEED'] ?? 20261202);
const CASES = 48;
const PARALLEL = 4;
/** Peak RSS allowed for the whole server process (its worker threads included). */
const RSS_LIMIT_MIB = 300;
const MiB = 1024 * 1024;

/** mulberry32: small, seedable, good enough to pick cases. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function statusKb(pid: number, key: 'VmHWM' | 'VmRSS'): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0);
}

function chartOf(chartYaml: string, extra: { path: string; body: Buffer }[] = []): Buffer {
  return gzipSync(tarArchive([{ path: 'c/Chart.yaml', body: chartYaml }, ...extra]), { level: 9 });
}

interface Outcome {
  kind: string;
  /**
   * The status; 'closed' when the server closed the connection without answering; 'not indexed'
   * for a hostile chart pushed over OCI (any artifact may be pushed; its chart record says why
   * it was refused).
   */
  result: number | 'closed' | 'not indexed';
}

describe('hostile request bodies', { timeout: 180_000 }, () => {
  let server: StartedServer;
  let auth: string;
  let pid: number;
  const bomb = chartOf('apiVersion: v2\nname: c\nversion: 1.0.0\n', [{ path: 'c/zeros', body: Buffer.alloc(120 * MiB) }]);

  before(async () => {
    server = await startWharf({
      env: {
        WHARF_SERVER__HEADERS_TIMEOUT_SECONDS: '2',
        WHARF_SERVER__BODY_TIMEOUT_SECONDS: '2',
        WHARF_CHARTS__PARSE_WORKERS: '2',
      },
    });
    pid = server.pid ?? 0;
    const admin = server.admin;
    assert.ok(admin && pid > 0);
    auth = `Basic ${Buffer.from(`${admin.username}:${admin.password}`).toString('base64')}`;
  });
  after(async () => server?.stop());

  const req = async (method: string, path: string, body?: Buffer | string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${server.url}${path}`, { method, headers: { authorization: auth, ...headers }, ...(body !== undefined ? { body } : {}) });
    return { status: res.status, text: await res.text() };
  };

  /** Pushes config + layer + manifest; returns the manifest's status. */
  async function push(repo: string, ref: string, configMediaType: string, config: Buffer, layerMediaType: string, layer: Buffer): Promise<number> {
    for (const blob of [config, layer]) {
      const r = await req('POST', `/v2/${repo}/blobs/uploads/?digest=${sha(blob)}`, blob, { 'content-type': 'application/octet-stream' });
      assert.equal(r.status, 201, r.text);
    }
    const manifest = JSON.stringify({
      schemaVersion: 2,
      config: { mediaType: configMediaType, digest: sha(config), size: config.length },
      layers: [{ mediaType: layerMediaType, digest: sha(layer), size: layer.length }],
    });
    return (await req('PUT', `/v2/${repo}/manifests/${ref}`, manifest, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' })).status;
  }

  /** A connection that stalls: the server must close it (no answer needed). */
  async function stalled(head: string, drip: string | null): Promise<'closed' | number> {
    const s = await openSocket(server.port);
    s.on('error', () => undefined);
    let answer: number | null = null;
    s.on('data', (d: Buffer) => {
      const m = /^HTTP\/1\.1 (\d{3})/.exec(d.toString('latin1'));
      if (m && answer === null) answer = Number(m[1]);
    });
    const closed = new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), 20_000);
      s.once('close', () => {
        clearTimeout(t);
        resolve(true);
      });
    });
    s.write(head);
    const timer = drip === null ? null : setInterval(() => !s.destroyed && s.write(drip), 250);
    try {
      assert.equal(await closed, true, `the server did not close a stalled connection: ${head.split('\r\n')[0]}`);
    } finally {
      if (timer) clearInterval(timer);
      s.destroy();
    }
    return answer ?? 'closed';
  }

  type Case = (rand: () => number) => Promise<Outcome>;
  const kinds: Record<string, Case> = {
    async 'gzip bomb (ChartMuseum)'() {
      return { kind: 'gzip bomb (ChartMuseum)', result: (await req('POST', '/api/admin/charts', bomb, { 'content-type': 'application/gzip' })).status };
    },
    async 'deep YAML (ChartMuseum)'(rand) {
      const n = 60 + Math.floor(rand() * 400);
      const yaml = `apiVersion: v2\nname: c\nversion: 1.0.0\ndescription: ${'[{'.repeat(n)}${'}]'.repeat(n)}\n`;
      return { kind: 'deep YAML (ChartMuseum)', result: (await req('POST', '/api/admin/charts', chartOf(yaml))).status };
    },
    async 'YAML alias bomb (ChartMuseum)'() {
      const lines = ['apiVersion: v2', 'name: c', 'version: 1.0.0', 'x0: &x0 [a, a, a, a, a, a, a, a, a, a]'];
      for (let i = 1; i < 9; i++) lines.push(`x${i}: &x${i} [${Array(10).fill(`*x${i - 1}`).join(', ')}]`);
      return { kind: 'YAML alias bomb (ChartMuseum)', result: (await req('POST', '/api/admin/charts', chartOf(lines.join('\n')))).status };
    },
    async 'garbage archive (ChartMuseum)'(rand) {
      const size = 1 + Math.floor(rand() * 200_000);
      const junk = Buffer.alloc(size);
      for (let i = 0; i < size; i++) junk[i] = Math.floor(rand() * 256);
      const variants = [junk, gzipSync(junk), chartOf('apiVersion: v2\nname: c\nversion: 1.0.0\n').subarray(0, Math.floor(size / 4) + 10)];
      const body = variants[Math.floor(rand() * variants.length)] ?? junk;
      return { kind: 'garbage archive (ChartMuseum)', result: (await req('POST', '/api/admin/charts', body)).status };
    },
    async 'chart layer bomb (OCI push)'(rand) {
      const tag = `bomb-${Math.floor(rand() * 1e9)}`;
      const config = Buffer.from(JSON.stringify({ apiVersion: 'v2', name: 'c', version: '1.0.0' }));
      // The push itself is fine (any artifact is); indexing refuses the chart in a worker.
      const status = await push('admin/charts/c', tag, 'application/vnd.cncf.helm.config.v1+json', config, 'application/vnd.cncf.helm.chart.content.v1.tar+gzip', bomb);
      assert.equal(status, 201);
      const deep = chartOf(`apiVersion: v2\nname: c\nversion: 1.0.0\nx: ${'[{'.repeat(200)}${'}]'.repeat(200)}\n`);
      assert.equal(await push('admin/charts/c', `${tag}-yaml`, 'application/vnd.cncf.helm.config.v1+json', config, 'application/vnd.cncf.helm.chart.content.v1.tar+gzip', deep), 201);
      // Indexing follows the push; its record must say why the chart was refused.
      for (let i = 0; i < 100; i++) {
        const r = await req('GET', `/api/v1/charts/admin/charts/c/versions/${tag}`);
        if (r.status === 200) {
          const v = JSON.parse(r.text) as { status: string; error: string | null };
          assert.equal(v.status, 'failed');
          assert.match(v.error ?? '', /expands more than|larger than|took longer|too much memory/);
          return { kind: 'chart layer bomb (OCI push)', result: 'not indexed' };
        }
        await sleep(200);
      }
      return { kind: 'chart layer bomb (OCI push)', result: 500 };
    },
    async 'JSON nesting bomb (manifest)'(rand) {
      const n = Math.floor((1 + rand() * 3) * MiB);
      return { kind: 'JSON nesting bomb (manifest)', result: (await req('PUT', '/v2/admin/app/manifests/deep', '['.repeat(n) + ']'.repeat(n), { 'content-type': 'application/vnd.oci.image.manifest.v1+json' })).status };
    },
    async 'JSON width bomb (manifest)'(rand) {
      const n = Math.floor((0.5 + rand()) * 1.3 * MiB) / 3;
      const body = `{"schemaVersion":2,"x":[${Array(Math.floor(n)).fill('{}').join(',')}]}`;
      return { kind: 'JSON width bomb (manifest)', result: (await req('PUT', '/v2/admin/app/manifests/wide', body, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' })).status };
    },
    async 'oversized manifest'() {
      // Declared, and only partly sent: the server refuses by the declared length.
      const res = await rawExchange(server.port, {
        method: 'PUT',
        path: '/v2/admin/app/manifests/big',
        headers: { authorization: auth, 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'content-length': String(5 * MiB) },
        body: Buffer.alloc(64 * 1024, 0x20),
      });
      return { kind: 'oversized manifest', result: res.status };
    },
    async 'JSON bomb (API body)'(rand) {
      const n = 1000 + Math.floor(rand() * 50_000);
      return { kind: 'JSON bomb (API body)', result: (await req('POST', '/api/v1/orgs', `{"name":${'['.repeat(n)}${']'.repeat(n)}}`, { 'content-type': 'application/json' })).status };
    },
    async 'huge headers'(rand) {
      const size = 20_000 + Math.floor(rand() * 100_000);
      const res = await rawExchange(server.port, { method: 'GET', path: '/v2/', headers: { 'x-junk': 'a'.repeat(size) } });
      return { kind: 'huge headers', result: res.status };
    },
    async 'trickled body'() {
      const head = requestHead(server.host, { method: 'PUT', path: '/v2/admin/app/manifests/slow', headers: { authorization: auth, 'content-type': 'application/json', 'content-length': '100000' } });
      return { kind: 'trickled body', result: await stalled(head, '[') };
    },
    async 'headers, then nothing'() {
      const head = requestHead(server.host, { method: 'POST', path: '/api/admin/charts', headers: { authorization: auth, 'content-length': '5000000' } });
      return { kind: 'headers, then nothing', result: await stalled(head, null) };
    },
    async 'trickled headers'() {
      return { kind: 'trickled headers', result: await stalled('GET /v2/ HTTP/1.1\r\nHost: x\r\n', 'X-Drip: 1\r\n') };
    },
  };

  test(`${CASES} seeded hostile requests (seed ${SEED}) get 4xx or are cut, while pulls keep being served and RSS stays bounded`, async () => {
    // A small image the other client pulls throughout.
    assert.equal(await push('admin/probe', 'v1', 'application/vnd.oci.image.config.v1+json', Buffer.from('{}'), 'application/vnd.oci.image.layer.v1.tar', Buffer.from('probe')), 201);
    const baseline = statusKb(pid, 'VmRSS');

    const rand = prng(SEED);
    const names = Object.keys(kinds);
    // Every kind at least once, then random ones.
    const plan = Array.from({ length: CASES }, (_, i) => names[i < names.length ? i : Math.floor(rand() * names.length)] ?? names[0] ?? '');

    let fuzzing = true;
    const pulls = { ok: 0, failed: [] as string[] };
    const puller = (async () => {
      while (fuzzing) {
        try {
          const r = await fetch(`${server.url}/v2/admin/probe/manifests/v1`, { headers: { authorization: auth, accept: 'application/vnd.oci.image.manifest.v1+json' } });
          await r.arrayBuffer();
          if (r.status === 200) pulls.ok++;
          else pulls.failed.push(String(r.status));
        } catch (err) {
          pulls.failed.push((err as Error).message);
        }
        await sleep(20);
      }
    })();

    const outcomes: Outcome[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: PARALLEL }, async () => {
        while (next < plan.length) {
          const name = plan[next++] ?? '';
          const run = kinds[name];
          assert.ok(run);
          outcomes.push(await run(rand));
        }
      }),
    );
    fuzzing = false;
    await puller;

    const bad = outcomes.filter((o) => !(typeof o.result === 'string' || (o.result >= 400 && o.result < 500)));
    assert.deepEqual(bad, [], 'every hostile request is refused with a 4xx or cut');
    const byKind = new Map<string, Set<string>>();
    for (const o of outcomes) byKind.set(o.kind, (byKind.get(o.kind) ?? new Set()).add(String(o.result)));
    assert.equal(byKind.size, names.length, 'every kind ran');
    assert.deepEqual(pulls.failed, [], 'the other client was never refused');
    assert.ok(pulls.ok >= 10, `the other client kept being served (${pulls.ok} pulls)`);
    // The server is still well and its memory went back down.
    assert.equal((await req('GET', '/v2/admin/probe/manifests/v1')).status, 200);
    const peak = statusKb(pid, 'VmHWM') / 1024;
    const rss = statusKb(pid, 'VmRSS') / 1024;
    const summary = `peak RSS ${peak.toFixed(0)} MiB (limit ${RSS_LIMIT_MIB}), RSS ${(baseline / 1024).toFixed(0)} MiB before and ${rss.toFixed(0)} MiB after; ${pulls.ok} pulls; ${[...byKind].map(([k, v]) => `${k}: ${[...v].join('/')}`).join('; ')}`;
    process.stdout.write(`# hostile bodies: ${summary}\n`);
    assert.ok(peak < RSS_LIMIT_MIB, summary);
  });
});
