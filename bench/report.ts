/**
 * Turns a run into Markdown (printed and written to results.md) and JSON (results.json).
 */
import { cpus, loadavg, release, totalmem } from 'node:os';
import type { BenchConfig, LoadGen, TargetName } from './config.ts';
import type { Limits } from './limits.ts';
import { meetsTarget, ratioOf, type MetricRow, type Results } from './results.ts';

export interface RunInfo {
  startedAt: string;
  seconds: number;
  /** 1-minute load average before the servers started and at the end: other work on the machine skews figures. */
  load: { start: number; end: number };
  cfg: BenchConfig;
  servers: { name: TargetName; label: string; version: string }[];
  loadgen: LoadGen;
  limits: Limits | null;
  results: Results;
  /** Server RSS (MiB) after each phase. */
  memoryTrace: { phase: string; rssMiB: Partial<Record<TargetName, number>> }[];
}

export interface LimitBounds {
  push: number;
  pull: number;
  pushBy: string;
  pullBy: string;
}

/** Push: hashing, writing+fsync and receiving all bound it. Pull: only reading and sending (no hashing). */
export function bounds(l: Limits): LimitBounds {
  const push = [
    ['sha256', l.sha256],
    ['disk write+fsync', l.diskWrite],
    ['loopback upload', l.loopbackUpload],
  ] as const;
  const pull = [
    ['disk read', l.diskRead],
    ['loopback download', l.loopbackDownload],
  ] as const;
  const minOf = (xs: readonly (readonly [string, number])[]) => xs.reduce((a, b) => (b[1] < a[1] ? b : a));
  const p = minOf(push);
  const q = minOf(pull);
  return { push: p[1], pushBy: p[0], pull: q[1], pullBy: q[0] };
}

function cell(row: MetricRow, t: TargetName, footnotes: string[]): string {
  const v = row.values[t];
  const err = row.errors[t];
  const note = row.notes[t];
  const mark = (text: string) => {
    footnotes.push(text);
    return `[^${footnotes.length}]`;
  };
  if (err !== undefined) return `error${mark(`${row.label}, ${t}: ${err}`)}`;
  if (v === undefined) return '—';
  return `${v.toFixed(row.decimals)}${note ? ` ${mark(`${row.label}, ${t}: ${note}`)}` : ''}`;
}

function pctOfLimit(row: MetricRow, t: TargetName, b: LimitBounds | null): number | undefined {
  const v = row.values[t];
  if (b === null || row.limit === undefined || v === undefined) return undefined;
  return (100 * v) / (row.limit === 'push' ? b.push : b.pull);
}

function met(row: MetricRow): string {
  const byRatio = meetsTarget(row);
  if (row.target === undefined) return '';
  if (byRatio === undefined) return 'n/a';
  return byRatio ? 'yes' : '**no**';
}

