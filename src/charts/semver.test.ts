import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compareSemver, formatCore, indexOrderKey, isPrerelease, parseSemver, type SemVer, sortKey, tagToVersion, versionToTag } from './semver.ts';

function v(s: string): SemVer {
  const parsed = parseSemver(s);
  assert.ok(parsed, `${s} should parse`);
  return parsed;
}

/** SemVer 2.0 §11 precedence, written straight from the spec as an independent oracle. */
function reference(a: SemVer, b: SemVer): number {
  for (const k of ['major', 'minor', 'patch'] as const) {
    const d = BigInt(a[k]) - BigInt(b[k]);
    if (d !== 0n) return d < 0n ? -1 : 1;
  }
  if (a.prerelease.length === 0 || b.prerelease.length === 0) {
    return a.prerelease.length === b.prerelease.length ? 0 : a.prerelease.length === 0 ? 1 : -1;
  }
  for (let i = 0; i < Math.max(a.prerelease.length, b.prerelease.length); i++) {
    const x = a.prerelease[i];
    const y = b.prerelease[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const xn = /^[0-9]+$/.test(x);
    const yn = /^[0-9]+$/.test(y);
    if (xn && yn) {
      const d = BigInt(x) - BigInt(y);
      if (d !== 0n) return d < 0n ? -1 : 1;
    } else if (xn !== yn) {
      return xn ? -1 : 1;
    } else if (x !== y) {
      return x < y ? -1 : 1;
    }
  }
  return 0;
}

describe('semver parsing', () => {
  test('accepts SemVer 2.0 and Helm leniencies', () => {
    assert.deepEqual(
      { ...v('1.2.3-rc.1+build.5') },
      { raw: '1.2.3-rc.1+build.5', major: '1', minor: '2', patch: '3', prerelease: ['rc', '1'], build: ['build', '5'] },
    );
    assert.equal(formatCore(v('v1.2')), '1.2.0');
    assert.equal(formatCore(v('1')), '1.0.0');
    assert.equal(formatCore(v('01.002.3')), '1.2.3');
    assert.equal(isPrerelease(v('1.0.0-0')), true);
    assert.equal(isPrerelease(v('1.0.0+exp.sha.5114f85')), false);
  });

  test('rejects what Helm rejects', () => {
    for (const bad of ['', 'x', '1.2.3.4', '1.0.0-', '1.0.0+', '1.0.0-01', '1.0.0-a..b', '1.0.0 ', ' 1.0.0', '1.0.0-ä', 'V1.0.0', '1.-1.0', `1.0.0-${'a'.repeat(300)}`]) {
      assert.equal(parseSemver(bad), null, JSON.stringify(bad));
    }
  });
});

describe('semver ordering', () => {
  test('follows the precedence examples of the SemVer spec', () => {
    const ordered = ['1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0', '1.9.0', '1.10.0', '1.11.0', '2.0.0', '10.0.0', '100.0.0-0'];
    for (let i = 0; i + 1 < ordered.length; i++) {
      const a = v(ordered[i] ?? '');
      const b = v(ordered[i + 1] ?? '');
      assert.ok(compareSemver(a, b) < 0, `${a.raw} < ${b.raw}`);
      assert.ok(sortKey(a) < sortKey(b), `sort key ${a.raw} < ${b.raw}`);
    }
    const shuffled = [...ordered].reverse().map(v);
    assert.deepEqual(shuffled.sort(compareSemver).map((x) => x.raw), ordered);
  });

  test('build metadata does not change precedence but keeps the order total and stable', () => {
    const a = v('1.0.0+build.1');
    const b = v('1.0.0+build.2');
    assert.equal(reference(a, b), 0);
    assert.notEqual(sortKey(a), sortKey(b));
    assert.ok(sortKey(v('1.0.0-rc.1+zzz')) < sortKey(v('1.0.0+aaa')));
    assert.equal(compareSemver(v('1.0.0'), v('1.0.0')), 0);
  });

  test('sort keys are lowercase hex, safe for a database text column in any collation', () => {
    assert.match(sortKey(v('1.0.0-Alpha.Z+B')), /^[0-9a-f]+$/);
  });

  test('agrees with the spec oracle on random versions', () => {
    let seed = 42;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const ids = ['alpha', 'beta', 'rc', 'a', 'b1', '0', '1', '2', '10', '11', 'x-y', 'Z'];
    const make = () => {
      const core = `${rnd(3)}.${rnd(12)}.${rnd(12)}`;
      const pre = rnd(2) ? '' : `-${Array.from({ length: 1 + rnd(3) }, () => ids[rnd(ids.length)]).join('.')}`;
      return v(core + pre);
    };
    for (let i = 0; i < 3000; i++) {
      const a = make();
      const b = make();
      const want = Math.sign(reference(a, b));
      const got = Math.sign(compareSemver(a, b));
      if (want !== 0) assert.equal(got, want, `${a.raw} vs ${b.raw}`);
      else assert.equal(a.raw === b.raw ? 0 : Math.abs(got), a.raw === b.raw ? 0 : 1, `${a.raw} vs ${b.raw}`);
    }
  });
});

describe('Helm tags', () => {
  test("'+' becomes '_' in tags and back", () => {
    assert.equal(versionToTag('1.0.0+build.1'), '1.0.0_build.1');
    assert.equal(tagToVersion('1.0.0_build.1'), '1.0.0+build.1');
    assert.equal(versionToTag('1.0.0-rc.1'), '1.0.0-rc.1');
  });
});

describe('index order keys', () => {
  test('text order is: name, then version highest first, then newest push first', () => {
    const rows = [
      { name: 'b', version: '1.0.0', createdAt: 5, repo: 'o/b', digest: 'sha256:1' },
      { name: 'a', version: '1.0.0', createdAt: 1, repo: 'o/a', digest: 'sha256:2' },
      { name: 'a', version: '1.0.0', createdAt: 9, repo: 'o/x/a', digest: 'sha256:3' },
      { name: 'a', version: '1.10.0', createdAt: 2, repo: 'o/a', digest: 'sha256:4' },
      { name: 'a', version: '1.10.0-rc.1', createdAt: 2, repo: 'o/a', digest: 'sha256:5' },
      { name: 'a', version: '1.9.0', createdAt: 2, repo: 'o/a', digest: 'sha256:6' },
      { name: 'a-b', version: '0.1.0', createdAt: 2, repo: 'o/a-b', digest: 'sha256:7' },
      { name: 'ab', version: '0.1.0', createdAt: 2, repo: 'o/ab', digest: 'sha256:8' },
    ];
    const key = (r: (typeof rows)[number]) => indexOrderKey({ ...r, sortKey: sortKey(v(r.version)) });
    for (const r of rows) assert.match(key(r), /^[0-9a-fz]+$/);
    const sorted = [...rows].sort((x, y) => (key(x) < key(y) ? -1 : 1)).map((r) => `${r.name}@${r.version}#${r.createdAt}`);
    assert.deepEqual(sorted, ['a@1.10.0#2', 'a@1.10.0-rc.1#2', 'a@1.9.0#2', 'a@1.0.0#9', 'a@1.0.0#1', 'a-b@0.1.0#2', 'ab@0.1.0#2', 'b@1.0.0#5']);
  });

  test('versions of one chart come highest first for random versions, including prefixes', () => {
    const versions = ['1.0.0', '1.0.0-1', '1.0.0-1.2', '1.0.0-a', '1.0.0-a.b', '1.0.0-ab', '2.0.0', '10.0.0', '1.0.1', '0.0.1-0', '1.0.0+b', '1.0.0-a+b'];
    const key = (ver: string) => indexOrderKey({ name: 'x', sortKey: sortKey(v(ver)), createdAt: 1, repo: 'o/x', digest: 'd' });
    const byKey = [...versions].sort((a, b) => (key(a) < key(b) ? -1 : 1));
    const bySemver = [...versions].sort((a, b) => compareSemver(v(b), v(a)));
    assert.deepEqual(byKey, bySemver);
  });
});
