/**
 * Scale-out benchmark (issue 6): the same blob push/pull and manifest GET load against
 *
 *   - the embedded profile (one `wharf serve` on fs + SQLite),
 *   - ONE replica on RADOS Gateway (S3) + PostgreSQL, directly and through nginx,
 *   - TWO replicas on the same backends behind nginx round-robin,
 *
 * and the ratios two-replicas/one-replica and scale/embedded.
 *
 *   node bench/scale.ts                 # about 2 minutes once the services run
 *   BENCH_QUICK=1 node bench/scale.ts   # 16 MiB blobs, 1 s loads
 *
 * Or from another bench: `const r = await runScaleBench(); scaleBenchMarkdown(r)`.
 *
 * Services: ../shared/services/start-services.sh (RGW, PostgreSQL, nginx on 5280 in front of
 * 127.0.0.1:5281/5282, where the replicas are started). Their variables are taken from the
 * environment (S3_ENDPOINT, DATABASE_URL, REGISTRY_LB_URL, …), else from `start-services.sh env`
 * when they run, else `start-services.sh up s3 postgres lb` starts them (BENCH_SCALE_START=0
 * forbids that) and `down` stops them again at the end (BENCH_SCALE_KEEP_SERVICES=1 keeps them).
 * When they cannot be reached the bench is skipped with the reason, never failed.
 *
 * Every run uses a fresh S3 key prefix and a fresh PostgreSQL database, removed at the end.
 * Not a test: it asserts nothing. Method and results: docs/benchmarks.md, "Scale-out".
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { loadConfig, MiB, type BenchConfig, type LoadGen } from './config.ts';
import { HttpClient } from './http.ts';
import { chooseLoadGen, runLoad, type LoadResult } from './loadgen.ts';
import { imageManifest, MANIFEST_ACCEPT, pullBlob, pushFileMonolithic, pushImageBlobs, putManifest, smallImage } from './registry-client.ts';
import { currentLoad } from './report.ts';
import { readMemory, startWharf as startEmbedded, type Server } from './servers.ts';
import { prepareBlobFile, type BlobFile } from './workloads.ts';
import { requestCountsMarkdown, runRequestCounts, type RequestCountsResult } from './request-counts.ts';
import { emptyPrefix, s3TestOptions, uniqueName } from '../test/scale/backends.ts';
import { startWharf as startReplica, type StartedServer } from '../test/helpers/server.ts';
import type { S3Options } from '../src/storage/s3/client.ts';

const SERVICES_SCRIPT = resolve(import.meta.dirname, '..', '..', 'shared', 'services', 'start-services.sh');

export interface ScaleBenchOptions {
  blobMiB?: number;
  /** Transfers per target and kind; the best is reported. */
  blobRuns?: number;
  /** Parallel pulls of the same blob in the aggregate pull row. */
  parallelPulls?: number;
  connections?: number;
  durationSeconds?: number;
  loadgen?: LoadGen | 'auto';
  /** May the bench run start-services.sh up when the services are not running? */
  startServices?: boolean;
  keepServices?: boolean;
  tmpRoot?: string;
  log?: (msg: string) => void;
}

export type TargetKey = 'embedded' | 'one' | 'oneLb' | 'two';

export interface TargetFigures {
  label: string;
  pushMiBs: number | null;
  pullMiBs: number | null;
  parallelPullMiBs: number | null;
  get: LoadResult | null;
  /** VmRSS of each Wharf process of this target after its workloads, MiB. */
  rssMiB: number[];
  errors: string[];
}

export interface ScaleBenchResult {
  skipped: string | null;
  startedAt: string;
  seconds: number;
  load: { start: number; end: number };
  servicesStartedSeconds: number | null;
  settings: { blobMiB: number; blobRuns: number; parallelPulls: number; connections: number; durationSeconds: number; loadgen: LoadGen };
  targets: Partial<Record<TargetKey, TargetFigures>>;
  /** Statements and S3 calls per request on both profiles, with token auth (bench/request-counts.ts). */
  counts?: RequestCountsResult;
  ratios: {
    twoOverOne: { push: number | null; pull: number | null; parallelPull: number | null; get: number | null };
    twoOverOneLb: { push: number | null; pull: number | null; parallelPull: number | null; get: number | null };
    oneOverEmbedded: { push: number | null; pull: number | null; parallelPull: number | null; get: number | null };
    twoOverEmbedded: { push: number | null; pull: number | null; parallelPull: number | null; get: number | null };
  };
}

