/**
 * HTTP/1.1 over a bare socket, for tests of what a server does before (or without) reading a
 * request body: send the head and part of a body, keep the connection open as a slow or hostile
 * client would, and read whatever the server answers.
 */
import { connect, type Socket } from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface RawRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  /** Bytes sent right after the head (a declared Content-Length may promise more). */
  body?: Buffer | string;
  /** Fail when no complete answer arrived within this time (default 15 s). */
  timeoutMs?: number;
}

/** The head of a request, with Host added. */
export function requestHead(host: string, r: Pick<RawRequest, 'method' | 'path' | 'headers'>): string {
  const lines = [`${r.method} ${r.path} HTTP/1.1`, `Host: ${host}`, ...Object.entries(r.headers ?? {}).map(([k, v]) => `${k}: ${v}`)];
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** Reads one HTTP response from `socket` (Content-Length or until close). */
export function readResponse(socket: Socket, timeoutMs: number, what: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (err: Error | null, res?: RawResponse) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('error', onError);
      if (err) reject(err);
      else if (res) resolve(res);
    };
    const parse = (final: boolean): RawResponse | null => {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return null;
      const [statusLine, ...lines] = buf.subarray(0, end).toString('latin1').split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const i = l.indexOf(':');
        if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0);
      const rest = buf.subarray(end + 4);
      const length = headers['content-length'];
      if (length !== undefined) {
        if (rest.length < Number(length)) return null;
        return { status, headers, body: rest.subarray(0, Number(length)).toString('utf8') };
      }
      return final ? { status, headers, body: rest.toString('utf8') } : null;
    };
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const res = parse(false);
      if (res) finish(null, res);
    };
    const onClose = () => {
      const res = parse(true);
      finish(res ? null : new Error(`${what}: connection closed without a complete answer`), res ?? undefined);
    };
    const onError = (err: Error) => {
      // A reset after the answer arrived is how a server refuses the rest of a body.
      const res = parse(true);
      finish(res ? null : err, res ?? undefined);
    };
    const timer = setTimeout(() => finish(new Error(`${what}: no answer within ${timeoutMs} ms (was the server waiting for the body?)`)), timeoutMs);
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.on('error', onError);
  });
}

/** Opens a connection to 127.0.0.1:port. */
export function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1' }, () => resolve(s));
    s.once('error', reject);
  });
}

/**
 * Sends the head and `body`, never the rest a Content-Length may promise, and returns the
 * answer plus whether the server then closed the connection. The socket is destroyed afterwards.
 */
export async function rawExchange(port: number, r: RawRequest): Promise<RawResponse & { closedAfter: boolean }> {
  const socket = await openSocket(port);
  socket.on('error', () => undefined);
  try {
    const answer = readResponse(socket, r.timeoutMs ?? 15_000, `${r.method} ${r.path}`);
    socket.write(requestHead(`127.0.0.1:${port}`, r));
    if (r.body !== undefined && r.body.length > 0) socket.write(r.body);
    const res = await answer;
    const closedAfter = await new Promise<boolean>((resolve) => {
      if (socket.destroyed || socket.readableEnded) return resolve(true);
      const t = setTimeout(() => resolve(false), 2_000);
      socket.once('close', () => {
        clearTimeout(t);
        resolve(true);
      });
      socket.once('end', () => {
        clearTimeout(t);
        resolve(true);
      });
    });
    return { ...res, closedAfter };
  } finally {
    socket.destroy();
  }
}
