/**
 * Policies (issue 13, docs/adr/0013-policies.md) through the real HTTP surfaces: immutable tags and
 * chart versions refused with DENIED and a message naming the tag and the rule on every path
 * (/v2 push and delete, the trash, the ChartMuseum upload), identical re-pushes accepted, package
 * settings over owner defaults over the site's; retention previewed (exactly what an apply removes,
 * and why) then applied through the trash, keeping index children and referrers of kept versions.
 * Runs on both profiles (test/scale/integration-profile).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { chartTgz } from '../helpers/charts.ts';
import {
  adminAuth,
  createUser,
  expect,
  json,
  OCI_INDEX,
  OCI_MANIFEST,
  packageUrl,
  pull,
  pushImage,
  pushIndex,
  pushReferrer,
  pushTestChart,
  type Res,
  startUiApp,
  type UiApp,
} from './ui-api-support.ts';

const DAY = 86_400_000;

function message(res: Res): string {
  return (JSON.parse(res.body) as { errors: { message: string }[] }).errors[0]?.message ?? '';
}

interface Report {
  kept: number;
  removed: number;
  packages: { package: string; source: string; versions: { digest: string; tags: string[]; action: 'keep' | 'remove'; reasons: string[]; manifests: string[]; trash: string | null }[] }[];
}

describe('policies', () => {
  let app: UiApp;
  let alice: { auth: string };
  let bob: { auth: string };

  before(async () => {
    // The scheduled retention job runs on demand only here: at its own time (the fake clock jumps
    // days) it would race this file's applies and restores (it re-trashed a restored version once).
    app = await startUiApp({}, { retention: { intervalSeconds: '0' } });
    alice = await createUser(app, 'alice');
    bob = await createUser(app, 'bob');
  });
  after(() => app.close());

  const putPolicy = (url: string, payload: unknown, auth = alice.auth) => app.req({ method: 'PUT', url, auth, payload: payload as Record<string, unknown> });
  const tags = async (repo: string): Promise<string[]> => json<{ tags: string[] }>(await app.req({ url: `/v2/${repo}/tags/list`, auth: alice.auth })).tags;
  const pushOver = (repo: string, tag: string, manifest: Buffer) => app.req({ method: 'PUT', url: `/v2/${repo}/manifests/${tag}`, auth: alice.auth, headers: { 'content-type': OCI_MANIFEST }, payload: manifest });

  test('owner tag rules: semver tags immutable, latest mutable; identical re-push succeeds; deletes refused', async () => {
    expect(
      await putPolicy('/api/v1/owners/alice/policy', {
        tagRules: [
          { pattern: '{latest,main}', immutable: false },
          { pattern: 'v[0-9]*.[0-9]*.[0-9]*', immutable: true },
        ],
      }),
      200,
      'owner policy',
    );
    const repo = 'alice/api';
    const v1 = await pushImage(app, alice.auth, repo, 'v1.0.0');
    // A CI retry: the very same manifest onto the same tag moves nothing.
    expect(await pushOver(repo, 'v1.0.0', v1.manifest), 201, 'identical re-push');
    const rebuilt = await pushImage(app, alice.auth, repo, 'scratch', { annotations: { rebuilt: 'yes' } });
    const res = await pushOver(repo, 'v1.0.0', rebuilt.manifest);
    expect(res, 403, 'move of an immutable tag', 'DENIED');
    assert.equal(message(res), `tag v1.0.0 of alice/api is immutable (owner tag rule 2 (pattern "v[0-9]*.[0-9]*.[0-9]*", immutable)): it points at ${v1.digest.slice(0, 19)}; push a new tag instead`);
    // The tag did not move.
    const head = await app.req({ method: 'HEAD', url: `/v2/${repo}/manifests/v1.0.0`, auth: alice.auth, headers: { accept: OCI_MANIFEST } });
    assert.equal(head.headers['docker-content-digest'], v1.digest);

    // Mutable tags move freely.
    expect(await pushOver(repo, 'latest', v1.manifest), 201, 'latest → v1');
    expect(await pushOver(repo, 'latest', rebuilt.manifest), 201, 'latest → rebuilt');
    // A tag no rule matches is mutable.
    expect(await pushOver(repo, 'scratch', v1.manifest), 201, 'unmatched tag moves');

    // Deleting the tag, the manifest by digest, or trashing the version: all would remove v1.0.0.
    const del = await app.req({ method: 'DELETE', url: `/v2/${repo}/manifests/v1.0.0`, auth: alice.auth });
    expect(del, 403, 'delete immutable tag', 'DENIED');
    assert.match(message(del), /^deleting this tag would remove tag v1\.0\.0 of alice\/api, which is immutable \(owner tag rule 2/);
    expect(await app.req({ method: 'DELETE', url: `/v2/${repo}/manifests/${v1.digest}`, auth: alice.auth }), 403, 'delete by digest', 'DENIED');
    const trash = await app.req({ method: 'DELETE', url: packageUrl(repo, `/versions/${v1.digest}`), auth: alice.auth });
    expect(trash, 403, 'trash', 'DENIED');
    assert.match(message(trash), /moving this version to the trash would remove tag v1\.0\.0/);
    // latest is mutable: deleting it is fine.
    expect(await app.req({ method: 'DELETE', url: `/v2/${repo}/manifests/latest`, auth: alice.auth }), 202, 'delete latest');

    // A package's own rules replace the owner's: an empty list makes every tag mutable there.
    const p = await putPolicy(packageUrl(repo, '/policy'), { tagRules: [] });
    expect(p, 200, 'package policy');
    assert.equal(json<{ effective: { tagRules: { source: string } } }>(p).effective.tagRules.source, 'package');
    expect(await pushOver(repo, 'v1.0.0', rebuilt.manifest), 201, 'moves once the package opts out');
  });

  test('invalid policies are refused with every problem named; non-admins cannot read or change them', async () => {
    const res = await putPolicy('/api/v1/owners/alice/policy', { tagRules: [{ pattern: 'v[0-9', immutable: true }], retention: {}, bogus: 1 });
    expect(res, 400, 'invalid', 'BAD_REQUEST');
    assert.match(message(res), /tagRules\.0\.pattern: invalid pattern "v\[0-9": unbalanced "\["/);
    assert.match(message(res), /retention: a retention policy needs at least one rule/);
    assert.match(message(res), /bogus/);
    expect(await putPolicy('/api/v1/owners/alice/policy', { tagRules: [] }, bob.auth), 403, 'bob on alice', 'DENIED');
    expect(await app.req({ url: packageUrl('alice/api', '/policy'), auth: bob.auth }), 404, 'bob reads a private package policy', 'NOT_FOUND');
  });

  test('chart versions are immutable by default on OCI pushes and the ChartMuseum API; a package setting opts out', async () => {
    const repo = 'alice/charts/web';
    const first = await pushTestChart(app, alice.auth, repo, { name: 'web', version: '1.0.0' });
    // helm push of other content under the same version.
    const res = await (async () => {
      try {
        await pushTestChart(app, alice.auth, repo, { name: 'web', version: '1.0.0', description: 'changed' });
        return null;
      } catch (err) {
        return err as Error;
      }
    })();
    assert.ok(res, 'the second push of 1.0.0 is refused');
    assert.match(res.message, /expected 201, got 403/);
    assert.match(res.message, new RegExp(`chart version 1\\.0\\.0 of alice/charts/web already exists \\(${first.slice(0, 19)}\\) and chart versions are immutable \\(site setting charts\\.allowOverwrite: false\\); push a new version`));

    // The ChartMuseum upload API: its own 409, naming the same rule.
    const up = await app.req({ method: 'POST', url: '/api/alice/charts', auth: alice.auth, headers: { 'content-type': 'application/gzip' }, payload: chartTgz({ name: 'web', version: '1.0.0', description: 'other' }) });
    assert.equal(up.statusCode, 409, up.body);
    assert.match(up.body, /web-1\.0\.0\.tgz already exists and chart versions are immutable \(site setting charts\.allowOverwrite: false\)/);

    // The package opts out: both paths replace the version.
    expect(await putPolicy(packageUrl(repo, '/policy'), { allowChartOverwrite: true }), 200, 'package allows overwrite');
    const replaced = await pushTestChart(app, alice.auth, repo, { name: 'web', version: '1.0.0', description: 'changed' });
    assert.notEqual(replaced, first);
    const up2 = await app.req({ method: 'POST', url: '/api/alice/charts', auth: alice.auth, headers: { 'content-type': 'application/gzip' }, payload: chartTgz({ name: 'web', version: '1.0.0', description: 'other' }) });
    assert.equal(up2.statusCode, 201, up2.body);

    // The owner says no, the package's own yes still wins; removing the package's lets the owner's apply.
    const current = json<{ settings: Record<string, unknown> }>(await app.req({ url: '/api/v1/owners/alice/policy', auth: alice.auth }));
    expect(await putPolicy('/api/v1/owners/alice/policy', { ...current.settings, allowChartOverwrite: false }), 200, 'owner forbids');
    expect(await putPolicy(packageUrl(repo, '/policy'), {}), 200, 'package setting removed');
    const third = await app.req({ method: 'POST', url: '/api/alice/charts', auth: alice.auth, headers: { 'content-type': 'application/gzip' }, payload: chartTgz({ name: 'web', version: '1.0.0', description: 'third' }) });
    assert.equal(third.statusCode, 409, third.body);
    assert.match(third.body, /owner setting allowChartOverwrite: false/);
  });

  test('policy changes are audited', async () => {
    const res = await app.req({ url: '/api/v1/audit?target=alice', auth: adminAuth() });
    expect(res, 200, 'audit');
    const actions = json<{ action: string; actor: string }[]>(res).map((e) => `${e.actor} ${e.action}`);
    assert.ok(actions.includes('alice owner.policy.update'), actions.join(', '));
  });

  test('retention "keep 3 most recent": the preview lists exactly what the apply moves to the trash; children and signatures stay with kept versions', async () => {
    const repo = 'alice/ci';
    const pushed: { tag: string; digest: string }[] = [];
    // 10 versions, oldest first: an old multi-arch index with a signature (removed with its
    // children and signature), 7 plain images, and the newest: a multi-arch index signed twice.
    app.clock.advance(DAY);
    const oldIndex = await pushIndex(app, alice.auth, repo, 'sha-00');
    const oldSig = await pushReferrer(app, alice.auth, repo, { repo, digest: oldIndex.digest, configDigest: '', size: 0, manifest: Buffer.from('') }, 'application/vnd.dev.cosign.signature', 'old-sig');
    pushed.push({ tag: 'sha-00', digest: oldIndex.digest });
    for (let i = 1; i <= 8; i++) {
      app.clock.advance(60_000);
      pushed.push({ tag: `sha-0${i}`, digest: (await pushImage(app, alice.auth, repo, `sha-0${i}`)).digest });
    }
    app.clock.advance(60_000);
    const newIndex = await pushIndex(app, alice.auth, repo, 'sha-09');
    pushed.push({ tag: 'sha-09', digest: newIndex.digest });
    const indexStub = { repo, digest: newIndex.digest, configDigest: '', size: 0, manifest: Buffer.from('') };
    const sig = await pushReferrer(app, alice.auth, repo, indexStub, 'application/vnd.dev.cosign.signature', 'sig');
    const sbom = await pushReferrer(app, alice.auth, repo, newIndex.children[0] as never, 'application/spdx+json', 'sbom');
    assert.equal((await tags(repo)).length, 10);

    const rules = { keepMostRecent: 3 };
    // Previewed before the rule is saved.
    const pv = await app.req({ method: 'POST', url: packageUrl(repo, '/retention/preview'), auth: alice.auth, payload: { rules } });
    expect(pv, 200, 'preview');
    const preview = json<Report>(pv);
    assert.equal(preview.removed, 7);
    assert.equal(preview.kept, 3);
    const pkg = preview.packages[0];
    assert.ok(pkg);
    assert.equal(pkg.source, 'preview');
    const removedTags = pkg.versions.filter((v) => v.action === 'remove').flatMap((v) => v.tags).sort();
    assert.deepEqual(removedTags, ['sha-00', 'sha-01', 'sha-02', 'sha-03', 'sha-04', 'sha-05', 'sha-06']);
    const oldV = pkg.versions.find((v) => v.digest === oldIndex.digest);
    assert.deepEqual(oldV?.reasons, ['not among the 3 most recently pushed tagged versions (keepMostRecent: 3, #10)']);
    // The old index goes with its two platform manifests and its signature.
    assert.deepEqual(new Set(oldV?.manifests), new Set([oldIndex.digest, ...oldIndex.children.map((c) => c.digest), oldSig]));
    assert.deepEqual(pkg.versions.find((v) => v.digest === newIndex.digest)?.reasons, ['among the 3 most recently pushed tagged versions (keepMostRecent: 3, #1)']);
    // Nothing changed: a preview is rolled back.
    assert.equal((await tags(repo)).length, 10);
    const trashBefore = json<unknown[]>(await app.req({ url: '/api/v1/owners/alice/trash', auth: alice.auth })).length;

    // Saved, then applied on demand.
    expect(await putPolicy(packageUrl(repo, '/policy'), { retention: rules }), 200, 'save retention');
    const ap = await app.req({ method: 'POST', url: packageUrl(repo, '/retention/apply'), auth: alice.auth });
    expect(ap, 200, 'apply');
    const applied = json<Report>(ap);
    assert.equal(applied.removed, 7);
    const appliedPkg = applied.packages[0];
    assert.ok(appliedPkg);
    // Exactly what the preview listed.
    assert.deepEqual(
      appliedPkg.versions.map((v) => [v.digest, v.action, new Set(v.manifests)]),
      pkg.versions.map((v) => [v.digest, v.action, new Set(v.manifests)]),
    );
    assert.deepEqual((await tags(repo)).sort(), ['sha-07', 'sha-08', 'sha-09']);
    // The kept index pulls whole: children, signature, SBOM of a child.
    for (const d of [newIndex.digest, ...newIndex.children.map((c) => c.digest), sig, sbom]) await pull(app, alice.auth, repo, d);
    const referrers = json<{ manifests: { digest: string }[] }>(await app.req({ url: `/v2/${repo}/referrers/${newIndex.digest}`, auth: alice.auth, headers: { accept: OCI_INDEX } }));
    assert.deepEqual(referrers.manifests.map((m) => m.digest), [sig]);
    // The removed ones are in the trash, restorable, one entry each.
    const trash = json<{ id: string; digest: string; manifests: number }[]>(await app.req({ url: '/api/v1/owners/alice/trash', auth: alice.auth }));
    assert.equal(trash.length - trashBefore, 7);
    assert.equal(trash.find((e) => e.digest === oldIndex.digest)?.manifests, 4);
    const notFound = await app.req({ url: `/v2/${repo}/manifests/${oldIndex.children[0]?.digest}`, auth: alice.auth, headers: { accept: OCI_MANIFEST } });
    expect(notFound, 404, 'a child of a removed index is gone with it', 'MANIFEST_UNKNOWN');
    const entry = trash.find((e) => e.digest === pushed[3]?.digest);
    assert.ok(entry);
    expect(await app.req({ method: 'POST', url: `/api/v1/trash/${entry.id}/restore`, auth: alice.auth }), 200, 'restore');
    assert.ok((await tags(repo)).includes('sha-03'));

    // Audited: each move names retention and its rule.
    const audit = json<{ action: string; detail: { reason?: string; because?: string[] } | null }[]>(await app.req({ url: '/api/v1/audit?target=alice/ci', auth: adminAuth() }));
    const moves = audit.filter((e) => e.action === 'package.version.trash' && e.detail?.reason === 'retention');
    assert.equal(moves.length, 7);
    assert.match(moves[0]?.detail?.because?.[0] ?? '', /keepMostRecent: 3/);
    assert.ok(audit.some((e) => e.action === 'retention.apply'));
  });

  test('retention: keepTags, keepPulledWithinDays, untagged removal, immutable tags always kept; owner default and the scheduled job', async () => {
    const repo = 'alice/svc';
    app.clock.advance(DAY);
    const rel = await pushImage(app, alice.auth, repo, 'v2.0.0');
    app.clock.advance(60_000);
    const pulled = await pushImage(app, alice.auth, repo, 'sha-a');
    app.clock.advance(60_000);
    const stale = await pushImage(app, alice.auth, repo, 'sha-b');
    app.clock.advance(60_000);
    const untaggedOld = await pushImage(app, alice.auth, repo, 'tmp-1');
    expect(await app.req({ method: 'DELETE', url: `/v2/${repo}/manifests/tmp-1`, auth: alice.auth }), 202, 'untag');
    app.clock.advance(10 * DAY);
    const untaggedNew = await pushImage(app, alice.auth, repo, 'tmp-2');
    expect(await app.req({ method: 'DELETE', url: `/v2/${repo}/manifests/tmp-2`, auth: alice.auth }), 202, 'untag');
    app.clock.advance(60_000);
    const newest = await pushImage(app, alice.auth, repo, 'sha-c');
    await pull(app, alice.auth, repo, 'sha-a');

    // As the owner's default (alice's owner policy keeps its tag rules: v2.0.0 is immutable).
    const rules = { keepMostRecent: 1, keepPulledWithinDays: 7, keepTags: ['release-*'], removeUntaggedOlderThanDays: 7 };
    const pv = await app.req({ method: 'POST', url: '/api/v1/owners/alice/retention/preview', auth: alice.auth, payload: { rules } });
    expect(pv, 200, 'owner preview');
    const svc = json<Report>(pv).packages.find((p) => p.package === repo);
    assert.ok(svc);
    const by = (d: string) => svc.versions.find((v) => v.digest === d);
    assert.equal(by(newest.digest)?.action, 'keep');
    assert.equal(by(rel.digest)?.action, 'keep');
    assert.match(by(rel.digest)?.reasons.join('; ') ?? '', /tag v2\.0\.0 is immutable \(owner tag rule 2/);
    assert.equal(by(pulled.digest)?.action, 'keep', JSON.stringify(by(pulled.digest)));
    assert.match(by(pulled.digest)?.reasons[0] ?? '', /pulled within 7 days/);
    assert.equal(by(stale.digest)?.action, 'remove');
    assert.deepEqual(by(stale.digest)?.reasons, [
      'not among the 1 most recently pushed tagged version (keepMostRecent: 1, #2)',
      'not pulled within 7 days (keepPulledWithinDays: 7)',
      'no tag matches keepTags "release-*"',
    ]);
    assert.equal(by(untaggedOld.digest)?.action, 'remove');
    assert.deepEqual(by(untaggedOld.digest)?.reasons, ['untagged and pushed more than 7 days ago (removeUntaggedOlderThanDays: 7)']);
    assert.equal(by(untaggedNew.digest)?.action, 'keep');
    // alice/ci has its own rule (keep 3): the owner-level preview leaves it to its own.
    assert.equal(json<Report>(pv).packages.find((p) => p.package === 'alice/ci')?.source, 'package');

    // Saved as the owner's default; the scheduled job (run on demand here) applies it.
    const current = json<{ settings: Record<string, unknown> }>(await app.req({ url: '/api/v1/owners/alice/policy', auth: alice.auth }));
    expect(await putPolicy('/api/v1/owners/alice/policy', { ...current.settings, retention: rules }), 200, 'owner retention');
    expect(await app.req({ method: 'POST', url: '/api/v1/admin/retention/run', auth: alice.auth }), 403, 'site admins only', 'DENIED');
    const run = await app.req({ method: 'POST', url: '/api/v1/admin/retention/run', auth: adminAuth() });
    expect(run, 200, 'run');
    assert.equal(json<{ status: string }>(run).status, 'succeeded');
    assert.deepEqual((await tags(repo)).sort(), ['sha-a', 'sha-c', 'v2.0.0']);
    const gone = await app.req({ url: `/v2/${repo}/manifests/${untaggedOld.digest}`, auth: alice.auth, headers: { accept: OCI_MANIFEST } });
    expect(gone, 404, 'old untagged removed', 'MANIFEST_UNKNOWN');
    await pull(app, alice.auth, repo, untaggedNew.digest);
  });

  test('a package admin of someone else may not preview; unknown packages are 404', async () => {
    expect(await app.req({ method: 'POST', url: packageUrl('alice/ci', '/retention/preview'), auth: bob.auth, payload: {} }), 404, 'bob', 'NOT_FOUND');
    expect(await app.req({ method: 'POST', url: '/api/v1/owners/alice/retention/apply', auth: bob.auth }), 403, 'bob on owner', 'DENIED');
    const bad = await app.req({ method: 'POST', url: packageUrl('alice/ci', '/retention/preview'), auth: alice.auth, payload: { rules: { keepMostRecent: 0 } } });
    expect(bad, 400, 'bad rules', 'BAD_REQUEST');
  });
});
