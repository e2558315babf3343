import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import pino from 'pino';
import { RegistryError } from '../errors.ts';
import { EventBus } from '../lib/events.ts';
import { type Metadata, openSqlite } from '../metadata/metadata.ts';
import { type Digest, digestOf } from '../oci/digest.ts';
import { MediaType } from '../oci/mediatypes.ts';
import { parseRepoName, parseTag, type RepoName, type Tag } from '../oci/name.ts';
import { MemoryStore } from '../storage/memory.ts';
import type { RegistryEvents } from './events.ts';
import { RegistryService } from './registry.ts';
import { UploadService } from './uploads.ts';
import { ensurePackage } from '../../test/helpers/packages.ts';

interface Harness {
  metadata: Metadata;
  events: EventBus<RegistryEvents>;
  registry: RegistryService;
  uploads: UploadService;
  seen: { type: keyof RegistryEvents; event: unknown }[];
  setNow: (t: number) => void;
}

let h: Harness;

beforeEach(async () => {
  const metadata = openSqlite(':memory:');
  await metadata.migrate();
  const store = new MemoryStore();
  const events = new EventBus<RegistryEvents>();
  let now = 1_000;
  const clock = () => now;
  const seen: Harness['seen'] = [];
  for (const type of ['manifest.pushed', 'manifest.deleted', 'tag.deleted', 'manifest.pulled'] as const) {
    events.on(type, (event) => {
      seen.push({ type, event });
    });
  }
  h = {
    metadata,
    events,
    registry: new RegistryService({ metadata, blobs: store, events, clock }),
    uploads: new UploadService({ metadata, uploads: store, clock, log: pino({ level: 'silent' }), maxBlobBytes: 0 }),
    seen,
    setNow: (t) => {
      now = t;
    },
  };
});

afterEach(async () => {
  await h.events.settled();
  await h.metadata.close();
});

const repo = parseRepoName('acme/web');
const tag = (t: string): Tag => parseTag(t);

async function* body(s: string): AsyncGenerator<Uint8Array> {
  yield Buffer.from(s);
}

async function blob(r: RepoName, content: string): Promise<{ mediaType: string; digest: Digest; size: number }> {
  const id = await h.uploads.start(r);
  const digest = digestOf(Buffer.from(content));
  await h.uploads.complete(r, id, digest, { stream: body(content), length: content.length });
  return { mediaType: 'application/octet-stream', digest, size: content.length };
}

async function manifestBytes(r: RepoName, seed: string, extra: Record<string, unknown> = {}): Promise<Buffer> {
  const config = { ...(await blob(r, `{"seed":"${seed}"}`)), mediaType: MediaType.OciConfig };
  const layer = await blob(r, `layer ${seed}`);
  return Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciManifest, config, layers: [layer], ...extra }));
}

async function rejectsCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => err instanceof RegistryError && err.code === code);
}

describe('RegistryService.putManifest', () => {
  test('stores the record with the clock’s time and emits manifest.pushed once with deduplicated tags', async () => {
    const bytes = await manifestBytes(repo, 'a');
    h.setNow(42_000);
    const result = await h.registry.putManifest(repo, { kind: 'tag', tag: tag('1.0') }, bytes, MediaType.OciManifest, [tag('latest'), tag('1.0')]);
    assert.equal(result.digest, digestOf(bytes));
    assert.deepEqual(result.tags, ['1.0', 'latest']);
    await h.events.settled();
    const pushed = h.seen.filter((e) => e.type === 'manifest.pushed');
    assert.equal(pushed.length, 1);
    const ev = pushed[0]?.event as RegistryEvents['manifest.pushed'];
    assert.equal(ev.repo, repo);
    assert.deepEqual(ev.tags, ['1.0', 'latest']);
    assert.equal(ev.manifest.digest, result.digest);
    assert.equal(ev.manifest.createdAt, 42_000);
    assert.ok(ev.manifest.content.equals(bytes));
    const rec = await h.registry.manifest(repo, { kind: 'tag', tag: tag('latest') });
    assert.equal(rec.artifactType, MediaType.OciConfig);
    assert.equal(rec.configMediaType, MediaType.OciConfig);
  });

  test('a rejected manifest writes nothing and emits nothing', async () => {
    const other = parseRepoName('acme/other');
    const bytes = await manifestBytes(other, 'b'); // blobs linked to another repository only
    await rejectsCode(h.registry.putManifest(repo, { kind: 'tag', tag: tag('x') }, bytes, MediaType.OciManifest), 'MANIFEST_BLOB_UNKNOWN');
    await h.events.settled();
    assert.equal(h.seen.length, 0);
    assert.ok(!(await h.metadata.packages.names({ limit: 10 })).includes(repo), 'no repository created');
    await rejectsCode(h.registry.manifest(repo, { kind: 'digest', digest: digestOf(bytes) }), 'MANIFEST_UNKNOWN');
  });

  test('an index child that exists only as a blob is not a manifest', async () => {
    const b = await blob(repo, 'just a blob');
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [{ ...b, mediaType: MediaType.OciManifest }] }));
    await rejectsCode(h.registry.putManifest(repo, { kind: 'tag', tag: tag('i') }, index, MediaType.OciIndex), 'MANIFEST_BLOB_UNKNOWN');
  });
});

