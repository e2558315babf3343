/**
 * Fixed-duration, fixed-concurrency load against one URL, from a separate process: `wrk` when it
 * is installed (apt-get install wrk; C, epoll, one thread), else a Node worker. Both report
 * requests/s and p50/p99 latency.
 */
import { spawn, spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LoadGen } from './config.ts';

export interface LoadSpec {
  url: string;
  method: 'GET' | 'HEAD';
  headers: Record<string, string>;
  connections: number;
  durationSeconds: number;
}

export interface LoadResult {
  tool: LoadGen;
  requests: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Socket errors and timeouts. */
  errors: number;
  /** Responses outside 2xx/3xx. */
  non2xx: number;
}

export function wrkAvailable(): boolean {
  const r = spawnSync('wrk', ['--version'], { stdio: 'ignore', timeout: 5000 });
  // wrk --version exits 1 after printing its banner; only a missing binary is an error.
  return r.error === undefined;
}

export function chooseLoadGen(wanted: LoadGen | 'auto'): LoadGen {
  if (wanted !== 'auto') return wanted;
  return wrkAvailable() ? 'wrk' : 'node';
}

function run(command: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolveRun(out);
      else reject(new Error(`${command} exited ${code}: ${err || out}`));
    });
  });
}

function lastJsonLine(out: string): Record<string, unknown> {
  const line = out.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (line === undefined) throw new Error(`load generator printed no result: ${out.slice(0, 500)}`);
  return JSON.parse(line) as Record<string, unknown>;
}

function num(o: Record<string, unknown>, key: string): number {
  const v = o[key];
  if (typeof v !== 'number') throw new Error(`load generator result lacks ${key}`);
  return v;
}

const WRK_SCRIPT = (method: string) => `
wrk.method = "${method}"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests":%d,"duration_us":%d,"errors":%d,"non2xx":%d,"p50_us":%d,"p99_us":%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99)))
end
`;

export async function runLoad(tool: LoadGen, spec: LoadSpec, scratchDir: string): Promise<LoadResult> {
  const timeoutMs = (spec.durationSeconds + 30) * 1000;
  if (tool === 'wrk') {
    const script = join(scratchDir, `wrk-${spec.method.toLowerCase()}.lua`);
    await writeFile(script, WRK_SCRIPT(spec.method));
    const headerArgs = Object.entries(spec.headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
    // Warm-up, then the measured run. One thread: the load generator takes at most one core.
    await run('wrk', ['-t1', `-c${spec.connections}`, '-d1s', '-s', script, ...headerArgs, spec.url], timeoutMs);
    const out = await run(
      'wrk',
      ['-t1', `-c${spec.connections}`, `-d${spec.durationSeconds}s`, '--timeout', '10s', '-s', script, ...headerArgs, spec.url],
      timeoutMs,
    );
    const r = lastJsonLine(out);
    const seconds = num(r, 'duration_us') / 1e6;
    const requests = num(r, 'requests');
    return {
      tool,
      requests,
      seconds,
      rps: requests / seconds,
      p50Ms: num(r, 'p50_us') / 1000,
      p99Ms: num(r, 'p99_us') / 1000,
      errors: num(r, 'errors'),
      non2xx: num(r, 'non2xx'),
    };
  }
  const out = await run(
    process.execPath,
    ['--disable-warning=ExperimentalWarning', join(import.meta.dirname, 'loadgen-worker.ts'), JSON.stringify(spec)],
    timeoutMs,
  );
  const r = lastJsonLine(out);
  const seconds = num(r, 'seconds');
  const requests = num(r, 'requests');
  return {
    tool,
    requests,
    seconds,
    rps: requests / seconds,
    p50Ms: num(r, 'p50Ms'),
    p99Ms: num(r, 'p99Ms'),
    errors: num(r, 'errors'),
    non2xx: num(r, 'non2xx'),
  };
}
