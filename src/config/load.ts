import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { type Config, configSchema } from './schema.ts';

type Tree = { [key: string]: Tree | string };

function camel(segment: string): string {
  return segment.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Environment overlay: `WHARF_SERVER__PORT=5001` sets server.port ('__' nests, '_' camel-cases).
 * `WHARF_X__Y_FILE=/run/secrets/y` reads the value from a file (for secrets).
 */
export function envOverlay(env: NodeJS.ProcessEnv): Tree {
  const out: Tree = {};
  for (const [key, raw] of Object.entries(env)) {
    if (!key.startsWith('WHARF_') || key === 'WHARF_CONFIG' || raw === undefined) continue;
    let path = key.slice('WHARF_'.length);
    let value = raw;
    if (path.endsWith('_FILE')) {
      path = path.slice(0, -'_FILE'.length);
      value = readFileSync(raw, 'utf8').trim();
    }
    const segments = path.split('__').map(camel);
    let node = out;
    for (const seg of segments.slice(0, -1)) {
      const next = node[seg];
      if (typeof next === 'object') node = next;
      else node = node[seg] = {};
    }
    node[segments[segments.length - 1] ?? path] = value;
  }
  return out;
}

function merge(base: unknown, over: Tree): unknown {
  if (typeof base !== 'object' || base === null || Array.isArray(base)) base = {};
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(over)) out[k] = typeof v === 'object' ? merge(out[k], v) : v;
  return out;
}

export class ConfigError extends Error {}

/** Loads YAML (optional) + env overlay, validates, and derives paths from dataDir. */
export function loadConfig(opts: { file?: string | undefined; env?: NodeJS.ProcessEnv; overrides?: Tree } = {}): Config {
  const env = opts.env ?? process.env;
  const file = opts.file ?? env['WHARF_CONFIG'];
  let fromFile: unknown = {};
  if (file) {
    try {
      fromFile = parseYaml(readFileSync(file, 'utf8')) ?? {};
    } catch (err) {
      throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
    }
  }
  const merged = merge(merge(fromFile, envOverlay(env)), opts.overrides ?? {});
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) throw new ConfigError(`invalid configuration:\n${z.prettifyError(parsed.error)}`);
  const config = parsed.data;
  const dataDir = resolve(config.dataDir);
  config.dataDir = dataDir;
  config.storage.fs.root = resolve(config.storage.fs.root ?? join(dataDir, 'storage'));
  if (config.database.sqlite.path !== ':memory:') {
    config.database.sqlite.path = resolve(config.database.sqlite.path ?? join(dataDir, 'wharf.db'));
  }
  backendEnvFallbacks(config, env);
  return config;
}

/** The standard AWS_* variables and DATABASE_URL fill what the configuration leaves unset. */
function backendEnvFallbacks(config: Config, env: NodeJS.ProcessEnv): void {
  const s3 = config.storage.s3;
  s3.region ??= env['AWS_REGION'] || env['AWS_DEFAULT_REGION'] || 'us-east-1';
  const endpoint = env['AWS_ENDPOINT_URL_S3'] || env['AWS_ENDPOINT_URL'];
  if (s3.endpoint === undefined && endpoint) s3.endpoint = endpoint;
  if (s3.accessKeyId === undefined && s3.secretAccessKey === undefined && env['AWS_ACCESS_KEY_ID'] && env['AWS_SECRET_ACCESS_KEY']) {
    s3.accessKeyId = env['AWS_ACCESS_KEY_ID'];
    s3.secretAccessKey = env['AWS_SECRET_ACCESS_KEY'];
    if (env['AWS_SESSION_TOKEN']) s3.sessionToken = env['AWS_SESSION_TOKEN'];
  }
  if (config.storage.driver === 's3' && !s3.bucket) throw new ConfigError('invalid configuration: storage.s3.bucket is required with storage.driver s3');
  const pg = config.database.postgres;
  if (pg.url === undefined && env['DATABASE_URL']) pg.url = env['DATABASE_URL'];
  if (config.database.driver === 'postgres' && !pg.url) {
    throw new ConfigError('invalid configuration: database.postgres.url (or DATABASE_URL) is required with database.driver postgres');
  }
}

/** A copy fit to print (`wharf config check`): credentials replaced, URLs keep host and user only. */
export function redactConfig(config: Config): Config {
  const out = structuredClone(config);
  if (out.auth.admin.password !== undefined) out.auth.admin.password = '[redacted]';
  const s3 = out.storage.s3;
  if (s3.secretAccessKey !== undefined) s3.secretAccessKey = '[redacted]';
  if (s3.sessionToken !== undefined) s3.sessionToken = '[redacted]';
  const pg = out.database.postgres;
  if (pg.url !== undefined) {
    try {
      const u = new URL(pg.url);
      if (u.password) u.password = 'redacted';
      pg.url = u.toString();
    } catch {
      pg.url = '[redacted]';
    }
  }
  return out;
}
