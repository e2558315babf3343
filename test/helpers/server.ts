/**
 * Start a registry as a real child process for end-to-end tests, benchmarks and any suite that
 * needs a listening server: Wharf (`bin/wharf serve`, the compiled dist/) or, as a reference peer, CNCF
 * Distribution (`docker-registry serve`). Each start gets a free port on 127.0.0.1 and a fresh
 * temporary data directory; stdout and stderr go to a log file under `test-output/e2e-logs/`.
 *
 *   const server = await startTarget();          // Wharf, or WHARF_E2E_TARGET=distribution
 *   ... server.url, server.host ...
 *   await server.stop();
 *
 * Environment:
 * - `WHARF_E2E_TARGET`: `wharf` (default), `distribution`, or the URL of a server that is
 *   already running (`http://127.0.0.1:5000`; stop() then leaves it alone).
 * - `WHARF_E2E_LOG_LEVEL`: Wharf's log level (default `warn`; `debug` shows every request).
 * - `WHARF_E2E_USERNAME`, `WHARF_E2E_PASSWORD`: an administrator of an external target.
 * - `WHARF_E2E_KEEP=1`: keep temporary data directories after stop() for inspection.
 *
 * Wharf requires authentication by default: startWharf() sets the first administrator's
 * password (random unless `env` gives one) and returns it as `admin`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { get as httpsGet } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureBuilt, wharfBin } from '../../scripts/build.ts';

export const repoRoot = resolve(import.meta.dirname, '../..');
export const logDir = join(repoRoot, 'test-output', 'e2e-logs');

export type ServerKind = 'wharf' | 'distribution' | 'external';

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Credentials {
  username: string;
  password: string;
}

export interface StartedServer {
  kind: ServerKind;
  /**
   * A site administrator of the server, when it requires authentication (Wharf with auth on:
   * WHARF_AUTH__ADMIN__USERNAME/PASSWORD, random unless given in `env`). Undefined when
   * anonymous access may do everything (Distribution, Wharf with WHARF_AUTH__ENABLED=false).
   */
  admin: Credentials | undefined;
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** `127.0.0.1:PORT`, the registry host clients put in image references. */
  host: string;
  port: number;
  /** The server's data directory (Wharf: WHARF_DATA_DIR; Distribution: its config and storage). */
  dataDir: string;
  /** Where stdout and stderr of the process go. */
  logFile: string;
  pid: number | undefined;
  /** Settles when the process exits. */
  exited: Promise<ExitStatus>;
  /** SIGTERM, then SIGKILL after `graceMs` (default 10 s); removes a data directory it created. */
  stop(opts?: { graceMs?: number }): Promise<ExitStatus>;
  /** Sends `signal` (default SIGKILL) and waits for the exit; keeps the data directory (for restarts). */
  kill(signal?: NodeJS.Signals): Promise<ExitStatus>;
  /** The log so far. */
  logs(): Promise<string>;
}

export interface StartOptions {
  /** Extra environment for the server process (e.g. `WHARF_AUTH__...`, or `REGISTRY_...` for Distribution). */
  env?: Record<string, string>;
  /** Reuse a data directory (e.g. restart after kill()); it is never removed by stop(). */
  dataDir?: string;
  /** Listen on this port instead of a free one. */
  port?: number;
  /** Extra arguments after `serve`. */
  args?: string[];
  /** How long to wait for readiness (default 30 s). */
  readyTimeoutMs?: number;
  /** Keep a data directory created here after stop(). */
  keepDataDir?: boolean;
  /**
   * The server speaks HTTPS (its certificate configured through `env`, e.g. a WHARF_CONFIG file):
   * `url` becomes https:// and readiness is checked trusting `caFile` (with a client certificate
   * when the server requires one).
   */
  https?: HttpsClientOptions;
}

export interface HttpsClientOptions {
  caFile: string;
  certFile?: string;
  keyFile?: string;
}

