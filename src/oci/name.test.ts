import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RegistryError } from '../errors.ts';
import { isRepoName, MAX_NAME_LENGTH, ownerOf, parseReference, parseRepoName, parseTag, referenceString } from './name.ts';

function throwsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => err instanceof RegistryError && err.code === code);
}

describe('repository names', () => {
  test('accepts the spec grammar: lowercase components joined by separators and slashes', () => {
    for (const ok of ['a', 'acme/web', 'acme/charts/web', 'a0/b1', 'my-app', 'my--app', 'my_app', 'my__app', 'my.app', 'a.b-c_d__e', '0', 'a/b/c/d/e/f']) {
      assert.equal(parseRepoName(ok), ok, ok);
      assert.equal(isRepoName(ok), true, ok);
    }
  });

  test('rejects bad names with NAME_INVALID', () => {
    for (const bad of ['', 'A', 'Acme/web', 'acme/Web', 'a//b', '/a', 'a/', '-a', 'a-', '.a', 'a.', '_a', 'a_', 'a___b', 'a..b', 'a._b', 'a-.b', 'a b', 'a:b', 'a@b', 'ä', 'a/../b', '..', 'a\nb']) {
      throwsCode(() => parseRepoName(bad), 'NAME_INVALID');
      assert.equal(isRepoName(bad), false, JSON.stringify(bad));
    }
  });

  test('limits names to 255 characters', () => {
    assert.equal(MAX_NAME_LENGTH, 255);
    const seg = 'a'.repeat(50);
    const at255 = [seg, seg, seg, seg, seg].join('/').slice(0, 255); // 5×50 + 4 slashes = 254, sliced stays 254
    const exactly255 = `${at255}b`;
    assert.equal(exactly255.length, 255);
    assert.equal(parseRepoName(exactly255), exactly255);
    throwsCode(() => parseRepoName(`${exactly255}c`), 'NAME_INVALID');
    throwsCode(() => parseRepoName('a'.repeat(10_000)), 'NAME_INVALID');
  });

  test('long pathological names are rejected quickly (no catastrophic backtracking)', () => {
    const started = performance.now();
    for (let i = 0; i < 100; i++) isRepoName(`${'a-'.repeat(120)}!`);
    assert.ok(performance.now() - started < 500);
  });

  test('the owner is the first path segment', () => {
    assert.equal(ownerOf(parseRepoName('acme/charts/web')), 'acme');
    assert.equal(ownerOf(parseRepoName('solo')), 'solo');
  });
});

describe('tags', () => {
  test('accepts up to 128 characters of [A-Za-z0-9_.-], not starting with . or -', () => {
    for (const ok of ['latest', 'v1.0.0', '1.0.0_build.1', 'UPPER', '_x', 'a-b', 'a'.repeat(128)]) {
      assert.equal(parseTag(ok), ok);
    }
  });

  test('rejects bad tags with TAG_INVALID', () => {
    for (const bad of ['', '.a', '-a', 'a+b', 'a/b', 'a:b', 'a b', 'a'.repeat(129), 'é']) {
      throwsCode(() => parseTag(bad), 'TAG_INVALID');
    }
  });
});

describe('references', () => {
  const digest = `sha256:${'a'.repeat(64)}`;

  test('a reference with a colon is a digest, otherwise a tag', () => {
    assert.deepEqual(parseReference('latest'), { kind: 'tag', tag: 'latest' });
    assert.deepEqual(parseReference(digest), { kind: 'digest', digest });
    assert.equal(referenceString(parseReference(digest)), digest);
    assert.equal(referenceString(parseReference('1.0')), '1.0');
  });

  test('a malformed digest is DIGEST_INVALID and a malformed tag TAG_INVALID', () => {
    throwsCode(() => parseReference('sha256:nothex'), 'DIGEST_INVALID');
    throwsCode(() => parseReference('a:b'), 'DIGEST_INVALID');
    throwsCode(() => parseReference(`sha256:${'A'.repeat(64)}`), 'DIGEST_INVALID');
    throwsCode(() => parseReference('bad tag'), 'TAG_INVALID');
    throwsCode(() => parseReference(''), 'TAG_INVALID');
  });
});
