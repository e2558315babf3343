/**
 * The one contract every metadata dialect must pass (SQLite, PostgreSQL): every method of the
 * registry stores in src/metadata/registry.ts, through the `Metadata` bundle, on a migrated,
 * empty database. A dialect proves itself by calling `metadataContract(name, factory)` from its
 * own test file; the factory returns a fresh database per call and a cleanup.
 *
 * Orders are compared with byte-wise expectations computed here (Buffer.compare), never with
 * what one dialect happens to return, so SQLite and PostgreSQL must agree with each other.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { ManifestRecord } from '../../src/metadata/registry.ts';
import type { Metadata } from '../../src/metadata/metadata.ts';
import { UniqueViolation } from '../../src/metadata/constraints.ts';
import { type Digest, digestOf } from '../../src/oci/digest.ts';
import { parseRepoName, parseTag, type RepoName, type Tag } from '../../src/oci/name.ts';
import { ensurePackage } from '../helpers/packages.ts';

export interface MetadataHandle {
  metadata: Metadata;
  cleanup: () => Promise<void>;
}

export type MetadataFactory = () => Promise<MetadataHandle>;

const repo = (s: string): RepoName => parseRepoName(s);
const tag = (s: string): Tag => parseTag(s);
const dg = (s: string): Digest => digestOf(Buffer.from(s));
const byteOrder = (xs: readonly string[]): string[] => [...xs].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
/** Whether `r` is a live (not trashed) repository, as the catalog lists it. */
const listed = async (m: Metadata, r: RepoName): Promise<boolean> => (await m.packages.names({ limit: 1000 })).includes(r);

/** Every byte value, a NUL in the middle, and high bytes: manifests are stored byte-exact. */
function awkwardBytes(n = 4096): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + 7) & 0xff;
  return b;
}

function manifest(r: RepoName, content: Buffer, over: Partial<ManifestRecord> = {}): ManifestRecord {
  return {
    repo: r,
    digest: digestOf(content),
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    size: content.length,
    content,
    artifactType: null,
    configMediaType: 'application/vnd.oci.image.config.v1+json',
    configDigest: dg('config'),
    subject: null,
    annotations: null,
    createdAt: 1_700_000_000_000,
    ...over,
  };
}

