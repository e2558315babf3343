/**
 * Server CPU time per request of two checkouts, side by side: both servers run at once and get
 * alternating batches (manifest GETs by tag, 16 MiB blob GETs), and each one's utime+stime is read
 * from /proc around its batches. On a shared, loaded machine throughput swings by 2× from run to
 * run; CPU time per request, interleaved, stays comparable.
 *
 *   node bench/cpu-ab.ts <base checkout> <new checkout> [rounds]
 *
 * e.g. `git archive main | tar -x -C /tmp/base && ln -s $PWD/node_modules /tmp/base/` for the base.
 * Both checkouts must have been built (`node scripts/build.ts` there). Not part of `npm run bench`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './servers.ts';

interface Srv { name: string; child: ChildProcess; base: string; dataDir: string; agent: http.Agent; layer: string; cpu: { manifest: number; blob: number } }

async function start(name: string, root: string, extra: Record<string, string> = {}): Promise<Srv> {
  const dataDir = mkdtempSync(join(tmpdir(), 'cpu-ab-'));
  const port = await freePort();
  const child = spawn(join(root, 'bin/wharf'), ['serve'], {
    env: { PATH: process.env['PATH'], WHARF_BUILD: '0', WHARF_SERVER__WORKERS: '1', ...extra, WHARF_SERVER__PORT: String(port), WHARF_SERVER__HOST: '127.0.0.1', WHARF_DATA_DIR: dataDir, WHARF_LOG__LEVEL: 'warn', WHARF_AUTH__ENABLED: 'false' },
    stdio: 'ignore',
  });
  return { name, child, base: `http://127.0.0.1:${port}`, dataDir, agent: new http.Agent({ keepAlive: true, maxSockets: 16 }), layer: '', cpu: { manifest: 0, blob: 0 } };
}

function req(s: Srv, method: string, path: string, body?: Buffer, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const r = http.request(`${s.base}${path}`, { method, agent: s.agent, headers: { ...headers, ...(body ? { 'content-length': String(body.length) } : {}) } }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    r.on('error', reject);
    r.end(body);
  });
}

function ticks(s: Srv): number {
  const f = readFileSync(`/proc/${s.child.pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return Number(f[11]) + Number(f[12]);
}

async function push(s: Srv, data: Buffer): Promise<string> {
  const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
  const st = await req(s, 'POST', '/v2/bench/app/blobs/uploads/');
  const put = await req(s, 'PUT', `${String(st.headers.location)}?digest=${digest}`, data, { 'content-type': 'application/octet-stream' });
  if (put.status !== 201) throw new Error(`push ${put.status}`);
  return digest;
}

async function batch(s: Srv, n: number, conc: number, one: () => Promise<unknown>): Promise<number> {
  let next = 0;
  const t0 = ticks(s);
  await Promise.all(Array.from({ length: conc }, async () => { while (next++ < n) await one(); }));
  return (ticks(s) - t0) * 10; // ms
}

const [baseRoot, newRoot] = [process.argv[2], process.argv[3]];
if (!baseRoot || !newRoot) throw new Error('usage: node bench/cpu-ab.ts <base checkout> <new checkout> [rounds]');
const servers = [await start('base', baseRoot), await start('new', newRoot)];
try {
  for (const s of servers) {
    for (let i = 0; i < 150; i++) { try { if ((await req(s, 'GET', '/healthz')).status === 200) break; } catch {} await new Promise((r) => setTimeout(r, 200)); }
    const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
    const layer = Buffer.alloc(16 * 1024 * 1024, 3);
    const cd = await push(s, config);
    s.layer = await push(s, layer);
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: cd, size: config.length }, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: s.layer, size: layer.length }] }));
    const put = await req(s, 'PUT', '/v2/bench/app/manifests/1.0', manifest, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
    if (put.status !== 201) throw new Error(`manifest ${put.status}`);
    await batch(s, 3000, 16, () => req(s, 'GET', '/v2/bench/app/manifests/1.0'));
    await batch(s, 3, 1, () => req(s, 'GET', `/v2/bench/app/blobs/${s.layer}`));
  }
  const rounds = Number(process.argv[4] ?? 8);
  const M = 3000, B = 8;
  for (let r = 0; r < rounds; r++) {
    const order = [...servers.slice(r % servers.length), ...servers.slice(0, r % servers.length)];
    for (const s of order) s.cpu.manifest += await batch(s, M, 16, () => req(s, 'GET', '/v2/bench/app/manifests/1.0'));
    for (const s of order) s.cpu.blob += await batch(s, B, 2, () => req(s, 'GET', `/v2/bench/app/blobs/${s.layer}`));
  }
  for (const s of servers) {
    process.stdout.write(`${s.name}: manifest GET ${((s.cpu.manifest * 1000) / (rounds * M)).toFixed(1)} µs CPU/request; blob GET ${(s.cpu.blob / (rounds * B * 16) * 1000).toFixed(0)} µs CPU/MiB\n`);
  }
} finally {
  for (const s of servers) { s.child.kill('SIGTERM'); s.agent.destroy(); }
  await Promise.all(servers.map((s) => new Promise((r) => s.child.on('exit', r))));
  for (const s of servers) rmSync(s.dataDir, { recursive: true, force: true });
}
