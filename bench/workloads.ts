/**
 * The workloads. Each runs the same requests against every server, alternating which server
 * goes first from one workload to the next, and records its figures in `Results`.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type BenchConfig, MiB, type LoadGen, type TargetName } from './config.ts';
import { HttpClient, pool } from './http.ts';
import { runLoad } from './loadgen.ts';
import {
  loadHeaders,
  countTags,
  imageManifest,
  listTags,
  pullBlob,
  pushFileChunked,
  pushFileMonolithic,
  pushImageBlobs,
  putManifest,
  smallImage,
  type FileBlob,
} from './registry-client.ts';
import { Results, median, type MetricDef } from './results.ts';
import type { Server } from './servers.ts';

export interface Context {
  cfg: BenchConfig;
  results: Results;
  servers: Server[];
  clients: Map<TargetName, HttpClient>;
  scratch: string;
  loadgen: LoadGen;
  log: (msg: string) => void;
  /** Flips per workload so neither server always goes first. */
  round: number;
}

function ordered(ctx: Context): Server[] {
  ctx.round++;
  return ctx.round % 2 === 1 ? [...ctx.servers] : [...ctx.servers].reverse();
}

function clientOf(ctx: Context, server: Server): HttpClient {
  const c = ctx.clients.get(server.name);
  if (!c) throw new Error(`no client for ${server.name}`);
  return c;
}

function message(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? 'error';
}

/** Runs `fn` for `server`; a failure is recorded against `defs` for that server only. */
async function guarded(ctx: Context, server: Server, defs: MetricDef[], fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    ctx.log(`  ${server.label}: FAILED ${message(err)}`);
    ctx.results.fail(defs, server.name, message(err));
  }
}

/** Flushes dirty pages so one transfer's writeback does not slow down the next one. */
function settle(): void {
  spawnSync('sync', { stdio: 'ignore', timeout: 120_000 });
}

const fmt = (n: number, d = 0) => n.toFixed(d);

/**
 * The row beside a throughput row with the server's CPU (all its processes) per unit of that
 * work, so a gain that only moves cost between client and server shows.
 */
function cpuDef(of: MetricDef, per: 'GiB' | 'request' | 'image', what = of.label.split(',')[0] ?? of.label): MetricDef {
  return per === 'GiB'
    ? { id: `${of.id}.cpu`, label: `${what}: server CPU per GiB`, unit: 's', better: 'lower', decimals: 2 }
    : { id: `${of.id}.cpu`, label: `${what}: server CPU per ${per}`, unit: 'µs', better: 'lower', decimals: 0 };
}

/** Runs `fn` and returns its result with the server CPU seconds it cost. */
async function costed<T>(server: Server, fn: () => Promise<T>): Promise<{ result: T; cpu: number }> {
  const c0 = server.cpuSeconds();
  const result = await fn();
  return { result, cpu: server.cpuSeconds() - c0 };
}

// ---------------------------------------------------------------------------------------------
// Blobs

export interface BlobFile {
  path: string;
  size: number;
  /** Distinct blobs as windows of one file, so every push stores new content. */
  variants: FileBlob[];
}

/**
 * One random file of `blobMiB` MiB plus 4 KiB per extra variant; variant k is the window at
 * offset k*4 KiB. Written once, hashed once per variant, then streamed from disk by every push.
 */
export async function prepareBlobFile(cfg: BenchConfig, dir: string, variants: number): Promise<BlobFile> {
  const size = cfg.blobMiB * MiB;
  const step = 4096;
  const total = size + step * (variants - 1);
  const path = join(dir, 'blob.bin');
  const hashes = Array.from({ length: variants }, () => createHash('sha256'));
  const fh = await open(path, 'w');
  try {
    const buf = Buffer.allocUnsafe(MiB);
    for (let off = 0; off < total; off += MiB) {
      const n = Math.min(MiB, total - off);
      const chunk = buf.subarray(0, n);
      randomFillSync(chunk);
      await fh.write(chunk, 0, n, off);
      // Feed each variant the part of this chunk that falls inside its window.
      for (let k = 0; k < variants; k++) {
        const ws = k * step;
        const from = Math.max(off, ws);
        const to = Math.min(off + n, ws + size);
        if (from < to) hashes[k]?.update(chunk.subarray(from - off, to - off));
      }
    }
  } finally {
    await fh.close();
  }
  return {
    path,
    size,
    variants: hashes.map((h, k) => ({ path, offset: k * step, size, digest: `sha256:${h.digest('hex')}` })),
  };
}

