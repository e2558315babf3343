/**
 * The checks of the current conformance suite (conformance/run.go of
 * opencontainers/distribution-spec, TestAll), after the four legacy workflows: ping, an empty
 * repository, the blob APIs once per digest algorithm (sha256, sha512: every push API, mount
 * with and without `from`, cancel, chunked with the last chunk in the closing PUT and out of
 * order, range reads, the empty and `{}` blobs, bad digests), then each data set pushed, listed,
 * HEAD, pulled, its referrers queried and deleted, then the manifest error cases.
 *
 * Settings are the suite's "1.1+dev" ones: Docker-Content-Digest required on blob and manifest
 * answers, upload cancel and `?tag=` (OCI-Tag) tested. Anything the registry answers as an
 * optional feature it lacks (Go's errRegUnsupported, a skip there) is a skip here too, except
 * against the Wharf the suite starts itself, where only `mount anonymous` may be unsupported.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { e2eTarget } from '../../helpers/server.ts';
import { client, suiteSkip } from '../harness.ts';
import { settings } from '../setup.ts';
import * as api from './api.ts';
import { type Algo, algoOf, type Descriptor, digestOf, generateDataSets, randText, TestData } from './data.ts';

const digestHeader: api.Expect = { requireDigestHeader: true };
/** Against the Wharf the suite started, an optional feature missing is a failure, not a skip. */
const strict = settings.selfStarted && e2eTarget() === 'wharf';

/** One check: errors are collected so one bad blob does not hide the others (as Go's errors.Join). */
function check(name: string, fn: (errs: Errors) => Promise<void>, opts: { mayBeUnsupported?: boolean } = {}): void {
  it(name, { skip: suiteSkip, timeout: 60_000 }, async (t) => {
    const errs = new Errors();
    try {
      await fn(errs);
    } catch (err) {
      errs.add(err);
    }
    const unsupported = errs.list.filter((e) => e instanceof api.Unsupported);
    const failures = errs.list.filter((e) => !(e instanceof api.Unsupported));
    if (failures.length > 0) throw new AggregateError(failures, failures.map((e) => (e instanceof Error ? e.message : String(e))).join('\n'));
    if (unsupported.length > 0) {
      const message = unsupported.map((e) => (e as Error).message).join('; ');
      if (strict && !opts.mayBeUnsupported) assert.fail(`unsupported: ${message}`);
      t.skip(message);
    }
  });
}

class Errors {
  readonly list: unknown[] = [];
  add(err: unknown): void {
    this.list.push(err);
  }
  async run(fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.add(err);
    }
  }
}

/** Apart from the legacy workflows' repository, whose tag counts they check. */
function repos(): { repo: string; repo2: string } {
  return { repo: `${client.config.defaultName}-current`, repo2: `${settings.crossmountNamespace}-current` };
}

/** Go's blob API rotation: each push uses the API least used so far, falling back in order. */
const BLOB_APIS = ['post+put', 'post only', 'stream', 'chunked'] as const;
const used = new Map<string, number>();
async function pushBlobAny(repo: string, digest: string, body: Buffer, e: api.Expect = digestHeader): Promise<void> {
  const order = [...BLOB_APIS].sort((a, b) => (used.get(`${algoOf(digest)} ${a}`) ?? 0) - (used.get(`${algoOf(digest)} ${b}`) ?? 0));
  const errors: unknown[] = [];
  for (const name of order) {
    used.set(`${algoOf(digest)} ${name}`, (used.get(`${algoOf(digest)} ${name}`) ?? 0) + 1);
    try {
      if (name === 'post+put') await api.blobPostPut(repo, digest, body, e);
      else if (name === 'post only') await api.blobPostOnly(repo, digest, body, e);
      else if (name === 'stream') await api.blobPatchStream(repo, digest, body, e);
      else await api.blobPatchChunked(repo, digest, body, e);
      return;
    } catch (err) {
      errors.push(err);
    }
  }
  throw new AggregateError(errors, `every blob push API failed for ${digest}: ${errors.map((e) => (e instanceof Error ? e.message : String(e))).join('; ')}`);
}

