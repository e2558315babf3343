import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { holdBody, parseChallenge } from './upstream.ts';

test('parses Docker token challenges as registries send them', () => {
  assert.deepEqual(parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"'), {
    scheme: 'bearer',
    params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/alpine:pull' },
  });
  assert.deepEqual(parseChallenge('Basic realm="Registry Realm"'), { scheme: 'basic', params: { realm: 'Registry Realm' } });
  // Unquoted values and spaces after commas (GHCR, Quay).
  assert.deepEqual(parseChallenge('Bearer realm="https://ghcr.io/token", service=ghcr.io'), { scheme: 'bearer', params: { realm: 'https://ghcr.io/token', service: 'ghcr.io' } });
  assert.equal(parseChallenge(''), null);
});

test('a held body is read whole even when its Response is garbage-collected before the first read', async (t) => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const payload = Buffer.alloc(4 << 20, 7);
  const server = createServer((_req, res) => res.writeHead(200, { 'content-length': payload.length }).end(payload));
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  t.after(() => server.close());
  const { port } = server.address() as AddressInfo;
  // Only the body is kept, as the blob path keeps it while it opens an upload session.
  const body = holdBody((await fetch(`http://127.0.0.1:${port}/`)).body!);
  for (let i = 0; i < 3; i++) {
    await new Promise((tick) => setTimeout(tick, 20));
    gc();
  }
  let received = 0;
  for await (const chunk of body.chunks()) received += chunk.length;
  assert.equal(received, payload.length);
});
