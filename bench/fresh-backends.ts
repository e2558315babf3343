/**
 * A fresh PostgreSQL database and S3 key prefix for one bench run on the scale-out profile, and
 * the clean-up that removes both (errors ignored: a bench never fails on its clean-up).
 */
import { createDatabase, dropDatabaseQuietly, emptyPrefix, uniqueName } from '../test/scale/backends.ts';
import type { S3Options } from '../src/storage/s3/client.ts';

export interface FreshBackends {
  /** The database URL of the fresh database. */
  databaseUrl: string;
  cleanup(): Promise<void>;
}

export async function freshBackends(dbUrl: string, dbPrefix: string, s3: S3Options): Promise<FreshBackends> {
  const dbName = uniqueName(dbPrefix);
  return {
    databaseUrl: await createDatabase(dbUrl, dbName),
    cleanup: async () => {
      await emptyPrefix(s3).catch(() => undefined);
      await dropDatabaseQuietly(dbUrl, dbName);
    },
  };
}