function blobTests(algo: Algo): void {
  describe(`${algo} blobs`, () => {
    const td = new TestData(`Blobs ${algo}`);
    let minChunk = api.CHUNK_MIN;
    const gen = (size = 512) => td.genBlob({ blobSize: size, algo });

    check('get-missing', async () => {
      const resp = await api.blobGet(repos().repo, gen().digest, undefined, {}, { Accept: '*/*' });
      assert.equal(resp.status, 404, resp.describe());
    });

    /** Push with one API, then HEAD, GET and DELETE the blob (as each Go blob API test does). */
    const pushed = (name: string, push: (digest: string, body: Buffer) => Promise<void>, size?: () => number, opts: { mayBeUnsupported?: boolean; noPull?: boolean } = {}) =>
      check(
        name,
        async (errs) => {
          const { digest, bytes } = gen(size?.());
          await errs.run(() => push(digest, bytes));
          if (errs.list.length === 0 && !opts.noPull) {
            await errs.run(() => api.blobHead(repos().repo, digest, bytes, digestHeader));
            await errs.run(() => api.blobGet(repos().repo, digest, bytes, digestHeader).then(() => undefined));
          }
          await errs.run(() => api.blobDelete(repos().repo, digest));
          if (name.startsWith('mount')) await errs.run(() => api.blobDelete(repos().repo2, digest));
        },
        opts,
      );

    pushed('post only', (d, b) => api.blobPostOnly(repos().repo, d, b, digestHeader));
    pushed('post+put', (d, b) => api.blobPostPut(repos().repo, d, b, digestHeader));
    pushed('chunked single', (d, b) =>
      api.blobPatchChunked(repos().repo, d, b, {
        ...digestHeader,
        minLength: (v) => {
          if (v !== '' && Number.parseInt(v, 10) > minChunk) minChunk = Number.parseInt(v, 10);
        },
      }),
    );
    pushed('stream', (d, b) => api.blobPatchStream(repos().repo, d, b, digestHeader));
    pushed('mount', async (d, b) => {
      await pushBlobAny(repos().repo2, d, b);
      await api.blobMount(repos().repo, repos().repo2, d, b, digestHeader);
    });
    pushed(
      'mount anonymous',
      async (d, b) => {
        await pushBlobAny(repos().repo2, d, b);
        await api.blobMount(repos().repo, '', d, b, digestHeader);
      },
      undefined,
      // Mounting without `from` is optional; neither Wharf nor Distribution does it.
      { mayBeUnsupported: true },
    );
    check('mount missing', async () => {
      const { digest, bytes } = gen();
      // Not pushed to repo2: the mount must fall back to an upload.
      await assert.rejects(api.blobMount(repos().repo, repos().repo2, digest, bytes, digestHeader), api.Unsupported, 'blob mount of missing blob incorrectly succeeded');
      await api.blobDelete(repos().repo, digest);
    });
    pushed('post cancel', () => api.blobPostCancel(repos().repo), undefined, { noPull: true });
    const big = () => minChunk * 3 - 5;
    pushed('chunked multi', (d, b) => api.blobPatchChunked(repos().repo, d, b, digestHeader), big);
    pushed('chunked multi and put chunk', (d, b) => api.blobPatchChunked(repos().repo, d, b, { ...digestHeader, putLastChunk: true }), big);
    pushed('chunked out-of-order', (d, b) => api.blobPatchChunked(repos().repo, d, b, { ...digestHeader, outOfOrder: true }), big);
    pushed('chunked out-of-order and put chunk', (d, b) => api.blobPatchChunked(repos().repo, d, b, { ...digestHeader, outOfOrder: true, putLastChunk: true }), big);

    describe('range requests', () => {
      const { digest, bytes } = td.genBlob({ blobSize: 2048, algo });
      const len = bytes.length;
      check('setup', () => pushBlobAny(repos().repo, digest, bytes));
      const ranged = (range: string, start: number | null, end: number) =>
        check(`range ${range.replace('bytes=', '')}`, async () => {
          const resp = await api.blobGet(repos().repo, digest, undefined, {}, { Range: range });
          // As in Go, any range check may fall back to the whole blob: ranges are unsupported then.
          if (resp.status === 200 && resp.body.equals(bytes)) throw new api.Unsupported('range request unsupported, full blob returned');
          if (start === null) return assert.equal(resp.status, 416, resp.describe());
          assert.equal(resp.status, 206, resp.describe());
          assert.ok(resp.body.equals(bytes.subarray(start, end + 1)), 'the bytes of the range');
          assert.equal(resp.header('Content-Length'), String(end - start + 1));
          assert.ok([`bytes ${start}-${end}/${len}`, `bytes ${start}-${end}/*`].includes(resp.header('Content-Range')), `Content-Range ${resp.header('Content-Range')}`);
        });
      ranged('bytes=500-1499', 500, 1499);
      ranged('bytes=500-', 500, len - 1);
      ranged('bytes=-500', len - 500, len - 1);
      ranged('bytes=2000-5000', 2000, len - 1);
      ranged('bytes=500-0', null, 0);
      ranged('bytes=5000-10000', null, 0);
      check('cleanup', () => api.blobDelete(repos().repo, digest));
    });

    for (const [name, body] of [
      ['empty', Buffer.alloc(0)],
      ['emptyJSON', Buffer.from('{}')],
    ] as const) {
      check(name, async (errs) => {
        const digest = td.addBlob(body, { algo });
        await errs.run(() => pushBlobAny(repos().repo, digest, body));
        await errs.run(() => api.blobHead(repos().repo, digest, body, digestHeader));
        await errs.run(() => api.blobGet(repos().repo, digest, body, digestHeader).then(() => undefined));
        await errs.run(() => api.blobDelete(repos().repo, digest));
      });
    }

    const bad = (name: string, push: (digest: string, body: Buffer) => Promise<void>) =>
      check(name, async () => {
        const { digest, bytes } = gen(big());
        // The bytes no longer match the digest they are pushed under.
        await push(digest, Buffer.concat([bytes, Buffer.from('oh no')]));
      });
    const badDigest = { badDigest: true };
    bad('bad digest post only', (d, b) => api.blobPostOnly(repos().repo, d, b, badDigest));
    bad('bad digest post+put', (d, b) => api.blobPostPut(repos().repo, d, b, badDigest));
    bad('bad digest chunked', (d, b) => api.blobPatchChunked(repos().repo, d, b, badDigest));
    bad('bad digest chunked and put chunk', (d, b) => api.blobPatchChunked(repos().repo, d, b, { ...badDigest, putLastChunk: true }));
    bad('bad digest stream', (d, b) => api.blobPatchStream(repos().repo, d, b, badDigest));
  });
}

