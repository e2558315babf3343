import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { RegistryError } from '../../src/errors.ts';
import { digestOf } from '../../src/oci/digest.ts';
import { FsStore } from '../../src/storage/fs.ts';
import { MemoryStore } from '../../src/storage/memory.ts';
import { blobStoreContract, chunks, failing } from './blobstore.contract.ts';

blobStoreContract('memory', async () => ({ store: new MemoryStore(), cleanup: async () => undefined }));

blobStoreContract('fs', async () => {
  const root = await mkdtemp(join(tmpdir(), 'wharf-fs-contract-'));
  return {
    store: new FsStore(root),
    reopen: async () => new FsStore(root),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});

/** What only the filesystem driver can promise: where bytes are while in flight. */
describe('FsStore specifics', () => {
  async function withRoot(fn: (root: string, store: FsStore) => Promise<void>): Promise<void> {
    const root = await mkdtemp(join(tmpdir(), 'wharf-fs-'));
    try {
      await fn(root, new FsStore(root));
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  }

  const list = async (dir: string) => readdir(dir).catch(() => [] as string[]);

  test('session bytes stay under uploads/ until a verified commit moves them to blobs/', async () => {
    await withRoot(async (root, store) => {
      const id = randomUUID();
      await store.create(id);
      await store.append(id, 0, chunks('payload'));
      assert.deepEqual(await list(join(root, 'uploads')), [id]);
      assert.deepEqual(await list(join(root, 'blobs')), []);
      await assert.rejects(store.commit(id, digestOf(Buffer.from('other'))));
      assert.deepEqual(await list(join(root, 'blobs')), [], 'a failed commit makes nothing visible');
      const digest = digestOf(Buffer.from('payload'));
      await store.commit(id, digest);
      assert.deepEqual(await list(join(root, 'uploads')), [], 'the session file is removed');
      const hex = digest.slice('sha256:'.length);
      assert.deepEqual(await list(join(root, 'blobs', 'sha256', hex.slice(0, 2))), [hex]);
    });
  });

  test('a session is one file; a session of the directory layout (uploads/<id>/data) still appends, commits and is listed', async () => {
    await withRoot(async (root, store) => {
      const fresh = randomUUID();
      await store.create(fresh);
      assert.ok((await stat(join(root, 'uploads', fresh))).isFile(), 'no directory per session');
      const old = randomUUID();
      await mkdir(join(root, 'uploads', old), { recursive: true });
      await writeFile(join(root, 'uploads', old, 'data'), 'left by ');
      assert.equal(await store.size(old), 8);
      assert.equal(await store.append(old, 8, chunks('an upgrade')), 18);
      const ids: string[] = [];
      for await (const s of store.sessions()) ids.push(s.id);
      assert.deepEqual(ids.sort(), [fresh, old].sort());
      const digest = digestOf(Buffer.from('left by an upgrade'));
      await store.commit(old, digest);
      assert.deepEqual(await list(join(root, 'uploads')), [fresh], 'the old session directory is removed');
      assert.equal((await store.stat(digest))?.size, 18);
      await store.abort(fresh);
      assert.deepEqual(await list(join(root, 'uploads')), []);
    });
  });

  test('a rolled-back append leaves the session file at its previous length', async () => {
    await withRoot(async (root, store) => {
      const id = randomUUID();
      await store.create(id);
      await store.append(id, 0, chunks('keep'));
      await assert.rejects(store.append(id, 4, failing('x'.repeat(2 << 20))));
      const { size } = await import('node:fs/promises').then((fs) => fs.stat(join(root, 'uploads', id)));
      assert.equal(size, 4);
    });
  });

  test('upload ids that could escape the uploads directory are unknown', async () => {
    await withRoot(async (_root, store) => {
      for (const id of ['../blobs', 'a/b', '', '.', '..', 'x'.repeat(200)]) {
        await assert.rejects(store.size(id), (err: unknown) => err instanceof RegistryError && err.code === 'BLOB_UPLOAD_UNKNOWN', id);
        await assert.rejects(store.create(id), (err: unknown) => err instanceof RegistryError && err.code === 'BLOB_UPLOAD_UNKNOWN', id);
      }
    });
  });

  test('without fsync the store behaves the same', async () => {
    await withRoot(async (root) => {
      const store = new FsStore(root, { fsync: false });
      const id = randomUUID();
      await store.create(id);
      await store.append(id, 0, chunks('fast'));
      await store.commit(id, digestOf(Buffer.from('fast')));
      assert.deepEqual(await store.stat(digestOf(Buffer.from('fast'))), { size: 4 });
    });
  });

  // Appends are written in aligned blocks through O_DIRECT with unaligned heads and tails through
  // the page cache (src/storage/session-writer.ts); these sizes cross every boundary: a head that
  // ends mid-block, a body of whole buffers, bodies ending one byte either side of a block, and a
  // rollback that leaves the session at an unaligned size.
  for (const directIo of [true, false]) {
    test(`appends of awkward sizes keep every byte (directIo: ${directIo})`, async () => {
      await withRoot(async (root) => {
        const store = new FsStore(root, { directIo });
        const id = randomUUID();
        await store.create(id);
        const sizes = [5, (4 << 20) + 4091, 4095, 1, (2 << 20) - 1, 8192, 3 << 20, 4097];
        const parts = sizes.map((n) => randomBytes(n));
        let size = 0;
        for (const [i, part] of parts.entries()) {
          // Each part arrives as uneven socket-like pieces.
          const pieces = [part.subarray(0, 1000), part.subarray(1000, 70_000), part.subarray(70_000)].filter((p) => p.length > 0);
          size = await store.append(id, size, chunks(...pieces));
          if (i === 3) {
            await assert.rejects(store.append(id, size, failing(randomBytes(5 << 20))), 'a failed append');
            assert.equal(await store.size(id), size, 'rolled back to its size before');
          }
        }
        const all = Buffer.concat(parts);
        assert.equal(size, all.length);
        const digest = digestOf(all);
        await store.commit(id, digest);
        const fh = await store.openFile(digest);
        const stored = await fh.readFile().finally(() => fh.close());
        assert.ok(stored.equals(all), 'the committed blob is byte for byte what was sent');
      });
    });
  }
});
