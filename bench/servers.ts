/**
 * Starts Wharf and CNCF Distribution as child processes on 127.0.0.1, each with a fresh data
 * directory, waits until they answer, reads their memory from /proc, and stops them (SIGTERM,
 * then SIGKILL) and removes their directories.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureBuilt, wharfBin } from '../scripts/build.ts';
import { distributionConfig } from '../test/helpers/server.ts';
import type { BenchConfig, TargetName } from './config.ts';
import type { Credentials } from './http.ts';

export interface Memory {
  /** Resident set size now, KiB. */
  rssKiB: number;
  /** Peak resident set size, KiB. */
  hwmKiB: number;
}

export interface Server {
  name: TargetName;
  label: string;
  version: string;
  baseUrl: string;
  pid: number;
  dataDir: string;
  memory(): Memory | null;
  /** utime + stime of the server and its child processes (server.workers), seconds. */
  cpuSeconds(): number;
  stop(): Promise<void>;
  /** The last lines of the server's output, for error messages. */
  logTail(): Promise<string>;
  /** What a client signs in with, when the server has auth on. */
  credentials?: Credentials;
}

/** The site admin of a bench Wharf with auth on. */
const BENCH_ADMIN: Credentials = { username: 'admin', password: 'bench-admin-password' };

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

/** The pid and every descendant, from /proc (a server with workers). */
export function processTree(pid: number): number[] {
  const out = [pid];
  try {
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      const raw = readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim();
      if (raw !== '') for (const c of raw.split(/\s+/)) out.push(...processTree(Number(c)));
    }
  } catch {
    // exited
  }
  return out;
}

/** utime + stime of the process tree under `pid`, seconds (clock ticks of 1/100 s). */
export function treeCpuSeconds(pid: number): number {
  let ticks = 0;
  for (const p of processTree(pid)) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // exited between the listing and the read
    }
  }
  return ticks / 100;
}

/**
 * The memory of a server process tree: the largest of its workers when it forked any (the
 * primary only supervises them), else the process itself.
 */
export function readTreeMemory(pid: number): Memory | null {
  const workers = processTree(pid).filter((p) => p !== pid);
  if (workers.length === 0) return readMemory(pid);
  const mems = workers.map(readMemory).filter((m): m is Memory => m !== null);
  if (mems.length === 0) return null;
  return { rssKiB: Math.max(...mems.map((m) => m.rssKiB)), hwmKiB: Math.max(...mems.map((m) => m.hwmKiB)) };
}

export function readMemory(pid: number): Memory | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (key: string) => {
      const m = new RegExp(`^${key}:\\s+(\\d+)\\s+kB`, 'm').exec(status);
      return m?.[1] === undefined ? 0 : Number(m[1]);
    };
    return { rssKiB: field('VmRSS'), hwmKiB: field('VmHWM') };
  } catch {
    return null;
  }
}

function getStatus(url: string): Promise<number> {
  return new Promise((resolveStatus) => {
    const req = http.get(url, { agent: false, timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => resolveStatus(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolveStatus(0));
  });
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

async function waitReady(child: ChildProcess, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited(child)) throw new Error(`exited before it was ready (code ${child.exitCode}, signal ${child.signalCode})`);
    if ((await getStatus(url)) === 200) return;
    await sleep(100);
  }
  throw new Error(`not ready after ${timeoutMs} ms (${url})`);
}

async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (exited(child)) return;
  const done = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  child.kill('SIGTERM');
  const timer = sleep(graceMs).then(() => 'timeout' as const);
  if ((await Promise.race([done.then(() => 'exited' as const), timer])) === 'timeout' && !exited(child)) {
    child.kill('SIGKILL');
    await Promise.race([done, sleep(5000)]);
  }
}

interface Spawned {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  readyUrl: string;
  cwd: string;
}