function dataSetTests(td: TestData): void {
  describe(td.name, () => {
    const repo = () => repos().repo;
    check('push', async (errs) => {
      for (const [digest, body] of td.blobs) await errs.run(() => pushBlobAny(repo(), digest, body));
      for (const digest of td.manOrder) {
        const body = td.manifests.get(digest) ?? Buffer.alloc(0);
        const flags = td.flagsOf(digest);
        const tags = flags.tagParam ? [...td.tags].filter(([, d]) => d === digest).map(([t]) => t) : [];
        await errs.run(async () => {
          await api.manifestPut(repo(), digest, digest, body, { ...digestHeader, tags, referrers: true, ...(flags.expectBadDigest ? { badDigest: true } : {}) });
          for (const t of tags) td.tagPushed.add(t);
        });
      }
      for (const [tag, digest] of td.tags) {
        if (td.tagPushed.has(tag)) continue;
        await errs.run(async () => {
          await api.manifestPut(repo(), tag, digest, td.manifests.get(digest) ?? Buffer.alloc(0), { ...digestHeader, referrers: true });
          td.tagPushed.add(tag);
        });
      }
    });

    check('tag-list', async (errs) => {
      const tags = await api.tagList(repo());
      for (const tag of td.tags.keys()) if (!tags.includes(tag)) errs.add(new Error(`missing tag ${JSON.stringify(tag)} from listing`));
      if (tags.length >= 2) {
        const sorted = [...tags].sort();
        const end = Math.floor(sorted.length / 2);
        const last = sorted[end - 1] ?? '';
        const partial = await api.tagList(repo(), last);
        for (const t of sorted.slice(0, end)) if (partial.includes(t)) errs.add(new Error(`tag ${t} returned when last set to ${last}`));
        for (const t of sorted.slice(end)) if (!partial.includes(t)) errs.add(new Error(`tag ${t} missing when last set to ${last}`));
      }
    });

    const pullable = (digest: string) => !td.flagsOf(digest).skipPull;
    check('head', async (errs) => {
      for (const [tag, d] of td.tags) if (pullable(d)) await errs.run(() => api.manifestHead(repo(), tag, d, td.manifests.get(d), digestHeader).then(() => undefined));
      for (const d of td.manOrder) if (pullable(d)) await errs.run(() => api.manifestHead(repo(), d, d, td.manifests.get(d), digestHeader).then(() => undefined));
      for (const [d, body] of td.blobs) await errs.run(() => api.blobHead(repo(), d, body, digestHeader));
    });

    check('pull', async (errs) => {
      for (const [tag, d] of td.tags) if (pullable(d)) await errs.run(() => api.manifestGet(repo(), tag, d, td.manifests.get(d), digestHeader).then(() => undefined));
      for (const d of td.manOrder) if (pullable(d)) await errs.run(() => api.manifestGet(repo(), d, d, td.manifests.get(d), digestHeader).then(() => undefined));
      for (const [d, body] of td.blobs) await errs.run(() => api.blobGet(repo(), d, body, digestHeader).then(() => undefined));
    });

    if (td.referrers.size > 0) {
      check('referrers', async (errs) => {
        const same = (a: Descriptor, goal: Descriptor) =>
          a.digest === goal.digest &&
          a.mediaType === goal.mediaType &&
          a.size === goal.size &&
          (a.artifactType ?? '') === (goal.artifactType ?? '') &&
          Object.entries(goal.annotations ?? {}).every(([k, v]) => a.annotations?.[k] === v);
        for (const [subject, goals] of td.referrers) {
          const all = await api.referrersList(repo(), subject);
          for (const goal of goals) if (!all.manifests.some((m) => same(m, goal))) errs.add(new Error(`entry missing from referrers list, subject ${subject}, referrer ${JSON.stringify(goal)}`));
          for (const type of new Set(goals.map((g) => g.artifactType ?? ''))) {
            const filtered = await api.referrersList(repo(), subject, type);
            const applied = filtered.filtersApplied.split(',').some((f) => f.trim() === 'artifactType');
            if (!applied) errs.add(new api.Unsupported('registry does not set the expected OCI-Filters-Applied header for the artifactType'));
            for (const goal of goals) {
              if ((!applied || goal.artifactType === type) && !filtered.manifests.some((m) => same(m, goal))) {
                errs.add(new Error(`entry missing from referrers list filtered by ${type}, subject ${subject}, referrer ${goal.digest}`));
              }
            }
            if (applied) for (const m of filtered.manifests) if ((m.artifactType ?? '') !== type) errs.add(new Error(`referrers filter for artifactType ${type} included ${m.digest}`));
          }
        }
      });
    }

    check('delete', async (errs) => {
      for (const tag of td.tags.keys()) if (td.tagPushed.has(tag)) await errs.run(() => api.manifestDelete(repo(), tag));
      for (const d of [...td.manOrder].reverse()) await errs.run(() => api.manifestDelete(repo(), d));
      for (const d of td.blobs.keys()) await errs.run(() => api.blobDelete(repo(), d));
    });
  });
}

