/**
 * The far end of the loopback measurement, run as its own process so that the two ends do
 * not share one event loop (as a registry and its client do not). Plain TCP on 127.0.0.1:
 * a connection opens with 9 bytes, 'U' or 'D' and a 64-bit length. 'U': the peer reads that
 * many bytes, then answers one byte. 'D': the peer sends that many bytes. Prints its port;
 * exits when its parent closes stdin, or after a fixed lifetime.
 */
import net from 'node:net';

const CHUNK = Buffer.alloc(1 << 20, 0x5a);
const LIFETIME_MS = 10 * 60_000;

const server = net.createServer((sock) => {
  let header: Buffer = Buffer.alloc(0);
  let mode = '';
  let left = 0;
  const onData = (chunk: Buffer) => {
    if (mode === '') {
      header = Buffer.concat([header, chunk]);
      if (header.length < 9) return;
      mode = String.fromCharCode(header[0] ?? 0);
      left = Number(header.readBigUInt64BE(1));
      chunk = header.subarray(9);
      if (mode === 'D') {
        sock.off('data', onData);
        send();
        return;
      }
    }
    left -= chunk.length;
    if (left <= 0) {
      sock.off('data', onData);
      sock.end('k');
    }
  };
  const send = () => {
    while (left > 0) {
      const n = Math.min(CHUNK.length, left);
      left -= n;
      if (!sock.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) {
        sock.once('drain', send);
        return;
      }
    }
    sock.end();
  };
  sock.on('data', onData);
  sock.on('error', () => sock.destroy());
});

server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  process.stdout.write(`${typeof addr === 'object' && addr !== null ? addr.port : 0}\n`);
});
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
setTimeout(() => process.exit(0), LIFETIME_MS).unref();
