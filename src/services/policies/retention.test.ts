import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { PackageContents } from '../../metadata/policies.ts';
import type { Digest } from '../../oci/digest.ts';
import type { Tag } from '../../oci/name.ts';
import { compileGlob, globProblem } from './glob.ts';
import { immutableBy, resolvePolicy, retentionSchema } from './model.ts';
import { DAY_MS, evaluateRetention, versionsOf } from './retention.ts';

const d = (n: string) => `sha256:${n.padEnd(64, '0')}` as Digest;
const NOW = Date.UTC(2030, 5, 1);

function contents(spec: { manifests: [string, number, string?][]; listings?: [string, string][]; tags?: [string, string, number?][] }): PackageContents {
  return {
    manifests: spec.manifests.map(([n, at, subject]) => ({ digest: d(n), createdAt: at, subject: subject ? d(subject) : null, mediaType: 'x', configMediaType: null, artifactType: null })),
    listings: (spec.listings ?? []).map(([i, c]) => ({ index: d(i), child: d(c) })),
    tags: (spec.tags ?? []).map(([name, n, at]) => ({ name: name as Tag, digest: d(n), updatedAt: at ?? 0 })),
  };
}

describe('tag globs', () => {
  test('match the whole tag: *, ?, classes, alternatives', () => {
    const semver = compileGlob('[0-9]*.[0-9]*.[0-9]*');
    assert.ok(semver('1.2.3'));
    assert.ok(semver('10.0.0-rc.1'));
    assert.ok(!semver('v1.2.3'));
    assert.ok(!semver('latest'));
    const alt = compileGlob('{latest,main}');
    assert.ok(alt('latest') && alt('main') && !alt('mainline'));
    assert.ok(compileGlob('sha-???')('sha-abc'));
    assert.ok(!compileGlob('sha-???')('sha-abcd'));
    assert.ok(compileGlob('[!0-9]*')('v1'));
    assert.ok(!compileGlob('[!0-9]*')('1v'));
  });

  test('a pathological pattern stays fast (no backtracking blow-up)', () => {
    const p = compileGlob('*a*a*a*a*a*a*a*a*a*b');
    const t0 = performance.now();
    assert.ok(!p('a'.repeat(128)));
    assert.ok(performance.now() - t0 < 100);
  });

  test('malformed patterns are named', () => {
    assert.equal(globProblem('v[0-9'), 'unbalanced "["');
    assert.equal(globProblem('{a,b'), 'unbalanced "{"');
    assert.equal(globProblem('{a,{b}}'), 'nested "{" is not supported');
    assert.equal(globProblem('ok-*'), null);
  });
});

describe('policy resolution', () => {
  test('package over owner over site, section by section', () => {
    const owner = { tagRules: [{ pattern: 'v*', immutable: true }], allowChartOverwrite: true, retention: { keepMostRecent: 5 } };
    const p = resolvePolicy({ allowChartOverwrite: false }, owner, { tagRules: [], retention: null });
    assert.deepEqual(p.tagRules, { rules: [], source: 'package' });
    assert.deepEqual(p.chartOverwrite, { allowed: true, source: 'owner' });
    assert.deepEqual(p.retention, { rules: null, source: 'package' });
    const site = resolvePolicy({ allowChartOverwrite: false }, null, null);
    assert.deepEqual(site.chartOverwrite, { allowed: false, source: 'site' });
    assert.equal(immutableBy('v1', resolvePolicy({ allowChartOverwrite: false }, owner, null)), 'owner tag rule 1 (pattern "v*", immutable)');
  });

  test('first matching tag rule wins', () => {
    const p = resolvePolicy({ allowChartOverwrite: false }, { tagRules: [{ pattern: 'v1.*', immutable: false }, { pattern: 'v*', immutable: true }] }, null);
    assert.equal(immutableBy('v1.0', p), null);
    assert.match(immutableBy('v2.0', p) ?? '', /rule 2/);
  });

  test('a retention policy needs a rule', () => {
    assert.equal(retentionSchema.safeParse({}).success, false);
    assert.equal(retentionSchema.safeParse({ keepMostRecent: 3 }).success, true);
  });
});