/** The current suite's TestAll, after the legacy workflows. */
export function testCurrent(): void {
  describe('Current suite (conformance/run.go)', () => {
    check('ping', () => api.ping());
    describe('empty', () => {
      check('tag list', async () => {
        await api.tagList(repos().repo);
      });
      check('referrers', async () => {
        assert.deepEqual((await api.referrersList(repos().repo, digestOf(randText()))).manifests, []);
      });
    });
    blobTests('sha256');
    blobTests('sha512');
    for (const td of generateDataSets()) dataSetTests(td);
    describe('missing-manifest', () => {
      check('by-digest', async () => {
        const d = digestOf(randomBytes(1024));
        assert.equal((await api.manifestGet(repos().repo, d, d, undefined)).status, 404);
      });
      check('by-tag', async () => {
        assert.equal((await api.manifestGet(repos().repo, `missing-${randText().toLowerCase().slice(0, 20)}`, '', undefined)).status, 404);
      });
    });
    describe('invalid-digest-format', () => {
      const td = new TestData('Invalid Manifest Digest');
      const manifest = td.genManifestFull({ layerCount: 1 });
      check('manifest-put', async (errs) => {
        for (const [d, body] of td.blobs) await errs.run(() => pushBlobAny(repos().repo, d, body));
        await errs.run(() => api.manifestPut(repos().repo, 'sha256:baddigeststring', manifest, td.manifests.get(manifest) ?? Buffer.alloc(0), { badDigest: true }));
      });
      check('manifest-get', async () => {
        const resp = await api.manifestGet(repos().repo, 'sha256:baddigeststring', manifest, undefined);
        assert.ok([400, 404].includes(resp.status), resp.describe());
      });
      check('cleanup', async (errs) => {
        for (const d of td.blobs.keys()) await errs.run(() => api.blobDelete(repos().repo, d));
      });
    });
  });
}
