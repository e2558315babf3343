/**
 * The classic Helm index at scale: one owner with 20,000 chart versions, served by a started
 * Wharf, compared with nginx serving the same index.yaml as a static file on loopback.
 *
 *   node bench/charts.ts                      # full run (about two minutes), prints Markdown
 *   BENCH_CHARTS_VERSIONS=2000 node bench/charts.ts   # quicker
 *
 * Or from another bench: `const r = await runChartsBench(); chartsBenchMarkdown(r)`.
 *
 * Population: charts are inserted in-process through ChartService.prepareUpload/commitUpload
 * (the code behind POST /api/<owner>/charts: UploadService for the blobs, RegistryService for
 * the manifest, then indexing that reads the stored archive back), each a real small chart
 * archive, into a data directory that a `wharf serve` process then opens. Measured: index size,
 * TTFB and total time of a full GET (cold and warm, identity and gzip), 304 latency, the time
 * from a chart push (over HTTP, as `helm push` does) to its appearance in the index, and the
 * server's RSS. Not a test: it asserts nothing and reports targets as met or missed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { loadConfig } from '../src/config/load.ts';
import { createWharf } from '../src/main.ts';
import { chartTgz, fetchHttp, pushChart } from '../test/helpers/charts.ts';
import { freePort, startWharf, type StartedServer } from '../test/helpers/server.ts';

const NGINX = '/usr/sbin/nginx';
const OWNER = 'bench';

export interface Stats {
  median: number;
  p95: number;
  min: number;
  max: number;
  n: number;
}

export interface GetFigures {
  ttfbMs: Stats;
  totalMs: Stats;
  bytes: number;
}

export interface ChartsBenchResult {
  versions: number;
  charts: number;
  populateSeconds: number;
  indexBytes: number;
  indexGzipBytes: number;
  wharf: {
    coldGet: { ttfbMs: number; totalMs: number };
    get: GetFigures;
    getGzip: GetFigures;
    getNoCache: GetFigures;
    notModifiedMs: Stats;
    visibleAfterPushMs: Stats;
    rssKiB: { afterStart: number; afterGets: number; afterConcurrentGets: number; peak: number };
  };
  nginx: { get: GetFigures; notModifiedMs: Stats } | { error: string };
  targets: { notModifiedUnder5ms: boolean; fullGetWithin2xNginx: boolean | null; visibleWithin1s: boolean };
}

function stats(values: number[]): Stats {
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
  return { median: at(0.5), p95: at(0.95), min: s[0] ?? NaN, max: s[s.length - 1] ?? NaN, n: s.length };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

/** One GET; times to response headers (TTFB) and to the last body byte. */
function timedGet(url: string, headers: Record<string, string> = {}): Promise<{ status: number; ttfb: number; total: number; bytes: number; etag: string; body: Buffer | null }> {
  return new Promise((resolveGet, reject) => {
    const t0 = performance.now();
    const req = http.get(url, { agent, headers }, (res) => {
      const ttfb = performance.now() - t0;
      let bytes = 0;
      const keep: Buffer[] = [];
      const wantBody = headers['x-keep-body'] === '1';
      res.on('data', (c: Buffer) => {
        bytes += c.length;
        if (wantBody) keep.push(c);
      });
      res.on('end', () =>
        resolveGet({ status: res.statusCode ?? 0, ttfb, total: performance.now() - t0, bytes, etag: String(res.headers['etag'] ?? ''), body: wantBody ? Buffer.concat(keep) : null }),
      );
      res.on('error', reject);
    });
    req.setTimeout(60_000, () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', reject);
  });
}

async function measureGets(url: string, n: number, headers: Record<string, string> = {}): Promise<GetFigures> {
  const ttfb: number[] = [];
  const total: number[] = [];
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const r = await timedGet(url, headers);
    if (r.status !== 200) throw new Error(`GET ${url}: ${r.status}`);
    ttfb.push(r.ttfb);
    total.push(r.total);
    bytes = r.bytes;
  }
  return { ttfbMs: stats(ttfb), totalMs: stats(total), bytes };
}

async function measure304(url: string, etag: string, n: number): Promise<Stats> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await timedGet(url, { 'if-none-match': etag });
    if (r.status !== 304) throw new Error(`expected 304 from ${url}, got ${r.status}`);
    times.push(r.total);
  }
  return stats(times);
}

