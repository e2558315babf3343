/**
 * A local webhook receiver for tests: a real HTTP server on 127.0.0.1 that records every request
 * (headers, raw body, arrival time) and answers with the statuses it is told to (then 200).
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
  /** The status this request was answered with. */
  status: number;
}

export interface Receiver {
  url: string;
  received: Received[];
  /** Statuses for the next requests, in order (200 once they run out); 0 = never answer (the sender's time limit ends it). */
  failNext(...statuses: number[]): void;
  /** Resolves with the received requests once `n` of them satisfy `match`, or throws after `timeoutMs`. */
  waitFor(n: number, match?: (r: Received) => boolean, timeoutMs?: number): Promise<Received[]>;
  close(): Promise<void>;
}

export async function startReceiver(path = '/hook'): Promise<Receiver> {
  const received: Received[] = [];
  const queue: number[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = queue.shift() ?? 200;
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now(), status });
      if (status === 0) return;
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'thanks' : `failing on purpose (${status})`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    received,
    failNext: (...statuses) => void queue.push(...statuses),
    async waitFor(n, match = () => true, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const hits = received.filter(match);
        if (hits.length >= n) return hits;
        if (Date.now() > deadline) throw new Error(`receiver got ${hits.length} of ${n} matching requests within ${timeoutMs} ms (${received.length} in all: ${received.map((r) => r.headers['x-wharf-event']).join(', ')})`);
        await sleep(20);
      }
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
