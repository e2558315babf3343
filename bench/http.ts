/**
 * A tiny keep-alive HTTP/1.1 client on node:http, enough for the registry API: small bodies
 * are buffered, large request bodies stream from a Readable, large responses can be discarded
 * while counted (and hashed, as docker and containerd check what they pull). Every request has
 * a timeout so nothing in the benchmark can hang. With credentials it authenticates like docker:
 * a bearer token per repository scope from the token endpoint the registry's 401 names, kept
 * until shortly before it expires.
 */
import { createHash, type Hash } from 'node:crypto';
import http from 'node:http';
import type { Readable } from 'node:stream';

export interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** Bytes received in the body (also when discarded). */
  bytes: number;
  /** `sha256:<hex>` of the body when the request asked for `hash`. */
  sha256?: string;
}

export interface Credentials {
  username: string;
  password: string;
}

export interface RequestOptions {
  headers?: Record<string, string>;
  body?: Buffer | string | Readable;
  /** Content-Length for a streamed body. */
  bodyLength?: number;
  /** Count the response bytes without keeping them. */
  discard?: boolean;
  /** Hash the response body with sha256 as it arrives (`Response.sha256`). */
  hash?: boolean;
  timeoutMs?: number;
}

export class HttpClient {
  readonly base: URL;
  readonly agent: http.Agent;
  private readonly tokens: TokenCache | null;

  constructor(base: string, maxSockets = 64, credentials?: Credentials) {
    this.base = new URL(base);
    this.agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
    this.tokens = credentials ? new TokenCache(this, credentials) : null;
  }

  /** `Bearer <token>` for a request to `path` when the client has credentials, else undefined. */
  async authorization(method: string, path: string): Promise<string | undefined> {
    return this.tokens?.authorization(method, path);
  }

  /** A request path for a Location header value, which may be absolute or relative. */
  pathOf(location: string): string {
    const u = new URL(location, this.base);
    return `${u.pathname}${u.search}`;
  }

  async request(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    const auth = path.startsWith('/v2/') ? await this.authorization(method, path) : undefined;
    return this.send(method, path, auth === undefined ? opts : { ...opts, headers: { authorization: auth, ...opts.headers } });
  }

