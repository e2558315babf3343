/**
 * The GC contract on every blob store × metadata dialect: memory, fs and S3 (Ceph RGW) ×
 * SQLite and PostgreSQL. S3 and PostgreSQL pairs skip without ../shared/services variables.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type Metadata, openSqlite } from '../../src/metadata/metadata.ts';
import { FsStore } from '../../src/storage/fs.ts';
import { MemoryStore } from '../../src/storage/memory.ts';
import type { BlobStore, UploadStore } from '../../src/storage/types.ts';
import { emptyPrefix, freshSchema, postgresMissing, s3Missing, s3TestOptions } from '../scale/backends.ts';
import { gcContract, type GcHandle } from './gc.contract.ts';

type Opened<T> = { value: T; cleanup: () => Promise<void> };

const stores: Record<string, (() => Promise<Opened<BlobStore & UploadStore>>) | string> = {
  memory: async () => ({ value: new MemoryStore(), cleanup: async () => undefined }),
  fs: async () => {
    const root = await mkdtemp(join(tmpdir(), 'wharf-gc-'));
    return { value: new FsStore(root), cleanup: () => rm(root, { recursive: true, force: true }) };
  },
  s3:
    s3Missing ||
    (async () => {
      const { S3Store } = await import('../../src/storage/s3.ts');
      const opts = s3TestOptions();
      const store = await S3Store.open(opts);
      return {
        value: store,
        cleanup: async () => {
          await emptyPrefix(opts);
          store.close();
        },
      };
    }),
};

const dialects: Record<string, (() => Promise<Opened<Metadata>>) | string> = {
  sqlite: async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wharf-gc-db-'));
    const metadata = openSqlite(join(dir, 'wharf.db'));
    await metadata.migrate();
    return {
      value: metadata,
      cleanup: async () => {
        await metadata.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
  postgres:
    postgresMissing ||
    (async () => {
      const { openPostgres } = await import('../../src/metadata/postgres.ts');
      const s = await freshSchema();
      const metadata = await openPostgres({ url: s.url, poolSize: 4, schema: s.schema });
      await metadata.migrate();
      return {
        value: metadata,
        cleanup: async () => {
          await metadata.close();
          await s.drop();
        },
      };
    }),
};

for (const [storeName, openStore] of Object.entries(stores)) {
  for (const [dialectName, openDb] of Object.entries(dialects)) {
    const name = `${storeName} + ${dialectName}`;
    if (typeof openStore === 'string' || typeof openDb === 'string') {
      test(`gc contract: ${name}`, { skip: typeof openStore === 'string' ? openStore : (openDb as string) }, () => undefined);
      continue;
    }
    gcContract(name, async (): Promise<GcHandle> => {
      const store = await openStore();
      const db = await openDb();
      return {
        store: store.value,
        metadata: db.value,
        cleanup: async () => {
          await db.cleanup();
          await store.cleanup();
        },
      };
    });
  }
}
