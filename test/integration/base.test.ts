/** GET /v2/ (end-1), health endpoints, unknown endpoints, wrong methods and bad names. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import Fastify from 'fastify';
import { frameworkErrorHandler } from '../../src/http/errors.ts';
import { assertError, json, withApp } from './support.ts';

const digest = `sha256:${'a'.repeat(64)}`;

describe('base endpoint and health', () => {
  test('GET and HEAD /v2/ answer 200 with the API version header', async () => {
    await withApp(async (c) => {
      const get = await c.get('/v2/');
      assert.equal(get.statusCode, 200);
      assert.deepEqual(json(get), {});
      assert.match(String(get.headers['content-type']), /^application\/json/);
      assert.ok(get.headers['x-request-id'], 'every response carries its request id');
      const head = await c.head('/v2/');
      assert.equal(head.statusCode, 200);
      assert.equal(head.body, '');
    });
  });

  test('a client-supplied request id is echoed', async () => {
    await withApp(async (c) => {
      const res = await c.get('/v2/', { 'x-request-id': 'trace-me-42' });
      assert.equal(res.headers['x-request-id'], 'trace-me-42');
    });
  });

  test('/healthz and /readyz', async () => {
    await withApp(async (c) => {
      const health = await c.get('/healthz');
      assert.equal(health.statusCode, 200);
      assert.deepEqual(json(health), { status: 'ok' });
      const ready = await c.get('/readyz');
      assert.equal(ready.statusCode, 200);
      assert.deepEqual(json(ready), { status: 'ready' });
    });
  });

  test('/readyz answers 503 when the database is gone', async () => {
    await withApp(async (c) => {
      await c.wharf.metadata.close();
      const res = await c.wharf.app.inject({ url: '/readyz' });
      assert.equal(res.statusCode, 503);
      assert.deepEqual(JSON.parse(res.body), { status: 'unavailable' });
    });
  });
});

describe('unknown endpoints and wrong methods answer with spec errors', () => {
  test('unknown paths are 404 with an error body', async () => {
    await withApp(async (c) => {
      for (const url of ['/v2/acme/web', '/v2/acme/web/unknown', '/v2/acme/web/blobs', '/v2/acme/web/tags', '/v2/acme/web/manifests/', '/v2/_catalog/']) {
        const res = await c.get(url);
        assert.equal(res.statusCode, 404, url);
        const body = json(res) as { errors: { code: string }[] };
        assert.equal(body.errors[0]?.code, 'UNSUPPORTED', url);
      }
    });
  });

  // containers/image (podman search) tries the Docker v1 search first and falls back to
  // /v2/_catalog only on a non-JSON error status; an HTML 200 from the UI breaks it.
  test('Docker v1 probes (/v1/search, /v1/_ping) are a JSON 404, not the UI', async () => {
    await withApp(async (c) => {
      for (const url of ['/v1/search?q=acme&n=25', '/v1/_ping']) {
        const res = await c.get(url);
        assert.equal(res.statusCode, 404, url);
        assert.match(String(res.headers['content-type']), /^application\/json/, url);
      }
    });
  });

  test('a method an endpoint does not support is 405 UNSUPPORTED', async () => {
    await withApp(async (c) => {
      const cases: [string, string][] = [
        ['POST', '/v2/acme/web/manifests/latest'],
        ['PATCH', '/v2/acme/web/manifests/latest'],
        ['POST', '/v2/acme/web/tags/list'],
        ['DELETE', '/v2/acme/web/tags/list'],
        ['PUT', `/v2/acme/web/blobs/${digest}`],
        ['PATCH', `/v2/acme/web/blobs/${digest}`],
        ['GET', '/v2/acme/web/blobs/uploads/'],
        ['PUT', '/v2/acme/web/blobs/uploads/'],
        ['POST', '/v2/acme/web/blobs/uploads/some-id'],
        ['PUT', `/v2/acme/web/referrers/${digest}`],
        ['DELETE', '/v2/_catalog'],
        ['POST', '/v2/_catalog'],
      ];
      for (const [method, url] of cases) {
        const res = await c.req({ method: method as 'GET', url });
        assertError(res, 405, 'UNSUPPORTED');
      }
    });
  });

  test('a method the server does not route at all is 404 with an error body', async () => {
    await withApp(async (c) => {
      const res = await c.req({ method: 'OPTIONS', url: '/v2/acme/web/tags/list' });
      assertError(res, 404, 'UNSUPPORTED');
    });
  });

  test('errors on HEAD have a status and no body', async () => {
    await withApp(async (c) => {
      const res = await c.head(`/v2/acme/web/manifests/missing`);
      assert.equal(res.statusCode, 404);
      assert.equal(res.body, '');
    });
  });

  test('frameworkErrorHandler turns a malformed URL escape into a spec 400', async () => {
    const app = Fastify({ frameworkErrors: frameworkErrorHandler });
    app.get('/v2/*', async () => 'unreachable');
    const res = await app.inject({ url: '/v2/%zz/tags/list' });
    assert.equal(res.headers['docker-distribution-api-version'], 'registry/2.0');
    assertError(res, 400, 'NAME_INVALID');
    const other = await app.inject({ url: '/api/%zz' });
    assert.equal(other.statusCode, 400);
    await app.close();
  });

  test('a malformed URL escape is a spec 400, not Fastify’s own error format', async () => {
    await withApp(async (c) => {
      const res = await c.wharf.app.inject({ url: '/v2/%zz/tags/list' });
      assert.equal(res.headers['docker-distribution-api-version'], 'registry/2.0');
      assertError(res, 400, 'NAME_INVALID');
    });
  });
});

describe('repository names', () => {
  test('invalid names are 400 NAME_INVALID on every endpoint', async () => {
    await withApp(async (c) => {
      const long = `acme/${'a'.repeat(251)}`; // 256 characters
      assert.equal(long.length, 256);
      for (const name of ['Acme/web', 'acme//web', 'acme/web-', '-acme/web', 'acme/we!b', 'acme/wéb', 'acme/a___b', long]) {
        const urls: [string, string][] = [
          ['GET', `/v2/${name}/tags/list`],
          ['GET', `/v2/${name}/manifests/latest`],
          ['PUT', `/v2/${name}/manifests/latest`],
          ['HEAD', `/v2/${name}/blobs/${digest}`],
          ['POST', `/v2/${name}/blobs/uploads/`],
          ['PATCH', `/v2/${name}/blobs/uploads/abc`],
          ['GET', `/v2/${name}/referrers/${digest}`],
        ];
        for (const [method, url] of urls) {
          const res = await c.req({ method: method as 'GET', url: encodeURI(url) });
          assertError(res, 400, 'NAME_INVALID');
        }
      }
    });
  });

  test('a 255-character name is valid', async () => {
    await withApp(async (c) => {
      const name = `acme/${'a'.repeat(250)}`;
      assert.equal(name.length, 255);
      const res = await c.req({ method: 'POST', url: `/v2/${name}/blobs/uploads/` });
      assert.equal(res.statusCode, 202);
    });
  });
});