function rss(pid: number | undefined): { rss: number; hwm: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
    return { rss: field('VmRSS'), hwm: field('VmHWM') };
  } catch {
    return { rss: 0, hwm: 0 };
  }
}

/** Realistic entries (~0.7 KiB each in the index): description, maintainers, keywords, sources, annotations. */
function chartSpec(i: number, perChart: number) {
  const chart = Math.floor(i / perChart);
  const n = i % perChart;
  const pre = n % 10 === 9;
  const version = `${1 + Math.floor(n / 100)}.${Math.floor(n / 10) % 10}.${n % 10}${pre ? '-rc.1' : ''}`;
  const name = `chart-${String(chart).padStart(4, '0')}`;
  return {
    name,
    version,
    appVersion: `${2 + (n % 3)}.${n}.0`,
    description: `Benchmark chart number ${chart}, deploying a made-up service with a realistic description line`,
    extraChartYaml: [
      `keywords: [bench, ${name}, web]`,
      `home: https://example.com/${name}`,
      `sources: [https://github.com/example/${name}]`,
      'maintainers:',
      '  - name: Bench Maintainer',
      '    email: bench@example.com',
      `icon: https://example.com/${name}/icon.png`,
      'annotations:',
      '  category: Infrastructure',
      '',
    ].join('\n'),
  };
}

