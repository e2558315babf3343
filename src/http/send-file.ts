/**
 * Sends a local file (chart index, blob) as the response body through two reused buffers. A stream from
 * fs.createReadStream allocates a fresh buffer per chunk; for a multi-megabyte index.yaml
 * that is megabytes of garbage per request, and the collector then costs more than the copy
 * (measured: 20–110 ms per 13 MiB GET, against 12–20 ms with this loop). A buffer is refilled
 * only after the socket has taken the previous write.
 *
 * Buffers are 1 MiB and kept in a small pool across responses: 1 MiB chunks cost about a quarter
 * less server CPU per GiB than 256 KiB ones and 4 MiB ones more again (bench/pull-path.ts,
 * docs/adr/0024-pull-path.md); pooling keeps them from being allocated per pull.
 */
import type { FileHandle } from 'node:fs/promises';
import type { FastifyReply } from 'fastify';

const CHUNK = 1024 * 1024;

/**
 * Sends files as response bodies. One per HTTP app: it owns the buffers kept across responses, so
 * two apps in one process (tests, the bench) never share them and the pool's size is a property of
 * the app that uses it.
 */
export class FileSender {
  private readonly pool: Buffer[] = [];
  /** Buffers kept for the next responses: two per concurrent large pull. */
  private readonly poolMax: number;

  constructor(poolMax = 8) {
    this.poolMax = poolMax;
  }

  private take(): Buffer {
    return this.pool.pop() ?? Buffer.allocUnsafeSlow(CHUNK);
  }

  private give(b: Buffer): void {
    if (this.pool.length < this.poolMax) this.pool.push(b);
  }

  /**
   * Sends `size` bytes of an opened file from `start` (a whole file, or one range of a blob), and
   * closes it. The store or service that owns the file opens it (ADR 0020): HTTP never opens a path.
   */
  async send(reply: FastifyReply, fh: FileHandle, size: number, status = 200, start = 0): Promise<void> {
    reply.hijack();
    const res = reply.raw;
    let buffers: Buffer[] = [];
    let reusable = false;
    try {
      const headers: Record<string, string | number | string[]> = {};
      for (const [k, v] of Object.entries(reply.getHeaders())) if (v !== undefined) headers[k] = v;
      headers['content-length'] = size;
      res.writeHead(status, headers);
      // A small file (a config, a chart index of a few versions) gets one buffer of its size.
      if (size <= CHUNK / 16) {
        const buf = Buffer.allocUnsafe(size);
        const { bytesRead } = await fh.read(buf, 0, size, start);
        if (bytesRead < size) throw new Error('file ended early');
        res.end(buf);
        return;
      }
      buffers = [this.take(), this.take()];
      const inFlight: Promise<void>[] = [Promise.resolve(), Promise.resolve()];
      let position = 0;
      for (let i = 0; position < size; i ^= 1) {
        await inFlight[i];
        if (res.destroyed) return;
        const buf = buffers[i] as Buffer;
        const { bytesRead } = await fh.read(buf, 0, Math.min(CHUNK, size - position), start + position);
        if (bytesRead === 0) throw new Error('file ended early');
        position += bytesRead;
        inFlight[i] = new Promise<void>((resolve, reject) => res.write(buf.subarray(0, bytesRead), (err) => (err ? reject(err) : resolve())));
      }
      await Promise.all(inFlight);
      // Every write has called back: the socket no longer reads from the buffers.
      reusable = true;
      res.end();
    } catch (err) {
      // Headers are gone: the only honest signal left is a cut connection.
      reply.log.warn({ err }, 'file response aborted');
      res.destroy();
    } finally {
      // A buffer a cut response may still be writing from is left to the collector.
      if (reusable) buffers.forEach((b) => this.give(b));
      await fh.close();
    }
  }
}
