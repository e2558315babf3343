/**
 * A request body must keep arriving. Node's own timeouts do not fit a registry: `requestTimeout`
 * would cut a multi-gigabyte push on a slow link, and a socket inactivity timeout would also fire
 * while the server itself is busy (committing an upload to S3). So while a request body is being
 * received, its connection is checked every `periodMs`: it must have received at least
 * MIN_PROGRESS bytes since the last check, unless the server is the one not reading (unread bytes
 * are waiting in its buffers). A client that sends headers and then trickles, or nothing, is
 * disconnected after one to two periods; a slow but moving push is never cut. Headers alone are
 * bounded by Node's `headersTimeout`.
 */
import type { FastifyRequest } from 'fastify';

/** Bytes a body must advance per period: a 56 kbit/s link sends ~200 KiB in 30 s. */
export const MIN_PROGRESS = 1024;

function expectsBody(req: FastifyRequest): boolean {
  const len = req.headers['content-length'];
  if (len !== undefined) return len !== '0';
  return req.headers['transfer-encoding'] !== undefined;
}

export function watchBody(req: FastifyRequest, periodMs: number): void {
  const raw = req.raw;
  const socket = raw.socket as (typeof raw.socket & { bytesRead?: number }) | null;
  // Injected requests (tests) have no real socket to watch.
  if (!socket || typeof socket.bytesRead !== 'number' || raw.complete || !expectsBody(req)) return;
  let last = socket.bytesRead;
  const timer = setInterval(() => {
    if (raw.complete || socket.destroyed) return stop();
    const now = socket.bytesRead ?? last;
    const progressed = now - last >= MIN_PROGRESS;
    last = now;
    if (progressed || raw.readableLength > 0 || socket.readableLength > 0) return;
    stop();
    req.log.info({ method: req.method, url: req.url, received: now }, 'request body stalled: closing the connection');
    socket.destroy();
  }, periodMs);
  timer.unref();
  // The socket outlives the request on a keep-alive connection (docker, nginx's upstream pool), so
  // its listener must go with the request: left behind, each one kept its whole request alive.
  const stop = () => {
    clearInterval(timer);
    raw.off('end', stop);
    raw.off('close', stop);
    socket.off('close', stop);
  };
  raw.once('end', stop);
  raw.once('close', stop);
  socket.once('close', stop);
}
