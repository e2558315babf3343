/** The metadata contract on SQLite (node:sqlite), in memory and on a file in WAL mode. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqlite } from '../../src/metadata/metadata.ts';
import { metadataContract } from './metadata.contract.ts';

metadataContract('sqlite (memory)', async () => {
  const metadata = openSqlite(':memory:');
  await metadata.migrate();
  return { metadata, cleanup: () => metadata.close() };
});

metadataContract('sqlite (file)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-meta-'));
  const metadata = openSqlite(join(dir, 'wharf.db'));
  await metadata.migrate();
  return {
    metadata,
    cleanup: async () => {
      await metadata.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
