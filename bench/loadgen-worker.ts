/**
 * A small wrk-like load generator in Node, run as its own process:
 * `loadgen-worker.ts '<json LoadSpec>'`. It keeps `connections` raw keep-alive TCP connections
 * busy with one request each for `durationSeconds` (after a 0.5 s warm-up) and prints one JSON
 * line. It parses only what it needs (status line, Content-Length), which keeps it cheap enough
 * not to be the bottleneck, and unlike wrk it knows that a HEAD response has no body.
 */
import net from 'node:net';

interface Spec {
  url: string;
  method: string;
  headers: Record<string, string>;
  connections: number;
  durationSeconds: number;
}

const spec = JSON.parse(process.argv[2] ?? '{}') as Spec;
const url = new URL(spec.url);
const port = Number(url.port || '80');
const head = spec.method === 'HEAD';
const extra = Object.entries(spec.headers)
  .map(([k, v]) => `${k}: ${v}\r\n`)
  .join('');
const request = Buffer.from(`${spec.method} ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n${extra}\r\n`);
const CRLF2 = Buffer.from('\r\n\r\n');

let measuring = false;
let stopping = false;
let errors = 0;
let non2xx = 0;
const latencies: number[] = [];

function parseHead(block: string): { status: number; length: number; chunked: boolean; close: boolean } {
  const status = Number(block.slice(9, 12));
  const lower = block.toLowerCase();
  const m = /\r\ncontent-length:\s*(\d+)/.exec(lower);
  return {
    status,
    length: m?.[1] === undefined ? 0 : Number(m[1]),
    chunked: lower.includes('\r\ntransfer-encoding: chunked'),
    close: lower.includes('\r\nconnection: close'),
  };
}

function connection(): Promise<void> {
  return new Promise((done) => {
    let buf: Buffer = Buffer.alloc(0);
    let bodyLeft = -1; // -1: waiting for the header block
    let closeAfter = false;
    let status = 0;
    let t0 = 0;
    let inFlight = false;
    const sock = net.connect({ host: url.hostname, port, noDelay: true });
    const send = () => {
      if (stopping) {
        sock.end();
        return;
      }
      t0 = performance.now();
      inFlight = true;
      sock.write(request);
    };
    const complete = (status: number) => {
      inFlight = false;
      if (measuring) {
        latencies.push(performance.now() - t0);
        if (status < 200 || status >= 400) non2xx++;
      }
      if (closeAfter) sock.end();
      else send();
    };
    sock.on('connect', send);
    sock.on('data', (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      for (;;) {
        if (bodyLeft < 0) {
          const end = buf.indexOf(CRLF2);
          if (end < 0) return;
          const h = parseHead(buf.subarray(0, end).toString('latin1'));
          if (h.chunked) {
            // Not needed for registry manifests; refuse rather than mis-count.
            errors++;
            sock.destroy();
            return;
          }
          buf = buf.subarray(end + 4);
          bodyLeft = head ? 0 : h.length;
          closeAfter = h.close;
          status = h.status;
        }
        if (buf.length < bodyLeft) return;
        buf = buf.subarray(bodyLeft);
        bodyLeft = -1;
        complete(status);
        if (!inFlight) return;
      }
    });
    sock.setTimeout(10_000, () => sock.destroy(new Error('timeout')));
    sock.on('error', () => {
      if (measuring) errors++;
    });
    sock.on('close', () => {
      if (inFlight && measuring) errors++;
      // A server that closed the connection gets a new one, as a keep-alive client would do.
      if (!stopping) void connection().then(done);
      else done();
    });
  });
}

const conns = Array.from({ length: spec.connections }, () => connection());
await new Promise((r) => setTimeout(r, 500));
measuring = true;
const start = performance.now();
await new Promise((r) => setTimeout(r, spec.durationSeconds * 1000));
measuring = false;
const elapsed = (performance.now() - start) / 1000;
stopping = true;
await Promise.race([Promise.all(conns), new Promise((r) => setTimeout(r, 15_000))]);
latencies.sort((a, b) => a - b);
const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
process.stdout.write(`${JSON.stringify({ requests: latencies.length, seconds: elapsed, errors, non2xx, p50Ms: pct(50), p99Ms: pct(99) })}\n`);
process.exit(0);