/** GET over HTTPS trusting a test CA (fetch cannot take a CA); resolves with the status. */
export async function httpsStatus(url: string, opts: HttpsClientOptions, timeoutMs = 2_000): Promise<number> {
  const [ca, cert, key] = await Promise.all([readFile(opts.caFile), opts.certFile ? readFile(opts.certFile) : undefined, opts.keyFile ? readFile(opts.keyFile) : undefined]);
  return await new Promise((resolveStatus, reject) => {
    const req = httpsGet(url, { ca, ...(cert ? { cert } : {}), ...(key ? { key } : {}), timeout: timeoutMs, agent: false }, (res) => {
      res.resume();
      res.once('end', () => resolveStatus(res.statusCode ?? 0));
    });
    req.once('timeout', () => req.destroy(new Error('timeout')));
    req.once('error', reject);
  });
}

const live = new Set<ChildProcess>();
/** Temporary data directories of servers not stopped yet. */
const tempDirs = new Set<string>();
let exitHooksInstalled = false;

/** Never leave servers (or their temporary data) behind when the test process ends, even on SIGINT/SIGTERM. */
function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  const killAll = (): void => {
    for (const child of live) child.kill('SIGKILL');
    if (process.env['WHARF_E2E_KEEP'] === '1') return;
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  };
  process.once('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killAll();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
}

/** A port that was free a moment ago (the kernel picks it). */
export async function freePort(): Promise<number> {
  return await new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => (port > 0 ? resolvePort(port) : reject(new Error('no port'))));
    });
  });
}