async function populate(dataDir: string, versions: number, perChart: number, log: (m: string) => void): Promise<number> {
  const config = loadConfig({
    env: {},
    overrides: { dataDir, storage: { driver: 'fs', fs: { fsync: 'false' } }, log: { level: 'silent' }, auth: { enabled: 'false' } },
  });
  const wharf = await createWharf(config, { logger: pino({ level: 'silent' }) });
  const t0 = performance.now();
  try {
    // A few uploads in flight overlap blob I/O and gzip with the (serialised) database work.
    let next = 0;
    let done = 0;
    const worker = async () => {
      for (let i = next++; i < versions; i = next++) {
        const prepared = await wharf.charts.museum.prepareUpload(OWNER, chartTgz(chartSpec(i, perChart)), null);
        await wharf.charts.museum.commitUpload(prepared);
        if (++done % 2000 === 0) log(`  ${done}/${versions} versions (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
      }
    };
    await Promise.all(Array.from({ length: 4 }, worker));
    await wharf.events.settled();
  } finally {
    await wharf.close();
  }
  return (performance.now() - t0) / 1000;
}

interface Nginx {
  url: string;
  stop(): Promise<void>;
}

async function startNginx(file: Buffer): Promise<Nginx & { dir: string }> {
  // Its own directory, readable by nginx workers that may run as another user.
  const dir = await mkdtemp(join(tmpdir(), 'wharf-bench-nginx-'));
  const port = await freePort();
  const www = join(dir, 'www', 'charts', OWNER);
  await mkdir(www, { recursive: true });
  await mkdir(join(dir, 'tmp'), { recursive: true });
  await writeFile(join(www, 'index.yaml'), file);
  // nginx workers may run as another user: let them read the files.
  for (const d of [dir, join(dir, 'www'), join(dir, 'www', 'charts'), www]) await chmod(d, 0o755);
  await chmod(join(www, 'index.yaml'), 0o644);
  const conf = join(dir, 'nginx.conf');
  await writeFile(
    conf,
    `worker_processes 1;
error_log ${dir}/error.log warn;
pid ${dir}/nginx.pid;
events { worker_connections 256; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  types { application/x-yaml yaml; }
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  server {
    listen 127.0.0.1:${port};
    root ${dir}/www;
    etag on;
  }
}
`,
  );
  const child: ChildProcess = spawn(NGINX, ['-p', dir, '-c', conf, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  const url = `http://127.0.0.1:${port}/charts/${OWNER}/index.yaml`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${stderr}`);
    try {
      if ((await timedGet(url)).status === 200) break;
    } catch {
      // not listening yet
    }
    if (i > 100) {
      child.kill('SIGKILL');
      throw new Error(`nginx did not serve ${url}: ${stderr}${readFileSync(join(dir, 'error.log'), 'utf8')}`);
    }
    await sleep(50);
  }
  return {
    url,
    dir,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGQUIT');
        await Promise.race([new Promise((r) => child.once('exit', r)), sleep(5000).then(() => child.kill('SIGKILL'))]);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function runChartsBench(opts: { versions?: number; perChart?: number; log?: (m: string) => void } = {}): Promise<ChartsBenchResult> {
  const versions = opts.versions ?? Number(process.env['BENCH_CHARTS_VERSIONS'] ?? 20_000);
  const perChart = opts.perChart ?? 50;
  const log = opts.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const work = await mkdtemp(join(tmpdir(), 'wharf-bench-charts-'));
  // BENCH_CHARTS_DATA=<dir>: keep the populated data there and reuse it on the next run.
  const keep = process.env['BENCH_CHARTS_DATA'];
  const dataDir = keep ?? join(work, 'data');
  let server: StartedServer | null = null;
  let nginx: Nginx | null = null;
  try {
    let populateSeconds = 0;
    if (keep !== undefined && existsSync(join(keep, 'wharf.db'))) {
      log(`reusing the populated data in ${keep}`);
    } else {
      log(`populating ${versions} chart versions (${Math.ceil(versions / perChart)} charts) in-process`);
      populateSeconds = await populate(dataDir, versions, perChart, log);
      log(`populated in ${populateSeconds.toFixed(1)} s`);
    }

    const env = { WHARF_AUTH__ENABLED: 'false', WHARF_STORAGE__FS__FSYNC: 'false', WHARF_LOG__LEVEL: 'warn' };
    server = await startWharf({ dataDir, env });
    const url = `${server.url}/charts/${OWNER}/index.yaml`;
    const afterStart = rss(server.pid).rss;

    log('wharf: cold full GET (renders this generation to the cache), then warm GETs');
    const cold = await timedGet(url, { 'x-keep-body': '1' });
    if (cold.status !== 200 || !cold.body) throw new Error(`cold GET: ${cold.status}`);
    const indexFile = cold.body;
    const get = await measureGets(url, 30);
    const getGzip = await measureGets(url, 30, { 'accept-encoding': 'gzip' });
    const afterGets = rss(server.pid).rss;
    await Promise.all(Array.from({ length: 8 }, () => measureGets(url, 5)));
    const afterConcurrentGets = rss(server.pid).rss;
    const notModifiedMs = await measure304(url, cold.etag, 300);

    log('wharf: push one more chart over HTTP, time until the index lists it');
    const client = fetchHttp(server.url);
    const visible: number[] = [];
    const stamp = Math.floor(Date.now() / 1000) % 1_000_000;
    for (let i = 0; i < 10; i++) {
      const before = (await timedGet(url, { 'if-none-match': cold.etag })).etag || cold.etag;
      const spec = { name: 'fresh', version: `${stamp}.0.${i}`, description: 'pushed during the benchmark' };
      await pushChart(client, `${OWNER}/charts/fresh`, spec);
      const pushedAt = performance.now();
      for (;;) {
        const r = await timedGet(url, { 'if-none-match': before, 'x-keep-body': '1' });
        if (r.status === 200 && r.body?.includes(`version: ${stamp}.0.${i}\n`)) break;
        if (performance.now() - pushedAt > 30_000) throw new Error('pushed chart never appeared');
        await sleep(2);
      }
      visible.push(performance.now() - pushedAt);
    }
    const peak = rss(server.pid).hwm;
    await server.stop();
    server = null;

    log('wharf with charts.indexCache=false: every GET streams from the database');
    server = await startWharf({ dataDir, env: { ...env, WHARF_CHARTS__INDEX_CACHE: 'false' } });
    const getNoCache = await measureGets(`${server.url}/charts/${OWNER}/index.yaml`, 10);
    await server.stop();
    server = null;

    const gzipBytes = getGzip.bytes;
    let nginxFigures: ChartsBenchResult['nginx'];
    try {
      log('nginx: the same index.yaml as a static file');
      nginx = await startNginx(indexFile);
      await timedGet(nginx.url);
      const nGet = await measureGets(nginx.url, 30);
      const nEtag = (await timedGet(nginx.url)).etag;
      nginxFigures = { get: nGet, notModifiedMs: await measure304(nginx.url, nEtag, 300) };
    } catch (err) {
      nginxFigures = { error: (err as Error).message };
    }

    const result: ChartsBenchResult = {
      versions: indexFile.toString('utf8').split('\n').filter((l) => l.startsWith('  - ')).length,
      charts: indexFile.toString('utf8').split('\n').filter((l) => /^  [^ -].*:$/.test(l)).length,
      populateSeconds,
      indexBytes: indexFile.length,
      indexGzipBytes: gzipBytes,
      wharf: {
        coldGet: { ttfbMs: cold.ttfb, totalMs: cold.total },
        get,
        getGzip,
        getNoCache,
        notModifiedMs,
        visibleAfterPushMs: stats(visible),
        rssKiB: { afterStart, afterGets, afterConcurrentGets, peak },
      },
      nginx: nginxFigures,
      targets: {
        notModifiedUnder5ms: notModifiedMs.median < 5,
        fullGetWithin2xNginx: 'get' in nginxFigures ? get.totalMs.median <= 2 * nginxFigures.get.totalMs.median : null,
        visibleWithin1s: stats(visible).max < 1000,
      },
    };
    return result;
  } finally {
    await nginx?.stop().catch(() => undefined);
    await server?.stop().catch(() => undefined);
    agent.destroy();
    await rm(work, { recursive: true, force: true });
  }
}

const ms = (n: number) => (n < 10 ? n.toFixed(2) : n.toFixed(1));
const s = (x: Stats) => `${ms(x.median)} (p95 ${ms(x.p95)})`;
const mib = (b: number) => `${(b / 1024 / 1024).toFixed(2)} MiB`;

/** The figures as a Markdown section body (tables), for docs/benchmarks.md. */
export function chartsBenchMarkdown(r: ChartsBenchResult): string {
  const n = 'get' in r.nginx ? r.nginx : null;
  const ratio = n ? (r.wharf.get.totalMs.median / n.get.totalMs.median).toFixed(2) : 'n/a';
  const yes = (b: boolean | null) => (b === null ? 'n/a' : b ? 'met' : 'missed');
  return [
    `${r.versions} chart versions of ${r.charts} charts under one owner; index.yaml ${mib(r.indexBytes)} (${mib(r.indexGzipBytes)} gzipped). Populated in ${r.populateSeconds.toFixed(0)} s.`,
    '',
    '| measure (ms, median over the runs, p95 in brackets) | Wharf | nginx static file |',
    '| --- | --- | --- |',
    `| full GET, time to first byte | ${s(r.wharf.get.ttfbMs)} | ${n ? s(n.get.ttfbMs) : 'n/a'} |`,
    `| full GET, total | ${s(r.wharf.get.totalMs)} | ${n ? s(n.get.totalMs) : 'n/a'} |`,
    `| full GET gzip, total (${mib(r.wharf.getGzip.bytes)} on the wire) | ${s(r.wharf.getGzip.totalMs)} | – |`,
    `| 304 Not Modified | ${s(r.wharf.notModifiedMs)} | ${n ? s(n.notModifiedMs) : 'n/a'} |`,
    `| first GET of a new generation (renders the cache file), total | ${ms(r.wharf.coldGet.totalMs)} | – |`,
    `| full GET with \`charts.indexCache: false\` (streamed from the database), total | ${s(r.wharf.getNoCache.totalMs)} | – |`,
    `| push → new version in index.yaml | ${s(r.wharf.visibleAfterPushMs)}, max ${ms(r.wharf.visibleAfterPushMs.max)} | – |`,
    '',
    `Server RSS: ${(r.wharf.rssKiB.afterStart / 1024).toFixed(0)} MiB after start, ${(r.wharf.rssKiB.afterGets / 1024).toFixed(0)} MiB after 60 full GETs, ${(r.wharf.rssKiB.afterConcurrentGets / 1024).toFixed(0)} MiB after 8 concurrent clients × 5 GETs, peak ${(r.wharf.rssKiB.peak / 1024).toFixed(0)} MiB.`,
    '',
    `Targets: 304 < 5 ms — ${yes(r.targets.notModifiedUnder5ms)}; full GET within 2× nginx — ${yes(r.targets.fullGetWithin2xNginx)} (ratio ${ratio}); new version visible within 1 s — ${yes(r.targets.visibleWithin1s)}.`,
    ...('error' in r.nginx ? ['', `nginx could not run: ${r.nginx.error}`] : []),
  ].join('\n');
}

if (import.meta.filename === process.argv[1]) {
  const r = await runChartsBench();
  process.stdout.write(`${chartsBenchMarkdown(r)}\n\n${JSON.stringify(r, null, 2)}\n`);
}
