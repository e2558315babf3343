/**
 * The scale-out backends as tests reach them: the S3 endpoint and PostgreSQL server printed by
 * `../shared/services/start-services.sh up s3 postgres` (S3_ENDPOINT, S3_ACCESS_KEY,
 * S3_SECRET_KEY, S3_BUCKET, S3_REGION, DATABASE_URL). Every test run gets its own key prefix and
 * its own schema (or database), so runs never see each other's data and clean up after
 * themselves. Suites skip with `s3Missing` / `postgresMissing` as the reason when unset.
 */
import { randomBytes } from 'node:crypto';
import { DeleteObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { createS3Client, type S3Options } from '../../src/storage/s3/client.ts';
import { type IfMatchMode, probeIfMatch } from '../../src/storage/s3/conditional.ts';

export const s3Missing = process.env['S3_ENDPOINT']
  ? false
  : 'S3_ENDPOINT is not set: start ../shared/services/start-services.sh up s3 and export its variables';
export const postgresMissing = process.env['DATABASE_URL']
  ? false
  : 'DATABASE_URL is not set: start ../shared/services/start-services.sh up postgres and export its variables';

export function uniqueName(kind: string): string {
  return `${kind}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}

/** S3 options for a fresh, private key prefix in the test bucket. */
export function s3TestOptions(overrides: Partial<S3Options> = {}): S3Options {
  const env = process.env;
  return {
    bucket: env['S3_BUCKET'] || 'wharf',
    region: env['S3_REGION'] || 'us-east-1',
    endpoint: env['S3_ENDPOINT'],
    forcePathStyle: (env['S3_FORCE_PATH_STYLE'] ?? 'true') !== 'false',
    accessKeyId: env['S3_ACCESS_KEY'],
    secretAccessKey: env['S3_SECRET_KEY'],
    prefix: `test/${uniqueName('run')}/`,
    redirect: false,
    redirectTtlSeconds: 300,
    partSizeBytes: 5 * 1024 * 1024,
    createBucket: true,
    ...overrides,
  };
}

/**
 * The WHARF_* environment that puts a started server (or `wharf` command) on these S3 options
 * and this PostgreSQL database (and schema).
 */
export function scaleEnv(s3: S3Options, db: { url: string; schema?: string | undefined }): Record<string, string> {
  return {
    WHARF_STORAGE__DRIVER: 's3',
    WHARF_STORAGE__S3__BUCKET: s3.bucket,
    WHARF_STORAGE__S3__REGION: s3.region,
    WHARF_STORAGE__S3__ENDPOINT: s3.endpoint ?? '',
    WHARF_STORAGE__S3__FORCE_PATH_STYLE: String(s3.forcePathStyle),
    WHARF_STORAGE__S3__ACCESS_KEY_ID: s3.accessKeyId ?? '',
    WHARF_STORAGE__S3__SECRET_ACCESS_KEY: s3.secretAccessKey ?? '',
    WHARF_STORAGE__S3__PREFIX: s3.prefix,
    WHARF_STORAGE__S3__CREATE_BUCKET: 'true',
    WHARF_DATABASE__DRIVER: 'postgres',
    WHARF_DATABASE__POSTGRES__URL: db.url,
    ...(db.schema ? { WHARF_DATABASE__POSTGRES__SCHEMA: db.schema } : {}),
  };
}

/** Deletes every object under `prefix` (multipart uploads are aborted by the store itself). */
export async function emptyPrefix(opts: S3Options, client?: S3Client): Promise<number> {
  const s3 = client ?? createS3Client(opts);
  let deleted = 0;
  try {
    let token: string | undefined;
    do {
      const page = await s3.send(
        new ListObjectsV2Command({ Bucket: opts.bucket, Prefix: opts.prefix, ...(token ? { ContinuationToken: token } : {}) }),
      );
      const keys = (page.Contents ?? []).map((o) => o.Key).filter((k): k is string => k !== undefined);
      await Promise.all(keys.map((Key) => s3.send(new DeleteObjectCommand({ Bucket: opts.bucket, Key }))));
      deleted += keys.length;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  } finally {
    if (!client) s3.destroy();
  }
  return deleted;
}

/** A fresh schema in DATABASE_URL's database; `drop()` removes it and everything in it. */
export async function freshSchema(): Promise<{ url: string; schema: string; drop: () => Promise<void> }> {
  const url = process.env['DATABASE_URL'] ?? '';
  const schema = uniqueName('t');
  return {
    url,
    schema,
    drop: async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        await c.query(`drop schema if exists "${schema}" cascade`);
      } finally {
        await c.end();
      }
    },
  };
}

/**
 * A fresh database whose default collation is ICU en-US (case-insensitive-first, punctuation
 * ignored at the first level): the most hostile setting for byte-wise ordering, so a contract
 * test on it proves the schema sorts names and tags by bytes. Falls back to a fresh schema
 * when the role may not create databases.
 */
export async function freshDatabase(): Promise<{ url: string; schema?: string; collation: string; drop: () => Promise<void> }> {
  const url = process.env['DATABASE_URL'] ?? '';
  const name = uniqueName('wharf_t');
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`create database "${name}" template template0 locale_provider icu icu_locale 'en-US' locale 'C.UTF-8'`);
  } catch {
    await admin.end();
    const s = await freshSchema();
    return { ...s, collation: 'server default' };
  }
  await admin.end();
  const u = new URL(url);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    collation: 'icu en-US',
    drop: () => dropDatabase(url, name),
  };
}

/** Creates the database `name` on DATABASE_URL's server (`adminUrl`) and returns its URL. */
export async function createDatabase(adminUrl: string, name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

/**
 * Drops the database `name`, sessions and all. A role that is not a superuser cannot end an
 * autovacuum worker, which PostgreSQL starts in a database after a burst of writes: `with (force)`
 * then fails with 42501 ("must be a member of the role whose process is being terminated") until
 * the worker is done, so that error is retried for a while.
 */
export async function dropDatabase(url: string, name: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        await c.query(`drop database if exists "${name}" with (force)`);
        return;
      } catch (err) {
        if ((err as { code?: unknown }).code !== '42501' || attempt >= 60) throw err;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** dropDatabase as a clean-up: it never throws. */
export async function dropDatabaseQuietly(adminUrl: string, name: string): Promise<void> {
  await dropDatabase(adminUrl, name).catch(() => undefined);
}

type Tree = { [key: string]: Tree | string };

let processDatabase: Promise<string> | null = null;

/**
 * One database per test process, dropped when the process is about to exit. Apps get schemas
 * inside it. Not one database for everything: Kysely's migrator introspects every schema of the
 * database, and a schema dropped by a parallel test process mid-introspection fails it.
 */
function testProcessDatabase(): Promise<string> {
  processDatabase ??= (async () => {
    const url = process.env['DATABASE_URL'] ?? '';
    const name = uniqueName(`wharf_p${process.pid}`);
    const created = await createDatabase(url, name);
    let dropped = false;
    process.on('beforeExit', () => {
      if (dropped) return;
      dropped = true;
      void dropDatabaseQuietly(url, name);
    });
    return created;
  })();
  return processDatabase;
}

/**
 * Migrated schemas of this process that no app uses right now. Migrating a fresh schema costs
 * ~0.7 s on PostgreSQL, so a closed app's schema is emptied (TRUNCATE) and handed to the next.
 */
const freeSchemas: string[] = [];

async function releaseSchema(url: string, schema: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query<{ t: string }>(
      "select tablename as t from pg_tables where schemaname = $1 and tablename not like 'kysely\\_%'",
      [schema],
    );
    if (rows.length > 0) await c.query(`truncate ${rows.map((r) => `"${schema}"."${r.t}"`).join(', ')} restart identity cascade`);
    freeSchemas.push(schema);
  } catch {
    await c.query(`drop schema if exists "${schema}" cascade`).catch(() => undefined);
  } finally {
    await c.end();
  }
}

let conditionalWrites: Promise<IfMatchMode> | null = null;

/**
 * `WHARF_TEST_PROFILE=scale`: config overrides that put an in-process test app on S3 (a fresh
 * key prefix) and PostgreSQL (a schema of its own, empty), plus the cleanup of both; null for the
 * default embedded profile. Used by test/helpers/app.ts, so every `buildTestApp()` suite (the
 * HTTP integration tests) runs unchanged on the scale-out backends.
 */
export async function scaleProfile(): Promise<{ overrides: Tree; cleanup: () => Promise<void> } | null> {
  if (process.env['WHARF_TEST_PROFILE'] !== 'scale') return null;
  const missing = s3Missing || postgresMissing;
  if (missing) throw new Error(`WHARF_TEST_PROFILE=scale: ${missing}`);
  const s3 = s3TestOptions();
  // Probed once per process instead of once per app (the store's start-up probe writes objects).
  conditionalWrites ??= (async () => {
    const client = createS3Client(s3);
    try {
      return await probeIfMatch(client, s3.bucket, s3.prefix);
    } finally {
      client.destroy();
    }
  })();
  const url = await testProcessDatabase();
  const schema = freeSchemas.pop() ?? uniqueName('app');
  return {
    overrides: {
      storage: {
        driver: 's3',
        s3: {
          bucket: s3.bucket,
          region: s3.region,
          endpoint: s3.endpoint ?? '',
          forcePathStyle: String(s3.forcePathStyle),
          accessKeyId: s3.accessKeyId ?? '',
          secretAccessKey: s3.secretAccessKey ?? '',
          prefix: s3.prefix,
          partSizeBytes: String(s3.partSizeBytes),
          createBucket: 'true',
          conditionalWrites: await conditionalWrites,
        },
      },
      database: { driver: 'postgres', postgres: { url, schema, poolSize: '4' } },
    },
    cleanup: async () => {
      await emptyPrefix(s3);
      await releaseSchema(url, schema);
    },
  };
}
