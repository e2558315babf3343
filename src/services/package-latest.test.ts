import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { imageLatestTag } from './package-latest.ts';

const v = (digest: string, createdAt: number) => ({ digest, createdAt });

describe('imageLatestTag', () => {
  test('the latest tag wins when present', () => {
    assert.equal(imageLatestTag([{ name: '2.0.0', digest: 'b' }, { name: 'latest', digest: 'a' }], [v('a', 1), v('b', 2)]), 'latest');
  });
  test('else the highest stable semver tag, even when a pre-release was pushed after it', () => {
    const tags = [
      { name: '1.9.2', digest: 'a' },
      { name: '1.10.0', digest: 'b' },
      { name: '2.0.0-rc.1', digest: 'c' },
      { name: 'main', digest: 'd' },
    ];
    assert.equal(imageLatestTag(tags, [v('a', 1), v('b', 2), v('c', 3), v('d', 4)]), '1.10.0');
  });
  test('else a tag of the newest push', () => {
    assert.equal(imageLatestTag([{ name: 'old', digest: 'a' }, { name: '2.0.0-rc.1', digest: 'b' }], [v('a', 1), v('b', 2)]), '2.0.0-rc.1');
  });
  test('tags of versions not listed (trashed, index children) do not count', () => {
    assert.equal(imageLatestTag([{ name: 'latest', digest: 'x' }, { name: 'dev', digest: 'a' }], [v('a', 1)]), 'dev');
    assert.equal(imageLatestTag([], []), null);
  });
});
