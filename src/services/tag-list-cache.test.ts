import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RepoName, Tag } from '../oci/name.ts';
import { TagListCache } from './tag-list-cache.ts';

const repo = (s: string) => s as RepoName;
const names = (n: number, prefix = 't') => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(5, '0')}` as Tag);

/** A loader that counts its calls, standing in for the database (tested in the metadata contract). */
function loader(list: Tag[]) {
  const calls = { n: 0 };
  return { calls, load: async () => (calls.n++, [...list]) };
}

describe('TagListCache', () => {
  test('serves the whole list and pages from one load while the stamp is unchanged', async () => {
    const cache = new TagListCache(1000);
    const all = names(10);
    const { calls, load } = loader(all);
    const stamp = { created: 1, version: 3 };
    assert.deepEqual(await cache.page(repo('a/b'), stamp, load, { n: 100, last: undefined }), { json: JSON.stringify(all), next: null });
    assert.deepEqual(await cache.page(repo('a/b'), stamp, load, { n: 4, last: undefined }), { json: JSON.stringify(all.slice(0, 4)), next: 't00003' });
    assert.deepEqual(await cache.page(repo('a/b'), stamp, load, { n: 4, last: 't00003' }), { json: JSON.stringify(all.slice(4, 8)), next: 't00007' });
    assert.deepEqual(await cache.page(repo('a/b'), stamp, load, { n: 4, last: 't00007' }), { json: JSON.stringify(all.slice(8)), next: null });
    assert.deepEqual(await cache.page(repo('a/b'), stamp, load, { n: 4, last: 't00004x' }), { json: JSON.stringify(all.slice(5, 9)), next: 't00008' }, '`last` need not exist');
    assert.deepEqual(await cache.page(repo('a/b'), stamp, load, { n: 4, last: 'zzz' }), { json: '[]', next: null });
    assert.deepEqual(await cache.page(repo('a/b'), stamp, load, { n: 4, last: '' }), { json: JSON.stringify(all.slice(0, 4)), next: 't00003' });
    assert.equal(calls.n, 1);
  });

  test('a new version or a re-created repository reloads', async () => {
    const cache = new TagListCache(1000);
    const first = loader(names(3));
    await cache.page(repo('a/b'), { created: 1, version: 1 }, first.load, { n: 10, last: undefined });
    const second = loader(names(2, 'u'));
    const page = await cache.page(repo('a/b'), { created: 1, version: 2 }, second.load, { n: 10, last: undefined });
    assert.deepEqual(JSON.parse(page.json), ['u00000', 'u00001']);
    const third = loader(names(1, 'w'));
    await cache.page(repo('a/b'), { created: 2, version: 2 }, third.load, { n: 10, last: undefined });
    assert.deepEqual([first.calls.n, second.calls.n, third.calls.n], [1, 1, 1]);
  });

  test('holds at most maxNames names, dropping the least recently used repository', async () => {
    const cache = new TagListCache(10);
    const stamp = { created: 1, version: 1 };
    const a = loader(names(4));
    const b = loader(names(4));
    const c = loader(names(4));
    await cache.page(repo('x/a'), stamp, a.load, { n: 10, last: undefined });
    await cache.page(repo('x/b'), stamp, b.load, { n: 10, last: undefined });
    await cache.page(repo('x/a'), stamp, a.load, { n: 10, last: undefined }); // a is now the most recent
    await cache.page(repo('x/c'), stamp, c.load, { n: 10, last: undefined }); // 12 > 10: b goes
    await cache.page(repo('x/a'), stamp, a.load, { n: 10, last: undefined });
    await cache.page(repo('x/c'), stamp, c.load, { n: 10, last: undefined });
    await cache.page(repo('x/b'), stamp, b.load, { n: 10, last: undefined });
    assert.deepEqual([a.calls.n, b.calls.n, c.calls.n], [1, 2, 1]);
    const huge = loader(names(11));
    const page = await cache.page(repo('x/huge'), stamp, huge.load, { n: 100, last: undefined });
    assert.equal((JSON.parse(page.json) as unknown[]).length, 11, 'a list over the bound is answered');
    await cache.page(repo('x/huge'), stamp, huge.load, { n: 100, last: undefined });
    assert.equal(huge.calls.n, 2, '... but not held');
  });
});
