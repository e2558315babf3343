/**
 * Ceilings of a bare node:http server on this machine: it answers every request with a 2-byte
 * JSON body (request rate, measured with the registries' load generator), or streams a file
 * (GET /file?path=..., blob-pull rate of a Node server). Prints its port; exits when its parent closes stdin, or after a fixed lifetime.
 */
import { createReadStream, statSync } from 'node:fs';
import http from 'node:http';

const server = http.createServer((req, res) => {
  // GET /file?path=P streams a file the way a Node registry would serve a blob (1 MiB reads).
  const url = new URL(req.url ?? '/', 'http://localhost');
  const path = url.pathname === '/file' ? url.searchParams.get('path') : null;
  if (path !== null) {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(statSync(path).size) });
    createReadStream(path, { highWaterMark: 1 << 20 }).pipe(res);
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': '2' });
  res.end('{}');
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  process.stdout.write(`${typeof addr === 'object' && addr !== null ? addr.port : 0}\n`);
});
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
setTimeout(() => process.exit(0), 10 * 60_000).unref();