export function toMarkdown(run: RunInfo): string {
  const { cfg, results, limits } = run;
  const b = limits ? bounds(limits) : null;
  const footnotes: string[] = [];
  const label = (t: TargetName) => run.servers.find((s) => s.name === t);
  const lines: string[] = [];
  lines.push(`# Wharf vs CNCF Distribution — benchmark results`, '');
  const cpu = cpus();
  lines.push(
    `- Run: ${run.startedAt}, ${run.seconds.toFixed(0)} s${cfg.quick ? ' (**BENCH_QUICK smoke run — sizes are tiny, figures are not meaningful**)' : ''}`,
    `- Machine: ${cpu.length} × ${cpu[0]?.model.trim() ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Linux ${release()}; 1-min load average ${run.load.start.toFixed(2)} at start, ${run.load.end.toFixed(2)} at end${Math.max(run.load.start, run.load.end) > 0.7 ? ' (**the machine was busy with other work: figures are noisy**)' : ''}`,
    `- Wharf ${label('wharf')?.version ?? 'not run'}; Distribution ${label('distribution')?.version ?? 'not run'}`,
    `- Wharf: token auth ${cfg.wharfAuth ? 'on (clients fetch a bearer token per repository scope, as docker does)' : 'off'}; server.workers ${cfg.wharfWorkers === 0 ? `0 (one per core: ${cpu.length})` : cfg.wharfWorkers}. Server CPU rows count the whole process tree; RSS rows are the largest worker's. Distribution: no auth, all cores (Go). Pulls hash every byte and check the digest.`,
    `- Load generator for GET/HEAD: ${run.loadgen === 'wrk' ? 'wrk (1 thread, separate process)' : 'Node keep-alive client (separate process)'}`,
    `- Sizes: blob ${cfg.blobMiB} MiB, chunk ${cfg.chunkMiB} MiB, ${cfg.manifestPuts} manifest PUTs, ${cfg.tags} tags, page ${cfg.pageSize}, ${cfg.concurrency} connections × ${cfg.durationSeconds} s, ${cfg.smallPushes} small pushes`,
    '',
  );
  if (limits && b) {
    lines.push('## Machine limits (same run)', '', '| limit | MiB/s |', '| --- | ---: |');
    lines.push(`| sha256 (node crypto, ${cfg.sha256MiB} MiB buffer) | ${limits.sha256.toFixed(0)} |`);
    lines.push(`| disk write + fsync (${cfg.diskMiB} MiB) | ${limits.diskWrite.toFixed(0)} |`);
    lines.push(`| disk read (${cfg.diskMiB} MiB, page cache) | ${limits.diskRead.toFixed(0)} |`);
    lines.push(`| loopback TCP upload (${cfg.loopbackMiB} MiB, Node → Node process) | ${limits.loopbackUpload.toFixed(0)} |`);
    lines.push(`| loopback TCP download (${cfg.loopbackMiB} MiB, Node → Node process) | ${limits.loopbackDownload.toFixed(0)} |`);
    lines.push(`| **push limit** = min(sha256, disk write, loopback upload) | **${b.push.toFixed(0)}** (${b.pushBy}) |`);
    lines.push(`| **pull limit** = min(disk read, loopback download) | **${b.pull.toFixed(0)}** (${b.pullBy}) |`, '');
    if (limits.nodeFileServe !== null) {
      lines.push(
        `Reference, not a limit: a bare \`node:http\` server streaming the ${cfg.diskMiB} MiB probe file (fs read stream, 1 MiB reads, piped to the response) to the same Node client reaches **${limits.nodeFileServe.toFixed(0)} MiB/s**.`,
        '',
      );
    }
    if (limits.helloRps !== null) {
      lines.push(
        `Reference, request rate: a bare \`node:http\` server answering \`{}\` does **${limits.helloRps.toFixed(0)} req/s** under the GET load below (${run.loadgen}, ${cfg.concurrency} connections).`,
        '',
      );
    }
  }
  lines.push('## Results', '');
  lines.push('| workload | unit | Wharf | Distribution | Wharf/Dist | target | met |', '| --- | --- | ---: | ---: | ---: | --- | --- |');
  for (const row of results.rows) {
    const r = ratioOf(row);
    lines.push(
      `| ${row.label} | ${row.unit} | ${cell(row, 'wharf', footnotes)} | ${cell(row, 'distribution', footnotes)} | ${r === undefined ? '—' : `${r.toFixed(2)}×`} | ${row.target?.text ?? ''} | ${met(row)} |`,
    );
  }
  lines.push('');
  const blobRows = results.rows.filter((r) => r.limit !== undefined);
  if (b && blobRows.length > 0) {
    lines.push('### Blob transfers as a share of the machine limit', '');
    lines.push('| transfer | limit MiB/s | Wharf | Distribution |', '| --- | ---: | ---: | ---: |');
    for (const row of blobRows) {
      const pct = (t: TargetName) => {
        const p = pctOfLimit(row, t, b);
        return p === undefined ? '—' : `${p.toFixed(0)} %`;
      };
      lines.push(`| ${row.label} | ${(row.limit === 'push' ? b.push : b.pull).toFixed(0)} | ${pct('wharf')} | ${pct('distribution')} |`);
    }
    lines.push('');
  }
  if (run.memoryTrace.length > 0) {
    lines.push('### Server RSS after each phase (MiB)', '', '| after | Wharf | Distribution |', '| --- | ---: | ---: |');
    for (const m of run.memoryTrace) {
      lines.push(`| ${m.phase} | ${m.rssMiB.wharf?.toFixed(0) ?? '—'} | ${m.rssMiB.distribution?.toFixed(0) ?? '—'} |`);
    }
    lines.push('');
  }
  lines.push(
    'Ratios are Wharf ÷ Distribution of the raw figures: above 1 is better for rates, below 1 is better for times and memory.',
    '',
  );
  if (footnotes.length > 0) {
    footnotes.forEach((f, i) => lines.push(`[^${i + 1}]: ${f.replaceAll('|', '\\|')}`));
    lines.push('');
  }
  return lines.join('\n');
}

export function currentLoad(): number {
  return loadavg()[0] ?? 0;
}

export function toJson(run: RunInfo): unknown {
  const b = run.limits ? bounds(run.limits) : null;
  return {
    startedAt: run.startedAt,
    seconds: run.seconds,
    load: run.load,
    quick: run.cfg.quick,
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? null, memoryBytes: totalmem(), kernel: release() },
    settings: { ...run.cfg, only: [...run.cfg.only] },
    servers: run.servers,
    loadgen: run.loadgen,
    limits: run.limits,
    bounds: b,
    memoryTrace: run.memoryTrace,
    rows: run.results.rows.map((row) => ({
      ...row,
      ratio: ratioOf(row) ?? null,
      met: met(row).replaceAll('*', '') || null,
      percentOfLimit: row.limit === undefined ? null : { wharf: pctOfLimit(row, 'wharf', b) ?? null, distribution: pctOfLimit(row, 'distribution', b) ?? null },
    })),
  };
}