interface ServiceEnv {
  s3: S3Options;
  databaseUrl: string;
  lbUrl: string;
  replicaPorts: number[];
}

function parseExports(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^export ([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m?.[1] === undefined || m[2] === undefined) continue;
    out[m[1]] = m[2].replace(/^"(.*)"$/, '$1').replace(/^'(.*)'$/, '$1');
  }
  return out;
}

function runScript(args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolveRun) => {
    const child = spawn('bash', [SERVICES_SCRIPT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolveRun({ code: -1, stdout, stderr: `${stderr}${err.message}` });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolveRun({ code, stdout, stderr });
    });
  });
}

function toServiceEnv(vars: Record<string, string | undefined>, prefix: string): ServiceEnv | string {
  const missing = ['S3_ENDPOINT', 'DATABASE_URL', 'REGISTRY_LB_URL'].filter((k) => !vars[k]);
  if (missing.length > 0) return `${missing.join(', ')} not set`;
  return {
    s3: s3TestOptions({
      bucket: vars['S3_BUCKET'] || 'wharf',
      region: vars['S3_REGION'] || 'us-east-1',
      endpoint: vars['S3_ENDPOINT'],
      forcePathStyle: (vars['S3_FORCE_PATH_STYLE'] ?? 'true') !== 'false',
      accessKeyId: vars['S3_ACCESS_KEY'],
      secretAccessKey: vars['S3_SECRET_KEY'],
      prefix,
    }),
    databaseUrl: vars['DATABASE_URL'] ?? '',
    lbUrl: new URL(vars['REGISTRY_LB_URL'] ?? '').origin,
    replicaPorts: (vars['REGISTRY_REPLICA_PORTS'] ?? '5281 5282').split(/\s+/).filter(Boolean).map(Number),
  };
}

/** The services' variables: from the environment, from a running start-services.sh, or by starting it. */
async function discoverServices(
  opts: Required<Pick<ScaleBenchOptions, 'startServices'>>,
  prefix: string,
  log: (m: string) => void,
): Promise<{ env: ServiceEnv; started: number | null } | { skip: string }> {
  const fromProcess = toServiceEnv(process.env, prefix);
  if (typeof fromProcess !== 'string') return { env: fromProcess, started: null };
  if (!existsSync(SERVICES_SCRIPT)) return { skip: `${fromProcess} and ${SERVICES_SCRIPT} does not exist` };
  const status = await runScript(['status'], 30_000);
  const running = (name: string) => new RegExp(`^${name}: running`, 'm').test(status.stdout + status.stderr);
  if (running('s3') && running('postgres') && running('lb')) {
    const fromScript = toServiceEnv(parseExports((await runScript(['env'], 30_000)).stdout), prefix);
    if (typeof fromScript !== 'string') return { env: fromScript, started: null };
  }
  if (!opts.startServices) return { skip: `${fromProcess}; the services are not running and BENCH_SCALE_START=0` };
  log(`scale: starting the services (${SERVICES_SCRIPT} up s3 postgres lb)`);
  const t = performance.now();
  const up = await runScript(['up', 's3', 'postgres', 'lb'], 15 * 60_000);
  const seconds = (performance.now() - t) / 1000;
  if (up.code !== 0) {
    // Stop whatever part did come up: we started it.
    await runScript(['down', 's3', 'postgres', 'lb'], 120_000);
    return { skip: `start-services.sh up failed (exit ${up.code}): ${up.stderr.trim().split('\n').slice(-3).join(' / ')}` };
  }
  const fromUp = toServiceEnv(parseExports(up.stdout), prefix);
  if (typeof fromUp === 'string') return { skip: `start-services.sh up printed no usable variables: ${fromUp}` };
  log(`scale: services up in ${seconds.toFixed(1)} s`);
  return { env: fromUp, started: seconds };
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolveFree) => {
    const srv = net.createServer();
    srv.once('error', () => resolveFree(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolveFree(true)));
  });
}

