/**
 * Scale-out configuration: `storage.s3` and `database.postgres`, the standard AWS_* and
 * DATABASE_URL fallbacks, `*_FILE` secrets, validation, and redaction for `wharf config check`.
 * Needs no services.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig, redactConfig } from '../../src/config/load.ts';

test('defaults stay the embedded profile; s3 and postgres settings have safe defaults', () => {
  const c = loadConfig({ env: {} });
  assert.equal(c.storage.driver, 'fs');
  assert.equal(c.database.driver, 'sqlite');
  assert.equal(c.storage.s3.partSizeBytes, 8 * 1024 * 1024);
  assert.equal(c.storage.s3.redirect, false);
  assert.equal(c.storage.s3.forcePathStyle, false);
  assert.equal(c.storage.s3.region, 'us-east-1');
  assert.equal(c.storage.s3.conditionalWrites, 'auto');
  assert.equal(c.database.postgres.poolSize, 10);
  assert.equal(c.database.postgres.url, undefined);
});

test('WHARF_* variables configure s3 and postgres, secrets from *_FILE', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-cfg-'));
  try {
    await writeFile(join(dir, 'secret'), 'from-a-file\n');
    await writeFile(join(dir, 'db'), 'postgres://u:p@db:5432/wharf\n');
    const c = loadConfig({
      env: {
        WHARF_STORAGE__DRIVER: 's3',
        WHARF_STORAGE__S3__BUCKET: 'registry',
        WHARF_STORAGE__S3__ENDPOINT: 'http://rgw:7480',
        WHARF_STORAGE__S3__FORCE_PATH_STYLE: 'true',
        WHARF_STORAGE__S3__ACCESS_KEY_ID: 'AKIA',
        WHARF_STORAGE__S3__SECRET_ACCESS_KEY_FILE: join(dir, 'secret'),
        WHARF_STORAGE__S3__PART_SIZE_BYTES: String(16 * 1024 * 1024),
        WHARF_STORAGE__S3__REDIRECT: '1',
        WHARF_DATABASE__DRIVER: 'postgres',
        WHARF_DATABASE__POSTGRES__URL_FILE: join(dir, 'db'),
        WHARF_DATABASE__POSTGRES__POOL_SIZE: '3',
        AWS_ACCESS_KEY_ID: 'ignored-because-config-sets-one',
        AWS_SECRET_ACCESS_KEY: 'ignored',
        DATABASE_URL: 'postgres://ignored',
      },
    });
    assert.deepEqual(
      { ...c.storage.s3 },
      {
        bucket: 'registry',
        region: 'us-east-1',
        endpoint: 'http://rgw:7480',
        forcePathStyle: true,
        accessKeyId: 'AKIA',
        secretAccessKey: 'from-a-file',
        prefix: '',
        redirect: true,
        redirectTtlSeconds: 900,
        partSizeBytes: 16 * 1024 * 1024,
        createBucket: false,
        conditionalWrites: 'auto',
      },
    );
    assert.equal(c.database.postgres.url, 'postgres://u:p@db:5432/wharf');
    assert.equal(c.database.postgres.poolSize, 3);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the standard AWS_* variables and DATABASE_URL fill what the config leaves unset', () => {
  const c = loadConfig({
    env: {
      WHARF_STORAGE__DRIVER: 's3',
      WHARF_STORAGE__S3__BUCKET: 'b',
      WHARF_DATABASE__DRIVER: 'postgres',
      AWS_REGION: 'eu-west-3',
      AWS_ENDPOINT_URL_S3: 'https://s3.example.test',
      AWS_ACCESS_KEY_ID: 'AK',
      AWS_SECRET_ACCESS_KEY: 'SK',
      AWS_SESSION_TOKEN: 'ST',
      DATABASE_URL: 'postgres://a:b@h/d',
    },
  });
  assert.equal(c.storage.s3.region, 'eu-west-3');
  assert.equal(c.storage.s3.endpoint, 'https://s3.example.test');
  assert.equal(c.storage.s3.accessKeyId, 'AK');
  assert.equal(c.storage.s3.secretAccessKey, 'SK');
  assert.equal(c.storage.s3.sessionToken, 'ST');
  assert.equal(c.database.postgres.url, 'postgres://a:b@h/d');
  assert.equal(loadConfig({ env: { AWS_DEFAULT_REGION: 'ap-south-1' } }).storage.s3.region, 'ap-south-1');
});

test('missing bucket or database URL, and a part size under 5 MiB, are configuration errors', () => {
  assert.throws(() => loadConfig({ env: { WHARF_STORAGE__DRIVER: 's3' } }), (e: unknown) => e instanceof ConfigError && /storage\.s3\.bucket/.test(e.message));
  assert.throws(() => loadConfig({ env: { WHARF_DATABASE__DRIVER: 'postgres' } }), (e: unknown) => e instanceof ConfigError && /DATABASE_URL/.test(e.message));
  assert.throws(() => loadConfig({ env: { WHARF_STORAGE__S3__PART_SIZE_BYTES: '1048576' } }), ConfigError);
  assert.throws(() => loadConfig({ env: { WHARF_DATABASE__POSTGRES__SCHEMA: 'Bad-Name' } }), ConfigError);
  assert.throws(() => loadConfig({ env: { WHARF_STORAGE__DRIVER: 'gcs' } }), ConfigError);
});

test('redactConfig hides S3 secrets and the database password, keeps the rest', () => {
  const c = loadConfig({
    env: {
      WHARF_STORAGE__S3__SECRET_ACCESS_KEY: 'sk-123',
      WHARF_STORAGE__S3__SESSION_TOKEN: 'st-456',
      WHARF_STORAGE__S3__ACCESS_KEY_ID: 'AKIA',
      DATABASE_URL: 'postgres://wharf:hunter2@db:5432/wharf?sslmode=require',
    },
  });
  const r = redactConfig(c);
  const text = JSON.stringify(r);
  for (const secret of ['sk-123', 'st-456', 'hunter2']) assert.ok(!text.includes(secret), secret);
  assert.equal(r.storage.s3.accessKeyId, 'AKIA');
  assert.equal(r.database.postgres.url, 'postgres://wharf:redacted@db:5432/wharf?sslmode=require');
  assert.equal(c.storage.s3.secretAccessKey, 'sk-123', 'the original is untouched');
});
