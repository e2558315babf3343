import { RegistryError } from '../errors.ts';

/**
 * Consumes a request body in order, calling `sink` with batches of up to `batchBytes`, and
 * enforces the declared length and size cap. A body that errors midway (client went away)
 * becomes SIZE_INVALID: the caller rolls the session back and the client may retry.
 */
export async function consumeBody(
  body: AsyncIterable<Uint8Array>,
  sink: (chunks: Uint8Array[], bytes: number) => Promise<void>,
  opts: { expectedLength?: number | undefined; remaining?: number | undefined; batchBytes?: number },
): Promise<number> {
  const batchBytes = opts.batchBytes ?? 1 << 20;
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let total = 0;
  // Only failures of the body itself are the client's fault; a failing sink (disk full, object
  // store down) propagates as the server error it is.
  const sinkFailure = { err: null as unknown };
  const flush = async (batch: Uint8Array[], n: number) => {
    try {
      await sink(batch, n);
    } catch (err) {
      sinkFailure.err = err;
      throw err;
    }
  };
  try {
    for await (const chunk of body) {
      total += chunk.length;
      if (opts.remaining !== undefined && total > opts.remaining) {
        throw new RegistryError('SIZE_INVALID', 'upload exceeds the maximum blob size');
      }
      if (opts.expectedLength !== undefined && total > opts.expectedLength) {
        throw new RegistryError('SIZE_INVALID', 'body is longer than Content-Length');
      }
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes >= batchBytes) {
        const batch = pending;
        const n = pendingBytes;
        pending = [];
        pendingBytes = 0;
        await flush(batch, n);
      }
    }
  } catch (err) {
    if (err instanceof RegistryError || err === sinkFailure.err) throw err;
    throw new RegistryError('SIZE_INVALID', 'request body ended early', { received: total });
  }
  if (pendingBytes > 0) await sink(pending, pendingBytes);
  if (opts.expectedLength !== undefined && total !== opts.expectedLength) {
    throw new RegistryError('SIZE_INVALID', 'body length does not match Content-Length', {
      expected: opts.expectedLength,
      received: total,
    });
  }
  return total;
}
