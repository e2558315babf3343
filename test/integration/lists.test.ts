/** Tag list (end-8a/8b) and catalog, with n/last pagination and Link headers. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RepoName } from '../../src/oci/name.ts';
import { assertError, type Client, json, type Res, withApp } from './support.ts';
import { ensurePackage } from '../helpers/packages.ts';

const OCI = 'application/vnd.oci.image.manifest.v1+json';

/** Pushes one image and tags it with every tag given. */
async function tagAll(c: Client, repo: string, tags: string[]): Promise<void> {
  const [first, ...rest] = tags;
  const img = await c.pushImage(repo, first ?? 'latest');
  for (const tag of rest) assert.equal((await c.putManifest(repo, tag, img.bytes, OCI)).statusCode, 201);
}

function nextFrom(res: Res): string | null {
  const link = res.headers.link;
  if (link === undefined) return null;
  const m = /^<([^>]+)>; rel="next"$/.exec(String(link));
  assert.ok(m, `malformed Link header: ${String(link)}`);
  return m[1] ?? null;
}

/** Follows Link headers from `url`, returning every page's items. */
async function followPages(c: Client, url: string, key: 'tags' | 'repositories'): Promise<string[][]> {
  const pages: string[][] = [];
  let next: string | null = url;
  while (next !== null) {
    const res = await c.get(next);
    assert.equal(res.statusCode, 200, res.body);
    pages.push((json(res) as Record<string, string[]>)[key] ?? []);
    next = nextFrom(res);
    assert.ok(pages.length < 1000, 'pagination does not terminate');
  }
  return pages;
}

describe('tags list', () => {
  const tags = ['v10', 'v2', 'V1', '1.0.0', '1.0.0_build.1', '_private', 'latest', 'a-b', 'A', 'z', '0'];
  const sorted = [...tags].sort(); // byte order, as the spec asks for ("lexical")

  test('lists every tag in lexical order', async () => {
    await withApp(async (c) => {
      await tagAll(c, 'acme/web', tags);
      const res = await c.get('/v2/acme/web/tags/list');
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /^application\/json/);
      assert.deepEqual(json(res), { name: 'acme/web', tags: sorted });
      assert.equal(res.headers.link, undefined);
    });
  });

  test('every listing follows the latest change: tag added, moved, deleted; tagged manifest deleted', async () => {
    await withApp(async (c) => {
      const list = async () => (json(await c.get('/v2/acme/web/tags/list')) as { tags: string[] }).tags;
      const page = async (last: string) => (json(await c.get(`/v2/acme/web/tags/list?n=1&last=${last}`)) as { tags: string[] }).tags;
      const one = await c.pushImage('acme/web', 'a');
      assert.deepEqual(await list(), ['a']);
      assert.equal((await c.putManifest('acme/web', 'b', one.bytes, OCI)).statusCode, 201);
      assert.deepEqual(await list(), ['a', 'b'], 'a new tag shows at once');
      assert.deepEqual(await page('a'), ['b'], 'in pages too');
      const two = await c.pushImage('acme/web', 'c');
      assert.deepEqual(await list(), ['a', 'b', 'c']);
      assert.equal((await c.delete('/v2/acme/web/manifests/b')).statusCode, 202);
      assert.deepEqual(await list(), ['a', 'c'], 'a deleted tag is gone at once');
      assert.deepEqual(await page('a'), ['c']);
      assert.equal((await c.delete(`/v2/acme/web/manifests/${two.digest}`)).statusCode, 202);
      assert.deepEqual(await list(), ['a'], 'tags of a deleted manifest are gone');
    });
  });

  test('n and last paginate, with Link rel="next" until the last page', async () => {
    await withApp(async (c) => {
      await tagAll(c, 'acme/web', tags);
      const first = await c.get('/v2/acme/web/tags/list?n=3');
      assert.deepEqual((json(first) as { tags: string[] }).tags, sorted.slice(0, 3));
      assert.equal(first.headers.link, `</v2/acme/web/tags/list?n=3&last=${encodeURIComponent(sorted[2] ?? '')}>; rel="next"`);

      const pages = await followPages(c, '/v2/acme/web/tags/list?n=3', 'tags');
      assert.deepEqual(pages.map((p) => p.length), [3, 3, 3, 2]);
      assert.deepEqual(pages.flat(), sorted);

      // A page size that divides the list exactly: no empty trailing page.
      assert.deepEqual((await followPages(c, `/v2/acme/web/tags/list?n=${tags.length}`, 'tags')).map((p) => p.length), [tags.length]);
      assert.deepEqual((await followPages(c, '/v2/acme/web/tags/list?n=1000', 'tags')).flat(), sorted);
    });
  });

  test('last alone lists everything after it; last need not be an existing tag', async () => {
    await withApp(async (c) => {
      await tagAll(c, 'acme/web', tags);
      const after = (last: string) => c.get(`/v2/acme/web/tags/list?last=${encodeURIComponent(last)}`).then((r) => (json(r) as { tags: string[] }).tags);
      assert.deepEqual(await after('latest'), sorted.filter((t) => t > 'latest'));
      assert.deepEqual(await after('m'), sorted.filter((t) => t > 'm'));
      assert.deepEqual(await after('zzz'), []);
      const res = await c.get('/v2/acme/web/tags/list?n=2&last=a-b');
      assert.deepEqual((json(res) as { tags: string[] }).tags, sorted.filter((t) => t > 'a-b').slice(0, 2));
    });
  });

  test('n=0 is an empty page', async () => {
    await withApp(async (c) => {
      await tagAll(c, 'acme/web', ['a', 'b']);
      const res = await c.get('/v2/acme/web/tags/list?n=0');
      assert.equal(res.statusCode, 200);
      assert.deepEqual((json(res) as { tags: string[] }).tags, []);
    });
  });

  test('an invalid n is 400 with a spec error', async () => {
    await withApp(async (c) => {
      await tagAll(c, 'acme/web', ['a']);
      for (const n of ['abc', '-1', '1.5', '1e3', ' 2', '0x10']) {
        const res = await c.get(`/v2/acme/web/tags/list?n=${encodeURIComponent(n)}`);
        assertError(res, 400, 'UNSUPPORTED');
      }
    });
  });

  test('an unknown repository is 404 NAME_UNKNOWN; a known one without tags is an empty list', async () => {
    await withApp(async (c) => {
      assertError(await c.get('/v2/acme/never/tags/list'), 404, 'NAME_UNKNOWN');
      await c.pushBlob('acme/blobs-only', 'x');
      assert.deepEqual(json(await c.get('/v2/acme/blobs-only/tags/list')), { name: 'acme/blobs-only', tags: [] });
      const img = await c.pushImage('acme/web', 'gone');
      await c.delete(`/v2/acme/web/manifests/${img.digest}`);
      assert.deepEqual(json(await c.get('/v2/acme/web/tags/list')), { name: 'acme/web', tags: [] });
    });
  });

  test('tags of other repositories (even with a common prefix) are not listed', async () => {
    await withApp(async (c) => {
      await tagAll(c, 'acme/web', ['one']);
      await tagAll(c, 'acme/web2', ['two']);
      await tagAll(c, 'acme/web/sub', ['three']);
      assert.deepEqual((json(await c.get('/v2/acme/web/tags/list')) as { tags: string[] }).tags, ['one']);
    });
  });
});

