/**
 * What loading the server costs in memory (docs/benchmarks.md, memory): importing it must not
 * load Node's bundled undici (fetch), which an ES import of `node:http` does as a side effect.
 * Undici is for the code that fetches (the pull-through cache, OpenID sign-in), loaded on their
 * first use.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

test('importing the server does not load undici', () => {
  const main = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
  const script = `const before = new Set(process.moduleLoadList);
await import(${JSON.stringify(main)});
console.log(JSON.stringify(process.moduleLoadList.filter((m) => !before.has(m))));`;
  const out = execFileSync(process.execPath, ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', script], { encoding: 'utf8' });
  const loaded = JSON.parse(out.trim().split('\n').pop() ?? '[]') as string[];
  assert.ok(loaded.length > 20, `the import loaded Node's own modules: ${loaded.length}`);
  assert.deepEqual(loaded.filter((m) => /undici/.test(m)), []);
});
