/**
 * The garbage-collection contract, run on every blob store × metadata dialect pair (gc.test.ts):
 * what a run frees and what it must keep, dry runs reporting exactly what a run frees, the grace
 * and what renews it, orphaned referrers, abandoned upload sessions, pins, and the lease.
 * Services are wired as main.ts wires them, on a clock the test moves.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import pino from 'pino';
import { EventBus } from '../../src/lib/events.ts';
import type { Metadata } from '../../src/metadata/metadata.ts';
import { type Digest, digestOf } from '../../src/oci/digest.ts';
import { MediaType } from '../../src/oci/mediatypes.ts';
import { parseRepoName, parseTag, type RepoName } from '../../src/oci/name.ts';
import type { RegistryEvents } from '../../src/services/events.ts';
import { GarbageCollector, type GcSummary, touchEveryMs } from '../../src/services/gc/collector.ts';
import { JobRunner } from '../../src/services/jobs/runner.ts';
import { RegistryService } from '../../src/services/registry.ts';
import { UploadService } from '../../src/services/uploads.ts';
import type { BlobStore, UploadStore } from '../../src/storage/types.ts';

export interface GcHandle {
  metadata: Metadata;
  store: BlobStore & UploadStore;
  cleanup: () => Promise<void>;
}

export type GcFactory = () => Promise<GcHandle>;

const log = pino({ level: 'silent' });
const HOUR = 3600_000;

async function* once(b: Buffer): AsyncIterable<Uint8Array> {
  yield b;
}

export interface Fixture {
  metadata: Metadata;
  store: BlobStore & UploadStore;
  registry: RegistryService;
  uploads: UploadService;
  now: { t: number };
  advance(ms: number): void;
  gc(opts?: { dryRun?: boolean; holder?: string }): Promise<GcSummary>;
  blob(repo: RepoName, bytes: Buffer): Promise<{ digest: Digest; size: number }>;
  image(repo: RepoName, tag: string | null, layers: Buffer[], extra?: Record<string, unknown>): Promise<{ digest: Digest; blobs: Digest[]; bytes: Buffer }>;
  present(d: Digest): Promise<boolean>;
}

export async function fixture(h: GcHandle, graceSeconds = 3600): Promise<Fixture> {
  const now = { t: Date.now() };
  const clock = () => now.t;
  const events = new EventBus<RegistryEvents>(log);
  const registry = new RegistryService({ metadata: h.metadata, blobs: h.store, events, clock, touchEveryMs: touchEveryMs(graceSeconds) });
  const uploads = new UploadService({ metadata: h.metadata, uploads: h.store, clock, log, maxBlobBytes: 0 });
  const collector = new GarbageCollector({ metadata: h.metadata, store: h.store, uploads, events, clock, graceSeconds, staleUploadSeconds: 24 * 3600 });
  const runners = new Map<string, JobRunner>();
  const f: Fixture = {
    metadata: h.metadata,
    store: h.store,
    registry,
    uploads,
    now,
    advance: (ms) => void (now.t += ms),
    async gc(opts = {}) {
      const holder = opts.holder ?? 'test';
      let runner = runners.get(holder);
      if (!runner) runners.set(holder, (runner = new JobRunner({ metadata: h.metadata, clock, log, holder })));
      const out = await runner.run(collector, { options: { dryRun: opts.dryRun ?? false }, trigger: 'cli', actor: 'test' });
      if (out.status !== 'succeeded') throw new Error(`gc ${out.status}: ${out.status === 'busy' ? out.holder : String(out.error)}`);
      assert.deepEqual(out.summary.errors, []);
      return out.summary;
    },
    async blob(repo, bytes) {
      const digest = digestOf(bytes);
      const id = await uploads.start(repo);
      await uploads.complete(repo, id, digest, { stream: once(bytes), length: bytes.length });
      return { digest, size: bytes.length };
    },
    async image(repo, tag, layers, extra = {}) {
      const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, n: randomBytes(4).toString('hex') }));
      const c = await f.blob(repo, config);
      const ls = [];
      for (const l of layers) ls.push(await f.blob(repo, l));
      const manifest = {
        schemaVersion: 2,
        mediaType: MediaType.OciManifest,
        config: { mediaType: MediaType.OciConfig, digest: c.digest, size: c.size },
        layers: ls.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: l.digest, size: l.size })),
        ...extra,
      };
      const bytes = Buffer.from(JSON.stringify(manifest));
      const ref = tag === null ? { kind: 'digest' as const, digest: digestOf(bytes) } : { kind: 'tag' as const, tag: parseTag(tag) };
      const res = await registry.putManifest(repo, ref, bytes, MediaType.OciManifest);
      return { digest: res.digest, blobs: [c.digest, ...ls.map((l) => l.digest)], bytes };
    },
    async present(d) {
      return (await h.store.stat(d)) !== null;
    },
  };
  return f;
}

const repo = (s: string) => parseRepoName(s);
const layer = (n: number) => randomBytes(n);

export function gcContract(name: string, factory: GcFactory): void {
  describe(`gc contract: ${name}`, () => {
    const handles: GcHandle[] = [];
    async function fresh(grace = 3600): Promise<Fixture> {
      const h = await factory();
      handles.push(h);
      return fixture(h, grace);
    }
    after(async () => {
      for (const h of handles) await h.cleanup();
    });

    test('a deleted image: its unique bytes are freed once out of the grace, shared and referenced ones stay; the dry run reports the same', async () => {
      const f = await fresh();
      const web = repo('acme/web');
      const shared = layer(4096);
      const a = await f.image(web, 'a', [shared, layer(70_000)]);
      const b = await f.image(web, 'b', [shared, layer(50_000)]);
      await f.registry.deleteManifest(web, { kind: 'digest', digest: a.digest });

      const early = await f.gc();
      assert.equal(early.bytesFreed, 0, 'links uploaded within the grace keep the bytes');
      assert.equal(early.blobsDeleted, 0);

      f.advance(2 * HOUR);
      const dry = await f.gc({ dryRun: true });
      const uniqueA = a.blobs.filter((d) => !b.blobs.includes(d));
      assert.equal(dry.blobsDeleted, uniqueA.length);
      for (const d of a.blobs) assert.equal(await f.present(d), true, 'a dry run frees nothing');
      const real = await f.gc();
      assert.equal(real.blobsDeleted, dry.blobsDeleted);
      assert.equal(real.bytesFreed, dry.bytesFreed, 'the dry run reported exactly what the run freed');
      assert.equal(real.linksRemoved, dry.linksRemoved);
      assert.ok(real.bytesFreed >= 70_000);
      for (const d of uniqueA) assert.equal(await f.present(d), false);
      for (const d of b.blobs) {
        assert.equal(await f.present(d), true);
        assert.notEqual(await f.metadata.blobLinks.get(web, d), null, 'links of a remaining manifest stay');
      }
      const again = await f.gc();
      assert.equal(again.blobsDeleted + again.linksRemoved, 0, 'a second run finds nothing');
      assert.equal(again.phases.blobs.scanned, real.phases.blobs.scanned - real.blobsDeleted);
    });

    test('bytes shared with another repository stay while that repository needs them', async () => {
      const f = await fresh();
      const shared = layer(10_000);
      const a = await f.image(repo('acme/a'), 'v1', [shared]);
      await f.image(repo('acme/b'), 'v1', [shared]);
      await f.registry.deleteManifest(repo('acme/a'), { kind: 'digest', digest: a.digest });
      f.advance(2 * HOUR);
      await f.gc();
      assert.equal(await f.present(digestOf(shared)), true);
      assert.equal(await f.metadata.blobLinks.get(repo('acme/a'), digestOf(shared)), null, "acme/a's unused link went");
    });

    test('HEAD/GET renews the grace without a write per request; a manifest PUT after it succeeds', async () => {
      const f = await fresh();
      const web = repo('acme/web');
      const l = await f.blob(web, layer(1000));
      f.advance(HOUR - 60_000);
      await f.registry.blob(web, l.digest);
      const touched = (await f.metadata.blobLinks.get(web, l.digest))?.touchedAt;
      assert.equal(touched, f.now.t, 'a stale touch is rewritten on use');
      f.advance(1000);
      await f.registry.blob(web, l.digest);
      assert.equal((await f.metadata.blobLinks.get(web, l.digest))?.touchedAt, touched, 'a fresh touch is not rewritten');
      f.advance(HOUR - 1000);
      await f.gc();
      assert.equal(await f.present(l.digest), true, 'checked within the grace: still in use');
      // The client that saw the blob pushes its manifest now.
      const cfg = await f.blob(web, Buffer.from('{}'));
      const manifest = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaType.OciManifest,
          config: { mediaType: MediaType.OciConfig, digest: cfg.digest, size: cfg.size },
          layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: l.digest, size: l.size }],
        }),
      );
      await f.registry.putManifest(web, { kind: 'tag', tag: parseTag('late') }, manifest, MediaType.OciManifest);
      f.advance(10 * HOUR);
      await f.gc();
      assert.equal(await f.present(l.digest), true, 'referenced now');
    });

    test('an unreferenced upload out of the grace is freed with its link; deleting a blob through /v2 unlinks it', async () => {
      const f = await fresh();
      const web = repo('acme/web');
      const loose = await f.blob(web, layer(3000));
      const img = await f.image(web, 'v1', [layer(2000)]);
      const layerDigest = img.blobs[1] as Digest;
      await f.registry.deleteBlob(web, layerDigest);
      f.advance(2 * HOUR);
      const s = await f.gc();
      assert.equal(await f.present(loose.digest), false);
      assert.equal(s.linksRemoved, 1);
      assert.equal(await f.present(layerDigest), true, 'unlinked but still referenced by a manifest: the bytes stay');
      await f.registry.deleteManifest(web, { kind: 'digest', digest: img.digest });
      await f.gc();
      assert.equal(await f.present(layerDigest), false, 'then freed when nothing references them');
    });

    test('a manifest listed by an index cannot be deleted; the index names it', async () => {
      const f = await fresh();
      const web = repo('acme/web');
      const child = await f.image(web, null, [layer(100)]);
      const index = Buffer.from(
        JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [{ mediaType: MediaType.OciManifest, digest: child.digest, size: child.bytes.length }] }),
      );
      const idx = await f.registry.putManifest(web, { kind: 'tag', tag: parseTag('multi') }, index, MediaType.OciIndex);
      await assert.rejects(f.registry.deleteManifest(web, { kind: 'digest', digest: child.digest }), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'MANIFEST_REFERENCED');
        assert.match(err.message, new RegExp(`listed by index ${idx.digest} \\(tag multi\\)`));
        return true;
      });
      await f.registry.deleteManifest(web, { kind: 'digest', digest: idx.digest });
      await f.registry.deleteManifest(web, { kind: 'digest', digest: child.digest });
    });

    test('untagged referrers whose subject is gone go after the grace, with referrers of them; tagged ones stay', async () => {
      const f = await fresh();
      const web = repo('acme/web');
      const subject = await f.image(web, 'v1', [layer(100)]);
      const subjectDescriptor = { mediaType: MediaType.OciManifest, digest: subject.digest, size: subject.bytes.length };
      const sbom = await f.image(web, null, [layer(200)], { artifactType: 'application/spdx+json', subject: subjectDescriptor });
      const sig = await f.image(web, null, [layer(300)], {
        artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json',
        subject: { mediaType: MediaType.OciManifest, digest: sbom.digest, size: sbom.bytes.length },
      });
      const kept = await f.image(web, 'named-sbom', [layer(400)], { artifactType: 'application/spdx+json', subject: subjectDescriptor });
      await f.registry.deleteManifest(web, { kind: 'digest', digest: subject.digest });
      const early = await f.gc();
      assert.equal(early.manifestsDeleted, 0, 'within the grace a referrer may be waiting for its subject');
      f.advance(2 * HOUR);
      const dry = await f.gc({ dryRun: true });
      assert.equal(dry.manifestsDeleted, 2);
      const real = await f.gc();
      assert.equal(real.manifestsDeleted, 2, 'the SBOM and, in the same run, its signature');
      assert.equal(real.bytesFreed, dry.bytesFreed);
      assert.equal(await f.metadata.manifests.get(web, sbom.digest), null);
      assert.equal(await f.metadata.manifests.get(web, sig.digest), null);
      assert.notEqual(await f.metadata.manifests.get(web, kept.digest), null, 'a tagged referrer is a version someone named');
      assert.equal(await f.present(sig.blobs[1] as Digest), false);
    });

    test('a session committing into a digest pins its bytes; abandoned sessions and their bytes go', async () => {
      const f = await fresh();
      const web = repo('acme/web');
      // Orphaned bytes (a commit that died before linking) with a session pinning them.
      const bytes = layer(5000);
      const digest = digestOf(bytes);
      const raw = 'orphan-' + randomBytes(4).toString('hex');
      await f.store.create(raw);
      await f.store.append(raw, 0, once(bytes));
      await f.store.commit(raw, digest);
      const pinned = await f.uploads.start(web);
      await f.metadata.transaction((m) => m.uploads.pin(pinned, digest));
      f.advance(2 * HOUR);
      await f.gc();
      assert.equal(await f.present(digest), true, 'pinned by a session');
      // A session idle past uploads.staleAfterSeconds is purged, its bytes too, then its pin is gone.
      const idle = await f.uploads.start(web);
      await f.uploads.append(web, idle, 0, { stream: once(Buffer.from('partial')), length: 7 });
      f.advance(25 * HOUR);
      const dry = await f.gc({ dryRun: true });
      assert.equal(dry.uploadsRemoved, 2);
      assert.equal(dry.blobsDeleted, 1);
      const s = await f.gc();
      assert.equal(s.uploadsRemoved, 2);
      assert.equal(await f.present(digest), false);
      for await (const stored of f.store.sessions()) assert.fail(`session ${stored.id} left in storage`);
    });

    test('a pin (one statement) waits for a GC batch holding its digest, a batch after it sees it; GC leaves blob_locks empty', async () => {
      const f = await fresh();
      const web = repo('acme/web');
      const digest = digestOf(layer(300));
      const id = await f.uploads.start(web);
      let release = () => {};
      const gate = new Promise<void>((r) => (release = r));
      let pinned = false;
      // A GC batch holds the digest's lock from before the pin until its commit.
      let locked = () => {};
      const holding = new Promise<void>((r) => (locked = r));
      const batch = f.metadata.transaction(async (m) => {
        await m.gc.lockBlobs([digest]);
        locked();
        await gate;
        const seen = await m.gc.referenced([digest]);
        await m.gc.unlockBlobs([digest]);
        return seen.has(digest);
      });
      await holding;
      const pin = f.metadata.uploads.pin(id, digest, web).then((ok) => ((pinned = true), ok));
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(pinned, false, 'the pin waits for the batch');
      release();
      assert.equal(await batch, false, 'the batch decided before the pin');
      assert.equal(await pin, true);
      // A batch after the pin sees it.
      const seen = await f.metadata.transaction(async (m) => {
        await m.gc.lockBlobs([digest]);
        const r = await m.gc.referenced([digest]);
        await m.gc.unlockBlobs([digest]);
        return r.has(digest);
      });
      assert.equal(seen, true, 'a batch after the pin sees it');
      assert.equal(await f.metadata.uploads.pin(id, digest, repo('acme/other')), false, 'a session of another repository is not pinned');
      // A pin left without its link (a killed push; on PostgreSQL its blob_locks row stays): GC removes the row once nothing pins.
      await f.metadata.uploads.pin(id, digest, web);
      await f.metadata.uploads.delete(id);
      await f.gc();
      const rows = await f.metadata.db.selectFrom('blob_locks').select('digest').execute();
      assert.deepEqual(rows, [], 'blob_locks is empty at rest');
    });

    test('stored session bytes no database row owns are removed once old', async () => {
      const f = await fresh();
      const id = 'stray-' + randomBytes(4).toString('hex');
      await f.store.create(id);
      await f.store.append(id, 0, once(Buffer.from('left behind')));
      await f.gc();
      const ids = async () => {
        const out: string[] = [];
        for await (const s of f.store.sessions()) out.push(s.id);
        return out;
      };
      assert.deepEqual(await ids(), [id], 'too young: it may be a session being created');
      f.advance(HOUR);
      const s = await f.gc();
      assert.equal(s.uploadsRemoved, 1);
      assert.deepEqual(await ids(), []);
    });

    test('one run at a time: a holder of the gc lease (a backup) keeps real and dry runs out', async () => {
      const f = await fresh();
      assert.equal(await f.metadata.leases.acquire('gc', 'backup', f.now.t, f.now.t + 60_000), true);
      await assert.rejects(f.gc(), /gc busy: backup/);
      await assert.rejects(f.gc({ dryRun: true }), /gc busy: backup/);
      await f.metadata.leases.release('gc', 'backup');
      await f.gc({ dryRun: true });
      const audit = await f.metadata.audit.list({ limit: 10 });
      const row = audit.find((a) => a.action === 'gc.run');
      assert.equal(row?.detail?.['status'], 'succeeded');
      assert.equal((row?.detail?.['summary'] as { dryRun?: boolean } | undefined)?.dryRun, true);
    });
  });
}
