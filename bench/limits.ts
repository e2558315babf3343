/**
 * The machine's own limits, measured in the same run as the registries: what a blob push or
 * pull could reach at best. All figures are MiB/s.
 */
import { spawn } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import net from 'node:net';
import { type BenchConfig, type LoadGen, MiB } from './config.ts';
import { HttpClient, expectStatus } from './http.ts';
import { runLoad } from './loadgen.ts';

export interface Limits {
  sha256: number;
  diskWrite: number;
  diskRead: number;
  loopbackUpload: number;
  loopbackDownload: number;
  /** Requests/s of a bare node:http server under the GET load generator. */
  helloRps: number | null;
  /** MiB/s of a bare node:http server streaming the disk probe file (fs read stream piped to the response). */
  nodeFileServe: number | null;
}

function mibPerSec(bytes: number, ms: number): number {
  return bytes / MiB / (ms / 1000);
}

export function measureSha256(mib: number): number {
  const buf = Buffer.allocUnsafe(mib * MiB);
  randomFillSync(buf);
  // Warm up (JIT, first-touch of the pages), then hash in 1 MiB updates as a stream would.
  createHash('sha256').update(buf.subarray(0, 8 * MiB)).digest();
  const t0 = performance.now();
  const h = createHash('sha256');
  for (let off = 0; off < buf.length; off += MiB) h.update(buf.subarray(off, off + MiB));
  h.digest();
  return mibPerSec(buf.length, performance.now() - t0);
}

/**
 * Writes `mib` MiB in 1 MiB writes and fsyncs (write figure includes the fsync), then reads it
 * back; `withFile` gets the file before it is removed.
 */
export async function measureDisk(dir: string, mib: number, withFile?: (path: string) => Promise<void>): Promise<{ write: number; read: number }> {
  const path = join(dir, 'disk-probe.bin');
  const chunk = Buffer.allocUnsafe(MiB);
  randomFillSync(chunk);
  try {
    const t0 = performance.now();
    const fh = await open(path, 'w');
    try {
      for (let i = 0; i < mib; i++) await fh.write(chunk, 0, chunk.length, null);
      await fh.sync();
    } finally {
      await fh.close();
    }
    const write = mibPerSec(mib * MiB, performance.now() - t0);
    const t1 = performance.now();
    let bytes = 0;
    for await (const c of createReadStream(path, { highWaterMark: MiB })) bytes += (c as Buffer).length;
    const read = mibPerSec(bytes, performance.now() - t1);
    if (withFile) await withFile(path);
    return { write, read };
  } finally {
    await rm(path, { force: true });
  }
}

/** One transfer over a fresh TCP connection to the peer; resolves with MiB/s. */
function tcpTransfer(port: number, mode: 'U' | 'D', bytes: number): Promise<number> {
  return new Promise((resolveRate, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => sock.destroy(new Error('loopback transfer timed out')), 300_000);
    const chunk = Buffer.alloc(MiB, 0xa5);
    let t0 = 0;
    let received = 0;
    sock.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    sock.on('connect', () => {
      const header = Buffer.alloc(9);
      header.write(mode, 0, 'latin1');
      header.writeBigUInt64BE(BigInt(bytes), 1);
      t0 = performance.now();
      sock.write(header);
      if (mode === 'D') return;
      let sent = 0;
      const pump = () => {
        while (sent < bytes) {
          const n = Math.min(MiB, bytes - sent);
          sent += n;
          if (!sock.write(n === MiB ? chunk : chunk.subarray(0, n))) {
            sock.once('drain', pump);
            return;
          }
        }
      };
      pump();
    });
    sock.on('data', (d: Buffer) => {
      received += d.length;
    });
    sock.on('end', () => {
      clearTimeout(timer);
      const ms = performance.now() - t0;
      if (mode === 'D' && received !== bytes) reject(new Error(`loopback download got ${received} of ${bytes} bytes`));
      else resolveRate(mibPerSec(bytes, ms));
      sock.destroy();
    });
  });
}