export function metadataContract(name: string, factory: MetadataFactory): void {
  describe(`metadata contract: ${name}`, () => {
    const handles: MetadataHandle[] = [];
    async function fresh(): Promise<Metadata> {
      const h = await factory();
      handles.push(h);
      return h.metadata;
    }
    after(async () => {
      for (const h of handles) await h.cleanup();
    });

    test('migrations are recorded: a second run applies nothing', async () => {
      const m = await fresh();
      assert.deepEqual(await m.migrate(), []);
      await m.ping();
    });

    describe('packages', () => {
      test('create makes the row once; later creates change nothing', async () => {
        const m = await fresh();
        assert.deepEqual(await m.packages.names({ limit: 10 }), []);
        await ensurePackage(m, repo('acme/web'), 'acme', 1000);
        await ensurePackage(m, repo('acme/web'), 'acme', 2000);
        assert.deepEqual(await m.packages.names({ limit: 10 }), ['acme/web']);
      });

      test('list is byte-ordered and paginates after `last`', async () => {
        const m = await fresh();
        const names = ['b/x', 'a/z', 'a/a-b', 'a/a.b', 'a/a_b', 'a/ab', 'a/a0', 'a/a/b', 'c/1', 'a/aa'];
        for (const n of names) await ensurePackage(m, repo(n), n.split('/')[0] ?? '', 1);
        const expected = byteOrder(names);
        assert.deepEqual(await m.packages.names({ limit: 100 }), expected);
        const pages: string[] = [];
        let last: string | undefined;
        for (;;) {
          const page = await m.packages.names({ limit: 3, last });
          assert.ok(page.length <= 3);
          pages.push(...page);
          if (page.length < 3) break;
          last = page[page.length - 1];
        }
        assert.deepEqual(pages, expected);
        assert.deepEqual(await m.packages.names({ limit: 2, last: 'a/a0' }), expected.slice(expected.indexOf('a/a0') + 1, expected.indexOf('a/a0') + 3));
        assert.deepEqual(await m.packages.names({ limit: 5, last: 'zzz' }), []);
        assert.deepEqual(await m.packages.names({ limit: 5, last: 'a/a1' }), expected.filter((n) => Buffer.compare(Buffer.from(n), Buffer.from('a/a1')) > 0).slice(0, 5), 'last need not exist');
      });
    });

    describe('blob links', () => {
      test('link, get, getMany, unlink; sizes beyond 32 bits are exact numbers', async () => {
        const m = await fresh();
        const r = repo('acme/web');
        const big = 5 * 1024 ** 3 + 17; // > 2^32, < 2^53
        await m.blobLinks.link(r, dg('a'), 10, 1);
        await m.blobLinks.link(r, dg('b'), big, 1);
        await m.blobLinks.link(r, dg('a'), 999, 2); // relinking keeps the first link's size, touches it
        await m.blobLinks.link(repo('other/repo'), dg('c'), 3, 1);
        assert.deepEqual(await m.blobLinks.get(r, dg('a')), { size: 10, touchedAt: 2 });
        const b = await m.blobLinks.get(r, dg('b'));
        assert.equal(typeof b?.size, 'number');
        assert.equal(b?.size, big);
        assert.equal(await m.blobLinks.get(r, dg('c')), null, 'linked to another repository only');
        const many = await m.blobLinks.getMany(r, [dg('a'), dg('b'), dg('c'), dg('a')]);
        assert.deepEqual(
          [...many.entries()].sort(),
          [
            [dg('a'), 10],
            [dg('b'), big],
          ].sort(),
        );
        assert.equal((await m.blobLinks.getMany(r, [])).size, 0);
        assert.equal(await m.blobLinks.unlink(r, dg('a')), true);
        assert.equal(await m.blobLinks.unlink(r, dg('a')), false);
        assert.equal(await m.blobLinks.get(r, dg('a')), null);
        assert.deepEqual(await m.blobLinks.get(repo('other/repo'), dg('c')), { size: 3, touchedAt: 1 });
      });
    });

    describe('manifests', () => {
      test('put and get round-trip every field, bytes exactly', async () => {
        const m = await fresh();
        const r = repo('acme/web');
        const content = awkwardBytes();
        const rec = manifest(r, content, {
          artifactType: 'application/vnd.example+type',
          subject: dg('subject'),
          annotations: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z', 'ünïcødé': '✓' },
          createdAt: 1_723_456_789_012,
          size: content.length,
        });
        await m.manifests.put(rec, [{ digest: dg('layer'), kind: 'blob' }]);
        const got = await m.manifests.get(r, rec.digest);
        assert.ok(got);
        assert.ok(Buffer.isBuffer(got.content), 'content comes back as a Buffer');
        assert.ok(got.content.equals(content), 'bytes round-trip exactly');
        assert.deepEqual({ ...got, content: null }, { ...rec, content: null });
        assert.equal(typeof got.createdAt, 'number');
        assert.equal(await m.manifests.get(repo('acme/other'), rec.digest), null, 'per repository');
      });

      test('a nullable-everything manifest round-trips nulls', async () => {
        const m = await fresh();
        const rec = manifest(repo('acme/web'), Buffer.from('{}'), { configMediaType: null, configDigest: null });
        await m.manifests.put(rec, []);
        const got = await m.manifests.get(rec.repo, rec.digest);
        assert.deepEqual(got && { ...got, content: got.content.toString() }, { ...rec, content: '{}' });
      });

      test('re-putting identical bytes is a no-op; existing() reports the subset present', async () => {
        const m = await fresh();
        const r = repo('acme/web');
        const rec = manifest(r, Buffer.from('{"a":1}'));
        await m.manifests.put(rec, [{ digest: dg('l1'), kind: 'blob' }]);
        await m.manifests.put({ ...rec, createdAt: rec.createdAt + 5 }, [
          { digest: dg('l1'), kind: 'blob' },
          { digest: dg('l2'), kind: 'blob' },
        ]);
        assert.equal((await m.manifests.get(r, rec.digest))?.createdAt, rec.createdAt, 'the first put wins');
        const present = await m.manifests.existing(r, [rec.digest, dg('nope'), rec.digest]);
        assert.deepEqual([...present], [rec.digest]);
        assert.equal((await m.manifests.existing(r, [])).size, 0);
      });

      test('delete removes the manifest, its references and the tags pointing at it', async () => {
        const m = await fresh();
        const r = repo('acme/web');
        const a = manifest(r, Buffer.from('{"a":1}'));
        const b = manifest(r, Buffer.from('{"b":1}'));
        await m.manifests.put(a, [{ digest: dg('l1'), kind: 'blob' }]);
        await m.manifests.put(b, []);
        await m.tags.put(r, tag('v1'), a.digest, 1);
        await m.tags.put(r, tag('latest'), a.digest, 1);
        await m.tags.put(r, tag('keep'), b.digest, 1);
        assert.equal(await m.manifests.delete(r, a.digest), true);
        assert.equal(await m.manifests.delete(r, a.digest), false);
        assert.equal(await m.manifests.get(r, a.digest), null);
        assert.deepEqual(await m.tags.names(r), ['keep']);
        assert.equal(await m.tags.resolve(r, tag('v1')), null);
        // The references went with it: putting it again with no children leaves none behind.
        const refs = await m.db.selectFrom('manifest_refs').select('child').where('repo', '=', r).where('digest', '=', a.digest).execute();
        assert.deepEqual(refs, []);
      });

      test('referrers: by subject, oldest first then by digest, filtered by artifactType', async () => {
        const m = await fresh();
        const r = repo('acme/web');
        const subject = dg('the image');
        const sig1 = manifest(r, Buffer.from('sig1'), { subject, artifactType: 'application/sig', createdAt: 300 });
        const sbom = manifest(r, Buffer.from('sbom'), { subject, artifactType: 'application/sbom', createdAt: 100 });
        const sigA = manifest(r, Buffer.from('sigA'), { subject, artifactType: 'application/sig', createdAt: 200 });
        const sigB = manifest(r, Buffer.from('sigB'), { subject, artifactType: 'application/sig', createdAt: 200 });
        const unrelated = manifest(r, Buffer.from('other'), { subject: dg('another image'), artifactType: 'application/sig', createdAt: 50 });
        const elsewhere = manifest(repo('acme/other'), Buffer.from('sig1'), { subject, artifactType: 'application/sig', createdAt: 1 });
        for (const x of [sig1, sbom, sigA, sigB, unrelated, elsewhere]) await m.manifests.put(x, []);
        const same200 = byteOrder([sigA.digest, sigB.digest]);
        assert.deepEqual(
          (await m.manifests.referrers(r, subject)).map((x) => x.digest),
          [sbom.digest, ...same200, sig1.digest],
        );
        assert.deepEqual(
          (await m.manifests.referrers(r, subject, 'application/sig')).map((x) => x.digest),
          [...same200, sig1.digest],
        );
        assert.deepEqual(await m.manifests.referrers(r, subject, 'application/none'), []);
        const [first] = await m.manifests.referrers(r, subject);
        assert.ok(first?.content.equals(Buffer.from('sbom')), 'full records with content');
      });
    });

    describe('tags', () => {
      test('put, resolve in one query, move, delete, forDigest', async () => {
        const m = await fresh();
        const r = repo('acme/web');
        const a = manifest(r, Buffer.from('{"v":1}'));
        const b = manifest(r, Buffer.from('{"v":2}'));
        await m.manifests.put(a, []);
        await m.manifests.put(b, []);
        await m.tags.put(r, tag('latest'), a.digest, 1);
        await m.tags.put(r, tag('v1'), a.digest, 1);
        assert.equal((await m.tags.resolve(r, tag('latest')))?.digest, a.digest);
        assert.ok((await m.tags.resolve(r, tag('latest')))?.content.equals(a.content));
        await m.tags.put(r, tag('latest'), b.digest, 2);
        assert.equal((await m.tags.resolve(r, tag('latest')))?.digest, b.digest, 'a tag moves');
        assert.deepEqual(await m.tags.forDigest(r, a.digest), ['v1']);
        assert.deepEqual(await m.tags.forDigest(r, b.digest), ['latest']);
        assert.equal(await m.tags.resolve(r, tag('nope')), null);
        assert.equal(await m.tags.resolve(repo('acme/other'), tag('latest')), null);
        assert.equal(await m.tags.delete(r, tag('latest')), true);
        assert.equal(await m.tags.delete(r, tag('latest')), false);
        assert.equal(await m.tags.resolve(r, tag('latest')), null);
        assert.ok(await m.manifests.get(r, b.digest), 'deleting a tag keeps the manifest');
      });

      test('the tag stamp changes with every tag change, and only then', async () => {
        const m = await fresh();
        const r = repo('acme/web');
        assert.equal(await m.packages.tagStamp(r), null, 'no repository, no stamp');
        await ensurePackage(m, r, 'acme', 1000);
        const s0 = await m.packages.tagStamp(r);
        assert.deepEqual(s0, { created: 1000, version: 0 });
        const x = manifest(r, Buffer.from('{"x":1}'));
        const y = manifest(r, Buffer.from('{"y":1}'));
        await m.manifests.put(x, []);
        await m.manifests.put(y, []);
        assert.deepEqual(await m.packages.tagStamp(r), s0, 'untagged manifests do not change it');
        const versions = [0];
        const step = async (what: string) => {
          const v = (await m.packages.tagStamp(r))?.version ?? -1;
          assert.ok(v > (versions.at(-1) ?? 0), `${what} bumps the version`);
          versions.push(v);
        };
        await m.tags.put(r, tag('a'), x.digest, 2);
        await step('a new tag');
        await m.tags.put(r, tag('a'), y.digest, 3);
        await step('moving a tag');
        await m.tags.put(r, tag('b'), x.digest, 4);
        await step('another tag');
        await m.tags.delete(r, tag('b'));
        await step('deleting a tag');
        assert.equal(await m.tags.delete(r, tag('b')), false);
        assert.equal((await m.packages.tagStamp(r))?.version, versions.at(-1), 'deleting nothing changes nothing');
        await m.manifests.delete(r, y.digest);
        await step('deleting a tagged manifest');
        await ensurePackage(m, r, 'acme', 5000);
        assert.deepEqual(await m.packages.tagStamp(r), { created: 1000, version: versions.at(-1) }, 'a later push keeps both');
        assert.deepEqual(await m.tags.names(r), [], 'names after the deletes');
      });

      // Pages are cut from this list by the tag-list cache (src/services/tag-list-cache.ts).
      test('names are byte-ordered (same on every dialect)', async () => {
        const m = await fresh();
        const r = repo('acme/web');
        const x = manifest(r, Buffer.from('{}'));
        await m.manifests.put(x, []);
        // Byte order differs from any natural-language collation: case, '-', '.', '_' and digits.
        const names = ['latest', 'Latest', 'LATEST', 'v1.0', 'v1-0', 'v1_0', 'v10', 'v1', 'V2', '_x', '1.0.0', '1.0.0-rc.1', '1.0.0_build.1', 'a', 'B', 'b'];
        for (const n of names) await m.tags.put(r, tag(n), x.digest, 1);
        await m.tags.put(repo('acme/other'), tag('zz-other'), x.digest, 1);
        const expected = byteOrder(names);
        assert.deepEqual(await m.tags.names(r), expected);
        assert.deepEqual(await m.tags.forDigest(r, x.digest), expected, 'forDigest is byte-ordered too');
      });
    });

    describe('upload sessions', () => {
      test('create, get, touch, staleSince, delete', async () => {
        const m = await fresh();
        const r = repo('acme/web');
        await m.uploads.create('u1', r, 1000);
        await m.uploads.create('u2', r, 2000);
        await m.uploads.create('u3', repo('acme/other'), 3000);
        assert.deepEqual(await m.uploads.get('u1'), { id: 'u1', repo: r, createdAt: 1000, updatedAt: 1000 });
        await m.uploads.touch('u1', 5000);
        assert.deepEqual(await m.uploads.get('u1'), { id: 'u1', repo: r, createdAt: 1000, updatedAt: 5000 });
        assert.deepEqual((await m.uploads.staleSince(3500, 10)).sort(), ['u2', 'u3']);
        assert.equal((await m.uploads.staleSince(3500, 1)).length, 1, 'limit applies');
        assert.deepEqual(await m.uploads.staleSince(1000, 10), [], 'strictly before');
        await m.uploads.delete('u2');
        await m.uploads.delete('u2');
        assert.equal(await m.uploads.get('u2'), null);
        await assert.rejects(m.uploads.create('u1', r, 1), 'ids are unique');
      });
    });

    describe('leases and job runs', () => {
      test('a lease is held by one holder until it expires, renewed only by its holder', async () => {
        const m = await fresh();
        assert.equal(await m.leases.acquire('gc', 'a', 1000, 2000), true);
        assert.equal(await m.leases.acquire('gc', 'b', 1500, 2500), false, 'held and unexpired');
        assert.equal(await m.leases.acquire('gc', 'a', 1500, 2500), true, 'the holder re-acquires');
        assert.equal(await m.leases.renew('gc', 'b', 9000), false, 'only the holder renews');
        assert.equal(await m.leases.renew('gc', 'a', 3000), true);
        assert.deepEqual(await m.leases.current('gc', 2999), { holder: 'a', expiresAt: 3000 });
        assert.equal(await m.leases.acquire('gc', 'b', 3000, 4000), true, 'an expired lease is taken over');
        assert.equal(await m.leases.renew('gc', 'a', 9000), false, 'the old holder lost it');
        await m.leases.release('gc', 'a');
        assert.equal(await m.leases.holder('gc'), 'b', 'release by a non-holder does nothing');
        await m.leases.release('gc', 'b');
        assert.equal(await m.leases.current('gc', 0), null);
        assert.equal(await m.leases.acquire('other', 'c', 0, 1), true, 'leases are per name');
      });

      test('concurrent acquirers: exactly one wins', async () => {
        const m = await fresh();
        const won = await Promise.all(Array.from({ length: 8 }, (_, i) => m.leases.acquire('race', `h${i}`, 100, 10_000)));
        assert.equal(won.filter(Boolean).length, 1);
      });

      test('job runs: start, progress, finish, list newest first, orphans marked interrupted', async () => {
        const m = await fresh();
        await m.jobRuns.start({ id: 'r1', job: 'gc', trigger: 'cli', actor: 'admin', options: { dryRun: true }, holder: 'dead', now: 1000 });
        await m.jobRuns.start({ id: 'r2', job: 'gc', trigger: 'schedule', actor: null, options: null, holder: 'me', now: 2000 });
        await m.jobRuns.start({ id: 'x1', job: 'other', trigger: 'api', actor: null, options: null, holder: 'dead', now: 1500 });
        await m.jobRuns.progress('r2', { phase: 'mark', scanned: 10 });
        assert.equal(await m.jobRuns.interruptOrphans('gc', 'me', 2500), 1);
        await m.jobRuns.finish('r2', { status: 'succeeded', now: 3000, summary: { freedBytes: 42 } });
        const runs = await m.jobRuns.list('gc', { limit: 10 });
        assert.deepEqual(runs.map((r) => [r.id, r.status]), [['r2', 'succeeded'], ['r1', 'interrupted']]);
        assert.deepEqual(runs[0]?.progress, { phase: 'mark', scanned: 10 });
        assert.deepEqual(runs[0]?.summary, { freedBytes: 42 });
        assert.equal(runs[0]?.finishedAt, 3000);
        assert.deepEqual(runs[1]?.options, { dryRun: true });
        assert.equal(runs[1]?.finishedAt, 2500);
        assert.equal((await m.jobRuns.get('x1'))?.status, 'running', 'other jobs are untouched');
        assert.equal(await m.jobRuns.lastStarted('gc'), 2000);
        assert.equal(await m.jobRuns.lastStarted('none'), null);
        assert.deepEqual((await m.jobRuns.list('gc', { limit: 10, before: 2000 })).map((r) => r.id), ['r1']);
      });
    });

    describe('webhooks and their delivery outbox (migration 0011)', () => {
      const hook = (m: Metadata, owner: string, repo: string | null, active = true) =>
        m.webhooks.create({ owner, repo, url: 'https://hooks.example/x', secret: 's'.repeat(16), events: ['package.published'], active, createdBy: 'alice', createdAt: 1 });

      test("subscribers: the owner's active webhooks and the package's own, no others", async () => {
        const m = await fresh();
        const ownerWide = await hook(m, 'acme', null);
        const mine = await hook(m, 'acme', 'acme/web');
        await hook(m, 'acme', 'acme/api');
        await hook(m, 'acme', null, false);
        await hook(m, 'other', null);
        assert.deepEqual((await m.webhooks.subscribers('acme', 'acme/web')).map((h) => h.id).sort(), [ownerWide.id, mine.id].sort());
        await m.webhooks.update(mine.id, { active: false, events: ['tag.moved'] }, 2);
        assert.deepEqual((await m.webhooks.subscribers('acme', 'acme/web')).map((h) => h.id), [ownerWide.id]);
        assert.deepEqual((await m.webhooks.get(mine.id))?.events, ['tag.moved']);
        assert.equal((await m.webhooks.list('acme')).length, 4);
        assert.equal((await m.webhooks.list('acme', null)).length, 2);
      });

      test('a delivery written in a rolled-back transaction does not exist', async () => {
        const m = await fresh();
        const h = await hook(m, 'acme', null);
        await assert.rejects(
          m.transaction(async (t) => {
            await t.deliveries.add({ webhookId: h.id, eventId: 'e', event: 'package.published', payload: '{}', now: 10 });
            throw new Error('the change failed');
          }),
          /the change failed/,
        );
        assert.equal(await m.deliveries.pendingCount(), 0);
      });

      test('claims: only due rows, one claimer at a time, the claim expires; a lost claim records nothing', async () => {
        const m = await fresh();
        const h = await hook(m, 'acme', null);
        const id = await m.deliveries.add({ webhookId: h.id, eventId: 'e1', event: 'package.published', payload: '{"a":1}', now: 100 });
        assert.deepEqual(await m.deliveries.claim('a', 99, 1000, 10), [], 'not due yet');
        const [got] = await m.deliveries.claim('a', 100, 1000, 10);
        assert.equal(got?.id, id);
        assert.equal(got?.payload, '{"a":1}');
        assert.deepEqual(await m.deliveries.claim('b', 500, 2000, 10), [], 'claimed by a until 1000');
        const [taken] = await m.deliveries.claim('b', 1000, 3000, 10);
        assert.equal(taken?.id, id, 'an expired claim is taken over (a killed process)');
        const failedAt = { status: 'pending' as const, now: 1001, nextAttemptAt: 1500, responseStatus: 500, responseExcerpt: 'no', latencyMs: 3, error: 'receiver answered 500' };
        assert.equal(await m.deliveries.finishAttempt(id, 'a', failedAt), false, 'a lost its claim');
        assert.equal(await m.deliveries.finishAttempt(id, 'b', failedAt), true);
        const after1 = await m.deliveries.get(id);
        assert.deepEqual([after1?.status, after1?.attempts, after1?.nextAttemptAt, after1?.responseStatus], ['pending', 1, 1500, 500]);
        assert.deepEqual(await m.deliveries.claim('a', 1499, 5000, 10), [], 'waits for its retry');
        assert.equal((await m.deliveries.claim('a', 1500, 5000, 10)).length, 1);
        assert.equal(await m.deliveries.finishAttempt(id, 'a', { ...failedAt, status: 'succeeded', now: 1501, responseStatus: 200 }), true);
        assert.deepEqual(await m.deliveries.claim('c', 99_999, 999_999, 10), [], 'done');
        const log = await m.deliveries.list(h.id, 10);
        assert.deepEqual([log[0]?.status, log[0]?.attempts, log[0]?.finishedAt], ['succeeded', 2, 1501]);
        assert.equal(await m.deliveries.pendingCount(), 0);
      });

      test('concurrent claimers take disjoint rows and together all of them', async () => {
        const m = await fresh();
        const h = await hook(m, 'acme', null);
        const ids = new Set<string>();
        for (let i = 0; i < 24; i++) ids.add(await m.deliveries.add({ webhookId: h.id, eventId: `e${i}`, event: 'package.published', payload: '{}', now: i }));
        const claims = await Promise.all(Array.from({ length: 8 }, (_, i) => m.deliveries.claim(`w${i}`, 1000, 60_000, 3)));
        const all = claims.flat().map((d) => d.id);
        assert.equal(new Set(all).size, all.length, 'no row claimed twice');
        const rest = await m.deliveries.claim('late', 1000, 60_000, 100);
        assert.deepEqual(new Set([...all, ...rest.map((d) => d.id)]), ids);
      });

      test('pruning removes finished deliveries older than the cut-off, never pending ones', async () => {
        const m = await fresh();
        const h = await hook(m, 'acme', null);
        const done = { responseStatus: 200, responseExcerpt: null, latencyMs: 1, error: null };
        const ids: string[] = [];
        for (let i = 0; i < 3; i++) ids.push(await m.deliveries.add({ webhookId: h.id, eventId: `e${i}`, event: 'ping', payload: '{}', now: 10 }));
        await m.deliveries.claim('w', 10, 100, 10);
        await m.deliveries.finishAttempt(ids[0] ?? '', 'w', { ...done, status: 'succeeded', now: 20, nextAttemptAt: 10 });
        await m.deliveries.finishAttempt(ids[1] ?? '', 'w', { ...done, status: 'failed', now: 500, nextAttemptAt: 10 });
        await m.deliveries.finishAttempt(ids[2] ?? '', 'w', { ...done, status: 'pending', now: 20, nextAttemptAt: 30 });
        assert.equal(await m.deliveries.pruneFinished(100, 10), 1);
        assert.deepEqual((await m.deliveries.list(h.id, 10)).map((d) => d.id).sort(), [ids[1], ids[2]].sort());
        assert.equal(await m.deliveries.pruneFinished(1000, 10), 1);
        assert.equal(await m.deliveries.pendingCount(), 1);
      });

      test('deleting a webhook drops its deliveries', async () => {
        const m = await fresh();
        const h = await hook(m, 'acme', null);
        await m.deliveries.add({ webhookId: h.id, eventId: 'e', event: 'ping', payload: '{}', now: 1 });
        assert.equal(await m.webhooks.delete(h.id), true);
        assert.equal(await m.deliveries.pendingCount(), 0);
        assert.equal(await m.webhooks.delete(h.id), false);
      });
    });

    describe('trash and usage (migration 0009)', () => {
      /** A repository with an image (config + layer) tagged `t`; returns its manifest. */
      async function image(m: Metadata, r: RepoName, t: string, layer: string, size = 100): Promise<ManifestRecord> {
        const rec = manifest(r, Buffer.from(`{"image":"${r}:${t}:${layer}"}`), { configDigest: dg(`cfg-${layer}`) });
        await m.transaction(async (x) => {
          await ensurePackage(x, r, r.split('/')[0] ?? '', 1);
          await x.blobLinks.link(r, dg(`cfg-${layer}`), 10, 1);
          await x.blobLinks.link(r, dg(layer), size, 1);
          await x.manifests.put(rec, [
            { digest: dg(`cfg-${layer}`), kind: 'blob' },
            { digest: dg(layer), kind: 'blob' },
          ]);
          await x.tags.put(r, tag(t), rec.digest, 1);
        });
        return rec;
      }

      test('a trashed manifest is unknown to every reader but its row and references stay', async () => {
        const m = await fresh();
        const r = repo('acme/web');
        const rec = await image(m, r, 'v1', 'l1');
        const sig = manifest(r, Buffer.from('{"sig":1}'), { subject: rec.digest, artifactType: 'application/x-sig' });
        await m.manifests.put(sig, []);
        const index = manifest(r, Buffer.from('{"index":1}'), { mediaType: 'application/vnd.oci.image.index.v1+json' });
        await m.manifests.put(index, [{ digest: rec.digest, kind: 'manifest' }]);
        assert.deepEqual(await m.manifests.listingIndexes(r, [rec.digest]), [{ index: index.digest, child: rec.digest }]);
        assert.deepEqual(await m.manifests.listingIndexes(r, [rec.digest], new Set([index.digest])), [], 'an index being removed too does not count');
        assert.deepEqual(await m.manifests.childManifests(r, [index.digest]), [rec.digest]);
        assert.deepEqual(await m.manifests.liveReferrersOf(r, [rec.digest]), [sig.digest]);

        assert.equal(await m.manifests.setTrashed(r, [rec.digest, sig.digest, index.digest], 5), 3);
        assert.equal(await m.manifests.setTrashed(r, [rec.digest], 6), 0, 'already trashed');
        assert.equal(await m.manifests.get(r, rec.digest), null);
        assert.deepEqual(await m.manifests.existing(r, [rec.digest]), new Set());
        assert.equal(await m.manifests.state(r, rec.digest), 'trashed');
        assert.deepEqual(await m.manifests.referrers(r, rec.digest), []);
        assert.deepEqual(await m.manifests.listingIndexes(r, [rec.digest]), [], 'a trashed index lists nothing');
        assert.deepEqual(await m.manifests.liveDigests(r), []);
        // Only the tag row still points at it here (the service moves tags in the same transaction); resolve hides it anyway.
        assert.equal(await m.tags.resolve(r, tag('v1')), null);
        const refs = await m.db.selectFrom('manifest_refs').select('child').where('repo', '=', r).where('digest', '=', rec.digest).execute();
        assert.equal(refs.length, 2, 'references stay: GC keeps the bytes');

        assert.equal(await m.manifests.delete(r, rec.digest), false, 'a plain delete does not see it');
        assert.equal(await m.manifests.delete(r, rec.digest, { trashed: true }), true, 'a purge does');
        assert.equal(await m.manifests.state(r, rec.digest), null);
        assert.equal((await m.db.selectFrom('manifest_refs').select('child').where('repo', '=', r).where('digest', '=', rec.digest).execute()).length, 0);
        assert.equal(await m.manifests.setTrashed(r, [sig.digest], null), 1);
        assert.ok(await m.manifests.get(r, sig.digest), 'restored');
      });

      test('a trashed repository: no tag stamp, not in the catalog, blobs unreadable, ensure and lock report it', async () => {
        const m = await fresh();
        const r = repo('acme/web');
        await image(m, r, 'v1', 'l1');
        assert.deepEqual(await m.packages.lock(r), { owner: 'acme', trashedAt: null });
        assert.equal(await m.packages.lock(repo('acme/none')), null);
        await m.packages.setTrashed(r, 7);
        assert.equal(await m.packages.tagStamp(r), null);
        assert.deepEqual(await m.packages.names({ limit: 10 }), []);
        assert.equal(await m.blobLinks.get(r, dg('l1')), null);
        assert.deepEqual(await ensurePackage(m, r, 'acme', 8), { trashedAt: 7 });
        assert.equal((await m.packages.get(r))?.trashedAt, 7);
        assert.deepEqual(await m.packages.listByOwner('acme'), []);
        await m.packages.setTrashed(r, null);
        assert.equal((await m.blobLinks.get(r, dg('l1')))?.size, 100);
        assert.deepEqual(await ensurePackage(m, repo('acme/new'), 'acme', 9), { trashedAt: null });
        assert.deepEqual(await m.blobLinks.get(repo('acme/new2'), dg('x')), null);
        await m.blobLinks.link(repo('acme/new2'), dg('x'), 3, 1);
        assert.equal((await m.blobLinks.get(repo('acme/new2'), dg('x')))?.size, 3, 'readable before the repository row exists');
      });

      test('entries: membership, tags taken and given back (a re-used name stays), size, removal', async () => {
        const m = await fresh();
        const r = repo('acme/web');
        const v1 = await image(m, r, 'v1', 'l1', 1000);
        await m.tags.put(r, tag('stable'), v1.digest, 2);
        const v2 = await image(m, r, 'v2', 'l2', 2000);
        const before = (await m.packages.tagStamp(r))?.version ?? 0;
        const e = { id: 'aaaaaaaaaaaa', owner: 'acme', repo: r, kind: 'version' as const, digest: v1.digest, actor: 'alice', trashedAt: 10, expiresAt: 20 };
        await m.transaction(async (x) => {
          await x.manifests.setTrashed(r, [v1.digest], 10);
          await x.trash.create(e);
          await x.trash.addManifests(e.id, r, [v1.digest]);
          assert.equal(await x.trash.takeTags(e.id, r, [v1.digest]), 2);
        });
        assert.ok(((await m.packages.tagStamp(r))?.version ?? 0) > before, 'tag version bumped');
        assert.deepEqual(await m.tags.names(r), [tag('v2')]);
        assert.deepEqual(await m.trash.get(e.id), e);
        assert.deepEqual(await m.trash.entryOf(r, v1.digest), e);
        assert.equal(await m.trash.entryOf(r, v2.digest), null);
        assert.deepEqual(await m.trash.members(e.id), [{ repo: r, digest: v1.digest }]);
        assert.deepEqual((await m.trash.tagsOf(e.id)).map((t) => t.name), ['stable', 'v1']);
        assert.deepEqual(await m.trash.size(e.id), { manifests: 1, bytes: v1.size + 10 + 1000 });
        assert.deepEqual(await m.trash.list({ owner: 'acme', limit: 10 }), [e]);
        assert.deepEqual(await m.trash.list({ expiredAt: 19, limit: 10 }), []);
        assert.deepEqual(await m.trash.list({ expiredAt: 20, limit: 10 }), [e]);
        assert.equal(await m.trash.packageEntry(r), null);

        await m.tags.put(r, tag('stable'), v2.digest, 3);
        const back = await m.transaction(async (x) => {
          await x.manifests.setTrashed(r, [v1.digest], null);
          const t = await x.trash.giveBackTags(e.id, r);
          await x.trash.remove(e.id);
          return t;
        });
        assert.deepEqual(back, { restored: [tag('v1')], kept: [{ name: tag('stable'), digest: v2.digest }] });
        assert.equal((await m.tags.resolve(r, tag('v1')))?.digest, v1.digest);
        assert.equal((await m.tags.resolve(r, tag('stable')))?.digest, v2.digest);
        assert.equal(await m.trash.get(e.id), null);
        assert.deepEqual(await m.trash.tagsOf(e.id), []);
        assert.deepEqual(await m.trash.members(e.id), []);
      });

      test('usage: a blob counts once per scope, live when any live manifest uses it, trashed bytes apart', async () => {
        const m = await fresh();
        const a = repo('acme/a');
        const b = repo('acme/b');
        const va = await image(m, a, 'v1', 'shared', 1000);
        const vb = await image(m, b, 'v1', 'shared', 1000);
        const only = await image(m, a, 'v2', 'only-a', 500);
        const other = await image(m, repo('zed/c'), 'v1', 'shared', 1000);
        await m.blobLinks.link(a, dg('dangling'), 99_999, 1); // linked, referenced by nothing: not usage

        const pa = await m.usage.ofPackage(a);
        assert.deepEqual(pa, { liveBytes: va.size + only.size + 1520, trashedBytes: 0, blobs: 4, blobBytes: 1520, manifests: 2, manifestBytes: va.size + only.size });
        const owner = await m.usage.ofOwner('acme');
        assert.equal(owner.blobs, 4, 'the config and layer both packages share count once each');
        assert.equal(owner.liveBytes, va.size + vb.size + only.size + 1520);
        const site = await m.usage.site();
        assert.equal(site.blobs, 4, 'zed/c shares them too: deduplicated site-wide');
        assert.equal(site.blobBytes, 1520);
        assert.equal(site.manifests, 4);
        assert.equal(site.manifestBytes, va.size + vb.size + only.size + other.size);
        assert.deepEqual(await m.usage.owners(), ['acme', 'zed']);

        await m.transaction(async (x) => {
          await x.manifests.setTrashed(a, [va.digest, only.digest], 5);
          await x.trash.create({ id: 'bbbbbbbbbbbb', owner: 'acme', repo: a, kind: 'package', digest: null, actor: 't', trashedAt: 5, expiresAt: 6 });
          await x.trash.addManifests('bbbbbbbbbbbb', a, [va.digest, only.digest]);
        });
        const trashedA = await m.usage.ofPackage(a);
        assert.equal(trashedA.liveBytes, 0);
        assert.equal(trashedA.trashedBytes, va.size + only.size + 1520);
        const ownerAfter = await m.usage.ofOwner('acme');
        assert.equal(ownerAfter.trashedBytes, va.size + only.size + 510, 'only what no live manifest of the owner uses');
        assert.equal(ownerAfter.liveBytes, vb.size + 1010);
        assert.deepEqual([...(await m.usage.perPackage('acme')).keys()], [a, b]);
      });

      test('a trash move and a push of the same manifest serialise on the repository row: no tag ever points into the trash', async () => {
        const m = await fresh();
        const r = repo('acme/race');
        for (let i = 0; i < 8; i++) {
          const rec = await image(m, r, `base${i}`, `l${i}`);
          const id = `${String(i).padStart(12, '0')}`;
          const trash = m.transaction(async (x) => {
            await x.packages.lock(r);
            if ((await x.manifests.state(r, rec.digest)) !== 'live') return;
            await x.manifests.setTrashed(r, [rec.digest], 10);
            await x.trash.create({ id, owner: 'acme', repo: r, kind: 'version', digest: rec.digest, actor: 't', trashedAt: 10, expiresAt: 20 });
            await x.trash.addManifests(id, r, [rec.digest]);
            await x.trash.takeTags(id, r, [rec.digest]);
          });
          // The registry's push: lock first, then check, then tag.
          const push = m.transaction(async (x) => {
            await ensurePackage(x, r, 'acme', 11);
            if ((await x.manifests.state(r, rec.digest)) === 'trashed') return;
            await x.manifests.put(rec, []);
            await x.tags.put(r, tag(`again${i}`), rec.digest, 11);
          });
          await Promise.all([trash, push]);
        }
        const bad = await m.db
          .selectFrom('tags')
          .innerJoin('manifests', (j) => j.onRef('manifests.repo', '=', 'tags.repo').onRef('manifests.digest', '=', 'tags.digest'))
          .select('tags.name')
          .where('tags.repo', '=', r)
          .where('manifests.trashed_at', 'is not', null)
          .execute();
        assert.deepEqual(bad, []);
      });
    });

    describe('transactions and concurrency', () => {
      test('a failed transaction rolls back every write in it', async () => {
        const m = await fresh();
        const r = repo('acme/web');
        const rec = manifest(r, Buffer.from('{"tx":1}'));
        await assert.rejects(
          m.transaction(async (t) => {
            await ensurePackage(t, r, 'acme', 1);
            await t.manifests.put(rec, [{ digest: dg('l'), kind: 'blob' }]);
            await t.tags.put(r, tag('v1'), rec.digest, 1);
            await t.blobLinks.link(r, dg('l'), 1, 1);
            assert.ok(await t.manifests.get(r, rec.digest), 'visible inside the transaction');
            throw new Error('boom');
          }),
          /boom/,
        );
        assert.equal(await listed(m, r), false);
        assert.equal(await m.manifests.get(r, rec.digest), null);
        assert.equal(await m.tags.resolve(r, tag('v1')), null);
        assert.equal(await m.blobLinks.get(r, dg('l')), null);
        const v = await m.transaction(async (t) => {
          await ensurePackage(t, r, 'acme', 1);
          return 42;
        });
        assert.equal(v, 42);
        assert.equal(await listed(m, r), true, 'a successful transaction commits');
      });

      test('a violated unique constraint fails the transaction and keeps earlier state', async () => {
        const m = await fresh();
        const r = repo('acme/web');
        await m.uploads.create('dup', r, 1);
        // The driver's unique-violation error becomes the registry's CONFLICT on every dialect.
        await assert.rejects(
          m.transaction(async (t) => {
            await ensurePackage(t, r, 'acme', 1);
            await t.uploads.create('dup', r, 2);
          }),
          (err: unknown) => err instanceof UniqueViolation && err.code === 'CONFLICT' && err.table === 'uploads',
        );
        assert.equal(await listed(m, r), false);
        assert.deepEqual(await m.uploads.get('dup'), { id: 'dup', repo: r, createdAt: 1, updatedAt: 1 });
      });

      test('creating the same account, team or trust deletion concurrently: exactly one wins, the others are told', async () => {
        const m = await fresh();
        const created = await Promise.all(Array.from({ length: 8 }, () => m.transaction((t) => t.accounts.create({ name: 'acme', kind: 'org', now: 1 }))));
        assert.equal(created.filter(Boolean).length, 1, 'one account row, and the losers get false, not an error');
        assert.equal(await m.accounts.create({ name: 'acme', kind: 'user', now: 2 }), false);
        assert.equal((await m.accounts.get('acme'))?.kind, 'org');

        const teams = await Promise.all(Array.from({ length: 8 }, () => m.memberships.createTeam('acme', 'devs', '', 1)));
        assert.equal(teams.filter(Boolean).length, 1);
        assert.equal(await m.transaction((t) => t.memberships.lockTeam('acme', 'devs')), true);
        assert.equal(await m.transaction((t) => t.memberships.lockTeam('acme', 'nope')), false);
        assert.equal((await m.transaction((t) => t.accounts.getForUpdate('acme')))?.name, 'acme');

        const trust = await m.trusts.create({ owner: 'acme', repo: null, issuer: 'https://ci', audience: 'a', conditions: { r: 'x' }, role: 'read', createdAt: 1 });
        const deleted = await Promise.all(Array.from({ length: 4 }, () => m.trusts.delete(trust.id)));
        assert.deepEqual(deleted.filter(Boolean), [true]);
      });

      test('concurrent idempotent writes (ON CONFLICT) never fail and never duplicate', async () => {
        const m = await fresh();
        const r = repo('acme/web');
        const rec = manifest(r, Buffer.from('{"race":1}'));
        const children = [
          { digest: dg('l1'), kind: 'blob' as const },
          { digest: dg('l2'), kind: 'blob' as const },
        ];
        await Promise.all(
          Array.from({ length: 12 }, (_, i) =>
            m.transaction(async (t) => {
              await ensurePackage(t, r, 'acme', i);
              await t.blobLinks.link(r, dg('l1'), 1, i);
              await t.manifests.put(rec, children);
              await t.tags.put(r, tag('latest'), rec.digest, i);
            }),
          ),
        );
        assert.deepEqual(await m.packages.names({ limit: 10 }), [r]);
        assert.deepEqual(await m.tags.names(r), ['latest']);
        const refs = await m.db.selectFrom('manifest_refs').select('child').where('repo', '=', r).execute();
        assert.equal(refs.length, 2);
      });
    });
  });
}