/** The server kind selected by WHARF_E2E_TARGET. */
export function e2eTarget(): ServerKind {
  const value = (process.env['WHARF_E2E_TARGET'] ?? 'wharf').trim().toLowerCase();
  if (value === '' || value === 'wharf') return 'wharf';
  if (value === 'distribution') return 'distribution';
  if (/^https?:\/\//.test(value)) return 'external';
  throw new Error(`WHARF_E2E_TARGET must be wharf, distribution or a URL, not ${JSON.stringify(value)}`);
}

/** Starts the server under test: Wharf by default, switchable with WHARF_E2E_TARGET. */
export async function startTarget(opts: StartOptions = {}): Promise<StartedServer> {
  const kind = e2eTarget();
  if (kind === 'distribution') return await startDistribution(opts);
  if (kind === 'external') return external(process.env['WHARF_E2E_TARGET'] ?? '');
  return await startWharf(opts);
}

/** Why e2e tests against the selected target cannot run here, or false. */
export function targetUnavailable(): string | false {
  const kind = e2eTarget();
  if (kind === 'distribution' && !onPath('docker-registry')) {
    return 'docker-registry not found: apt-get install -y docker-registry (or bash scripts/install-test-deps.sh)';
  }
  return false;
}

function onPath(bin: string): boolean {
  return (process.env['PATH'] ?? '').split(':').some((dir) => dir !== '' && existsSync(join(dir, bin)));
}

/** Wharf from this checkout: `bin/wharf serve` (dist/, rebuilt first when src/ changed), ready when GET /healthz answers 200. */
export async function startWharf(opts: StartOptions = {}): Promise<StartedServer> {
  const env = opts.env ?? {};
  const authOff = ['false', '0', 'no'].includes((env['WHARF_AUTH__ENABLED'] ?? '').toLowerCase());
  const admin: Credentials | undefined = authOff
    ? undefined
    : { username: env['WHARF_AUTH__ADMIN__USERNAME'] ?? 'admin', password: env['WHARF_AUTH__ADMIN__PASSWORD'] ?? `e2e-${randomBytes(12).toString('hex')}` };
  ensureBuilt({ root: repoRoot });
  return await startWithRetry(opts, async (port, dataDir) => ({
    kind: 'wharf',
    admin,
    // As `npm start` runs it: bin/wharf (the server's Node flags) on dist/, rebuilt here from
    // src/ whenever src/ changed, so a stale build is never what gets tested.
    command: wharfBin(repoRoot),
    args: ['serve', ...(opts.args ?? [])],
    env: {
      WHARF_BUILD: '0',
      WHARF_SERVER__HOST: '127.0.0.1',
      WHARF_SERVER__PORT: String(port),
      WHARF_DATA_DIR: dataDir,
      WHARF_LOG__LEVEL: process.env['WHARF_E2E_LOG_LEVEL'] ?? 'warn',
      // One process, so the pid the tests kill, signal and measure is the server itself; tests of
      // server.workers set it.
      WHARF_SERVER__WORKERS: '1',
      ...(admin ? { WHARF_AUTH__ADMIN__USERNAME: admin.username, WHARF_AUTH__ADMIN__PASSWORD: admin.password } : {}),
      ...opts.env,
    },
    readyPath: '/healthz',
  }));
}

/** CNCF Distribution (`docker-registry serve`) with filesystem storage and deletes enabled. */
/**
 * CNCF Distribution's configuration as the tests and the benchmark run it: Debian's shipped
 * configuration minus auth, filesystem storage, deletes on, upload purging off, and the access log
 * off unless debugging (Wharf logs no requests at warn either). `descriptorCache` adds Debian's
 * in-memory blob descriptor cache (the benchmark compares against the server as shipped).
 */
export function distributionConfig(opts: { rootDirectory: string; port: number; debug?: boolean; descriptorCache?: boolean }): string {
  return [
    'version: 0.1',
    'log:',
    `  level: ${opts.debug ? 'debug' : 'warn'}`,
    '  accesslog:',
    `    disabled: ${opts.debug ? 'false' : 'true'}`,
    'storage:',
    ...(opts.descriptorCache ? ['  cache:', '    blobdescriptor: inmemory'] : []),
    '  filesystem:',
    `    rootdirectory: ${opts.rootDirectory}`,
    '  delete:',
    '    enabled: true',
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    'http:',
    `  addr: 127.0.0.1:${opts.port}`,
    '',
  ].join('\n');
}

export async function startDistribution(opts: StartOptions = {}): Promise<StartedServer> {
  return await startWithRetry(opts, async (port, dataDir) => {
    const config = join(dataDir, 'config.yml');
    const debug = process.env['WHARF_E2E_LOG_LEVEL'] === 'debug';
    await writeFile(config, distributionConfig({ rootDirectory: join(dataDir, 'storage'), port, debug }));
    return {
      kind: 'distribution',
      admin: undefined,
      command: 'docker-registry',
      args: ['serve', config, ...(opts.args ?? [])],
      env: { ...opts.env },
      readyPath: '/v2/',
    };
  });
}

/** A server somebody else started; stop() and kill() leave it running. */
function external(url: string): StartedServer {
  const parsed = new URL(url);
  const username = process.env['WHARF_E2E_USERNAME'];
  const password = process.env['WHARF_E2E_PASSWORD'];
  const port = Number(parsed.port || (parsed.protocol === 'https:' ? 443 : 80));
  const never = new Promise<ExitStatus>(() => {});
  const none: ExitStatus = { code: null, signal: null };
  return {
    kind: 'external',
    admin: username !== undefined && password !== undefined ? { username, password } : undefined,
    url: parsed.origin,
    host: parsed.host,
    port,
    dataDir: '',
    logFile: '',
    pid: undefined,
    exited: never,
    stop: async () => none,
    kill: async () => none,
    logs: async () => '',
  };
}

interface LaunchSpec {
  kind: 'wharf' | 'distribution';
  admin: Credentials | undefined;
  command: string;
  args: string[];
  env: Record<string, string>;
  readyPath: string;
}

async function startWithRetry(
  opts: StartOptions,
  spec: (port: number, dataDir: string) => Promise<LaunchSpec>,
): Promise<StartedServer> {
  const createdDir = opts.dataDir === undefined;
  installExitHooks();
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'wharf-e2e-server-')));
  await mkdir(dataDir, { recursive: true });
  const removable = createdDir && opts.keepDataDir !== true;
  if (removable) tempDirs.add(dataDir);
  // A free port can be taken between probing and binding; retry with another one.
  const attempts = opts.port === undefined ? 3 : 1;
  let lastError: unknown;
  for (let i = 0; i < attempts; i++) {
    const port = opts.port ?? (await freePort());
    try {
      return await launch(await spec(port, dataDir), port, dataDir, removable, opts);
    } catch (err) {
      lastError = err;
      if (!(err instanceof StartError) || !err.addressInUse) break;
    }
  }
  if (removable) {
    tempDirs.delete(dataDir);
    if (process.env['WHARF_E2E_KEEP'] !== '1') await rm(dataDir, { recursive: true, force: true });
  }
  throw lastError;
}

