import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import type { Socket } from 'node:net';
import { after, before, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { watchBody } from './body-watchdog.ts';

let app: FastifyInstance;
let port: number;
const sockets = new Set<Socket>();

before(async () => {
  app = Fastify();
  app.addHook('onRequest', async (req) => {
    sockets.add(req.raw.socket);
    watchBody(req, 60_000);
  });
  app.post('/echo', async (req) => ({ got: (req.body as { n: number }).n }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  port = (app.server.address() as { port: number }).port;
});

after(() => app.close());

function post(agent: Agent, n: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/echo', method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve((JSON.parse(Buffer.concat(chunks).toString()) as { got: number }).got));
    });
    req.on('error', reject);
    req.end(JSON.stringify({ n }));
  });
}

test('a keep-alive connection does not collect one socket listener per request body it carried', async () => {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (let i = 0; i < 40; i++) assert.equal(await post(agent, i), i);
    assert.equal(sockets.size, 1, 'all requests came on one connection');
    const [socket] = [...sockets];
    // Node's own listeners stay; before the fix each of the 40 bodies left its watchdog's here,
    // and with it the whole request (IncomingMessage, Fastify request, logger) until the
    // connection closed.
    assert.ok(socket!.listenerCount('close') < 5, `close listeners on the socket: ${socket!.listenerCount('close')}`);
  } finally {
    agent.destroy();
  }
});
