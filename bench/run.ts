/**
 * Wharf vs CNCF Distribution, side by side on loopback: `npm run bench` (a few minutes) or
 * `BENCH_QUICK=1 npm run bench` (seconds). Not a test: it asserts nothing and exits 0 unless
 * the harness itself breaks. Settings: bench/config.ts; method: docs/benchmarks.md.
 *
 * Four sections, each selectable with BENCH_ONLY (default: all): `core` (the comparison with
 * Distribution; its workload names, e.g. BENCH_ONLY=manifest-get, select core workloads),
 * `charts` (bench/charts.ts, the Helm index), `scale` (bench/scale.ts, one vs two replicas on
 * RGW + PostgreSQL; skipped with a reason when the services cannot be reached or started) and
 * `metrics` (bench/metrics.ts, the cost of a /metrics scrape with many owners and series).
 * `gc` (bench/gc.ts, garbage collection over 100,000 blobs on both profiles), `workers`
 * (bench/workers.ts, manifest GET with server.workers 1 and 2, BENCH_WORKERS=1,2,4 for more) and
 * `proxy` (bench/proxy.ts, cold and warm pulls through a pull-through cache, concurrent cold pulls),
 * `webhooks` (bench/webhooks.ts, deliveries under a push load, embedded and one S3 + PostgreSQL
 * replica when S3_ENDPOINT/DATABASE_URL are set). Their Markdown goes, in that order, into bench/output/results.md.
 */
import { spawnSync } from 'node:child_process';
import { appendFile, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { chartsBenchMarkdown, runChartsBench } from './charts.ts';
import { loadConfig, type TargetName } from './config.ts';
import { HttpClient } from './http.ts';
import { measureLimits, type Limits } from './limits.ts';
import { chooseLoadGen } from './loadgen.ts';
import { summarizeProfile } from './profile-summary.ts';
import { currentLoad, toJson, toMarkdown, type RunInfo } from './report.ts';
import { Results } from './results.ts';
import { metricsBenchMarkdown, runMetricsBench } from './metrics.ts';
import { runScaleBench, scaleBenchMarkdown } from './scale.ts';
import { gcBenchMarkdown, runGcBench } from './gc.ts';
import { runWebhookBench, webhookBenchMarkdown } from './webhooks.ts';
import { runWorkersBench, workersBenchMarkdown } from './workers.ts';
import { startDistribution, startWharf, type Server } from './servers.ts';
import {
  blobWorkload,
  manifestGetWorkload,
  manifestPutWorkload,
  prepareBlobFile,
  recordMemory,
  smallPushWorkload,
  tagListWorkload,
  type Context,
} from './workloads.ts';

const SECTIONS = ['core', 'workers', 'charts', 'scale', 'metrics', 'gc', 'proxy', 'webhooks'] as const;
type Section = (typeof SECTIONS)[number];

/**
 * Splits BENCH_ONLY into sections and core workloads. config.ts knows only the core workloads,
 * so the section names are taken out of the variable before it reads it.
 */
function selectSections(): Set<Section> {
  const raw = process.env['BENCH_ONLY'] ?? '';
  const items = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0) return new Set(SECTIONS);
  const isSection = (s: string): s is Section => (SECTIONS as readonly string[]).includes(s);
  const sections = new Set(items.filter(isSection));
  const workloads = items.filter((s) => !isSection(s));
  if (workloads.length > 0) {
    sections.add('core');
    process.env['BENCH_ONLY'] = workloads.join(',');
  } else {
    delete process.env['BENCH_ONLY'];
  }
  return sections;
}

const sections = selectSections();
const cfg = loadConfig();
const startedAt = new Date();
const t0Wall = Date.now();
const t0 = performance.now();
const log = (msg: string) => {
  const s = ((performance.now() - t0) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[${s}s] ${msg}\n`);
};

const servers: Server[] = [];
let scratch: string | null = null;
let cleaning: Promise<void> | null = null;

function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await Promise.all(
      servers.map(async (s) => {
        const t = performance.now();
        await s.stop().catch((err: unknown) => log(`stopping ${s.label} failed: ${String(err)}`));
        log(`${s.label} stopped and its data removed in ${((performance.now() - t) / 1000).toFixed(1)} s`);
      }),
    );
    if (scratch !== null) await rm(scratch, { recursive: true, force: true });
  })();
  return cleaning;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping servers and removing temp dirs`);
    void cleanup().then(() => process.exit(130));
  });
}
const watchdog = setTimeout(() => {
  log(`run exceeded BENCH_MAX_SECONDS=${cfg.maxSeconds}; aborting`);
  void cleanup().then(() => process.exit(1));
}, (cfg.maxSeconds + cfg.waitIdleSeconds) * 1000);
watchdog.unref();

