/**
 * One HTTP attempt of a delivery: POST the stored payload, signed, with a time limit on the whole
 * exchange; redirects are not followed (a 3xx is a failed attempt: the receiver's URL should be
 * corrected instead), and at most a little of the answer is read (its excerpt goes in the log).
 */
import type { IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { WebhookOutcome } from '../../lib/metrics.ts';
import { checkTargetUrl, guardedLookup, RefusedTargetError } from './target.ts';

// Not `import … from 'node:http'`: an ES import of that module fills in every export, and one of
// them loads Node's bundled undici (fetch), 2–3 MiB of heap and ~14 MiB of RSS in every process
// that never fetches anything (docs/benchmarks.md, memory).
const { request: httpRequest } = process.getBuiltinModule('node:http');

export interface SendRequest {
  url: string;
  body: string;
  headers: Record<string, string>;
  timeoutMs: number;
  allowPrivate: boolean;
}

export interface SendResult {
  outcome: WebhookOutcome;
  status: number | null;
  /** The start of the answer's body (or the failure's message). */
  excerpt: string | null;
  error: string | null;
  ms: number;
}

const EXCERPT_CHARS = 1024;
const READ_BYTES = 16 * 1024;

export async function sendWebhook(req: SendRequest): Promise<SendResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  let url: URL;
  try {
    url = checkTargetUrl(req.url, req.allowPrivate);
  } catch (err) {
    return { outcome: 'refused', status: null, excerpt: null, error: (err as Error).message, ms: elapsed() };
  }
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<SendResult>((resolve) => {
    let settled = false;
    const done = (r: Omit<SendResult, 'ms'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...r, ms: elapsed() });
    };
    const body = Buffer.from(req.body);
    const r = send(
      url,
      {
        method: 'POST',
        headers: { ...req.headers, 'content-type': 'application/json', 'content-length': String(body.length) },
        lookup: guardedLookup(req.allowPrivate) as never,
        agent: false,
      },
      (res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        const chunks: Buffer[] = [];
        let size = 0;
        const finish = () => {
          const excerpt = Buffer.concat(chunks).toString('utf8').slice(0, EXCERPT_CHARS);
          if (status >= 200 && status < 300) done({ outcome: 'success', status, excerpt, error: null });
          else if (status >= 300 && status < 400) done({ outcome: 'http_error', status, excerpt, error: `redirect to ${res.headers.location ?? '?'} not followed` });
          else done({ outcome: 'http_error', status, excerpt, error: `receiver answered ${status}` });
          res.destroy();
        };
        res.on('data', (c: Buffer) => {
          if (size < READ_BYTES) chunks.push(c);
          size += c.length;
          if (size >= READ_BYTES) finish();
        });
        res.on('end', finish);
        res.on('error', finish);
      },
    );
    const timer = setTimeout(() => {
      done({ outcome: 'timeout', status: null, excerpt: null, error: `no answer within ${req.timeoutMs} ms` });
      r.destroy();
    }, req.timeoutMs);
    r.on('error', (err) => {
      if (err instanceof RefusedTargetError || (err as { cause?: unknown }).cause instanceof RefusedTargetError) {
        done({ outcome: 'refused', status: null, excerpt: null, error: err.message });
      } else {
        done({ outcome: 'network_error', status: null, excerpt: null, error: err.message });
      }
    });
    r.end(body);
  });
}
