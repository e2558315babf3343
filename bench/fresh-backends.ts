/**
 * A fresh PostgreSQL database and S3 key prefix for one bench run on the scale-out profile, and
 * the clean-up that removes both (errors ignored: a bench never fails on its clean-up).
 */
import pg from 'pg';
import { emptyPrefix, uniqueName } from '../test/scale/backends.ts';
import type { S3Options } from '../src/storage/s3/client.ts';

export interface FreshBackends {
  /** The database URL of the fresh database. */
  databaseUrl: string;
  cleanup(): Promise<void>;
}

export async function freshBackends(dbUrl: string, dbPrefix: string, s3: S3Options): Promise<FreshBackends> {
  const dbName = uniqueName(dbPrefix);
  const admin = new pg.Client({ connectionString: dbUrl });
  await admin.connect();
  await admin.query(`create database "${dbName}"`).finally(() => admin.end());
  const u = new URL(dbUrl);
  u.pathname = `/${dbName}`;
  return {
    databaseUrl: u.toString(),
    cleanup: async () => {
      await emptyPrefix(s3).catch(() => undefined);
      const d = new pg.Client({ connectionString: dbUrl });
      await d
        .connect()
        .then(() => d.query(`drop database if exists "${dbName}" with (force)`))
        .catch(() => undefined)
        .finally(() => d.end().catch(() => undefined));
    },
  };
}