describe('retention evaluator', () => {
  test('versions: index children and referrers of live manifests are not versions of their own', () => {
    const c = contents({
      manifests: [
        ['idx', 10],
        ['amd', 9],
        ['arm', 9],
        ['sig', 11, 'idx'],
        ['sbom', 11, 'amd'],
        ['orphan', 5, 'gone'],
        ['img', 8],
      ],
      listings: [
        ['idx', 'amd'],
        ['idx', 'arm'],
      ],
      tags: [
        ['1.0', 'idx', 12],
        ['0.9', 'img'],
      ],
    });
    const v = versionsOf(c, new Map());
    assert.deepEqual(v.map((x) => x.digest), [d('idx'), d('img'), d('orphan')]);
    assert.equal(v[0]?.pushedAt, 12, 'a tag push counts as a push');
    assert.deepEqual(v[2]?.tags, []);
  });

  test('keep N most recent ranks tagged versions only; the rest is removed naming the rule', () => {
    const c = contents({
      manifests: [
        ['a', 1],
        ['b', 2],
        ['c', 3],
        ['u', 4],
      ],
      tags: [
        ['a', 'a'],
        ['b', 'b'],
        ['c', 'c'],
      ],
    });
    const out = evaluateRetention(versionsOf(c, new Map()), { keepMostRecent: 2 }, { now: NOW, immutable: () => null });
    assert.deepEqual(
      out.map((x) => [x.tags.join(), x.action]),
      [
        ['', 'keep'],
        ['c', 'keep'],
        ['b', 'keep'],
        ['a', 'remove'],
      ],
    );
    assert.deepEqual(out[3]?.reasons, ['not among the 2 most recently pushed tagged versions (keepMostRecent: 2, #3)']);
    assert.deepEqual(out[0]?.reasons, ['untagged, and no removeUntaggedOlderThanDays rule']);
  });

  test('keep-rules combine: any one keeps; immutable tags always kept; pulls keep untagged versions too', () => {
    const c = contents({
      manifests: [
        ['rel', NOW - 50 * DAY_MS],
        ['old', NOW - 40 * DAY_MS],
        ['pulled', NOW - 30 * DAY_MS],
        ['frozen', NOW - 20 * DAY_MS],
        ['new', NOW - DAY_MS],
        ['untagged-old', NOW - 9 * DAY_MS],
        ['untagged-pulled', NOW - 9 * DAY_MS],
        ['untagged-new', NOW - 2 * DAY_MS],
      ],
      tags: [
        ['release-1', 'rel'],
        ['sha-1', 'old'],
        ['sha-2', 'pulled'],
        ['v1.0.0', 'frozen'],
        ['sha-3', 'new'],
      ],
    });
    const today = Math.floor(NOW / DAY_MS);
    const pulls = new Map([
      [d('pulled'), today - 3],
      [d('untagged-pulled'), today - 1],
    ]);
    const out = evaluateRetention(versionsOf(c, pulls), { keepMostRecent: 1, keepPulledWithinDays: 7, keepTags: ['release-*'], removeUntaggedOlderThanDays: 7 }, {
      now: NOW,
      immutable: (t) => (t.startsWith('v') ? 'owner tag rule 1 (pattern "v*", immutable)' : null),
    });
    const by = new Map(out.map((x) => [x.digest, x]));
    assert.equal(by.get(d('new'))?.action, 'keep');
    assert.match(by.get(d('rel'))?.reasons[0] ?? '', /tag release-1 matches keepTags pattern "release-\*"/);
    assert.match(by.get(d('pulled'))?.reasons[0] ?? '', /pulled within 7 days/);
    assert.deepEqual(by.get(d('frozen'))?.reasons, ['tag v1.0.0 is immutable (owner tag rule 1 (pattern "v*", immutable))']);
    assert.equal(by.get(d('old'))?.action, 'remove');
    assert.equal(by.get(d('untagged-old'))?.action, 'remove');
    assert.equal(by.get(d('untagged-pulled'))?.action, 'keep');
    assert.equal(by.get(d('untagged-new'))?.action, 'keep');
    assert.equal(out.filter((x) => x.action === 'remove').length, 2);
  });

  test('only an untagged rule: tagged versions are never judged', () => {
    const c = contents({ manifests: [['a', 0], ['u', 0]], tags: [['a', 'a']] });
    const out = evaluateRetention(versionsOf(c, new Map()), { removeUntaggedOlderThanDays: 0 }, { now: NOW, immutable: () => null });
    assert.deepEqual(out.map((x) => [x.digest, x.action]).sort(), [[d('a'), 'keep'], [d('u'), 'remove']].sort());
  });
});