  /** One request as given: no token is added. */
  send(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    return new Promise<Response>((resolveResponse, reject) => {
      const headers: Record<string, string> = { ...opts.headers };
      const body = opts.body;
      if (typeof body === 'string' || Buffer.isBuffer(body)) {
        headers['content-length'] = String(Buffer.byteLength(body));
      } else if (body !== undefined) {
        if (opts.bodyLength === undefined) throw new Error('a streamed body needs bodyLength');
        headers['content-length'] = String(opts.bodyLength);
      } else if (method === 'PUT' || method === 'POST' || method === 'PATCH') {
        headers['content-length'] = '0';
      }
      const req = http.request(
        {
          protocol: this.base.protocol,
          hostname: this.base.hostname,
          port: this.base.port,
          method,
          path,
          headers,
          agent: this.agent,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let bytes = 0;
          const hash: Hash | null = opts.hash ? createHash('sha256') : null;
          res.on('data', (chunk: Buffer) => {
            bytes += chunk.length;
            hash?.update(chunk);
            if (!opts.discard) chunks.push(chunk);
          });
          res.on('end', () => {
            const out: Response = { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), bytes };
            if (hash) out.sha256 = `sha256:${hash.digest('hex')}`;
            resolveResponse(out);
          });
          res.on('error', reject);
        },
      );
      req.setTimeout(opts.timeoutMs ?? 60_000, () => {
        req.destroy(new Error(`${method} ${path}: timed out after ${opts.timeoutMs ?? 60_000} ms`));
      });
      req.on('error', reject);
      if (body === undefined) {
        req.end();
      } else if (typeof body === 'string' || Buffer.isBuffer(body)) {
        req.end(body);
      } else {
        body.on('error', (err) => req.destroy(err));
        body.pipe(req);
      }
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** The repository a `/v2/<name>/(blobs|manifests|tags)/…` path names, or null (`/v2/`, `/v2/_catalog`). */
function repositoryOf(path: string): string | null {
  // Greedy name, anchored tail: in /v2/bench/blobs/blobs/uploads/ the name is bench/blobs.
  const m = /^\/v2\/(.+)\/(?:blobs\/uploads(?:\/[^/]*)?|blobs\/[^/]+|manifests\/[^/]+|tags\/list|referrers\/[^/]+)$/.exec(path.split('?')[0] ?? '');
  return m?.[1] ?? null;
}

/**
 * Docker's token flow, cached: the first request learns the realm and service from the
 * registry's 401 on `/v2/`, then each scope (`repository:<name>:pull` or `…:pull,push`) gets one
 * token, renewed 30 s before `expires_in` runs out.
 */
class TokenCache {
  private challenge: Promise<{ realm: string; service: string } | null> | null = null;
  private readonly tokens = new Map<string, Promise<{ value: string; renewAt: number }>>();
  private readonly client: HttpClient;
  private readonly basic: string;

  constructor(client: HttpClient, credentials: Credentials) {
    this.client = client;
    this.basic = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
  }

  async authorization(method: string, path: string): Promise<string | undefined> {
    const challenge = await (this.challenge ??= this.learnChallenge());
    if (!challenge) return undefined;
    const repo = repositoryOf(path);
    const scope = repo === null ? '' : `repository:${repo}:${method === 'GET' || method === 'HEAD' ? 'pull' : 'pull,push'}`;
    let entry = this.tokens.get(scope);
    if (entry && (await entry).renewAt < Date.now()) entry = undefined;
    if (!entry) {
      entry = this.fetchToken(challenge, scope);
      this.tokens.set(scope, entry);
      entry.catch(() => this.tokens.delete(scope));
    }
    return `Bearer ${(await entry).value}`;
  }

  private async learnChallenge(): Promise<{ realm: string; service: string } | null> {
    const res = await this.client.send('GET', '/v2/');
    const header = res.headers['www-authenticate'];
    if (res.status !== 401 || typeof header !== 'string') return null;
    const param = (name: string) => new RegExp(`${name}="([^"]*)"`).exec(header)?.[1] ?? '';
    return { realm: param('realm'), service: param('service') };
  }

  private async fetchToken(challenge: { realm: string; service: string }, scope: string): Promise<{ value: string; renewAt: number }> {
    const url = new URL(challenge.realm, this.client.base);
    url.searchParams.set('service', challenge.service);
    if (scope) url.searchParams.set('scope', scope);
    const res = await this.client.send('GET', `${url.pathname}${url.search}`, { headers: { authorization: this.basic } });
    if (res.status !== 200) throw new Error(`token for ${scope || '/v2/'}: HTTP ${res.status} ${res.body.toString('utf8').slice(0, 200)}`);
    const body = JSON.parse(res.body.toString('utf8')) as { token?: string; access_token?: string; expires_in?: number };
    const value = body.token ?? body.access_token;
    if (!value) throw new Error(`token for ${scope || '/v2/'}: no token in the answer`);
    return { value, renewAt: Date.now() + Math.max((body.expires_in ?? 60) - 30, 1) * 1000 };
  }
}

export class UnexpectedStatus extends Error {
  constructor(method: string, path: string, res: Response, expected: number[]) {
    const snippet = res.body.subarray(0, 300).toString('utf8');
    super(`${method} ${path}: HTTP ${res.status}, expected ${expected.join('/')}${snippet ? `: ${snippet}` : ''}`);
    this.name = 'UnexpectedStatus';
  }
}

/** Sends a request and throws unless the status is one of `expected`. */
export async function expectStatus(
  client: HttpClient,
  method: string,
  path: string,
  expected: number[],
  opts: RequestOptions = {},
): Promise<Response> {
  const res = await client.request(method, path, opts);
  if (!expected.includes(res.status)) throw new UnexpectedStatus(method, path, res, expected);
  return res;
}

export function header(res: Response, name: string): string | undefined {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** Runs `count` tasks with at most `concurrency` in flight; rejects on the first failure. */
export async function pool(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown = null;
  const worker = async () => {
    while (failed === null) {
      const i = next++;
      if (i >= count) return;
      try {
        await task(i);
      } catch (err) {
        failed ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  if (failed !== null) throw failed;
}
