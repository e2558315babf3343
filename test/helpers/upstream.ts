/**
 * Upstream registries for pull-through cache tests (docs/adr/0017-pull-through-cache.md):
 * - CNCF Distribution (Debian `docker-registry`) with htpasswd (Basic) or token authentication;
 * - the small Docker token server the token mode needs: Basic credentials in, a JWT signed with a
 *   test certificate out (x5c header, so Distribution checks it against `rootcertbundle`);
 * - a counting HTTP forwarder in front of an upstream, which counts blob GETs per digest and can
 *   play an upstream that is down (connections cut) or rate-limiting (429).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createSign, randomBytes, X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runOk } from './clients.ts';
import { freePort, logDir } from './server.ts';

export interface Users {
  [username: string]: string;
}

async function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
}

// ---- token server ------------------------------------------------------------------------------

export interface TokenServer {
  realm: string;
  service: string;
  issuer: string;
  certFile: string;
  /** Token requests answered, and refused. */
  issued: number;
  refused: number;
  stop(): Promise<void>;
}

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/** A Docker token server for Distribution's `auth.token` (RS256 JWT with the certificate in x5c). */
export async function startTokenServer(users: Users, dir: string): Promise<TokenServer> {
  const keyFile = join(dir, 'token.key');
  const certFile = join(dir, 'token.crt');
  await runOk('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=wharf-test-token', '-days', '2', '-keyout', keyFile, '-out', certFile]);
  const key = await readFile(keyFile, 'utf8');
  const der = new X509Certificate(await readFile(certFile)).raw;
  const service = 'wharf-test-upstream';
  const issuer = 'wharf-test-token-issuer';
  const state = { issued: 0, refused: 0 };
  const answer = (req: IncomingMessage, res: ServerResponse, form: URLSearchParams | null) => {
    const url = new URL(req.url ?? '/', 'http://x');
    // Helm 3 POSTs a form (grant_type=password, username, password, scope, service); everyone else GETs with Basic.
    if (form) for (const [k, v] of form) url.searchParams.append(k, v);
    const auth = req.headers.authorization ?? '';
    const decoded = auth.startsWith('Basic ') ? Buffer.from(auth.slice(6), 'base64').toString() : form ? `${form.get('username') ?? ''}:${form.get('password') ?? ''}` : '';
    const [user, ...rest] = decoded.split(':');
    if (!user || users[user] === undefined || users[user] !== rest.join(':')) {
      state.refused++;
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"bad credentials"}');
      return;
    }
    const access = url.searchParams.getAll('scope').flatMap((s) => {
      const [type, name, actions] = s.split(':');
      return type && name && actions ? [{ type, name, actions: actions.split(',') }] : [];
    });
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: 'RS256', typ: 'JWT', x5c: [der.toString('base64')] };
    const claims = { iss: issuer, sub: user, aud: url.searchParams.get('service') ?? service, exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const signature = createSign('RSA-SHA256').update(input).sign(key);
    const token = `${input}.${b64url(signature)}`;
    state.issued++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() }));
  };
  const server = createServer((req, res) => {
    if (req.method !== 'POST') return answer(req, res, null);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => answer(req, res, new URLSearchParams(Buffer.concat(chunks).toString())));
  });
  const port = await listen(server);
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certFile,
    get issued() {
      return state.issued;
    },
    get refused() {
      return state.refused;
    },
    stop: () => closeServer(server),
  };
}

// ---- Distribution ---------------------------------------------------------------------------------

export interface DistributionUpstream {
  url: string;
  host: string;
  port: number;
  /** Stops the registry (SIGTERM, then SIGKILL). */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same storage. */
  start(): Promise<void>;
}

export type UpstreamAuth = { kind: 'none' } | { kind: 'htpasswd'; users: Users } | { kind: 'token'; token: TokenServer };

