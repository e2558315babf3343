/**
 * The HTTP integration suite (test/integration) once more, on the scale-out profile: every
 * `buildTestApp()` gets S3 (RGW, a fresh key prefix) and PostgreSQL (a fresh schema) instead of
 * memory + SQLite (WHARF_TEST_PROFILE=scale, see test/helpers/app.ts). Run as a child test run so
 * `npm test` stays the one command; its failures are repeated here. To run it directly:
 *
 *   eval "$(../shared/services/start-services.sh env)"
 *   WHARF_TEST_PROFILE=scale npm test -- 'test/integration/**\/*.test.ts'
 *
 * Skipped when S3_ENDPOINT or DATABASE_URL is unset.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { repoRoot } from '../helpers/server.ts';
import { postgresMissing, s3Missing } from './backends.ts';

const skip = s3Missing || postgresMissing || (process.env['WHARF_TEST_PROFILE'] === 'scale' ? 'already running on the scale profile' : false);

test('the HTTP integration suite passes on S3 + PostgreSQL', { skip, timeout: 20 * 60_000 }, async (t) => {
  const env: NodeJS.ProcessEnv = { ...process.env, WHARF_TEST_PROFILE: 'scale' };
  delete env['NODE_TEST_CONTEXT']; // a separate run, not a child of this file's runner
  const args = ['--disable-warning=ExperimentalWarning', '--test', '--test-concurrency=2', '--test-reporter=tap', 'test/integration/**/*.test.ts'];
  const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => out.push(b));
    child.once('error', reject);
    child.once('close', (c) => resolve({ code: c, output: Buffer.concat(out).toString('utf8') }));
  });
  const count = (key: string) => Number(new RegExp(`^# ${key} (\\d+)$`, 'm').exec(output)?.[1] ?? NaN);
  const [pass, fail, skipped] = [count('pass'), count('fail'), count('skipped')];
  t.diagnostic(`scale profile: ${pass} passed, ${fail} failed, ${skipped} skipped`);
  const failures = output
    .split('\n')
    .filter((l) => /^\s*not ok /.test(l))
    .join('\n');
  assert.ok(pass > 0, `the child run executed tests:\n${output.slice(-4000)}`);
  assert.equal(code, 0, `failures on the scale profile:\n${failures}\n\n${output.slice(-6000)}`);
});