async function reachable(url: string): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolveReach) => {
    const sock = net.connect({ host: u.hostname, port: Number(u.port) || 80 });
    const done = (ok: boolean) => {
      sock.destroy();
      resolveReach(ok);
    };
    sock.setTimeout(3000, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

function settle(): void {
  spawnSync('sync', { stdio: 'ignore', timeout: 120_000 });
}

const ratio = (a: number | null | undefined, b: number | null | undefined): number | null =>
  a === null || a === undefined || b === null || b === undefined || b === 0 ? null : a / b;

function message(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? 'error';
}

/** Blob push (best of runs), single pull, parallel pulls and the manifest GET load against one URL. */
async function measureTarget(
  label: string,
  baseUrl: string,
  blobs: BlobFile['variants'],
  pids: (number | undefined)[],
  s: ScaleBenchResult['settings'],
  scratch: string,
  log: (m: string) => void,
): Promise<TargetFigures> {
  const fig: TargetFigures = { label, pushMiBs: null, pullMiBs: null, parallelPullMiBs: null, get: null, rssMiB: [], errors: [] };
  const client = new HttpClient(baseUrl, 64);
  const repo = 'bench/scale';
  const guarded = async (what: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (err) {
      fig.errors.push(`${what}: ${message(err)}`);
      log(`  ${label}: ${what} FAILED ${message(err)}`);
    }
  };
  try {
    let pushed: string | null = null;
    for (const blob of blobs) {
      await guarded('push', async () => {
        settle();
        const t0 = performance.now();
        await pushFileMonolithic(client, repo, blob);
        const rate = s.blobMiB / ((performance.now() - t0) / 1000);
        fig.pushMiBs = Math.max(fig.pushMiBs ?? 0, rate);
        pushed ??= blob.digest;
        log(`  ${label}: monolithic push ${rate.toFixed(0)} MiB/s`);
      });
    }
    const digest = pushed;
    if (digest !== null) {
      const expected = s.blobMiB * MiB;
      for (let run = 0; run < s.blobRuns; run++) {
        await guarded('pull', async () => {
          settle();
          const t0 = performance.now();
          const bytes = await pullBlob(client, repo, digest);
          if (bytes !== expected) throw new Error(`pulled ${bytes} bytes, expected ${expected}`);
          const rate = s.blobMiB / ((performance.now() - t0) / 1000);
          fig.pullMiBs = Math.max(fig.pullMiBs ?? 0, rate);
          log(`  ${label}: pull ${rate.toFixed(0)} MiB/s`);
        });
      }
      await guarded('parallel pull', async () => {
        const t0 = performance.now();
        const sizes = await Promise.all(Array.from({ length: s.parallelPulls }, () => pullBlob(client, repo, digest)));
        if (sizes.some((b) => b !== expected)) throw new Error(`a parallel pull got ${sizes.join('/')} bytes`);
        fig.parallelPullMiBs = (s.parallelPulls * s.blobMiB) / ((performance.now() - t0) / 1000);
        log(`  ${label}: ${s.parallelPulls} parallel pulls ${fig.parallelPullMiBs.toFixed(0)} MiB/s in total`);
      });
    } else {
      fig.errors.push('pull: nothing pushed');
    }
    await guarded('manifest GET', async () => {
      const image = smallImage('bench-scale-get');
      await pushImageBlobs(client, 'bench/scale-get', image);
      await putManifest(client, 'bench/scale-get', 'latest', imageManifest(image));
      const r = await runLoad(
        s.loadgen,
        { url: `${baseUrl}/v2/bench/scale-get/manifests/latest`, method: 'GET', headers: { accept: MANIFEST_ACCEPT }, connections: s.connections, durationSeconds: s.durationSeconds },
        scratch,
      );
      if (r.requests === 0) throw new Error(`no request completed (${r.errors} errors)`);
      if (r.errors + r.non2xx > 0) fig.errors.push(`manifest GET: ${r.errors + r.non2xx} of ${r.requests} failed`);
      fig.get = r;
      log(`  ${label}: manifest GET ${r.rps.toFixed(0)} req/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms`);
    });
  } finally {
    client.close();
  }
  for (const pid of pids) {
    const m = pid === undefined ? null : readMemory(pid);
    if (m !== null) fig.rssMiB.push(m.rssKiB / 1024);
  }
  return fig;
}

export async function runScaleBench(opts: ScaleBenchOptions = {}): Promise<ScaleBenchResult> {
  const t0 = performance.now();
  const log = opts.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const quick = ['1', 'true', 'yes'].includes(process.env['BENCH_QUICK'] ?? '');
  const envInt = (name: string, fallback: number) => {
    const n = Number(process.env[name]);
    return Number.isFinite(n) && n >= 1 ? Math.floor(n) : fallback;
  };
  const base: BenchConfig = loadConfig();
  const settings: ScaleBenchResult['settings'] = {
    blobMiB: opts.blobMiB ?? envInt('BENCH_SCALE_BLOB_MB', quick ? 16 : 256),
    blobRuns: opts.blobRuns ?? envInt('BENCH_SCALE_BLOB_RUNS', quick ? 1 : 2),
    parallelPulls: opts.parallelPulls ?? envInt('BENCH_SCALE_PARALLEL_PULLS', 4),
    connections: opts.connections ?? base.concurrency,
    durationSeconds: opts.durationSeconds ?? base.durationSeconds,
    loadgen: chooseLoadGen(opts.loadgen ?? base.loadgen),
  };
  const cfg: BenchConfig = { ...base, blobMiB: settings.blobMiB, tmpRoot: opts.tmpRoot ?? base.tmpRoot };
  const result: ScaleBenchResult = {
    skipped: null,
    startedAt: new Date().toISOString(),
    seconds: 0,
    load: { start: currentLoad(), end: 0 },
    servicesStartedSeconds: null,
    settings,
    targets: {},
    ratios: {
      twoOverOne: { push: null, pull: null, parallelPull: null, get: null },
      twoOverOneLb: { push: null, pull: null, parallelPull: null, get: null },
      oneOverEmbedded: { push: null, pull: null, parallelPull: null, get: null },
      twoOverEmbedded: { push: null, pull: null, parallelPull: null, get: null },
    },
  };
  const finish = () => {
    result.seconds = (performance.now() - t0) / 1000;
    result.load.end = currentLoad();
    return result;
  };

  const runId = uniqueName('run');
  const found = await discoverServices({ startServices: opts.startServices ?? process.env['BENCH_SCALE_START'] !== '0' }, `bench/scale/${runId}/`, log);
  if ('skip' in found) {
    result.skipped = found.skip;
    log(`scale: skipped: ${found.skip}`);
    return finish();
  }
  const { env: svc, started } = found;
  result.servicesStartedSeconds = started;
  const stopServices = async () => {
    if (started === null || (opts.keepServices ?? process.env['BENCH_SCALE_KEEP_SERVICES'] === '1')) return;
    log('scale: stopping the services this run started');
    await runScript(['down', 's3', 'postgres', 'lb'], 120_000);
  };

  const ports = svc.replicaPorts.slice(0, 2);
  const problems: string[] = [];
  if (ports.length < 2) problems.push(`need two replica ports, got ${svc.replicaPorts.join(' ')}`);
  for (const p of ports) if (!(await portFree(p))) problems.push(`replica port ${p} is in use (a scale test running?)`);
  if (!(await reachable(svc.s3.endpoint ?? ''))) problems.push(`S3 endpoint ${svc.s3.endpoint} unreachable`);
  if (!(await reachable(svc.lbUrl))) problems.push(`load balancer ${svc.lbUrl} unreachable`);
  if (problems.length > 0) {
    result.skipped = problems.join('; ');
    log(`scale: skipped: ${result.skipped}`);
    await stopServices();
    return finish();
  }

  const scratch = await mkdtemp(join(cfg.tmpRoot, 'wharf-bench-scale-'));
  const dbName = uniqueName('wharf_bench_scale');
  let dbCreated = false;
  const replicas: StartedServer[] = [];
  let embedded: Server | null = null;
  try {
    // Distinct content per push: the scale targets share one bucket prefix and database.
    const perTarget = settings.blobRuns;
    const blob = await prepareBlobFile(cfg, scratch, 4 * perTarget);
    const variants = (k: number) => blob.variants.slice(k * perTarget, (k + 1) * perTarget);
    log(`scale: ${settings.blobMiB} MiB blob file ready; ${settings.connections} connections × ${settings.durationSeconds} s (${settings.loadgen})`);

    log('scale: embedded profile (fs + SQLite)');
    // Auth off, as on the replicas (the counts table below measures with auth on).
    embedded = await startEmbedded({ ...cfg, wharfAuth: false });
    result.targets.embedded = await measureTarget('embedded (fs + SQLite)', embedded.baseUrl, variants(0), [embedded.pid], settings, scratch, log);
    await embedded.stop();
    embedded = null;

    const admin = new pg.Client({ connectionString: svc.databaseUrl });
    await admin.connect();
    await admin.query(`create database "${dbName}"`).finally(() => admin.end());
    dbCreated = true;
    const dbUrl = new URL(svc.databaseUrl);
    dbUrl.pathname = `/${dbName}`;
    const env: Record<string, string> = {
      WHARF_STORAGE__DRIVER: 's3',
      WHARF_STORAGE__S3__BUCKET: svc.s3.bucket,
      WHARF_STORAGE__S3__REGION: svc.s3.region,
      WHARF_STORAGE__S3__ENDPOINT: svc.s3.endpoint ?? '',
      WHARF_STORAGE__S3__FORCE_PATH_STYLE: String(svc.s3.forcePathStyle),
      WHARF_STORAGE__S3__ACCESS_KEY_ID: svc.s3.accessKeyId ?? '',
      WHARF_STORAGE__S3__SECRET_ACCESS_KEY: svc.s3.secretAccessKey ?? '',
      WHARF_STORAGE__S3__PREFIX: svc.s3.prefix,
      WHARF_STORAGE__S3__CREATE_BUCKET: 'true',
      WHARF_DATABASE__DRIVER: 'postgres',
      WHARF_DATABASE__POSTGRES__URL: dbUrl.toString(),
      WHARF_SERVER__TRUST_PROXY: 'true',
      WHARF_AUTH__ENABLED: 'false',
      WHARF_LOG__LEVEL: 'warn',
    };
    const [p1, p2] = ports as [number, number];
    log(`scale: one replica on RGW + PostgreSQL (127.0.0.1:${p1})`);
    replicas.push(await startReplica({ port: p1, env, readyTimeoutMs: 60_000 }));
    const r1 = replicas[0];
    if (r1 === undefined) throw new Error('replica 1 did not start');
    result.targets.one = await measureTarget('one replica, direct', r1.url, variants(1), [r1.pid], settings, scratch, log);
    // The same single replica through nginx separates nginx's own cost from the second replica's
    // gain. nginx marks the absent second backend down after one refused connect (2 s) and
    // retries the request on the first, so the client sees no errors.
    result.targets.oneLb = await measureTarget('one replica via nginx', svc.lbUrl, variants(2), [r1.pid], settings, scratch, log);

    log(`scale: second replica (127.0.0.1:${p2}); both behind nginx at ${svc.lbUrl}`);
    replicas.push(await startReplica({ port: p2, env, readyTimeoutMs: 60_000 }));
    result.targets.two = await measureTarget('two replicas via nginx', svc.lbUrl, variants(3), replicas.map((r) => r.pid), settings, scratch, log);
    await rm(blob.path, { force: true });
    for (const r of replicas.splice(0)) await r.stop().catch((err: unknown) => log(`scale: stopping replica ${r.port}: ${message(err)}`));
    // Where a request's time goes: exact per-request counts on both profiles, auth on.
    if (process.env['BENCH_SCALE_COUNTS'] !== '0') {
      result.counts = await runRequestCounts({ n: quick ? 50 : 200, services: { s3: svc.s3, databaseUrl: svc.databaseUrl }, log });
    }

    const t = result.targets;
    const ratios = (a: TargetFigures | undefined, b: TargetFigures | undefined) => ({
      push: ratio(a?.pushMiBs, b?.pushMiBs),
      pull: ratio(a?.pullMiBs, b?.pullMiBs),
      parallelPull: ratio(a?.parallelPullMiBs, b?.parallelPullMiBs),
      get: ratio(a?.get?.rps, b?.get?.rps),
    });
    result.ratios = {
      twoOverOne: ratios(t.two, t.one),
      twoOverOneLb: ratios(t.two, t.oneLb),
      oneOverEmbedded: ratios(t.one, t.embedded),
      twoOverEmbedded: ratios(t.two, t.embedded),
    };
  } finally {
    await embedded?.stop().catch(() => undefined);
    for (const r of replicas) await r.stop().catch((err: unknown) => log(`scale: stopping replica ${r.port}: ${message(err)}`));
    await emptyPrefix(svc.s3).catch((err: unknown) => log(`scale: emptying ${svc.s3.prefix}: ${message(err)}`));
    if (dbCreated) {
      const c = new pg.Client({ connectionString: svc.databaseUrl });
      await c
        .connect()
        .then(() => c.query(`drop database if exists "${dbName}" with (force)`))
        .catch((err: unknown) => log(`scale: dropping ${dbName}: ${message(err)}`))
        .finally(() => c.end().catch(() => undefined));
    }
    await rm(scratch, { recursive: true, force: true });
    await stopServices();
  }
  return finish();
}

const f0 = (n: number | null | undefined) => (n === null || n === undefined ? 'n/a' : n.toFixed(0));
const f2 = (n: number | null | undefined) => (n === null || n === undefined ? 'n/a' : n.toFixed(2));
const x = (n: number | null) => (n === null ? 'n/a' : `${n.toFixed(2)}×`);

/** The figures as a Markdown section (tables), for bench/output/results.md and docs/benchmarks.md. */
export function scaleBenchMarkdown(r: ScaleBenchResult): string {
  const lines = ['## Scale-out: one vs two replicas on RGW + PostgreSQL, and the embedded profile', ''];
  if (r.skipped !== null) {
    lines.push(`Skipped: ${r.skipped}.`, '');
    return lines.join('\n');
  }
  const s = r.settings;
  const keys: TargetKey[] = ['embedded', 'one', 'oneLb', 'two'];
  const present = keys.filter((k) => r.targets[k] !== undefined);
  const col = (fn: (t: TargetFigures) => string) => present.map((k) => { const t = r.targets[k]; return t ? fn(t) : ''; }).join(' | ');
  lines.push(
    `Run ${r.startedAt}, ${r.seconds.toFixed(0)} s; 1-min load average ${r.load.start.toFixed(2)} at start, ${r.load.end.toFixed(2)} at end.${r.servicesStartedSeconds === null ? '' : ` Services started by this run in ${r.servicesStartedSeconds.toFixed(1)} s.`}`,
    '',
    `| workload | unit | ${present.map((k) => r.targets[k]?.label ?? k).join(' | ')} |`,
    `| --- | --- |${present.map(() => ' ---: |').join('')}`,
    `| Blob push ${s.blobMiB} MiB, monolithic (best of ${s.blobRuns}) | MiB/s | ${col((t) => f0(t.pushMiBs))} |`,
    `| Blob pull ${s.blobMiB} MiB (best of ${s.blobRuns}) | MiB/s | ${col((t) => f0(t.pullMiBs))} |`,
    `| ${s.parallelPulls} parallel pulls of the blob, total | MiB/s | ${col((t) => f0(t.parallelPullMiBs))} |`,
    `| Manifest GET by tag, ${s.connections} connections, ${s.durationSeconds} s (${s.loadgen}) | req/s | ${col((t) => f0(t.get?.rps))} |`,
    `| Manifest GET latency p50 | ms | ${col((t) => f2(t.get?.p50Ms))} |`,
    `| Manifest GET latency p99 | ms | ${col((t) => f2(t.get?.p99Ms))} |`,
    `| Wharf RSS after the workloads (per process) | MiB | ${col((t) => t.rssMiB.map((m) => m.toFixed(0)).join(' + ') || 'n/a')} |`,
    '',
    '| ratio | push | pull | parallel pull | manifest GET |',
    '| --- | ---: | ---: | ---: | ---: |',
  );
  const row = (label: string, q: ScaleBenchResult['ratios']['twoOverOne']) => lines.push(`| ${label} | ${x(q.push)} | ${x(q.pull)} | ${x(q.parallelPull)} | ${x(q.get)} |`);
  row('two replicas ÷ one replica (direct)', r.ratios.twoOverOne);
  row('two replicas ÷ one replica (both via nginx)', r.ratios.twoOverOneLb);
  row('one replica (direct) ÷ embedded', r.ratios.oneOverEmbedded);
  row('two replicas ÷ embedded', r.ratios.twoOverEmbedded);
  const errors = present.flatMap((k) => (r.targets[k]?.errors ?? []).map((e) => `${r.targets[k]?.label}: ${e}`));
  if (errors.length > 0) lines.push('', 'Errors:', '', ...errors.map((e) => `- ${e}`));
  lines.push('');
  if (r.counts) lines.push(requestCountsMarkdown(r.counts));
  return lines.join('\n');
}

if (import.meta.filename === process.argv[1]) {
  const r = await runScaleBench();
  process.stdout.write(`${scaleBenchMarkdown(r)}\n${JSON.stringify(r, null, 2)}\n`);
}
