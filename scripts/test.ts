/**
 * `npm test`: typecheck, then every test file (unit, contract, integration, e2e, ui) on
 * node:test. Pass file globs to run a subset: `npm test -- 'test/e2e/**'`.
 * The last line printed is the summary `N passed, N failed, N skipped`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const args = process.argv.slice(2);
const patterns = args.length > 0 ? args : ['src/**/*.test.ts', 'test/**/*.test.ts'];
const node = process.execPath;

if (process.env['WHARF_SKIP_TYPECHECK'] !== '1') {
  // The server and the UI have separate tsconfigs; both must typecheck.
  const failed = ['tsconfig.json', 'ui/tsconfig.json'].some(
    (project) => spawnSync('npx', ['tsc', '-p', project, '--noEmit'], { stdio: 'inherit' }).status !== 0,
  );
  if (failed) {
    console.log('typecheck failed');
    console.log('0 passed, 1 failed, 0 skipped');
    process.exit(1);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'wharf-test-'));
const summaryFile = join(dir, 'summary.txt');
const run = spawnSync(
  node,
  [
    '--disable-warning=ExperimentalWarning',
    '--test',
    // A file whose tests are done but that keeps a handle open (a database connection its failed
    // clean-up left) would otherwise keep its process, and so the whole run, waiting forever.
    '--test-force-exit',
    `--test-concurrency=${process.env['WHARF_TEST_CONCURRENCY'] ?? '2'}`,
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=./scripts/summary-reporter.ts',
    `--test-reporter-destination=${summaryFile}`,
    ...patterns,
  ],
  { stdio: 'inherit' },
);
let summary = '0 passed, 1 failed, 0 skipped';
try {
  summary = readFileSync(summaryFile, 'utf8').trim() || summary;
} catch {
  // The runner died before writing its summary; report the failure.
}
rmSync(dir, { recursive: true, force: true });
console.log(summary);
process.exit(run.status ?? 1);