describe('catalog', () => {
  test('lists repositories in lexical order with n/last and Link', async () => {
    await withApp(async (c) => {
      const names = ['zeta/app', 'acme/web', 'acme/charts/web', 'acme/api', 'beta/x', 'acme/web2'];
      for (const n of names) await c.pushBlob(n, `in ${n}`);
      const sorted = [...names].sort();
      const all = await c.get('/v2/_catalog');
      assert.equal(all.statusCode, 200);
      assert.deepEqual(json(all), { repositories: sorted });
      assert.equal(all.headers.link, undefined);

      const first = await c.get('/v2/_catalog?n=4');
      assert.equal(first.headers.link, `</v2/_catalog?n=4&last=${encodeURIComponent(sorted[3] ?? '')}>; rel="next"`);
      const pages = await followPages(c, '/v2/_catalog?n=4', 'repositories');
      assert.deepEqual(pages.map((p) => p.length), [4, 2]);
      assert.deepEqual(pages.flat(), sorted);
      assert.deepEqual((json(await c.get('/v2/_catalog?last=acme/web')) as { repositories: string[] }).repositories, ['acme/web2', 'beta/x', 'zeta/app']);
    });
  });

  test('an empty registry has an empty catalog; an invalid n is 400', async () => {
    await withApp(async (c) => {
      assert.deepEqual(json(await c.get('/v2/_catalog')), { repositories: [] });
      assertError(await c.get('/v2/_catalog?n=many'), 400, 'UNSUPPORTED');
    });
  });

  test('pages stay exact across the internal batch size', async () => {
    await withApp(async (c) => {
      const names: string[] = [];
      for (let i = 0; i < 1203; i++) names.push(`org${String(i).padStart(4, '0')}/app`);
      await c.wharf.metadata.transaction(async (m) => {
        for (const n of names) await ensurePackage(m, n as RepoName, n.split('/')[0] ?? n, 1);
      });
      const pages = await followPages(c, '/v2/_catalog?n=1000', 'repositories');
      assert.deepEqual(pages.map((p) => p.length), [1000, 203]);
      assert.deepEqual(pages.flat(), names);
      assert.equal((json(await c.get('/v2/_catalog')) as { repositories: string[] }).repositories.length, 1203);
      const small = await followPages(c, '/v2/_catalog?n=499', 'repositories');
      assert.deepEqual(small.flat(), names);
    });
  });
});
