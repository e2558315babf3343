/**
 * Benchmark settings, all from the environment so the same harness runs a full comparison
 * (defaults, a few minutes on 2 cores) or a smoke run in seconds (BENCH_QUICK=1).
 */
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const WORKLOADS = ['limits', 'blob', 'manifest-put', 'manifest-get', 'tags', 'small-pushes'] as const;
export type WorkloadName = (typeof WORKLOADS)[number];

export type LoadGen = 'wrk' | 'node';
export type TargetName = 'wharf' | 'distribution';

export interface BenchConfig {
  quick: boolean;
  /** Repository root (where src/ and node_modules/ live). */
  root: string;
  outDir: string;
  tmpRoot: string;
  blobMiB: number;
  chunkMiB: number;
  /** How many times each blob transfer runs per server; the best run is reported. */
  blobRuns: number;
  manifestPuts: number;
  putConcurrency: number;
  tags: number;
  pageSize: number;
  listRuns: number;
  concurrency: number;
  durationSeconds: number;
  smallPushes: number;
  smallPushRounds: number;
  sha256MiB: number;
  diskMiB: number;
  loopbackMiB: number;
  loadgen: LoadGen | 'auto';
  targets: TargetName[];
  only: Set<WorkloadName>;
  distributionBin: string;
  /** Run Wharf with --cpu-prof; profiles land in <outDir>/profiles. */
  cpuProfile: boolean;
  /**
   * Wharf answers with token auth on, as it runs in production (BENCH_WHARF_AUTH=0 turns it
   * off); its clients fetch bearer tokens like docker. Distribution has no auth configured.
   */
  wharfAuth: boolean;
  /**
   * server.workers for the core comparison (BENCH_WHARF_WORKERS, default 1: one process, so the
   * rows compare one Node process with Distribution; the `workers` section measures 1 and 2).
   * CPU rows count the whole process tree, RSS rows the largest worker (issue 18 sets its memory
   * target per worker).
   */
  wharfWorkers: number;
  /** The whole run is aborted (servers killed, temp dirs removed) after this many seconds. */
  maxSeconds: number;
  /** Wait up to this many seconds for the 1-minute load average to drop below `idleLoad` first. */
  waitIdleSeconds: number;
  idleLoad: number;
}

function int(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) throw new Error(`${name} must be a number >= ${min}, got ${raw}`);
  return Math.floor(n);
}

function flag(name: string): boolean {
  const raw = process.env[name];
  return raw === '1' || raw === 'true' || raw === 'yes';
}

function list<T extends string>(name: string, allowed: readonly T[], fallback: readonly T[]): T[] {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return [...fallback];
  const items = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const item of items) {
    if (!(allowed as readonly string[]).includes(item)) throw new Error(`${name}: unknown value ${item} (allowed: ${allowed.join(', ')})`);
  }
  return items as T[];
}

export function loadConfig(): BenchConfig {
  const quick = flag('BENCH_QUICK');
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const loadgen = process.env['BENCH_LOADGEN'] ?? 'auto';
  if (loadgen !== 'auto' && loadgen !== 'wrk' && loadgen !== 'node') throw new Error('BENCH_LOADGEN must be auto, wrk or node');
  const chunkMiB = int('BENCH_CHUNK_MB', quick ? 4 : 16);
  const blobMiB = int('BENCH_BLOB_MB', quick ? 16 : 512);
  return {
    quick,
    root,
    outDir: resolve(process.env['BENCH_OUT'] ?? join(root, 'bench', 'output')),
    tmpRoot: process.env['BENCH_TMPDIR'] ?? tmpdir(),
    blobMiB,
    chunkMiB: Math.min(chunkMiB, blobMiB),
    blobRuns: int('BENCH_BLOB_RUNS', quick ? 1 : 2),
    manifestPuts: int('BENCH_MANIFEST_PUTS', quick ? 100 : 2000),
    putConcurrency: int('BENCH_PUT_CONCURRENCY', 8),
    tags: int('BENCH_TAGS', quick ? 300 : 10_000),
    pageSize: int('BENCH_PAGE_SIZE', quick ? 50 : 1000),
    listRuns: int('BENCH_LIST_RUNS', quick ? 2 : 5),
    concurrency: int('BENCH_CONCURRENCY', 32),
    durationSeconds: int('BENCH_DURATION', quick ? 1 : 5),
    smallPushes: int('BENCH_SMALL_PUSHES', quick ? 10 : 50),
    smallPushRounds: int('BENCH_SMALL_PUSH_ROUNDS', quick ? 1 : 3),
    sha256MiB: int('BENCH_SHA_MB', quick ? 32 : 256),
    diskMiB: int('BENCH_DISK_MB', quick ? 32 : 512),
    loopbackMiB: int('BENCH_LOOPBACK_MB', quick ? 64 : 1024),
    loadgen,
    targets: list<TargetName>('BENCH_TARGETS', ['wharf', 'distribution'], ['wharf', 'distribution']),
    only: new Set(list<WorkloadName>('BENCH_ONLY', WORKLOADS, WORKLOADS)),
    distributionBin: process.env['BENCH_DISTRIBUTION_BIN'] ?? '/usr/bin/docker-registry',
    cpuProfile: flag('BENCH_CPU_PROF'),
    wharfAuth: process.env['BENCH_WHARF_AUTH'] !== '0',
    wharfWorkers: int('BENCH_WHARF_WORKERS', 1, 0),
    maxSeconds: int('BENCH_MAX_SECONDS', quick ? 300 : 1800),
    waitIdleSeconds: int('BENCH_WAIT_IDLE', 0, 0),
    idleLoad: Number(process.env['BENCH_IDLE_LOAD'] ?? '0.7') || 0.7,
  };
}

export const MiB = 1024 * 1024;
