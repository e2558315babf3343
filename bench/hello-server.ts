/**
 * The request-rate ceiling of a Node HTTP server on this machine: a bare node:http server that
 * answers every request with a 2-byte JSON body, measured with the same load generator as the
 * registries. Prints its port; exits when its parent closes stdin, or after a fixed lifetime.
 */
import http from 'node:http';

const server = http.createServer((_req, res) => {
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