describe('RegistryService deletes', () => {
  test('delete by tag emits tag.deleted with the digest; by digest manifest.deleted', async () => {
    const bytes = await manifestBytes(repo, 'c');
    const { digest } = await h.registry.putManifest(repo, { kind: 'tag', tag: tag('a') }, bytes, MediaType.OciManifest, [tag('b')]);
    await h.registry.deleteManifest(repo, { kind: 'tag', tag: tag('a') });
    await h.registry.deleteManifest(repo, { kind: 'digest', digest });
    await rejectsCode(h.registry.deleteManifest(repo, { kind: 'tag', tag: tag('b') }), 'MANIFEST_UNKNOWN');
    await h.events.settled();
    assert.deepEqual(
      h.seen.filter((e) => e.type !== 'manifest.pushed'),
      [
        { type: 'tag.deleted', event: { repo, tag: 'a', digest } },
        { type: 'manifest.deleted', event: { repo, digest } },
      ],
    );
  });

  test('deleteBlob unlinks; a second delete is BLOB_UNKNOWN', async () => {
    const b = await blob(repo, 'to delete');
    assert.equal((await h.registry.blob(repo, b.digest)).size, b.size);
    await h.registry.deleteBlob(repo, b.digest);
    await rejectsCode(h.registry.blob(repo, b.digest), 'BLOB_UNKNOWN');
    await rejectsCode(h.registry.deleteBlob(repo, b.digest), 'BLOB_UNKNOWN');
  });
});

describe('RegistryService lists', () => {
  test('catalog filtered by visibility pages over the visible names only', async () => {
    const names = Array.from({ length: 30 }, (_, i) => `org/r${String(i).padStart(2, '0')}`);
    for (const n of names) await ensurePackage(h.metadata, parseRepoName(n), 'org', 1);
    const visible = async (batch: RepoName[]) => new Set(batch.filter((name) => Number(name.slice(-2)) % 3 === 0));
    const expected = names.filter((n) => Number(n.slice(-2)) % 3 === 0);
    const all: string[] = [];
    let last: string | undefined;
    for (let i = 0; i < 10; i++) {
      const page = await h.registry.catalog({ n: 4, last }, visible);
      all.push(...page.items);
      if (page.next === null) break;
      assert.equal(page.items.length, 4);
      assert.equal(page.next, page.items[3]);
      last = page.next;
    }
    assert.deepEqual(all, expected);
    assert.deepEqual((await h.registry.catalog({}, visible)).items, expected);
    assert.deepEqual((await h.registry.catalog({ n: 0 }, visible)).items, []);
  });

  test('referrers are listed oldest first', async () => {
    const subject = { mediaType: MediaType.OciManifest, digest: digestOf(Buffer.from('subject')), size: 7 };
    const digests: Digest[] = [];
    for (const [i, t] of [3_000, 1_000, 2_000].entries()) {
      h.setNow(t);
      const bytes = await manifestBytes(repo, `ref${i}`, { artifactType: `application/x.${i}`, subject });
      digests.push((await h.registry.putManifest(repo, { kind: 'digest', digest: digestOf(bytes) }, bytes, MediaType.OciManifest)).digest);
    }
    const index = JSON.parse((await h.registry.referrers(repo, subject.digest)).toString()) as { manifests: { digest: string }[] };
    assert.deepEqual(index.manifests.map((m) => m.digest), [digests[1], digests[2], digests[0]]);
  });

  test('recordPull emits manifest.pulled', async () => {
    const d = digestOf(Buffer.from('m'));
    h.registry.recordPull(repo, { digest: d, mediaType: 'application/vnd.oci.image.manifest.v1+json', configMediaType: null, artifactType: null });
    await h.events.settled();
    assert.deepEqual(h.seen, [{ type: 'manifest.pulled', event: { repo, digest: d } }]);
  });
});