export async function blobWorkload(ctx: Context, blob: BlobFile): Promise<void> {
  const { cfg } = ctx;
  const label = `${cfg.blobMiB} MiB`;
  // Targets of issue 18: push stays ≥ 2× (monolithic, as the issue measured it); a pull whose
  // client hashes every byte ≥ 1.2× at ≤ 1.2× the server CPU per GiB.
  const mono: MetricDef = { id: 'blob.push.mono', label: `Blob push ${label}, monolithic (POST + PUT)`, unit: 'MiB/s', better: 'higher', decimals: 0, target: { op: '>=', ratio: 2, text: '≥ 2× Dist' }, limit: 'push' };
  const chunked: MetricDef = { id: 'blob.push.chunked', label: `Blob push ${label}, chunked (${cfg.chunkMiB} MiB PATCH)`, unit: 'MiB/s', better: 'higher', decimals: 0, target: { op: '>=', ratio: 1, text: '≥ 1× Dist' }, limit: 'push' };
  const pull: MetricDef = { id: 'blob.pull', label: `Blob pull ${label} (GET, client verifies sha256)`, unit: 'MiB/s', better: 'higher', decimals: 0, target: { op: '>=', ratio: 1.2, text: '≥ 1.2× Dist' }, limit: 'pull' };
  const cPull: MetricDef = { id: 'blob.pull.c-client', label: `Blob pull ${label}, C client (GET, curl into openssl dgst -sha256)`, unit: 'MiB/s', better: 'higher', decimals: 0, limit: 'pull' };
  const pullClientCpu: MetricDef = { id: 'blob.pull.client-cpu', label: 'Blob pull: bench client CPU per GiB (receive + sha256)', unit: 's', better: 'lower', decimals: 2 };
  const cpuTargets: Record<string, MetricDef['target']> = { 'blob.pull': { op: '<=', ratio: 1.2, text: '≤ 1.2× Dist' } };
  const repo = 'bench/blobs';
  const best = new Map<string, number>();
  const leastCpu = new Map<string, number>();
  const note = (def: MetricDef, server: Server, rate: number, cpuSeconds: number) => {
    const key = `${def.id}/${server.name}`;
    best.set(key, Math.max(best.get(key) ?? 0, rate));
    ctx.results.set(def, server.name, best.get(key) ?? rate, cfg.blobRuns > 1 ? `best of ${cfg.blobRuns}` : undefined);
    const perGiB = cpuSeconds / (cfg.blobMiB / 1024);
    leastCpu.set(key, Math.min(leastCpu.get(key) ?? Number.POSITIVE_INFINITY, perGiB));
    const cpuTarget = cpuTargets[def.id];
    const cpuRow = { ...cpuDef(def, 'GiB', def.label.replace(/ \d+ MiB/, '').replace(/ \(.*$/, '')), ...(cpuTarget ? { target: cpuTarget } : {}) };
    ctx.results.set(cpuRow, server.name, leastCpu.get(key) ?? perGiB, cfg.blobRuns > 1 ? `least of ${cfg.blobRuns}` : undefined);
  };
  const pushed = new Set<TargetName>();

  for (let run = 0; run < cfg.blobRuns; run++) {
    const monoBlob = blob.variants[2 * run];
    const chunkBlob = blob.variants[2 * run + 1];
    if (!monoBlob || !chunkBlob) throw new Error('not enough blob variants');
    for (const server of ordered(ctx)) {
      await guarded(ctx, server, [mono], async () => {
        settle();
        const t0 = performance.now();
        const { cpu } = await costed(server, () => pushFileMonolithic(clientOf(ctx, server), repo, monoBlob));
        const rate = cfg.blobMiB / ((performance.now() - t0) / 1000);
        note(mono, server, rate, cpu);
        if (run === 0) pushed.add(server.name);
        ctx.log(`  ${server.label}: monolithic push ${fmt(rate)} MiB/s`);
      });
    }
    for (const server of ordered(ctx)) {
      await guarded(ctx, server, [chunked], async () => {
        settle();
        const t0 = performance.now();
        const { result: chunks, cpu } = await costed(server, () => pushFileChunked(clientOf(ctx, server), repo, chunkBlob, cfg.chunkMiB * MiB));
        const rate = cfg.blobMiB / ((performance.now() - t0) / 1000);
        note(chunked, server, rate, cpu);
        ctx.log(`  ${server.label}: chunked push (${chunks} PATCH) ${fmt(rate)} MiB/s`);
      });
    }
  }
  const first = blob.variants[0];
  if (!first) return;
  for (let run = 0; run < cfg.blobRuns; run++) {
    for (const server of ordered(ctx)) {
      if (!pushed.has(server.name)) {
        ctx.results.fail([pull], server.name, 'no blob to pull (push failed)');
        continue;
      }
      await guarded(ctx, server, [pull], async () => {
        settle();
        const t0 = performance.now();
        const client0 = process.cpuUsage();
        const { result: bytes, cpu } = await costed(server, () => pullBlob(clientOf(ctx, server), repo, first.digest));
        if (bytes !== first.size) throw new Error(`pulled ${bytes} bytes, expected ${first.size}`);
        const seconds = (performance.now() - t0) / 1000;
        const rate = cfg.blobMiB / seconds;
        note(pull, server, rate, cpu);
        // The client receives and hashes every byte: at a core or more per GiB it is the client
        // that sets the rate, whichever server answers.
        const used = process.cpuUsage(client0);
        const clientSeconds = (used.user + used.system) / 1e6;
        ctx.results.set(pullClientCpu, server.name, clientSeconds / (cfg.blobMiB / 1024), `${fmt((100 * clientSeconds) / seconds)} % of one core`);
        ctx.log(`  ${server.label}: pull ${fmt(rate)} MiB/s`);
      });
      await guarded(ctx, server, [cPull], async () => {
        settle();
        const path = `/v2/${repo}/blobs/${first.digest}`;
        const { result, cpu } = await costed(server, async () => cClientPull(`${server.baseUrl}${path}`, await clientOf(ctx, server).authorization('GET', path)));
        if (result.sha256 !== first.digest) throw new Error(`curl | openssl pulled ${result.sha256}, expected ${first.digest}`);
        const rate = cfg.blobMiB / result.seconds;
        note(cPull, server, rate, cpu);
        ctx.log(`  ${server.label}: pull with curl | openssl ${fmt(rate)} MiB/s`);
      });
    }
  }
}

/**
 * One GET by C programs that hash what they receive (as docker's and containerd's Go clients do),
 * where the bench's Node client spends more than a core per GiB receiving and hashing (its CPU
 * row) and so holds both servers to its own rate.
 */
function cClientPull(url: string, authorization: string | undefined): { seconds: number; sha256: string } {
  const header = authorization === undefined ? '' : `-H 'authorization: ${authorization}' `;
  const t0 = performance.now();
  const res = spawnSync('bash', ['-o', 'pipefail', '-c', `curl -sSf ${header}'${url}' | openssl dgst -sha256 -r`], { encoding: 'utf8', timeout: 600_000 });
  const seconds = (performance.now() - t0) / 1000;
  if (res.status !== 0) throw new Error(`curl | openssl: exit ${res.status}: ${res.stderr.slice(0, 300)}`);
  return { seconds, sha256: `sha256:${res.stdout.split(' ')[0] ?? ''}` };
}

// ---------------------------------------------------------------------------------------------
// Manifests

export async function manifestPutWorkload(ctx: Context): Promise<void> {
  const { cfg } = ctx;
  const def: MetricDef = { id: 'manifest.put', label: `Manifest PUT, ${cfg.manifestPuts} distinct tags (${cfg.putConcurrency} in flight)`, unit: 'req/s', better: 'higher', decimals: 0 };
  const image = smallImage('bench-manifest-put');
  const bodies = Array.from({ length: cfg.manifestPuts }, (_, i) => imageManifest(image, { 'bench.index': String(i) }));
  for (const server of ordered(ctx)) {
    await guarded(ctx, server, [def], async () => {
      const client = clientOf(ctx, server);
      const repo = 'bench/manifests';
      await pushImageBlobs(client, repo, image);
      const t0 = performance.now();
      const { cpu } = await costed(server, () => pool(bodies.length, cfg.putConcurrency, (i) => putManifest(client, repo, `t-${i}`, bodies[i] ?? '')));
      const rps = bodies.length / ((performance.now() - t0) / 1000);
      ctx.results.set(def, server.name, rps);
      ctx.results.set(cpuDef(def, 'request'), server.name, (cpu * 1e6) / bodies.length);
      ctx.log(`  ${server.label}: ${fmt(rps)} manifest PUT/s`);
    });
  }
}

interface LoadCase {
  key: string;
  label: string;
  method: 'GET' | 'HEAD';
  path: string;
  tool: LoadGen;
  target?: MetricDef['target'];
}

export async function manifestGetWorkload(ctx: Context): Promise<void> {
  const { cfg } = ctx;
  const c = cfg.concurrency;
  const image = smallImage('bench-manifest-get');
  const repo = 'bench/get';
  const twice = { op: '>=', ratio: 2, text: '≥ 2× Dist' } as const;
  // Issue 18: ≥ 8× with Wharf's token auth on (cfg.wharfAuth; Distribution has none).
  const eightfold = { op: '>=', ratio: 8, text: '≥ 8× Dist' } as const;
  // wrk's response parser waits for a body after a HEAD response that carries Content-Length,
  // so HEAD always uses the Node load generator; GET uses wrk when it is installed.
  const cases: LoadCase[] = [
    { key: 'manifest.get', label: `Manifest GET by tag`, method: 'GET', path: `/v2/${repo}/manifests/latest`, tool: ctx.loadgen, target: eightfold },
    { key: 'manifest.head', label: `Manifest HEAD by tag`, method: 'HEAD', path: `/v2/${repo}/manifests/latest`, tool: 'node', target: twice },
    // Reference: the same load on the version check, which touches no storage or database.
    { key: 'ping', label: 'API version check GET /v2/ (reference)', method: 'GET', path: '/v2/', tool: ctx.loadgen },
  ];
  const ready = new Set<TargetName>();
  for (const lc of cases) {
    const rps: MetricDef = { id: lc.key, label: `${lc.label}, ${c} connections, ${cfg.durationSeconds} s (${lc.tool})`, unit: 'req/s', better: 'higher', decimals: 0, ...(lc.target ? { target: lc.target } : {}) };
    const p50: MetricDef = { id: `${lc.key}.p50`, label: `${lc.label.split(',')[0]} latency p50`, unit: 'ms', better: 'lower', decimals: 2 };
    const p99: MetricDef = { id: `${lc.key}.p99`, label: `${lc.label.split(',')[0]} latency p99`, unit: 'ms', better: 'lower', decimals: 2 };
    const defs = lc.key === 'ping' ? [rps] : [rps, p50, p99];
    for (const server of ordered(ctx)) {
      await guarded(ctx, server, defs, async () => {
        const client = clientOf(ctx, server);
        if (!ready.has(server.name)) {
          await pushImageBlobs(client, repo, image);
          await putManifest(client, repo, 'latest', imageManifest(image));
          ready.add(server.name);
        }
        const headers = await loadHeaders(client, lc.method, lc.path);
        const { result: r, cpu } = await costed(server, () =>
          runLoad(
            lc.tool,
            { url: `${server.baseUrl}${lc.path}`, method: lc.method, headers, connections: c, durationSeconds: cfg.durationSeconds },
            ctx.scratch,
          ),
        );
        if (r.requests === 0) throw new Error(`no request completed (${r.errors} errors)`);
        const bad = r.errors + r.non2xx;
        const note = bad > 0 ? `${bad} of ${r.requests} failed` : undefined;
        ctx.results.set(rps, server.name, r.rps, note);
        ctx.results.set(cpuDef(rps, 'request'), server.name, (cpu * 1e6) / r.requests);
        if (defs.length > 1) {
          ctx.results.set(p50, server.name, r.p50Ms);
          ctx.results.set(p99, server.name, r.p99Ms);
        }
        ctx.log(`  ${server.label}: ${lc.method} ${lc.path} ${fmt(r.rps)} req/s, p50 ${fmt(r.p50Ms, 2)} ms, p99 ${fmt(r.p99Ms, 2)} ms${note ? ` (${note})` : ''}`);
      });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Tag listing

export async function tagListWorkload(ctx: Context): Promise<void> {
  const { cfg } = ctx;
  const setup: MetricDef = { id: 'tags.put', label: `Tag PUT, ${cfg.tags} tags → one manifest (setup, ${cfg.putConcurrency} in flight)`, unit: 'req/s', better: 'higher', decimals: 0 };
  const full: MetricDef = { id: 'tags.full', label: `Tag list of ${cfg.tags} tags, one request (median of ${cfg.listRuns})`, unit: 'ms', better: 'lower', decimals: 1, target: { op: '<=', ratio: 0.2, text: '≥ 5× faster (≤ 0.2)' } };
  const paged: MetricDef = { id: 'tags.paged', label: `Tag list of ${cfg.tags} tags, n=${cfg.pageSize} following Link (median of ${cfg.listRuns})`, unit: 'ms', better: 'lower', decimals: 1, target: { op: '<=', ratio: 0.2, text: '≥ 5× faster (≤ 0.2)' } };
  const image = smallImage('bench-tags');
  const body = imageManifest(image);
  const repo = 'bench/tags';
  const width = String(cfg.tags).length;
  for (const server of ordered(ctx)) {
    await guarded(ctx, server, [setup, full, paged], async () => {
      const client = clientOf(ctx, server);
      await pushImageBlobs(client, repo, image);
      const t0 = performance.now();
      const { cpu } = await costed(server, () => pool(cfg.tags, cfg.putConcurrency, (i) => putManifest(client, repo, `v${String(i).padStart(width, '0')}`, body)));
      const rps = cfg.tags / ((performance.now() - t0) / 1000);
      ctx.results.set(setup, server.name, rps);
      ctx.results.set(cpuDef(setup, 'request'), server.name, (cpu * 1e6) / cfg.tags);
      ctx.log(`  ${server.label}: ${cfg.tags} tags pushed at ${fmt(rps)} PUT/s`);
      for (const [def, n] of [[full, undefined], [paged, cfg.pageSize]] as const) {
        const times: number[] = [];
        let pages: Buffer[] = [];
        await listTags(client, repo, n); // warm-up
        for (let i = 0; i < cfg.listRuns; i++) {
          const t = performance.now();
          pages = await listTags(client, repo, n);
          times.push(performance.now() - t);
        }
        const seen = { pages: pages.length, tags: countTags(pages) };
        const ms = median(times);
        const parts = [`${seen.pages} page${seen.pages === 1 ? '' : 's'}`];
        if (seen.tags !== cfg.tags) parts.push(`${seen.tags} tags seen`);
        ctx.results.set(def, server.name, ms, parts.join(', '));
        ctx.log(`  ${server.label}: ${def.id} ${fmt(ms, 1)} ms (${parts.join(', ')})`);
      }
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Concurrent small pushes

export async function smallPushWorkload(ctx: Context, runId: string): Promise<void> {
  const { cfg } = ctx;
  const def: MetricDef = { id: 'small.pushes', label: `${cfg.smallPushes} concurrent small pushes (2 blobs + manifest each, median of ${cfg.smallPushRounds})`, unit: 'ms', better: 'lower', decimals: 0, target: { op: '<=', ratio: 0.4, text: '≥ 2.5× faster (≤ 0.4)' } };
  const times = new Map<TargetName, number[]>();
  const cpus = new Map<TargetName, number[]>();
  // The bench's own client shares the machine's cores with the server: on a 2-core host the round
  // cannot take less than (client CPU + server CPU) / 2, whichever server answers.
  const clientCpuDef: MetricDef = { id: 'small.pushes.client-cpu', label: 'Concurrent small pushes: bench client CPU per image', unit: 'µs', better: 'lower', decimals: 0 };
  const clientCpus = new Map<TargetName, number[]>();
  for (let round = 0; round < cfg.smallPushRounds; round++) {
    const images = Array.from({ length: cfg.smallPushes }, (_, i) => smallImage(`bench-small-${runId}-${round}-${i}`));
    for (const server of ordered(ctx)) {
      await guarded(ctx, server, [def], async () => {
        // Its own connection pool: 50 pushes really open 50 connections, like 50 clients.
        const client = new HttpClient(server.baseUrl, cfg.smallPushes + 4, server.credentials);
        try {
          const t0 = performance.now();
          const client0 = process.cpuUsage();
          const { cpu } = await costed(server, () =>
            Promise.all(
              images.map(async (image, i) => {
                const repo = `bench/small-${round}-${i}`;
                await pushImageBlobs(client, repo, image);
                await putManifest(client, repo, 'v1', imageManifest(image));
              }),
            ),
          );
          const ms = performance.now() - t0;
          const clientCpu = process.cpuUsage(client0);
          const clientList = clientCpus.get(server.name) ?? [];
          clientList.push((clientCpu.user + clientCpu.system) / images.length);
          clientCpus.set(server.name, clientList);
          const perImage = cpus.get(server.name) ?? [];
          perImage.push((cpu * 1e6) / images.length);
          cpus.set(server.name, perImage);
          const list = times.get(server.name) ?? [];
          list.push(ms);
          times.set(server.name, list);
          ctx.results.set(def, server.name, median(list));
          ctx.results.set(cpuDef(def, 'image', 'Concurrent small pushes'), server.name, median(perImage));
          ctx.results.set(clientCpuDef, server.name, median(clientList));
          ctx.log(`  ${server.label}: round ${round + 1}: ${fmt(ms)} ms`);
        } finally {
          client.close();
        }
      });
      await sleep(200);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Memory

export const RSS_IDLE: MetricDef = { id: 'rss.idle', label: 'Server RSS after start (VmRSS)', unit: 'MiB', better: 'lower', decimals: 0 };
export const RSS_END: MetricDef = { id: 'rss.end', label: 'Server RSS after the workloads (VmRSS)', unit: 'MiB', better: 'lower', decimals: 0 };
export const RSS_PEAK: MetricDef = { id: 'rss.peak', label: 'Server peak RSS over the run (VmHWM)', unit: 'MiB', better: 'lower', decimals: 0, target: { op: '<=', ratio: 2, text: '≤ 2× Dist' } };

export function recordMemory(ctx: Context, phase: 'idle' | 'end'): void {
  for (const server of ctx.servers) {
    const m = server.memory();
    if (m === null) {
      ctx.results.fail(phase === 'idle' ? [RSS_IDLE] : [RSS_END, RSS_PEAK], server.name, 'process gone');
      continue;
    }
    if (phase === 'idle') {
      ctx.results.set(RSS_IDLE, server.name, m.rssKiB / 1024);
    } else {
      ctx.results.set(RSS_END, server.name, m.rssKiB / 1024);
      ctx.results.set(RSS_PEAK, server.name, m.hwmKiB / 1024);
    }
  }
}
