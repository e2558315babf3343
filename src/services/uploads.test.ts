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
