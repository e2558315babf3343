/**
 * The WHARF_* environment overlay. `WHARF_SERVER__PORT=5001` sets server.port ('__' nests, a
 * single '_' camel-cases: WHARF_DATA_DIR → dataDir). `WHARF_X__Y_FILE=/run/secrets/y` reads
 * x.y from a file (for secrets), unless the schema has a key of that very name (tls.certFile).
 *
 * Every WHARF_ variable is configuration, except the tool variables below: they steer the
 * launcher, the test harness or the benchmark and never reach the schema. A variable that is
 * neither a tool variable nor a schema key is an error with the nearest valid name, so a typo
 * cannot silently leave a setting at its default. A new tool variable must be added here (and
 * must not look like configuration: config sections are never called test, e2e or bench).
 */
import { readFileSync } from 'node:fs';
import { didYouMean } from '../lib/did-you-mean.ts';
import { type KeyNode, leafPaths, nodeAt } from './keys.ts';

export const ENV_PREFIX = 'WHARF_';

/** Exact names of WHARF_ variables that are not configuration. */
export const TOOL_VARIABLES: ReadonlySet<string> = new Set([
  'WHARF_CONFIG', // the config file (same as --config)
  'WHARF_BUILD', // bin/wharf: 0 skips the rebuild check of dist/
  'WHARF_NODE_FLAGS', // bin/wharf: extra Node.js flags
  'WHARF_DEBUG', // the CLI: print stack traces of unexpected errors
  'WHARF_URL', // the UI dev server (vite): which Wharf to proxy to
  'WHARF_SKIP_TYPECHECK', // npm test: skip tsc
  'WHARF_CI_SERVICES', // .ci/run: 0 skips starting the backing services
  'WHARF_CI_ARTIFACTS', // .ci/run: where browser screenshots are copied
  'WHARF_IMAGE_SOURCE', // npm run image: the org.opencontainers.image.source label
]);

/** Prefixes of WHARF_ variables that are not configuration (test harness, e2e targets, benchmark). */
export const TOOL_PREFIXES: readonly string[] = ['WHARF_TEST_', 'WHARF_E2E_', 'WHARF_BENCH_'];

export function isToolVariable(name: string): boolean {
  return TOOL_VARIABLES.has(name) || TOOL_PREFIXES.some((p) => name.startsWith(p));
}

/** Values by path; a list (from YAML or programmatic overrides) is one value. */
export type Tree = { [key: string]: Tree | string | string[] };

function camel(segment: string): string {
  return segment.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** The variable that sets a config path: ['server', 'baseUrl'] → WHARF_SERVER__BASE_URL. */
export function envName(path: readonly string[]): string {
  return ENV_PREFIX + path.map((s) => s.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()).join('__');
}

export interface EnvOverlay {
  values: Tree;
  /** Dotted config path → the variable that set it (for error messages). */
  origins: Map<string, string>;
  problems: string[];
}

function set(tree: Tree, path: readonly string[], value: string): void {
  let node = tree;
  for (const seg of path.slice(0, -1)) {
    const next = node[seg];
    node = typeof next === 'object' && !Array.isArray(next) ? next : (node[seg] = {});
  }
  const last = path[path.length - 1];
  if (last !== undefined) node[last] = value;
}

function readSecret(variable: string, file: string): string | { problem: string } {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    const code = err instanceof Error && 'code' in err ? String(err.code) : '';
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : err instanceof Error ? err.message : String(err);
    return { problem: `${variable}: cannot read ${file} (${why})` };
  }
}

/** Reads every WHARF_ variable against the schema's key tree; unknown ones become problems. */
export function envOverlay(env: NodeJS.ProcessEnv, tree: KeyNode): EnvOverlay {
  const out: EnvOverlay = { values: {}, origins: new Map(), problems: [] };
  let leaves: string[][] | undefined;
  const nearest = (name: string, path: readonly string[]): string | undefined => {
    leaves ??= leafPaths(tree);
    // A typo first; else the same setting in another section (WHARF_PORT → WHARF_SERVER__PORT).
    const last = path[path.length - 1]?.toLowerCase();
    const moved = leaves.find((p) => p[p.length - 1]?.toLowerCase() === last);
    return didYouMean(name, leaves.map(envName)) ?? (moved ? envName(moved) : undefined);
  };
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || raw === undefined || isToolVariable(name)) continue;
    const path = name.slice(ENV_PREFIX.length).split('__').map(camel);
    let node = nodeAt(tree, path);
    let value: string | { problem: string } = raw;
    if (node === undefined && name.endsWith('_FILE')) {
      const base = name.slice(ENV_PREFIX.length, -'_FILE'.length).split('__').map(camel);
      node = nodeAt(tree, base);
      if (node !== undefined) {
        path.splice(0, path.length, ...base);
        value = readSecret(name, raw);
      }
    }
    if (node === undefined) {
      const near = nearest(name, path);
      out.problems.push(`unknown environment variable ${name}${near ? ` (did you mean ${near}?)` : ''}`);
      continue;
    }
    if (node.kind === 'object') {
      const example = leafPaths(node, path)[0];
      out.problems.push(`${name} names a section, not a setting${example ? ` (e.g. ${envName(example)})` : ''}`);
      continue;
    }
    if (node.kind === 'array') {
      out.problems.push(`${name}: ${path.join('.')} is a list; set it in the config file`);
      continue;
    }
    if (typeof value !== 'string') {
      out.problems.push(value.problem);
      continue;
    }
    set(out.values, path, value);
    out.origins.set(path.join('.'), name);
  }
  return out;
}
