/**
 * Slow clients: a connection that sends headers and then trickles a body (or nothing), or
 * trickles its headers, is closed by the server; a slow push that keeps making progress is
 * served to the end. Limits are shortened here (1 s) so the test is quick; the defaults are 30 s.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { openSocket, readResponse, requestHead } from '../helpers/raw-http.ts';

/** Resolves with true when the server closes `socket`, false when it is still open after `ms`. */
function closedWithin(socket: Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve(true);
    const t = setTimeout(() => resolve(false), ms);
    const done = () => {
      clearTimeout(t);
      resolve(true);
    };
    socket.once('close', done);
    socket.once('end', done);
    socket.once('error', done);
  });
}

describe('slow clients', () => {
  let app: TestApp;
  let port: number;
  before(async () => {
    app = await buildTestApp({ server: { headersTimeoutSeconds: '1', bodyTimeoutSeconds: '1' } });
    await app.app.listen({ port: 0, host: '127.0.0.1' });
    const addr = app.app.server.address();
    port = typeof addr === 'object' && addr ? addr.port : 0;
  });
  after(async () => app.close());

  test('headers, then no body at all: the connection is closed', async () => {
    const s = await openSocket(port);
    s.on('error', () => undefined);
    s.write(requestHead('x', { method: 'PUT', path: '/v2/acme/app/manifests/v1', headers: { 'content-type': 'application/json', 'content-length': '2000' } }));
    assert.equal(await closedWithin(s, 15_000), true, 'a body that never comes does not hold the connection');
    s.destroy();
  });

  test('a body trickled a few bytes at a time: the connection is closed', async () => {
    const s = await openSocket(port);
    s.on('error', () => undefined);
    s.write(requestHead('x', { method: 'POST', path: `/v2/acme/app/blobs/uploads/?digest=sha256:${'0'.repeat(64)}`, headers: { 'content-length': String(1 << 20) } }));
    const closed = closedWithin(s, 15_000);
    let sent = 0;
    const trickle = setInterval(() => {
      if (!s.destroyed) s.write('x');
      sent++;
    }, 100);
    try {
      assert.equal(await closed, true, 'trickling is not progress');
      assert.ok(sent > 5, 'the client was still sending when it was cut');
    } finally {
      clearInterval(trickle);
      s.destroy();
    }
  });

  test('headers trickled one line at a time: the connection is closed', async () => {
    const s = await openSocket(port);
    s.on('error', () => undefined);
    s.write('GET /v2/ HTTP/1.1\r\nHost: x\r\n');
    const closed = closedWithin(s, 15_000);
    const trickle = setInterval(() => {
      if (!s.destroyed) s.write('X-Slow: 1\r\n');
    }, 200);
    try {
      assert.equal(await closed, true);
    } finally {
      clearInterval(trickle);
      s.destroy();
    }
  });

  test('a slow push that keeps making progress is not cut, however long it takes', async () => {
    const body = Buffer.alloc(48 * 1024, 7);
    const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    const s = await openSocket(port);
    s.on('error', () => undefined);
    const answer = readResponse(s, 60_000, 'slow push');
    s.write(requestHead('x', { method: 'POST', path: `/v2/acme/slow/blobs/uploads/?digest=${digest}`, headers: { 'content-length': String(body.length) } }));
    // 4 KiB every 400 ms: about 5 s in all, several times the 1 s limit.
    for (let off = 0; off < body.length; off += 4096) {
      s.write(body.subarray(off, off + 4096));
      await sleep(400);
    }
    const res = await answer;
    s.destroy();
    assert.equal(res.status, 201, res.body);
    const head = await app.app.inject({ method: 'HEAD', url: `/v2/acme/slow/blobs/${digest}` });
    assert.equal(head.statusCode, 200);
  });
});