async function main(): Promise<void> {
  if (cfg.waitIdleSeconds > 0) {
    const until = Date.now() + cfg.waitIdleSeconds * 1000;
    while (currentLoad() >= cfg.idleLoad && Date.now() < until) {
      log(`waiting for the machine to go idle: 1-min load average ${currentLoad().toFixed(2)} (BENCH_WAIT_IDLE)`);
      await sleep(Math.min(30_000, Math.max(until - Date.now(), 0)));
    }
  }
  log(`sections: ${[...sections].join(', ')}`);
  await mkdir(cfg.outDir, { recursive: true });
  const resultsMd = join(cfg.outDir, 'results.md');
  // Each section is written as soon as it is done, so a later one failing loses nothing.
  await writeFile(resultsMd, '');
  if (sections.has('core')) await section('core', () => runCore(resultsMd));
  if (sections.has('workers')) {
    await section('workers', async () => {
      const counts = (process.env['BENCH_WORKERS'] ?? '1,2').split(',').map(Number).filter((n) => n > 0);
      const rows = await runWorkersBench(cfg, counts, (m) => log(`workers: ${m}`));
      const md = workersBenchMarkdown(rows, cfg);
      await appendFile(resultsMd, `\n${md}`);
      await writeFile(join(cfg.outDir, 'results-workers.json'), `${JSON.stringify(rows, null, 2)}\n`);
      process.stdout.write(`\n${md}\n`);
    });
  }
  if (sections.has('charts')) {
    await section('charts', async () => {
      const versionsEnv = process.env['BENCH_CHARTS_VERSIONS'];
      const versions = versionsEnv ? Number(versionsEnv) : cfg.quick ? 1000 : 20_000;
      const r = await runChartsBench({ versions, log: (m) => log(`charts: ${m}`) });
      const md = `## Helm classic index\n\n${chartsBenchMarkdown(r)}\n`;
      await appendFile(resultsMd, `\n${md}`);
      await writeFile(join(cfg.outDir, 'results-charts.json'), `${JSON.stringify(r, null, 2)}\n`);
      process.stdout.write(`\n${md}\n`);
    });
  }
  if (sections.has('scale')) {
    await section('scale', async () => {
      const r = await runScaleBench({ tmpRoot: cfg.tmpRoot, log });
      const md = scaleBenchMarkdown(r);
      await appendFile(resultsMd, `\n${md}`);
      await writeFile(join(cfg.outDir, 'results-scale.json'), `${JSON.stringify(r, null, 2)}\n`);
      process.stdout.write(`\n${md}\n`);
    });
  }
  if (sections.has('metrics')) {
    await section('metrics', async () => {
      const owners = Number(process.env['BENCH_METRICS_OWNERS'] ?? (cfg.quick ? 500 : 5000));
      const r = await runMetricsBench({ owners, scrapes: cfg.quick ? 10 : 50, log: (m) => log(`metrics: ${m}`) });
      const md = `## /metrics scrape cost\n\n${metricsBenchMarkdown(r)}\n`;
      await appendFile(resultsMd, `\n${md}`);
      await writeFile(join(cfg.outDir, 'results-metrics.json'), `${JSON.stringify(r, null, 2)}\n`);
      process.stdout.write(`\n${md}\n`);
    });
  }
  if (sections.has('gc')) {
    await section('gc', async () => {
      // Quick mode: a tenth of the data set (BENCH_GC_BLOBS/BENCH_GC_MANIFESTS override).
      if (cfg.quick) {
        process.env['BENCH_GC_BLOBS'] ??= '10000';
        process.env['BENCH_GC_MANIFESTS'] ??= '2000';
      }
      const rows = await runGcBench({ log: (m) => log(`gc: ${m}`) });
      const md = `## Garbage collection\n\n${gcBenchMarkdown(rows)}\n`;
      await appendFile(resultsMd, `\n${md}`);
      await writeFile(join(cfg.outDir, 'results-gc.json'), `${JSON.stringify(rows, null, 2)}\n`);
      process.stdout.write(`\n${md}\n`);
    });
  }
  if (sections.has('proxy')) {
    await section('proxy', async () => {
      // bench/proxy.ts prints its rows; it runs as its own process (an in-process Wharf and an upstream).
      const run = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', join(cfg.root, 'bench/proxy.ts')], {
        encoding: 'utf8',
        // The case: 32 concurrent cold pulls of one 256 MiB layer (quick mode: 8 of 4 MiB).
        env: { ...process.env, WHARF_BENCH_MIB: process.env['WHARF_BENCH_MIB'] ?? (cfg.quick ? '4' : '256'), ...(cfg.quick ? { WHARF_BENCH_CONCURRENCY: '8' } : {}) },
        timeout: 600_000,
      });
      if (run.status !== 0) throw new Error(`bench/proxy.ts exited ${run.status}: ${run.stderr.split('\n').slice(-5).join(' ')}`);
      const md = `## Pull-through cache (bench/proxy.ts)\n\n\`\`\`\n${run.stdout.trim()}\n\`\`\`\n`;
      await appendFile(resultsMd, `\n${md}`);
      process.stdout.write(`\n${md}\n`);
    });
  }
  if (sections.has('webhooks')) {
    await section('webhooks', async () => {
      const r = await runWebhookBench({ log: (m) => log(`webhooks: ${m}`) });
      const md = `## Webhooks under a push load (bench/webhooks.ts)\n\n${webhookBenchMarkdown(r)}\n`;
      await appendFile(resultsMd, `\n${md}`);
      await writeFile(join(cfg.outDir, 'results-webhooks.json'), `${JSON.stringify(r, null, 2)}\n`);
      process.stdout.write(`\n${md}\n`);
    });
  }
  log(`wrote ${resultsMd}`);
}

