import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ManifestRecord } from '../metadata/registry.ts';
import type { Digest } from '../oci/digest.ts';
import type { RepoName, Tag } from '../oci/name.ts';
import { ManifestTagCache } from './manifest-tag-cache.ts';

const repo = 'acme/app' as RepoName;
const tag = (s: string) => s as Tag;

function record(digest: string, bytes = 100): ManifestRecord {
  return {
    repo,
    digest: `sha256:${digest.padEnd(64, '0')}` as Digest,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    size: bytes,
    content: Buffer.alloc(bytes),
    artifactType: null,
    configMediaType: null,
    configDigest: null,
    subject: null,
    annotations: null,
    createdAt: 0,
  };
}

describe('ManifestTagCache', () => {
  test('a hit needs the very stamp it was stored under (version and creation time)', () => {
    const cache = new ManifestTagCache(1 << 20);
    const one = record('a');
    cache.set(repo, tag('latest'), { created: 1, version: 5 }, one);
    assert.equal(cache.get(repo, tag('latest'), { created: 1, version: 5 }), one);
    assert.equal(cache.get(repo, tag('other'), { created: 1, version: 5 }), undefined);
    assert.equal(cache.get('acme/app2' as RepoName, tag('latest'), { created: 1, version: 5 }), undefined);
    // A tag change anywhere in the repository bumps the version: the entry is dropped.
    assert.equal(cache.get(repo, tag('latest'), { created: 1, version: 6 }), undefined);
    assert.equal(cache.size, 0);
    // A repository deleted and created again under the same name starts at version 0 again.
    cache.set(repo, tag('latest'), { created: 1, version: 0 }, one);
    assert.equal(cache.get(repo, tag('latest'), { created: 2, version: 0 }), undefined);
  });

  test('holds at most its byte bound, least recently used out first; a large manifest is not kept', () => {
    const cache = new ManifestTagCache(1000);
    const stamp = { created: 1, version: 1 };
    for (const t of ['a', 'b', 'c']) cache.set(repo, tag(t), stamp, record(t, 60));
    assert.ok(cache.get(repo, tag('a'), stamp), 'a is used: b is now the least recent');
    for (let i = 0; i < 14; i++) cache.set(repo, tag(`x${i}`), stamp, record(`x${i}`, 60));
    assert.equal(cache.get(repo, tag('b'), stamp), undefined, 'b went first');
    assert.ok(cache.size <= 1000 / 60);
    cache.set(repo, tag('big'), stamp, record('big', 62)); // within 1000/16
    cache.set(repo, tag('huge'), stamp, record('huge', 100)); // over a sixteenth of the bound
    assert.ok(cache.get(repo, tag('big'), stamp));
    assert.equal(cache.get(repo, tag('huge'), stamp), undefined);
  });
});
