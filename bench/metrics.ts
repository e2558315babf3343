/**
 * What a Prometheus scrape of /metrics costs with many owners and series: a Wharf in-process on
 * SQLite whose database holds `owners` owners (one repository and a few blob links each), with
 * request series recorded on many routes, methods and status classes. Measured: the first scrape
 * (it runs the storage-per-owner query) and warm scrapes (cached storage), wall time and CPU time
 * per scrape, the size of the text and its number of samples.
 *
 *   node bench/metrics.ts              # 5,000 owners
 *   BENCH_METRICS_OWNERS=500 node bench/metrics.ts
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../src/config/load.ts';
import { createWharf } from '../src/main.ts';

export interface ScrapeFigures {
  owners: number;
  series: number;
  bytes: number;
  first: { ms: number; cpuMs: number };
  warm: { medianMs: number; p95Ms: number; cpuMsPerScrape: number; n: number };
}

function cpuMs(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1000;
}

export async function runMetricsBench(opts: { owners: number; scrapes: number; log: (m: string) => void }): Promise<ScrapeFigures> {
  const dataDir = await mkdtemp(join(tmpdir(), 'wharf-bench-metrics-'));
  const config = loadConfig({ env: {}, overrides: { dataDir, auth: { enabled: 'false' }, log: { level: 'warn' } } });
  const wharf = await createWharf(config, { logger: pino({ level: 'warn' }) });
  try {
    const metrics = wharf.metrics;
    if (!metrics) throw new Error('metrics are disabled');
    opts.log(`populating ${opts.owners} owners`);
    const now = Date.now();
    const db = wharf.metadata.db;
    for (let i = 0; i < opts.owners; i += 500) {
      const batch = Array.from({ length: Math.min(500, opts.owners - i) }, (_, j) => `owner${i + j}`);
      await db.insertInto('repositories').values(batch.map((o) => ({ name: `${o}/app`, owner: o, created_at: now, updated_at: now }))).execute();
      await db
        .insertInto('repo_blobs')
        .values(batch.flatMap((o, j) => [0, 1, 2].map((k) => ({ repo: `${o}/app`, digest: `sha256:${(i + j).toString(16).padStart(60, '0')}${k.toString().padStart(4, '0')}`, size: (i + j + 1) * 1000 + k, created_at: now }))))
        .execute();
    }
    // Request series as a busy server has them: every route template × methods × status classes.
    const routes = [...Array.from({ length: 60 }, (_, i) => `/api/v1/route${i}/:param`), '/v2/<name>/manifests/<reference>', '/v2/<name>/blobs/<digest>', '/v2/<name>/blobs/uploads/<uuid>', '/token', '/*'];
    for (const route of routes) for (const method of ['GET', 'HEAD', 'PUT']) for (const status of [200, 304, 401, 404, 500]) metrics.request(route, method, status, 0.01, 100, 1000);
    for (const op of ['select', 'insert', 'update', 'delete', 'begin', 'commit', 'rollback']) metrics.dbQuery(op, 0.001, true);

    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const first = await metrics.scrape();
    const firstFigures = { ms: performance.now() - t0, cpuMs: cpuMs(cpu0) };
    const times: number[] = [];
    const cpu1 = process.cpuUsage();
    let body = first.body;
    for (let i = 0; i < opts.scrapes; i++) {
      const t = performance.now();
      body = (await metrics.scrape()).body;
      times.push(performance.now() - t);
    }
    const warmCpu = cpuMs(cpu1) / opts.scrapes;
    times.sort((a, b) => a - b);
    const series = body.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;
    return {
      owners: opts.owners,
      series,
      bytes: Buffer.byteLength(body),
      first: firstFigures,
      warm: { medianMs: times[Math.floor(times.length / 2)] ?? 0, p95Ms: times[Math.floor(times.length * 0.95)] ?? 0, cpuMsPerScrape: warmCpu, n: opts.scrapes },
    };
  } finally {
    await wharf.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

export function metricsBenchMarkdown(r: ScrapeFigures): string {
  return [
    `${r.owners} owners in the database, ${r.series} samples, ${(r.bytes / 1024).toFixed(0)} KiB of text per scrape.`,
    '',
    '| scrape | wall ms | CPU ms |',
    '| --- | ---: | ---: |',
    `| first (runs the storage-per-owner query) | ${r.first.ms.toFixed(1)} | ${r.first.cpuMs.toFixed(1)} |`,
    `| warm, median of ${r.warm.n} | ${r.warm.medianMs.toFixed(2)} | ${r.warm.cpuMsPerScrape.toFixed(2)} |`,
    `| warm, p95 | ${r.warm.p95Ms.toFixed(2)} | |`,
    '',
  ].join('\n');
}

if (import.meta.filename === process.argv[1]) {
  const owners = Number(process.env['BENCH_METRICS_OWNERS'] ?? 5000);
  const r = await runMetricsBench({ owners, scrapes: 50, log: (m) => process.stderr.write(`${m}\n`) });
  process.stdout.write(`${metricsBenchMarkdown(r)}\n`);
}
