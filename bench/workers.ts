/**
 * server.workers: manifest GET by tag (token auth on for Wharf unless BENCH_WHARF_AUTH=0, as in the
 * core comparison) against one Wharf with 1 worker and then with 2, and CNCF Distribution in the same run for the ratio. CPU is the whole
 * process tree's (primary + workers), per request, so a gain that only burns more CPU shows.
 *
 *   node bench/workers.ts                 # 1 and 2 workers, 10 s each
 *   BENCH_WORKERS=1,2,4 node bench/workers.ts
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { loadConfig, type BenchConfig } from './config.ts';
import { HttpClient } from './http.ts';
import { chooseLoadGen, runLoad } from './loadgen.ts';
import { imageManifest, loadHeaders, pushImageBlobs, putManifest, smallImage } from './registry-client.ts';
import { processTree, startDistribution, startWharf, type Server } from './servers.ts';

export interface WorkersRow {
  server: string;
  workers: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Server CPU (all its processes) per request, µs. */
  cpuUsPerRequest: number;
  /** Sum of the processes' RSS at the end, MiB. */
  rssMiB: number;
  failed: number;
}

function treeRssMiB(pid: number): number {
  let kib = 0;
  for (const p of processTree(pid)) {
    try {
      const m = /^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      kib += Number(m?.[1] ?? 0);
    } catch {
      // exited
    }
  }
  return kib / 1024;
}

async function measure(cfg: BenchConfig, server: Server, workers: number, scratch: string, log: (m: string) => void): Promise<WorkersRow> {
  const client = new HttpClient(server.baseUrl, 64, server.credentials);
  const repo = 'bench/workers';
  const image = smallImage('bench-workers');
  await pushImageBlobs(client, repo, image);
  await putManifest(client, repo, 'latest', imageManifest(image));
  const path = `/v2/${repo}/manifests/latest`;
  const headers = await loadHeaders(client, 'GET', path);
  client.close();
  const tool = chooseLoadGen(cfg.loadgen);
  const spec = { url: `${server.baseUrl}${path}`, method: 'GET' as const, headers, connections: cfg.concurrency, durationSeconds: cfg.durationSeconds };
  // A short warm-up: JIT and every worker's caches.
  await runLoad(tool, { ...spec, durationSeconds: 2 }, scratch);
  const cpu0 = server.cpuSeconds();
  const r = await runLoad(tool, spec, scratch);
  const cpu = server.cpuSeconds() - cpu0;
  const row: WorkersRow = {
    server: server.label,
    workers,
    rps: r.rps,
    p50Ms: r.p50Ms,
    p99Ms: r.p99Ms,
    cpuUsPerRequest: r.requests > 0 ? (cpu * 1e6) / r.requests : Number.NaN,
    rssMiB: treeRssMiB(server.pid),
    failed: r.errors + r.non2xx,
  };
  log(`${server.label}${workers > 0 ? `, ${workers} worker(s)` : ''}: ${r.rps.toFixed(0)} req/s, p99 ${r.p99Ms.toFixed(2)} ms, ${row.cpuUsPerRequest.toFixed(0)} µs CPU/request, RSS ${row.rssMiB.toFixed(0)} MiB (${tool})${row.failed > 0 ? `, ${row.failed} failed` : ''}`);
  return row;
}

export async function runWorkersBench(cfg: BenchConfig, counts: readonly number[], log: (m: string) => void): Promise<WorkersRow[]> {
  const scratch = await mkdtemp(join(cfg.tmpRoot, 'wharf-bench-workers-'));
  const rows: WorkersRow[] = [];
  try {
    const dist = await startDistribution(cfg);
    try {
      rows.push(await measure(cfg, dist, 0, scratch, log));
    } finally {
      await dist.stop();
    }
    for (const n of counts) {
      const wharf = await startWharf(cfg, { WHARF_SERVER__WORKERS: String(n) });
      try {
        rows.push(await measure(cfg, wharf, n, scratch, log));
      } finally {
        await wharf.stop();
      }
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return rows;
}

export function workersBenchMarkdown(rows: readonly WorkersRow[], cfg: BenchConfig): string {
  const dist = rows.find((r) => r.workers === 0);
  const one = rows.find((r) => r.workers === 1);
  const lines = [
    `## Manifest GET by tag with server.workers (${cfg.concurrency} connections, ${cfg.durationSeconds} s, ${availableParallelism()} cores shared with the load generator)`,
    '',
    '| server | req/s | × Distribution | × 1 worker | p50 | p99 | server CPU per request | RSS (all processes) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of rows) {
    const name = r.workers === 0 ? r.server : `${r.server}, ${r.workers} worker${r.workers > 1 ? 's' : ''}`;
    const vsDist = dist && r !== dist ? `${(r.rps / dist.rps).toFixed(2)}×` : '';
    const vsOne = one && r.workers > 0 ? `${(r.rps / one.rps).toFixed(2)}×` : '';
    lines.push(
      `| ${name}${r.failed > 0 ? ` (${r.failed} failed)` : ''} | ${r.rps.toFixed(0)} | ${vsDist} | ${vsOne} | ${r.p50Ms.toFixed(2)} ms | ${r.p99Ms.toFixed(2)} ms | ${r.cpuUsPerRequest.toFixed(0)} µs | ${r.rssMiB.toFixed(0)} MiB |`,
    );
  }
  return `${lines.join('\n')}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const cfg = loadConfig();
  const counts = (process.env['BENCH_WORKERS'] ?? '1,2').split(',').map(Number).filter((n) => n > 0);
  const log = (m: string) => process.stderr.write(`${m}\n`);
  const rows = await runWorkersBench(cfg, counts, log);
  process.stdout.write(workersBenchMarkdown(rows, cfg));
}