class StartError extends Error {
  readonly addressInUse: boolean;
  constructor(message: string, addressInUse: boolean) {
    super(message);
    this.addressInUse = addressInUse;
  }
}

async function launch(
  spec: LaunchSpec,
  port: number,
  dataDir: string,
  removeDataDir: boolean,
  opts: StartOptions,
): Promise<StartedServer> {
  await mkdir(logDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const logFile = join(logDir, `${spec.kind}-${stamp}-${port}.log`);
  const log = await open(logFile, 'a');

  // Inherit the environment without our own WHARF_* settings (the config loader reads every
  // WHARF_ variable), then apply the launch spec.
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith('WHARF_')) env[key] = value;
  }
  Object.assign(env, spec.env);

  const child = spawn(spec.command, spec.args, {
    cwd: repoRoot,
    env,
    stdio: ['ignore', log.fd, log.fd],
  });
  await log.close();
  live.add(child);
  const exited = new Promise<ExitStatus>((resolveExit) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolveExit({ code, signal });
    });
    child.once('error', (err) => {
      live.delete(child);
      void writeFile(logFile, `spawn failed: ${err.message}\n`, { flag: 'a' });
      resolveExit({ code: -1, signal: null });
    });
  });
  let status: ExitStatus | undefined;
  void exited.then((s) => (status = s));

  const url = `${opts.https ? 'https' : 'http'}://127.0.0.1:${port}`;
  const logs = async (): Promise<string> => await readFile(logFile, 'utf8').catch(() => '');
  const kill = async (signal: NodeJS.Signals = 'SIGKILL'): Promise<ExitStatus> => {
    if (status === undefined) child.kill(signal);
    return await exited;
  };
  let stopped: Promise<ExitStatus> | undefined;
  const stop = (stopOpts: { graceMs?: number } = {}): Promise<ExitStatus> => {
    stopped ??= (async () => {
      if (status === undefined) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), stopOpts.graceMs ?? 10_000);
        await exited;
        clearTimeout(timer);
      }
      if (removeDataDir) {
        tempDirs.delete(dataDir);
        if (process.env['WHARF_E2E_KEEP'] !== '1') await rm(dataDir, { recursive: true, force: true });
      }
      return await exited;
    })();
    return stopped;
  };

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 30_000);
  for (;;) {
    if (status !== undefined) {
      const text = await logs();
      throw new StartError(
        `${spec.kind} exited before it was ready (code ${status.code}, signal ${status.signal}); log ${logFile}:\n${tail(text)}`,
        /EADDRINUSE|address already in use/i.test(text),
      );
    }
    try {
      if (opts.https) {
        if ((await httpsStatus(url + spec.readyPath, opts.https)) === 200) break;
      } else {
        const res = await fetch(url + spec.readyPath, { signal: AbortSignal.timeout(2_000) });
        await res.arrayBuffer();
        if (res.status === 200) break;
      }
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await kill('SIGKILL');
      throw new StartError(`${spec.kind} not ready at ${url}${spec.readyPath} in time; log ${logFile}:\n${tail(await logs())}`, false);
    }
    await sleep(100);
  }

  return {
    kind: spec.kind,
    admin: spec.admin,
    url,
    host: `127.0.0.1:${port}`,
    port,
    dataDir,
    logFile,
    pid: child.pid,
    exited,
    stop,
    kill,
    logs,
  };
}

function tail(text: string, lines = 40): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
