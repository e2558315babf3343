import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import pino from 'pino';
import { RegistryError } from '../errors.ts';
import { type Metadata, openSqlite } from '../metadata/metadata.ts';
import { digestOf } from '../oci/digest.ts';
import { parseRepoName } from '../oci/name.ts';
import { MemoryStore } from '../storage/memory.ts';
import { UploadService } from './uploads.ts';

let metadata: Metadata;
let store: MemoryStore;
let now: number;
let uploads: UploadService;

function service(maxBlobBytes = 0): UploadService {
  return new UploadService({ metadata, uploads: store, clock: () => now, log: pino({ level: 'silent' }), maxBlobBytes });
}

beforeEach(async () => {
  metadata = openSqlite(':memory:');
  await metadata.migrate();
  store = new MemoryStore();
  now = 10_000;
  uploads = service();
});

afterEach(async () => {
  await metadata.close();
});

const web = parseRepoName('acme/web');
const api = parseRepoName('acme/api');

function chunk(s: string, declared: number | undefined = s.length) {
  return {
    stream: (async function* () {
      yield Buffer.from(s);
    })(),
    length: declared,
  };
}

const code = (c: string) => (err: unknown) => err instanceof RegistryError && err.code === c;

describe('UploadService', () => {
  test('a session is recorded with its repository and times; appends touch it', async () => {
    const id = await uploads.start(web);
    assert.deepEqual(await metadata.uploads.get(id), { id, repo: web, createdAt: 10_000, updatedAt: 10_000 });
    now = 15_000;
    assert.equal(await uploads.append(web, id, 0, chunk('abc')), 3);
    assert.equal((await metadata.uploads.get(id))?.updatedAt, 15_000);
    assert.equal(await uploads.append(web, id, undefined, chunk('de')), 5, 'no offset = at the end');
    assert.equal(await uploads.status(web, id), 5);
  });

  test('with sessionTouchEveryMs a chunk writes the touch only when the stored one is that old', async () => {
    const lazy = new UploadService({ metadata, uploads: store, clock: () => now, log: pino({ level: 'silent' }), maxBlobBytes: 0, sessionTouchEveryMs: () => 10_000 });
    const id = await lazy.start(web);
    now = 15_000;
    await lazy.append(web, id, 0, chunk('abc'));
    assert.equal((await metadata.uploads.get(id))?.updatedAt, 10_000, 'touched 5 s ago: not written');
    now = 20_000;
    await lazy.append(web, id, undefined, chunk('d'));
    assert.equal((await metadata.uploads.get(id))?.updatedAt, 20_000, '10 s old: written');
  });

  test('POST ?digest= (upload) pins its row from the start, links, and leaves no session; a bad digest leaves nothing', async () => {
    const digest = digestOf(Buffer.from('whole'));
    await uploads.upload(web, digest, chunk('whole'));
    assert.equal(await metadata.uploads.count(), 0);
    assert.notEqual(await metadata.blobLinks.get(web, digest), null);
    await assert.rejects(uploads.upload(web, digestOf(Buffer.from('other')), chunk('whole')), code('DIGEST_INVALID'));
    assert.equal(await metadata.uploads.count(), 0, 'the failed upload removed its row');
    for await (const s of store.sessions()) assert.fail(`session ${s.id} left in the store`);
  });

  test('a closing PUT whose session is cancelled during the store commit links nothing and answers BLOB_UPLOAD_UNKNOWN', async () => {
    const id = await uploads.start(web);
    await uploads.append(web, id, 0, chunk('raced'));
    const digest = digestOf(Buffer.from('raced'));
    // The cancel's row removal lands between the pin and the link (the store commit's moment).
    const commit = store.commit.bind(store);
    store.commit = async (sid, d) => {
      const r = await commit(sid, d);
      await metadata.uploads.delete(sid);
      return r;
    };
    await assert.rejects(uploads.complete(web, id, digest, null), code('BLOB_UPLOAD_UNKNOWN'));
    assert.equal(await metadata.blobLinks.get(web, digest), null, 'no link to bytes nothing protected');
  });

  test('every operation checks the session belongs to the repository', async () => {
    const id = await uploads.start(web);
    await assert.rejects(uploads.status(api, id), code('BLOB_UPLOAD_UNKNOWN'));
    await assert.rejects(uploads.append(api, id, 0, chunk('x')), code('BLOB_UPLOAD_UNKNOWN'));
    await assert.rejects(uploads.complete(api, id, digestOf(Buffer.from('')), null), code('BLOB_UPLOAD_UNKNOWN'));
    await assert.rejects(uploads.cancel(api, id), code('BLOB_UPLOAD_UNKNOWN'));
    assert.equal(await uploads.status(web, id), 0);
  });

  test('complete links the blob with its size, ensures the repository and forgets the session', async () => {
    const id = await uploads.start(web);
    await uploads.append(web, id, 0, chunk('hello '));
    const digest = digestOf(Buffer.from('hello world'));
    await uploads.complete(web, id, digest, chunk('world'));
    assert.equal((await metadata.blobLinks.get(web, digest))?.size, 11);
    assert.ok((await metadata.packages.names({ limit: 10 })).includes(web));
    assert.equal(await metadata.uploads.get(id), null);
    assert.equal(await metadata.blobLinks.get(api, digest), null);
  });

  test('a failed complete keeps the session record', async () => {
    const id = await uploads.start(web);
    await uploads.append(web, id, 0, chunk('abc'));
    await assert.rejects(uploads.complete(web, id, digestOf(Buffer.from('xyz')), null), code('DIGEST_INVALID'));
    assert.notEqual(await metadata.uploads.get(id), null);
    await assert.rejects(uploads.complete(web, id, digestOf(Buffer.from('abc')), chunk('d', 5)), code('SIZE_INVALID'));
    assert.equal(await uploads.status(web, id), 3);
  });

  test('mount links only blobs readable in the source repository', async () => {
    const id = await uploads.start(api);
    const digest = digestOf(Buffer.from('shared'));
    await uploads.complete(api, id, digest, chunk('shared'));
    assert.equal(await uploads.mount(web, parseRepoName('acme/none'), digest), false);
    assert.equal(await metadata.blobLinks.get(web, digest), null);
    assert.equal(await uploads.mount(web, api, digest), true);
    assert.equal((await metadata.blobLinks.get(web, digest))?.size, 6);
    assert.equal(await uploads.mount(web, api, digest), true, 'mounting twice is harmless');
  });

  test('maxBlobBytes limits a session; 0 means unlimited', async () => {
    const limited = service(4);
    const id = await limited.start(web);
    await assert.rejects(limited.append(web, id, 0, chunk('12345')), code('SIZE_INVALID'));
    assert.equal(await limited.append(web, id, 0, chunk('1234')), 4);
    const unlimited = await uploads.start(web);
    assert.equal(await uploads.append(web, unlimited, 0, chunk('x'.repeat(100_000))), 100_000);
  });

  test('purgeStale removes idle sessions (record and bytes) and counts them', async () => {
    const a = await uploads.start(web);
    now = 20_000;
    const b = await uploads.start(web);
    now = 30_000;
    assert.equal(await uploads.purgeStale(15_000), 1);
    assert.equal(await metadata.uploads.get(a), null);
    await assert.rejects(store.size(a), code('BLOB_UPLOAD_UNKNOWN'));
    assert.equal(await uploads.status(web, b), 0);
    assert.equal(await uploads.purgeStale(15_000), 0);
  });
});
