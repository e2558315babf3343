/**
 * scripts/build.ts: src/ → dist/, the JavaScript every real server process runs (npm start,
 * bin/wharf, the e2e tests, the benchmark). Built into temporary roots, then imported and run.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, describe, test } from 'node:test';
import { compile, ensureBuilt, repoRoot, wharfBin } from '../scripts/build.ts';

const roots: string[] = [];
after(async () => {
  for (const root of roots) await rm(root, { recursive: true, force: true });
});

async function project(files: Record<string, string>): Promise<string> {
  // Under the repository, so dist/ sits next to a package.json with "type": "module".
  await mkdir(join(repoRoot, 'test-output'), { recursive: true });
  const root = await mkdtemp(join(repoRoot, 'test-output', 'build-'));
  roots.push(root);
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, 'src', path)), { recursive: true });
    await writeFile(join(root, 'src', path), text);
  }
  return root;
}

const LIB = `export interface Greeting { name: string }
export function greet(g: Greeting): string {
  return \`hello \${g.name}\`;
}
export function fail(): never {
  throw new Error('failed here');
}
`;
const MAIN = `import type { Greeting } from './lib.ts';
import { greet } from './lib.ts';
export { fail } from './lib.ts';
export async function later(): Promise<string> {
  const { greet: g } = await import('./nested/dyn.ts');
  return g();
}
const who: Greeting = { name: 'wharf' };
export const text: string = greet(who);
`;
const DYN = `import '../lib.ts';
export const greet = (): string => 'dynamic';
`;

describe('compile', () => {
  test('strips types without moving any character: every line and column stays where src/ has it', () => {
    const js = compile('lib.ts', LIB);
    assert.equal(js.length, LIB.length);
    assert.deepEqual(
      js.split('\n').map((l) => l.length),
      LIB.split('\n').map((l) => l.length),
    );
    assert.doesNotMatch(js, /interface|: string|: Greeting|: never/);
  });

  test('relative .ts specifiers become .js in every import form; packages and node: are left alone', () => {
    const src = `import a from './a.ts';\nimport type { T } from '../t.ts';\nexport * from "./b.ts";\nimport './side.ts';\nconst m = await import(\n  './c.ts'\n);\nimport z from 'zod';\nimport { join } from 'node:path';\n`;
    const js = compile('x.ts', src);
    assert.match(js, /from '\.\/a\.js'/);
    assert.match(js, /from "\.\/b\.js"/);
    assert.match(js, /import '\.\/side\.js'/);
    assert.match(js, /'\.\/c\.js'/);
    assert.match(js, /from 'zod'/);
    assert.match(js, /from 'node:path'/);
    assert.doesNotMatch(js, /\.ts['"]/);
    assert.equal(js.length, src.length);
  });

  test('refuses a relative .ts path it would not rewrite, naming the file and line', () => {
    assert.throws(() => compile('odd.ts', `const x = 1;\nconst path = './elsewhere.ts';\n`), /odd\.ts:2: .*elsewhere\.ts/);
  });

  test('syntax Node cannot strip (an enum) fails the build', () => {
    assert.throws(() => compile('enum.ts', 'enum Color { Red }\n'));
  });
});

describe('ensureBuilt', () => {
  test('builds runnable modules, skips tests, and does nothing while src/ is unchanged', async () => {
    const root = await project({ 'lib.ts': LIB, 'main.ts': MAIN, 'nested/dyn.ts': DYN, 'main.test.ts': 'throw new Error("not built");\n' });
    const first = ensureBuilt({ root });
    assert.equal(first.built, true);
    assert.equal(first.written, 3);
    await assert.rejects(stat(join(root, 'dist', 'main.test.js')), { code: 'ENOENT' });

    const mod = (await import(pathToFileURL(join(root, 'dist', 'main.js')).href)) as { text: string; later(): Promise<string>; fail(): never };
    assert.equal(mod.text, 'hello wharf');
    assert.equal(await mod.later(), 'dynamic');
    // A stack trace from dist/ points at the source line: `throw` is on line 6 of lib.ts.
    assert.throws(() => mod.fail(), (err: Error) => /dist\/lib\.js:6:\d+/.test(err.stack ?? ''));

    const again = ensureBuilt({ root });
    assert.equal(again.built, false);
    assert.equal(again.written, 0);
  });

  test('a changed source is rebuilt, an unchanged one is not rewritten, a deleted one disappears from dist/', async () => {
    const root = await project({ 'lib.ts': LIB, 'main.ts': MAIN, 'nested/dyn.ts': DYN });
    ensureBuilt({ root });
    const libBefore = (await stat(join(root, 'dist', 'lib.js'))).mtimeMs;

    await rm(join(root, 'src', 'nested'), { recursive: true });
    await writeFile(join(root, 'src', 'main.ts'), `import { greet } from './lib.ts';\nexport const text: string = greet({ name: 'again' });\n`);
    const second = ensureBuilt({ root });
    assert.equal(second.built, true);
    assert.equal(second.written, 1);
    assert.match(await readFile(join(root, 'dist', 'main.js'), 'utf8'), /again/);
    assert.equal((await stat(join(root, 'dist', 'lib.js'))).mtimeMs, libBefore);
    await assert.rejects(stat(join(root, 'dist', 'nested')), { code: 'ENOENT' });
  });

  test('a build that stops half-way is redone: the hash is written last', async () => {
    const root = await project({ 'lib.ts': LIB, 'bad.ts': "const p = './x.ts';\n" });
    assert.throws(() => ensureBuilt({ root }), /bad\.ts:1/);
    await assert.rejects(stat(join(root, 'dist', '.build-hash')), { code: 'ENOENT' });
    await writeFile(join(root, 'src', 'bad.ts'), 'export const p = 1;\n');
    assert.equal(ensureBuilt({ root }).built, true);
  });
});

test('bin/wharf runs the compiled CLI of this checkout', () => {
  ensureBuilt();
  const run = spawnSync(wharfBin(), ['--help'], { encoding: 'utf8', env: { ...process.env, WHARF_BUILD: '0' }, timeout: 30_000 });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /usage: wharf <command>/);
});
