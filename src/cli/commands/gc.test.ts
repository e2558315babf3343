import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Output } from '../output.ts';
import { progressPrinter, summaryLines } from './gc.ts';

function capture() {
  const err: string[] = [];
  return { out: new Output({ stdout: () => undefined, stderr: (t) => err.push(t) }), err };
}

const p = (phase: string, scanned: number, found: number, bytes = 0) => ({ phase, dryRun: false, scanned, found, bytes });

test('on a terminal, progress is one line rewritten in place, ended by a newline', () => {
  const { out } = capture();
  const written: string[] = [];
  const printer = progressPrinter(out, { isTTY: true, columns: 60, write: (t) => written.push(t) });
  printer.update(p('links', 500, 20));
  printer.update(p('blobs', 1000, 3, 5 * 1024 * 1024));
  printer.done();
  assert.equal(written.length, 3);
  assert.ok(written.slice(0, 2).every((w) => w.startsWith('\r') && w.length === 60), 'padded to the width, no newline');
  assert.match(written[1] ?? '', /gc: blobs: 1000 scanned, 3 removed, 5 MiB/);
  assert.equal(written[2], '\n');
});

test('elsewhere, plain lines: at each phase change and at most every 5 s within a phase', () => {
  const { out, err } = capture();
  let now = 0;
  const printer = progressPrinter(out, { isTTY: false, write: () => assert.fail('no raw writes off a terminal') }, () => now);
  printer.update(p('uploads', 0, 0));
  printer.update(p('blobs', 500, 1));
  now = 1000;
  printer.update(p('blobs', 1000, 2));
  now = 6000;
  printer.update(p('blobs', 1500, 3));
  printer.done();
  assert.deepEqual(err, ['gc: uploads: 0 scanned, 0 removed\n', 'gc: blobs: 500 scanned, 1 removed\n', 'gc: blobs: 1500 scanned, 3 removed\n']);
});

test('the summary says what was freed, or for a dry run what would be', () => {
  const base = {
    exact: true,
    graceSeconds: 3600,
    manifestsDeleted: 2,
    linksRemoved: 7,
    blobsScanned: 100,
    blobsDeleted: 9,
    bytesFreed: 3 * 1024 * 1024,
    uploadsRemoved: 1,
    multipartAborted: 0,
    pausedMs: 0,
    durationMs: 1234,
    phases: { uploads: { ms: 1, scanned: 0, removed: 0, bytes: 0 }, referrers: { ms: 1, scanned: 0, removed: 0, bytes: 0 }, links: { ms: 1, scanned: 0, removed: 0, bytes: 0 }, blobs: { ms: 1, scanned: 0, removed: 0, bytes: 0 } },
    errors: [],
  };
  const real = summaryLines({ ...base, dryRun: false }).join('\n');
  assert.match(real, /^garbage collection finished in 1\.2 s \(grace 3600 s\)/);
  assert.match(real, /blobs: {5}9 of 100 freed, 3 MiB \(3145728 bytes\)/);
  assert.match(real, /manifests: 2 orphaned referrers deleted/);
  const dry = summaryLines({ ...base, dryRun: true, exact: false, errors: ['blobs: boom'] }).join('\n');
  assert.match(dry, /dry run finished/);
  assert.match(dry, /9 of 100 would free/);
  assert.match(dry, /approximate/);
  assert.match(dry, /error: blobs: boom/);
});
