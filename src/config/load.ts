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
  return config;
}