async function launch(
  name: TargetName,
  label: string,
  version: string,
  dataDir: string,
  baseUrl: string,
  spec: Spawned,
  graceMs: number,
): Promise<Server> {
  const logPath = join(dataDir, '..', `${name}.log`);
  const logFd = openSync(logPath, 'w');
  const child = spawn(spec.command, spec.args, { cwd: spec.cwd, env: spec.env, stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  const logTail = async () => {
    const text = await readFile(logPath, 'utf8').catch(() => '');
    return text.split('\n').slice(-30).join('\n');
  };
  const cleanup = async () => {
    await stopChild(child, graceMs);
    await rm(join(dataDir, '..'), { recursive: true, force: true });
  };
  try {
    await waitReady(child, spec.readyUrl, 60_000);
  } catch (err) {
    const tail = await logTail();
    await cleanup();
    throw new Error(`${label}: ${(err as Error).message}\n${tail}`);
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${label}: no pid`);
  return {
    name,
    label,
    version,
    baseUrl,
    pid,
    dataDir,
    memory: () => readTreeMemory(pid),
    cpuSeconds: () => treeCpuSeconds(pid),
    stop: cleanup,
    logTail,
  };
}

function nodeBinary(root: string): string {
  const local = join(root, 'node_modules', '.bin', 'node');
  return existsSync(local) ? local : process.execPath;
}

/** `env` overrides the server's settings (e.g. WHARF_SERVER__WORKERS; cfg.wharfWorkers by default). */
export async function startWharf(cfg: BenchConfig, extraEnv: Record<string, string> = {}): Promise<Server> {
  const tmp = await mkdtemp(join(cfg.tmpRoot, 'wharf-bench-wharf-'));
  const dataDir = join(tmp, 'data');
  await mkdir(dataDir);
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const node = nodeBinary(cfg.root);
  // Started as `npm start` starts it: bin/wharf, which runs the compiled dist/ with the server's
  // Node flags. The build check runs here once (bin/wharf would repeat it in a child process).
  ensureBuilt({ root: cfg.root });
  const env: NodeJS.ProcessEnv = { ...process.env, WHARF_BUILD: '0' };
  if (cfg.cpuProfile) {
    const dir = join(cfg.outDir, 'profiles');
    await mkdir(dir, { recursive: true });
    env['NODE_OPTIONS'] = [process.env['NODE_OPTIONS'], '--cpu-prof', `--cpu-prof-dir=${dir}`].filter(Boolean).join(' ');
  }
  const pkg = JSON.parse(await readFile(join(cfg.root, 'package.json'), 'utf8')) as { version?: unknown };
  const version = `${typeof pkg.version === 'string' ? pkg.version : '?'} (${(await runText(node, ['--version'])).trim()})`;
  const server = await launch(
    'wharf',
    'Wharf',
    version,
    dataDir,
    baseUrl,
    {
      command: wharfBin(cfg.root),
      args: ['serve'],
      cwd: tmp,
      env: {
        ...env,
        WHARF_SERVER__PORT: String(port),
        WHARF_SERVER__HOST: '127.0.0.1',
        WHARF_DATA_DIR: dataDir,
        WHARF_LOG__LEVEL: 'warn',
        // Token auth as in production (cfg.wharfAuth); tokens outlive the longest run.
        ...(cfg.wharfAuth
          ? { WHARF_AUTH__ENABLED: 'true', WHARF_AUTH__ADMIN__USERNAME: BENCH_ADMIN.username, WHARF_AUTH__ADMIN__PASSWORD: BENCH_ADMIN.password, WHARF_AUTH__TOKEN_TTL_SECONDS: '7200' }
          : { WHARF_AUTH__ENABLED: 'false' }),
        WHARF_SERVER__WORKERS: String(cfg.wharfWorkers),
        ...extraEnv,
      },
      readyUrl: `${baseUrl}/healthz`,
    },
    // The profile is written on a clean exit only, so give it time to flush.
    cfg.cpuProfile ? 30_000 : 10_000,
  );
  if (!cfg.wharfAuth) return server;
  // Namespaces are accounts (GHCR's model): the bench pushes under the organization `bench`.
  const basic = `Basic ${Buffer.from(`${BENCH_ADMIN.username}:${BENCH_ADMIN.password}`).toString('base64')}`;
  const res = await fetch(`${baseUrl}/api/v1/orgs`, { method: 'POST', headers: { authorization: basic, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'bench' }) });
  if (res.status !== 201) {
    await server.stop();
    throw new Error(`Wharf: creating the organization bench: HTTP ${res.status} ${await res.text()}`);
  }
  return { ...server, credentials: BENCH_ADMIN };
}

export async function startDistribution(cfg: BenchConfig): Promise<Server> {
  if (!existsSync(cfg.distributionBin)) throw new Error(`CNCF Distribution not found at ${cfg.distributionBin} (apt-get install docker-registry)`);
  const tmp = await mkdtemp(join(cfg.tmpRoot, 'wharf-bench-distribution-'));
  const dataDir = join(tmp, 'data');
  await mkdir(dataDir);
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const configPath = join(tmp, 'config.yml');
  await writeFile(configPath, distributionConfig({ rootDirectory: dataDir, port, descriptorCache: true }));
  const version = (await runText(cfg.distributionBin, ['--version'])).trim().split('\n')[0] ?? '?';
  return launch(
    'distribution',
    'Distribution',
    version,
    dataDir,
    baseUrl,
    {
      command: cfg.distributionBin,
      args: ['serve', configPath],
      cwd: tmp,
      env: { ...process.env },
      readyUrl: `${baseUrl}/v2/`,
    },
    10_000,
  );
}

function runText(command: string, args: string[]): Promise<string> {
  return new Promise((resolveText) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.on('close', () => {
      clearTimeout(timer);
      resolveText(out);
    });
    child.on('error', () => {
      clearTimeout(timer);
      resolveText('?');
    });
  });
}
