/**
 * Compiles the server (src/, without tests) to plain JavaScript in dist/, the code that
 * `npm start`, `bin/wharf`, the benchmark and the end-to-end tests run.
 *
 * Why: a process started on a `.ts` entry loads Node's TypeScript stripper (amaro, swc built to
 * WebAssembly) and keeps it for its whole life: about 30 MiB of the server's RSS, for nothing
 * once the code is loaded.
 *
 * How: Node's own `module.stripTypeScriptTypes`, the very transform `node src/….ts` applies when
 * it loads a file, done ahead of time; then relative `.ts` import specifiers become `.js` (same
 * length). Types are replaced by spaces, so every line and column in dist/ is the one in src/:
 * stack traces and CPU profiles point at the right source line. dist/main.js sits at the depth of
 * src/main.ts, so paths built from `import.meta.dirname` (the UI's ui/dist) stay valid.
 *
 * dist/.build-hash holds a hash of every source file, this script and the Node version; the build
 * does nothing when it matches, so it is cheap to call before every start. Files are written
 * atomically (temp file + rename) and only when changed, so concurrent builds (parallel test
 * files) are safe: they write the same bytes.
 *
 *   node scripts/build.ts            # build when src/ changed, else nothing
 *   node scripts/build.ts --force    # rebuild everything
 *
 * In code: `ensureBuilt()`, then spawn `wharfBin()` with WHARF_BUILD=0.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { stripTypeScriptTypes } from 'node:module';

export const repoRoot = resolve(import.meta.dirname, '..');
const HASH_FILE = '.build-hash';

/**
 * The launcher every real server process is started with (npm start, e2e tests, benchmark): it
 * holds the server's Node flags. Set WHARF_BUILD=0 in its environment after ensureBuilt().
 */
export function wharfBin(root: string = repoRoot): string {
  return join(root, 'bin', 'wharf');
}

function isSource(path: string): boolean {
  return path.endsWith('.ts') && !path.endsWith('.test.ts') && !path.endsWith('.d.ts');
}

/** Source files relative to src/, sorted so the hash does not depend on directory order. */
function sources(srcDir: string): string[] {
  return readdirSync(srcDir, { recursive: true, encoding: 'utf8' }).filter(isSource).sort();
}

function sourceHash(root: string, files: string[], texts: Map<string, string>): string {
  const hash = createHash('sha256');
  hash.update(`${process.version}\0${readFileSync(import.meta.filename, 'utf8')}\0`);
  for (const file of files) {
    const text = readFileSync(join(root, 'src', file), 'utf8');
    texts.set(file, text);
    hash.update(`${file}\0${text.length}\0${text}\0`);
  }
  return hash.digest('hex');
}

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

/** Writes only when the content differs, through a temp file + rename (never half a file). */
function writeAtomic(path: string, text: string): boolean {
  if (readOr(path, '\0none') === text) return false;
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
  return true;
}

// A relative specifier ending in .ts in a static import/export or a literal dynamic import.
const SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"\n]*?)\.ts\2/g;
const LEFTOVER = /(['"])\.{1,2}\/[^'"\n]*\.ts\1/;

/** One file: types stripped (positions kept), `./x.ts` → `./x.js`. */
export function compile(file: string, text: string): string {
  const js = stripTypeScriptTypes(text, { mode: 'strip' }).replace(SPECIFIER, '$1$2$3.js$2');
  // A `.ts` specifier the pattern missed would only fail when that module is first loaded
  // (maybe in a profile the tests never start): refuse to build instead.
  const left = LEFTOVER.exec(js);
  if (left) {
    const line = js.slice(0, left.index).split('\n').length;
    throw new Error(`${file}:${line}: relative .ts specifier not rewritten: ${left[0]}`);
  }
  return js;
}

export interface BuildResult {
  /** False when dist/ already matched src/. */
  built: boolean;
  /** Files written (changed or new). */
  written: number;
  ms: number;
}

/** Builds dist/ from src/ unless it is already up to date. Synchronous, a few ms when fresh. */
export function ensureBuilt(opts: { root?: string; force?: boolean } = {}): BuildResult {
  const started = performance.now();
  const root = opts.root ?? repoRoot;
  const srcDir = join(root, 'src');
  const distDir = join(root, 'dist');
  const files = sources(srcDir);
  const texts = new Map<string, string>();
  const hash = sourceHash(root, files, texts);
  const hashPath = join(distDir, HASH_FILE);
  if (!opts.force && readOr(hashPath, '') === hash) return { built: false, written: 0, ms: performance.now() - started };

  let written = 0;
  const outputs = new Set<string>();
  for (const file of files) {
    const out = join(distDir, file.replace(/\.ts$/, '.js'));
    outputs.add(out);
    if (writeAtomic(out, compile(file, texts.get(file) ?? ''))) written++;
  }
  removeStale(distDir, outputs);
  // Last: a build that died half-way leaves the old hash, so the next call builds again.
  writeAtomic(hashPath, hash);
  return { built: true, written, ms: performance.now() - started };
}

/** Drops .js files whose source is gone (a renamed module must not stay importable), then empty dirs. */
function removeStale(distDir: string, keep: Set<string>): void {
  const entries = readdirSync(distDir, { recursive: true, withFileTypes: true });
  for (const entry of entries) {
    const path = join(entry.parentPath, entry.name);
    if (entry.isFile() && entry.name.endsWith('.js') && !keep.has(path)) rmSync(path, { force: true });
  }
  const dirs = entries.filter((e) => e.isDirectory()).map((e) => join(e.parentPath, e.name));
  for (const dir of dirs.sort((a, b) => b.length - a.length)) {
    try {
      rmdirSync(dir);
    } catch {
      // not empty
    }
  }
}

if (import.meta.main) {
  const result = ensureBuilt({ force: process.argv.includes('--force') });
  if (result.built) {
    console.error(`build: dist/ from src/ (${result.written} files written, ${Math.round(result.ms)} ms)`);
  }
}