/** Runs a helper script of bench/ in its own process; it prints its port and lives until stdin closes. */
async function withPeer<T>(script: string, fn: (port: number) => Promise<T>): Promise<T> {
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', join(import.meta.dirname, script)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  try {
    const port = await new Promise<number>((resolvePort, reject) => {
      const timer = setTimeout(() => reject(new Error(`${script} did not start`)), 15_000);
      child.stdout.once('data', (d: Buffer) => {
        clearTimeout(timer);
        resolvePort(Number(d.toString().trim()));
      });
      child.once('exit', () => reject(new Error(`${script} exited`)));
    });
    return await fn(port);
  } finally {
    child.stdin.end();
    if (child.exitCode === null) child.kill('SIGTERM');
  }
}

/** Plain TCP over 127.0.0.1 to a Node peer in another process: upload and download. */
export async function measureLoopback(mib: number): Promise<{ upload: number; download: number }> {
  return withPeer('loopback-peer.ts', async (port) => {
    // Warm-up transfers so both ends are past JIT and TCP slow start.
    await tcpTransfer(port, 'U', 32 * MiB);
    const upload = await tcpTransfer(port, 'U', mib * MiB);
    await tcpTransfer(port, 'D', 32 * MiB);
    const download = await tcpTransfer(port, 'D', mib * MiB);
    return { upload, download };
  });
}

/** MiB/s of a bare node:http server streaming `path` to a Node client (best of two). */
export async function measureFileServe(path: string): Promise<number> {
  return withPeer('hello-server.ts', async (port) => {
    const client = new HttpClient(`http://127.0.0.1:${port}`, 1);
    try {
      let best = 0;
      for (let i = 0; i < 2; i++) {
        const t0 = performance.now();
        const res = await expectStatus(client, 'GET', `/file?path=${encodeURIComponent(path)}`, [200], { discard: true, timeoutMs: 300_000 });
        best = Math.max(best, mibPerSec(res.bytes, performance.now() - t0));
      }
      return best;
    } finally {
      client.close();
    }
  });
}

/** Requests/s of a bare node:http server, loaded like the registries' manifest GETs. */
export async function measureHello(cfg: BenchConfig, tool: LoadGen, scratch: string): Promise<number> {
  return withPeer('hello-server.ts', async (port) => {
    const r = await runLoad(
      tool,
      { url: `http://127.0.0.1:${port}/`, method: 'GET', headers: {}, connections: cfg.concurrency, durationSeconds: cfg.durationSeconds },
      scratch,
    );
    return r.rps;
  });
}

export async function measureLimits(cfg: BenchConfig, dir: string, tool: LoadGen, log: (msg: string) => void): Promise<Limits> {
  const sha = measureSha256(cfg.sha256MiB);
  log(`sha256 ${sha.toFixed(0)} MiB/s`);
  // The bare-Node file-serving reference reads the probe file before it is removed.
  const serve: { rate: number | null } = { rate: null };
  const disk = await measureDisk(dir, cfg.diskMiB, async (path) => {
    serve.rate = await measureFileServe(path).catch((err: unknown) => {
      log(`node:http file stream: ${String(err)}`);
      return null;
    });
  });
  log(`disk write+fsync ${disk.write.toFixed(0)} MiB/s, read ${disk.read.toFixed(0)} MiB/s`);
  if (serve.rate !== null) log(`bare node:http streaming a file ${serve.rate.toFixed(0)} MiB/s`);
  const loop = await measureLoopback(cfg.loopbackMiB);
  log(`loopback upload ${loop.upload.toFixed(0)} MiB/s, download ${loop.download.toFixed(0)} MiB/s`);
  const hello = await measureHello(cfg, tool, dir).catch((err: unknown) => {
    log(`bare node:http server: ${String(err)}`);
    return null;
  });
  if (hello !== null) log(`bare node:http server ${hello.toFixed(0)} req/s (${tool})`);
  return { sha256: sha, diskWrite: disk.write, diskRead: disk.read, loopbackUpload: loop.upload, loopbackDownload: loop.download, helloRps: hello, nodeFileServe: serve.rate };
}
