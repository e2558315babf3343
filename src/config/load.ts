import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { envName, envOverlay, type Tree } from './env.ts';
import { keyTree, unknownKeys } from './keys.ts';
import { type Config, configSchema } from './schema.ts';

function merge(base: unknown, over: Tree): unknown {
  if (typeof base !== 'object' || base === null || Array.isArray(base)) base = {};
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  // Lists (server.trustedProxies) replace the base's list whole.
  for (const [k, v] of Object.entries(over)) out[k] = typeof v === 'object' && !Array.isArray(v) ? merge(out[k], v) : v;
  return out;
}

/** Everything wrong with a configuration, one complete sentence per problem. */
export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
    this.problems = problems;
  }
}

function readConfigFile(file: string): { value: unknown } | { problem: string } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = err instanceof Error && 'code' in err ? String(err.code) : '';
    return { problem: `cannot read config file ${file}: ${code === 'ENOENT' ? 'no such file' : err instanceof Error ? err.message : String(err)}` };
  }
  try {
    return { value: parseYaml(text) ?? {} };
  } catch (err) {
    // The yaml library's messages carry line and column on the first line.
    return { problem: `config file ${file} is not valid YAML: ${(err instanceof Error ? err.message : String(err)).split('\n')[0]}` };
  }
}

function issueLine(issue: z.core.$ZodIssue, origins: Map<string, string>, file: string | undefined): string {
  const path = issue.path.map(String).join('.');
  const variable = origins.get(path);
  const origin = variable ? ` (from ${variable})` : file ? ` (in ${file})` : '';
  return `${path || '(root)'}${origin}: ${issue.message}`;
}

/**
 * Loads YAML (optional) + env overlay + programmatic overrides, validates, and derives paths
 * from dataDir. Every problem is collected before throwing, so one run shows them all: unknown
 * keys and variables (with the nearest valid name), unreadable files, invalid values.
 */
export function loadConfig(opts: { file?: string | undefined; env?: NodeJS.ProcessEnv; overrides?: Tree } = {}): Config {
  const env = opts.env ?? process.env;
  const file = opts.file ?? env['WHARF_CONFIG'];
  const tree = keyTree(configSchema);
  const problems: string[] = [];
  let fromFile: unknown = {};
  if (file) {
    const read = readConfigFile(file);
    if ('problem' in read) problems.push(read.problem);
    else fromFile = read.value;
    for (const u of unknownKeys(fromFile, tree)) {
      problems.push(`config file ${file}: unknown key ${u.path.join('.')}${u.suggestion ? ` (did you mean ${u.suggestion.join('.')}?)` : ''}`);
    }
  }
  const overlay = envOverlay(env, tree);
  problems.push(...overlay.problems);
  for (const u of unknownKeys(opts.overrides ?? {}, tree)) {
    problems.push(`override: unknown key ${u.path.join('.')}${u.suggestion ? ` (did you mean ${u.suggestion.join('.')}?)` : ''}`);
  }
  const merged = merge(merge(fromFile, overlay.values), opts.overrides ?? {});
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    problems.push(...parsed.error.issues.map((i) => issueLine(i, overlay.origins, file)));
    throw new ConfigError(problems);
  }
  const config = parsed.data;
  const dataDir = resolve(config.dataDir);
  config.dataDir = dataDir;
  config.storage.fs.root = resolve(config.storage.fs.root ?? join(dataDir, 'storage'));
  if (config.database.sqlite.path !== ':memory:') {
    config.database.sqlite.path = resolve(config.database.sqlite.path ?? join(dataDir, 'wharf.db'));
  }
  problems.push(...backendEnvFallbacks(config, env));
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** The standard AWS_* variables and DATABASE_URL fill what the configuration leaves unset. */
function backendEnvFallbacks(config: Config, env: NodeJS.ProcessEnv): string[] {
  const problems: string[] = [];
  const s3 = config.storage.s3;
  s3.region ??= env['AWS_REGION'] || env['AWS_DEFAULT_REGION'] || 'us-east-1';
  const endpoint = env['AWS_ENDPOINT_URL_S3'] || env['AWS_ENDPOINT_URL'];
  if (s3.endpoint === undefined && endpoint) s3.endpoint = endpoint;
  if (s3.accessKeyId === undefined && s3.secretAccessKey === undefined && env['AWS_ACCESS_KEY_ID'] && env['AWS_SECRET_ACCESS_KEY']) {
    s3.accessKeyId = env['AWS_ACCESS_KEY_ID'];
    s3.secretAccessKey = env['AWS_SECRET_ACCESS_KEY'];
    if (env['AWS_SESSION_TOKEN']) s3.sessionToken = env['AWS_SESSION_TOKEN'];
  }
  if (config.storage.driver === 's3' && !s3.bucket) problems.push(`storage.s3.bucket (${envName(['storage', 's3', 'bucket'])}) is required with storage.driver s3`);
  const pg = config.database.postgres;
  if (pg.url === undefined && env['DATABASE_URL']) pg.url = env['DATABASE_URL'];
  if (config.database.driver === 'postgres' && !pg.url) {
    problems.push('database.postgres.url (or DATABASE_URL) is required with database.driver postgres');
  }
  return problems;
}

/** A copy fit to print (`wharf config check`): credentials replaced, URLs keep host and user only. */
export function redactConfig(config: Config): Config {
  const out = structuredClone(config);
  if (out.auth.admin.password !== undefined) out.auth.admin.password = '[redacted]';
  if (out.metrics.token !== undefined) out.metrics.token = '[redacted]';
  if (out.proxy.credentialKey !== undefined) out.proxy.credentialKey = '[redacted]';
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
