/**
 * A tiny keep-alive HTTP/1.1 client on node:http, enough for the registry API: small bodies
 * are buffered, large request bodies stream from a Readable, large responses can be discarded
 * while counted. Every request has a timeout so nothing in the benchmark can hang.
 */
import http from 'node:http';
import type { Readable } from 'node:stream';

export interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** Bytes received in the body (also when discarded). */
  bytes: number;
}

export interface RequestOptions {
  headers?: Record<string, string>;
  body?: Buffer | string | Readable;
  /** Content-Length for a streamed body. */
  bodyLength?: number;
  /** Count the response bytes without keeping them. */
  discard?: boolean;
  timeoutMs?: number;
}

export class HttpClient {
  readonly base: URL;
  readonly agent: http.Agent;

  constructor(base: string, maxSockets = 64) {
    this.base = new URL(base);
    this.agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  }

  /** A request path for a Location header value, which may be absolute or relative. */
  pathOf(location: string): string {
    const u = new URL(location, this.base);
    return `${u.pathname}${u.search}`;
  }

  request(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
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
          res.on('data', (chunk: Buffer) => {
            bytes += chunk.length;
            if (!opts.discard) chunks.push(chunk);
          });
          res.on('end', () => {
            resolveResponse({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), bytes });
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
