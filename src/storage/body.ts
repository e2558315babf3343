import { Readable } from 'node:stream';
import { RegistryError } from '../errors.ts';
import { collectYoungGarbage, YOUNG_GC_EVERY_BYTES } from '../lib/young-gc.ts';

export interface BodyLimits {
  /** Bytes the client declared (Content-Length). */
  expectedLength?: number | undefined;
  /** Bytes the session may still grow by. */
  remaining?: number | undefined;
}

/**
 * Receives a chunk synchronously; returning a promise pauses the body until it settles
 * (backpressure), so a sink decides itself how much it keeps in flight.
 */
export type ChunkSink = (chunk: Uint8Array) => void | Promise<void>;

/** Marks a sink's own failure, which is not the client's fault. */
class SinkFailure extends Error {
  readonly err: unknown;
  constructor(err: unknown) {
    super('the sink failed', { cause: err });
    this.err = err;
  }
}

/**
 * Consumes a request body in order, handing every chunk to `sink`, and enforces the declared
 * length and size cap. A body that errors midway (client went away) becomes SIZE_INVALID: the
 * caller rolls the session back and the client may retry. Failures of the sink (disk full,
 * object store down) propagate as the server errors they are.
 *
 * Node streams are read with 'data' events rather than async iteration: the iterator costs a
 * promise and two ticks per 64 KiB chunk, which measurably slows large pushes.
 */
export async function consumeChunks(body: AsyncIterable<Uint8Array>, sink: ChunkSink, limits: BodyLimits): Promise<number> {
  let total = 0;
  let sinceCollection = 0;
  const admit = (chunk: Uint8Array): void => {
    total += chunk.length;
    sinceCollection += chunk.length;
    if (sinceCollection >= YOUNG_GC_EVERY_BYTES) {
      sinceCollection = 0;
      collectYoungGarbage();
    }
    if (limits.remaining !== undefined && total > limits.remaining) {
      throw new RegistryError('SIZE_INVALID', 'upload exceeds the maximum blob size');
    }
    if (limits.expectedLength !== undefined && total > limits.expectedLength) {
      throw new RegistryError('SIZE_INVALID', 'body is longer than Content-Length');
    }
  };
  try {
    if (body instanceof Readable) {
      await consumeReadable(body, (chunk) => {
        admit(chunk);
        return sink(chunk);
      });
    } else {
      for await (const chunk of body) {
        admit(chunk);
        try {
          await sink(chunk);
        } catch (err) {
          throw new SinkFailure(err);
        }
      }
    }
  } catch (err) {
    if (err instanceof SinkFailure) throw err.err;
    if (err instanceof RegistryError) throw err;
    throw new RegistryError('SIZE_INVALID', 'request body ended early', { received: total });
  }
  if (limits.expectedLength !== undefined && total !== limits.expectedLength) {
    throw new RegistryError('SIZE_INVALID', 'body length does not match Content-Length', {
      expected: limits.expectedLength,
      received: total,
    });
  }
  return total;
}

/**
 * Flowing-mode reading with pause/resume around asynchronous sinks. Rejects with a SinkFailure
 * for the sink's errors, a RegistryError for limit violations, and anything else when the body
 * itself failed or closed before its end. On any failure the stream is destroyed, as an async
 * iterator left early would be: the rest of the body is not wanted.
 */
function consumeReadable(stream: Readable, onChunk: (chunk: Uint8Array) => void | Promise<void>): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const cleanup = (): void => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('close', onClose);
    };
    const fail = (err: unknown): void => {
      if (settled) return;
      settled = true;
      cleanup();
      stream.destroy();
      reject(err instanceof Error ? err : new Error(String(err)));
    };
    // The sink's promise of the latest chunk: 'end' can come while it is still pending (the
    // stream had already read its last chunk), and must wait for it.
    let pending: Promise<void> | null = null;
    const onData = (chunk: Uint8Array): void => {
      if (settled) return;
      let result: void | Promise<void>;
      try {
        result = onChunk(chunk);
      } catch (err) {
        fail(err instanceof RegistryError ? err : new SinkFailure(err));
        return;
      }
      if (result === undefined) return;
      stream.pause();
      const current = result.then(
        () => {
          if (pending === current) pending = null;
          if (!settled) stream.resume();
        },
        (err: unknown) => {
          fail(new SinkFailure(err));
        },
      );
      pending = current;
    };
    const onEnd = (): void => {
      if (settled) return;
      if (pending !== null) {
        void pending.then(onEnd);
        return;
      }
      settled = true;
      cleanup();
      resolve();
    };
    const onError = (err: unknown): void => fail(err);
    const onClose = (): void => fail(new Error('body closed before its end'));
    if (stream.readableEnded) {
      resolve();
      return;
    }
    if (stream.destroyed) {
      reject(new Error('body destroyed before it was read'));
      return;
    }
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.on('close', onClose);
  });
}

/**
 * consumeChunks, with the chunks gathered into batches of up to `batchBytes` for sinks that
 * work on larger units (object store parts, the in-memory store).
 */
export async function consumeBody(
  body: AsyncIterable<Uint8Array>,
  sink: (chunks: Uint8Array[], bytes: number) => Promise<void>,
  opts: BodyLimits & { batchBytes?: number },
): Promise<number> {
  const batchBytes = opts.batchBytes ?? 1 << 20;
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  const total = await consumeChunks(
    body,
    (chunk) => {
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes < batchBytes) return undefined;
      const batch = pending;
      const n = pendingBytes;
      pending = [];
      pendingBytes = 0;
      return sink(batch, n);
    },
    opts,
  );
  if (pendingBytes > 0) await sink(pending, pendingBytes);
  return total;
}
