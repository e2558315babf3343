/**
 * Sends a local file (chart index, blob) as the response body through two reused buffers. A stream from
 * fs.createReadStream allocates a fresh buffer per chunk; for a multi-megabyte index.yaml
 * that is megabytes of garbage per request, and the collector then costs more than the copy
 * (measured: 20–110 ms per 13 MiB GET, against 12–20 ms with this loop). A buffer is refilled
 * only after the socket has taken the previous write.
 */
import type { FileHandle } from 'node:fs/promises';
import type { FastifyReply } from 'fastify';

const CHUNK = 256 * 1024;

/**
 * Sends `size` bytes of an opened file from `start` (a whole file, or one range of a blob), and
 * closes it. The store or service that owns the file opens it (ADR 0020): HTTP never opens a path.
 */
export async function sendFile(reply: FastifyReply, fh: FileHandle, size: number, status = 200, start = 0): Promise<void> {
  reply.hijack();
  const res = reply.raw;
  try {
    const headers: Record<string, string | number | string[]> = {};
    for (const [k, v] of Object.entries(reply.getHeaders())) if (v !== undefined) headers[k] = v;
    headers['content-length'] = size;
    res.writeHead(status, headers);
    const buffers = [Buffer.allocUnsafeSlow(CHUNK), Buffer.allocUnsafeSlow(CHUNK)];
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
    res.end();
  } catch (err) {
    // Headers are gone: the only honest signal left is a cut connection.
    reply.log.warn({ err }, 'file response aborted');
    res.destroy();
  } finally {
    await fh.close();
  }
}
