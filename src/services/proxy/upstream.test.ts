import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseChallenge } from './upstream.ts';

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