/** Debian's docker-registry with filesystem storage and the given authentication. */
export async function startDistributionUpstream(auth: UpstreamAuth, name = 'upstream'): Promise<DistributionUpstream & { dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), `wharf-${name}-`));
  const port = await freePort();
  const lines = ['version: 0.1', 'log:', '  level: info', '  accesslog:', '    disabled: false', 'storage:', '  filesystem:', `    rootdirectory: ${join(dir, 'storage')}`, '  delete:', '    enabled: true', 'http:', `  addr: 127.0.0.1:${port}`];
  if (auth.kind === 'htpasswd') {
    const file = join(dir, 'htpasswd');
    const entries: string[] = [];
    for (const [u, p] of Object.entries(auth.users)) entries.push((await runOk('htpasswd', ['-Bbn', u, p])).stdout.trim());
    await writeFile(file, `${entries.join('\n')}\n`);
    lines.push('auth:', '  htpasswd:', '    realm: wharf-test', `    path: ${file}`);
  } else if (auth.kind === 'token') {
    lines.push('auth:', '  token:', `    realm: ${auth.token.realm}`, `    service: ${auth.token.service}`, `    issuer: ${auth.token.issuer}`, `    rootcertbundle: ${auth.token.certFile}`);
  }
  const config = join(dir, 'config.yml');
  await writeFile(config, `${lines.join('\n')}\n`);
  let child: ChildProcess | null = null;
  const logFile = join(logDir, `${name}-${port}.log`);
  const start = async () => {
    const { mkdir } = await import('node:fs/promises');
    await mkdir(logDir, { recursive: true });
    const log = createWriteStream(logFile, { flags: 'a' });
    const c = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    c.stdout?.pipe(log);
    c.stderr?.pipe(log);
    child = c;
    const deadline = Date.now() + 15_000;
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${port}/v2/`).then((r) => r.status === 200 || r.status === 401, () => false);
      if (ok) return;
      if (c.exitCode !== null || Date.now() > deadline) throw new Error(`docker-registry did not start (log: ${logFile})`);
      await sleep(100);
    }
  };
  await start();
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    port,
    dir,
    start,
    stop: async () => {
      const c = child;
      child = null;
      if (!c || c.exitCode !== null) return;
      c.kill('SIGTERM');
      const exited = once(c, 'exit');
      const timer = setTimeout(() => c.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export async function removeUpstreamDir(u: { dir: string }): Promise<void> {
  await rm(u.dir, { recursive: true, force: true });
}

// ---- counting forwarder -----------------------------------------------------------------------------

export type ForwarderMode = 'pass' | 'down' | '429';

export interface Forwarder {
  url: string;
  host: string;
  mode: ForwarderMode;
  /** Blob GETs the upstream answered with content (completed or started), per digest; manifest requests. */
  blobGets: Map<string, number>;
  manifestRequests: { method: string; ref: string }[];
  /** Bytes of blob bodies sent on. */
  blobBytes: number;
  /** When set, blob bodies are sent at about this many bytes per second (a slow upstream). */
  blobBytesPerSecond: number | null;
  stop(): Promise<void>;
}

/**
 * An HTTP forwarder to `target` that counts what the proxy asks of its upstream. Mode `down`
 * cuts every connection (an unreachable upstream); `429` answers Too Many Requests.
 */
export async function startForwarder(target: string): Promise<Forwarder> {
  const t = new URL(target);
  const f: Forwarder = { url: '', host: '', mode: 'pass', blobGets: new Map(), manifestRequests: [], blobBytes: 0, blobBytesPerSecond: null, stop: async () => {} };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (f.mode === 'down') {
      req.socket.destroy();
      return;
    }
    if (f.mode === '429') {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '60' }).end('{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}');
      return;
    }
    const path = req.url ?? '/';
    const blob = /\/blobs\/(sha256:[0-9a-f]{64})$/.exec(path);
    const manifest = /\/manifests\/([^/]+)$/.exec(path);
    if (manifest?.[1]) f.manifestRequests.push({ method: req.method ?? '', ref: manifest[1] });
    const up = httpRequest({ host: t.hostname, port: t.port, method: req.method, path, headers: { ...req.headers, host: t.host } }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      // A fetch is a GET answered with the bytes: the 401 challenge a replica without a token
      // for the scope meets first is not one.
      if (blob?.[1] && req.method === 'GET' && (upRes.statusCode === 200 || upRes.statusCode === 206)) f.blobGets.set(blob[1], (f.blobGets.get(blob[1]) ?? 0) + 1);
      if (blob) upRes.on('data', (c: Buffer) => (f.blobBytes += c.length));
      const rate = f.blobBytesPerSecond;
      if (!blob || rate === null) {
        upRes.pipe(res);
        return;
      }
      // Slow: 64 KiB slices, paced to the rate.
      void (async () => {
        try {
          for await (const chunk of upRes as AsyncIterable<Buffer>) {
            for (let i = 0; i < chunk.length; i += 64 * 1024) {
              if (res.destroyed) return;
              const slice = chunk.subarray(i, i + 64 * 1024);
              res.write(slice);
              await sleep((slice.length / rate) * 1000);
            }
          }
          res.end();
        } catch {
          res.destroy();
        }
      })();
    });
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    req.pipe(up);
  });
  const port = await listen(server);
  f.url = `http://127.0.0.1:${port}`;
  f.host = `127.0.0.1:${port}`;
  f.stop = () => closeServer(server);
  return f;
}
