/**
 * How cheaply can Node move a file's bytes to a socket? One bare node:http server process per
 * variant serves the same 64 MiB file; a client process pulls it repeatedly and hashes every
 * byte (as docker and containerd do). Reported per variant: server CPU (user + system) per GiB
 * served and throughput. Variants run interleaved, round after round, so a loaded machine skews
 * them alike. Not part of `npm run bench`; the figures are in docs/adr/0024-pull-path.md.
 *
 *   node bench/pull-path.ts [rounds]
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';

const VARIANTS = {
  /** Wharf's send-file.ts: two reused 256 KiB buffers, a read overlapping the previous write. */
  'two buffers, 256 KiB': { chunk: 256 * 1024, mode: 'buffers' },
  'two buffers, 1 MiB': { chunk: 1024 * 1024, mode: 'buffers' },
  'two buffers, 4 MiB': { chunk: 4 * 1024 * 1024, mode: 'buffers' },
  /** fs.createReadStream piped to the response: a fresh buffer per chunk. */
  'createReadStream 1 MiB, pipeline': { chunk: 1024 * 1024, mode: 'stream' },
  /** The socket itself after the headers, bypassing the response's write path. */
  'two buffers 1 MiB, socket.write': { chunk: 1024 * 1024, mode: 'socket' },
} as const;
type VariantName = keyof typeof VARIANTS;

const SIZE = 64 * 1024 * 1024;

// ---- server side (a child process per variant) ----------------------------------------------

async function serve(file: string, variant: VariantName): Promise<void> {
  const { chunk, mode } = VARIANTS[variant];
  const server = http.createServer(async (req, res) => {
    if (req.url === '/cpu') {
      const u = process.cpuUsage();
      res.end(JSON.stringify({ us: u.user + u.system }));
      return;
    }
    res.writeHead(200, { 'content-length': SIZE, 'content-type': 'application/octet-stream' });
    if (mode === 'stream') {
      await pipeline(createReadStream(file, { highWaterMark: chunk }), res).catch(() => res.destroy());
      return;
    }
    const fh = await open(file, 'r');
    try {
      const socket = res.socket;
      if (mode === 'socket') res.flushHeaders();
      const sink = mode === 'socket' && socket ? socket : res;
      const buffers = [Buffer.allocUnsafeSlow(chunk), Buffer.allocUnsafeSlow(chunk)];
      const inFlight: Promise<void>[] = [Promise.resolve(), Promise.resolve()];
      let position = 0;
      for (let i = 0; position < SIZE; i ^= 1) {
        await inFlight[i];
        const buf = buffers[i] as Buffer;
        const { bytesRead } = await fh.read(buf, 0, Math.min(chunk, SIZE - position), position);
        position += bytesRead;
        inFlight[i] = new Promise<void>((resolve, reject) => sink.write(buf.subarray(0, bytesRead), (err) => (err ? reject(err) : resolve())));
      }
      await Promise.all(inFlight);
      // The body went past the response, but Content-Length said how much: ending it writes nothing.
      res.end();
    } finally {
      await fh.close();
    }
  });
  server.listen(0, '127.0.0.1', () => {
    const addr = server.address();
    process.send?.({ port: typeof addr === 'object' && addr ? addr.port : 0 });
  });
}

// ---- client side ----------------------------------------------------------------------------

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

function get(port: number, path: string): Promise<Buffer | string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent }, (res) => {
        if (path === '/cpu') {
          let s = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (s += c));
          res.on('end', () => resolve(s));
          return;
        }
        const hash = createHash('sha256');
        let n = 0;
        res.on('data', (c: Buffer) => {
          n += c.length;
          hash.update(c);
        });
        res.on('end', () => (n === SIZE ? resolve(hash.digest()) : reject(new Error(`got ${n} of ${SIZE} bytes`))));
      })
      .on('error', reject);
  });
}

async function cpuUs(port: number): Promise<number> {
  return (JSON.parse(String(await get(port, '/cpu'))) as { us: number }).us;
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 4);
  const pullsPerRound = 4;
  const dir = await mkdtemp(join(tmpdir(), 'wharf-pull-path-'));
  const file = join(dir, 'blob');
  const data = randomBytes(SIZE);
  await writeFile(file, data);
  const expected = createHash('sha256').update(data).digest();
  const servers: { name: VariantName; child: ChildProcess; port: number; cpuUs: number; seconds: number }[] = [];
  try {
    for (const name of Object.keys(VARIANTS) as VariantName[]) {
      const child = fork(import.meta.filename, ['--serve', file, name], { stdio: 'inherit' });
      const port = await new Promise<number>((resolve) => child.once('message', (m: { port: number }) => resolve(m.port)));
      servers.push({ name, child, port, cpuUs: 0, seconds: 0 });
      await get(port, '/blob'); // warm: page cache, JIT
    }
    for (let r = 0; r < rounds; r++) {
      const order = [...servers.slice(r % servers.length), ...servers.slice(0, r % servers.length)];
      for (const s of order) {
        const c0 = await cpuUs(s.port);
        const t0 = performance.now();
        for (let i = 0; i < pullsPerRound; i++) {
          const digest = await get(s.port, '/blob');
          if (!expected.equals(digest as Buffer)) throw new Error(`${s.name}: wrong bytes`);
        }
        s.seconds += (performance.now() - t0) / 1000;
        s.cpuUs += (await cpuUs(s.port)) - c0;
      }
    }
    const gib = (rounds * pullsPerRound * SIZE) / 2 ** 30;
    process.stdout.write('| variant | server CPU per GiB | MiB/s (client hashes) |\n| --- | ---: | ---: |\n');
    for (const s of servers) {
      process.stdout.write(`| ${s.name} | ${(s.cpuUs / 1e6 / gib).toFixed(2)} s | ${((gib * 1024) / s.seconds).toFixed(0)} |\n`);
    }
  } finally {
    for (const s of servers) s.child.kill();
    agent.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--serve') await serve(process.argv[3] ?? '', process.argv[4] as VariantName);
else await main();