/** Runs one section; a failure is logged and fails the run, but the other sections still run. */
async function section(name: Section, fn: () => Promise<void>): Promise<void> {
  const t = performance.now();
  log(`== section ${name}`);
  try {
    await fn();
    log(`== section ${name} done in ${((performance.now() - t) / 1000).toFixed(0)} s`);
  } catch (err) {
    log(`section ${name} failed: ${(err as Error).stack ?? String(err)}`);
    process.exitCode = 1;
  }
}

async function runCore(resultsMd: string): Promise<void> {
  const results = new Results();
  const loadAtStart = currentLoad();
  if (loadAtStart > 0.7) log(`warning: 1-min load average is ${loadAtStart.toFixed(2)}; other work on this machine will skew the figures`);
  scratch = await mkdtemp(join(cfg.tmpRoot, 'wharf-bench-'));
  const loadgen = chooseLoadGen(cfg.loadgen);
  log(`settings: blob ${cfg.blobMiB} MiB, ${cfg.manifestPuts} manifest PUTs, ${cfg.tags} tags, ${cfg.concurrency} conns × ${cfg.durationSeconds} s, loadgen ${loadgen}${cfg.quick ? ' (quick)' : ''}`);

  // 1. The machine's limits, before any server runs.
  let limits: Limits | null = null;
  if (cfg.only.has('limits')) {
    log('machine limits');
    limits = await measureLimits(cfg, scratch, loadgen, (m) => log(`  ${m}`));
  }

  // 2. Blob data, generated and hashed once: two distinct windows per run (monolithic, chunked).
  const blob = cfg.only.has('blob') ? await prepareBlobFile(cfg, scratch, 2 * cfg.blobRuns) : null;
  if (blob) log(`blob file ready: ${cfg.blobMiB} MiB, ${blob.variants.length} variants`);

  // 3. Both servers, each on its own port and data dir.
  const starters: Record<TargetName, () => Promise<Server>> = { wharf: () => startWharf(cfg), distribution: () => startDistribution(cfg) };
  for (const name of cfg.targets) {
    try {
      const s = await starters[name]();
      servers.push(s);
      log(`${s.label} ${s.version} ready at ${s.baseUrl} (pid ${s.pid})`);
    } catch (err) {
      log(`could not start ${name}: ${(err as Error).message}`);
    }
  }
  if (servers.length === 0) throw new Error('no server started');

  const clients = new Map<TargetName, HttpClient>(servers.map((s) => [s.name, new HttpClient(s.baseUrl, 64, s.credentials)]));
  const ctx: Context = { cfg, results, servers, clients, scratch, loadgen, log, round: 0 };
  recordMemory(ctx, 'idle');
  const memoryTrace: RunInfo['memoryTrace'] = [];
  const trace = (phase: string) => {
    const rssMiB: Partial<Record<TargetName, number>> = {};
    for (const s of servers) {
      const m = s.memory();
      if (m !== null) rssMiB[s.name] = m.rssKiB / 1024;
    }
    memoryTrace.push({ phase, rssMiB });
  };
  trace('start');

  if (blob) {
    log('blob push/pull');
    await blobWorkload(ctx, blob);
    trace('blob push/pull');
    await rm(blob.path, { force: true });
  }
  if (cfg.only.has('manifest-put')) {
    log('manifest PUT');
    await manifestPutWorkload(ctx);
    trace('manifest PUT');
  }
  if (cfg.only.has('manifest-get')) {
    log('manifest GET/HEAD');
    await manifestGetWorkload(ctx);
    trace('manifest GET/HEAD');
  }
  if (cfg.only.has('tags')) {
    log('tag list');
    await tagListWorkload(ctx);
    trace('tag list');
  }
  if (cfg.only.has('small-pushes')) {
    log('concurrent small pushes');
    await smallPushWorkload(ctx, String(startedAt.getTime()));
    trace('small pushes');
  }
  recordMemory(ctx, 'end');
  for (const c of clients.values()) c.close();

  // Servers that died during the run show up here rather than as silent gaps.
  for (const s of servers) {
    if (s.memory() === null) log(`${s.label} is no longer running; last output:\n${await s.logTail()}`);
  }
  await cleanup();

  const run = {
    startedAt: startedAt.toISOString(),
    seconds: (performance.now() - t0) / 1000,
    load: { start: loadAtStart, end: currentLoad() },
    cfg,
    servers: servers.map((s) => ({ name: s.name, label: s.label, version: s.version })),
    loadgen,
    limits,
    results,
    memoryTrace,
  };
  const md = toMarkdown(run);
  await appendFile(resultsMd, md);
  await writeFile(join(cfg.outDir, 'results.json'), `${JSON.stringify(toJson(run), null, 2)}\n`);
  process.stdout.write(`\n${md}\n`);
  log(`wrote the core results to ${resultsMd} and results.json`);
  if (cfg.cpuProfile) await reportProfile(t0Wall);
}

/** The Wharf CPU profile written by this run (newest in <outDir>/profiles), summarized. */
async function reportProfile(since: number): Promise<void> {
  const dir = join(cfg.outDir, 'profiles');
  const files = await readdir(dir).catch(() => [] as string[]);
  let newest: { path: string; mtime: number } | null = null;
  for (const f of files.filter((x) => x.endsWith('.cpuprofile'))) {
    const p = join(dir, f);
    const m = (await stat(p)).mtimeMs;
    if (m >= since && (newest === null || m > newest.mtime)) newest = { path: p, mtime: m };
  }
  if (newest === null) {
    log('no CPU profile was written (did Wharf exit cleanly on SIGTERM?)');
    return;
  }
  const summary = await summarizeProfile(newest.path);
  await writeFile(join(cfg.outDir, 'profile.md'), `${summary}\n`);
  process.stdout.write(`\n${summary}\n`);
  log(`wrote ${join(cfg.outDir, 'profile.md')}`);
}

try {
  await main();
} catch (err) {
  log(`benchmark failed: ${(err as Error).stack ?? String(err)}`);
  process.exitCode = 1;
} finally {
  await cleanup();
  clearTimeout(watchdog);
}
