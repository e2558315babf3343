/**
 * Summarizes a V8 .cpuprofile (from `node --cpu-prof`): the functions with the most self time,
 * the most inclusive time, and self time grouped by where the code lives.
 * `node bench/profile-summary.ts <file.cpuprofile> [top] [skip-ms]`; BENCH_CPU_PROF=1 runs it after the run.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

function where(url: string): string {
  if (url === '') return '(native/V8)';
  if (url.startsWith('node:')) return url.startsWith('node:internal') ? 'node:internal' : url;
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm?.[1] !== undefined) return nm[1];
  const src = /\/(src|bench|test)\/(.+)$/.exec(url);
  if (src?.[1] !== undefined && src[2] !== undefined) return `${src[1]}/${src[2].split('/').slice(0, -1).join('/') || '.'}`;
  return url;
}

function label(f: CallFrame): string {
  const file = f.url.replace(/^file:\/\/.*?\/(src|node_modules|bench|test)\//, '$1/').replace(/^node:/, 'node:');
  return `${f.functionName || '(anonymous)'} ${file ? `${file}:${f.lineNumber + 1}` : ''}`.trim();
}

/** `skipMs`: ignore the first milliseconds of the profile (process start-up, set-up requests). */
export async function summarizeProfile(path: string, top = 25, skipMs = 0): Promise<string> {
  const profile = JSON.parse(await readFile(path, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const area = new Map<string, number>();
  let all = 0;
  let idle = 0;
  let elapsed = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    elapsed += dt;
    if (elapsed < skipMs * 1000) return;
    const node = byId.get(id);
    if (!node) return;
    all += dt;
    const name = node.callFrame.functionName;
    if (name === '(idle)') idle += dt;
    const key = label(node.callFrame);
    self.set(key, (self.get(key) ?? 0) + dt);
    const a = name.startsWith('(') ? name : where(node.callFrame.url);
    area.set(a, (area.get(a) ?? 0) + dt);
    // Inclusive: every distinct function on the stack gets the sample once.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur);
      if (!n) break;
      const k = label(n.callFrame);
      if (k === '(root)' || seen.has(k)) continue;
      seen.add(k);
      total.set(k, (total.get(k) ?? 0) + dt);
    }
  });
  const busy = all - idle;
  const ms = (us: number) => (us / 1000).toFixed(0);
  const pct = (us: number) => `${((100 * us) / Math.max(busy, 1)).toFixed(1)} %`;
  const table = (title: string, m: Map<string, number>, n: number, skip: (k: string) => boolean) => {
    const rows = [...m.entries()].filter(([k]) => !skip(k)).sort((a, b) => b[1] - a[1]).slice(0, n);
    return [`### ${title}`, '', '| ms | % of busy | function |', '| ---: | ---: | --- |', ...rows.map(([k, v]) => `| ${ms(v)} | ${pct(v)} | \`${k}\` |`), ''].join('\n');
  };
  const notIdle = (k: string) => k.startsWith('(idle)');
  return [
    `Profile ${path}: ${ms(all)} ms sampled${skipMs > 0 ? ` (first ${skipMs.toFixed(0)} ms skipped)` : ''}, ${ms(idle)} ms idle, ${ms(busy)} ms busy.`,
    '',
    table('Self time by area', area, 15, notIdle),
    table('Self time by function', self, top, notIdle),
    table('Inclusive time by function', total, top, (k) => notIdle(k) || k.startsWith('(program)') || k.startsWith('(garbage collector)')),
  ].join('\n');
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = process.argv[2];
  if (file === undefined) {
    console.error('usage: node bench/profile-summary.ts <file.cpuprofile> [top]');
    process.exit(2);
  }
  process.stdout.write(`${await summarizeProfile(file, Number(process.argv[3] ?? '25'), Number(process.argv[4] ?? '0'))}\n`);
}
