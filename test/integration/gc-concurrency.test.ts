/**
 * GC beside live pushes: garbage collection runs in a loop (grace 2 s) while clients push images
 * that share layers the way real clients do (HEAD each blob, upload or mount what is missing,
 * then PUT the manifest), re-tag and delete. Afterwards every manifest whose PUT got 201 and was
 * not deleted is fully pullable, byte-exact — after one more collection with nothing in the grace.
 * Runs on fs + SQLite, and on S3 + PostgreSQL with WHARF_TEST_PROFILE=scale.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { GcSummary } from '../../src/services/gc/collector.ts';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { DRIVERS, storageFor } from './support.ts';

const GRACE_SECONDS = process.env['WHARF_TEST_PROFILE'] === 'scale' ? 4 : 2;
const WORKERS = 6;
const ROUNDS = 14;
const REPOS = ['acme/one', 'acme/two', 'acme/three'];
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

const digestOf = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

interface Pushed {
  repo: string;
  digest: string;
  manifest: Buffer;
  blobs: Map<string, Buffer>;
}

async function req(app: TestApp, method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'DELETE', url: string, payload?: Buffer, headers: Record<string, string> = {}) {
  return app.app.inject({ method, url, headers, ...(payload ? { payload } : {}) });
}

/** Pushes one blob as containers/image does: HEAD, then a cross-repository mount or an upload. */
async function pushBlob(app: TestApp, repo: string, bytes: Buffer, mountFrom: string | null): Promise<void> {
  const digest = digestOf(bytes);
  if ((await req(app, 'HEAD', `/v2/${repo}/blobs/${digest}`)).statusCode === 200) return;
  if (mountFrom) {
    const m = await req(app, 'POST', `/v2/${repo}/blobs/uploads/?mount=${digest}&from=${mountFrom}`);
    if (m.statusCode === 201) return;
    assert.equal(m.statusCode, 202, `mount fallback: ${m.body}`);
    const location = String(m.headers['location']);
    const put = await req(app, 'PUT', `${location}${location.includes('?') ? '&' : '?'}digest=${digest}`, bytes, { 'content-type': 'application/octet-stream' });
    assert.equal(put.statusCode, 201, `upload after mount fallback: ${put.body}`);
    return;
  }
  const res = await req(app, 'POST', `/v2/${repo}/blobs/uploads/?digest=${digest}`, bytes, { 'content-type': 'application/octet-stream' });
  assert.equal(res.statusCode, 201, `upload ${digest}: ${res.body}`);
}

for (const driver of DRIVERS.filter((d) => d !== 'memory')) {
  test(`GC in a loop beside pushes, re-tags and deletes loses nothing reachable (${driver})`, async () => {
    const app = await buildTestApp({ ...storageFor(driver), gc: { graceSeconds: String(GRACE_SECONDS), intervalSeconds: '0' } });
    try {
      const sharedLayers = Array.from({ length: 6 }, () => randomBytes(24 * 1024));
      const live = new Map<string, Pushed>();
      const deleted = new Set<string>();
      const failures: string[] = [];
      let pushing = true;
      let slow = 0;
      const runs: GcSummary[] = [];

      const gcLoop = (async () => {
        while (pushing) {
          const out = await app.jobs.run(app.gc, { options: { dryRun: false }, trigger: 'cli' });
          if (out.status === 'succeeded') runs.push(out.summary);
          else if (out.status !== 'busy') failures.push(`gc ${out.status}: ${String(out.error)}`);
          await sleep(20);
        }
      })();

      const worker = async (w: number) => {
        const mine: Pushed[] = [];
        for (let round = 0; round < ROUNDS; round++) {
          const repo = REPOS[(w + round) % REPOS.length] ?? 'acme/one';
          const other = REPOS[(w + round + 1) % REPOS.length] ?? null;
          const pick = (i: number): Buffer => sharedLayers[i % sharedLayers.length] ?? Buffer.alloc(0);
          const layers: Buffer[] = [pick(w + round), pick(w * 3 + round + 1), randomBytes(8 * 1024 + round)];
          const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, worker: w, round }));
          const blobs = new Map<string, Buffer>([[digestOf(config), config], ...layers.map((l) => [digestOf(l), l] as [string, Buffer])]);
          for (const [i, b] of [...blobs.values()].entries()) await pushBlob(app, repo, b, i === 1 ? other : null);
          // A push slower than the grace may rightly lose its first blobs before the manifest comes
          // (on a loaded machine, pushes to RGW can take longer than a short grace). What must hold
          // is the promise to a client that saw every blob exist: its manifest PUT succeeds.
          const checked = Date.now();
          for (const b of blobs.values()) await pushBlob(app, repo, b, null);
          const manifest = Buffer.from(
            JSON.stringify({
              schemaVersion: 2,
              mediaType: MANIFEST,
              config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf(config), size: config.length },
              layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: digestOf(l), size: l.length })),
            }),
          );
          const put = await req(app, 'PUT', `/v2/${repo}/manifests/w${w}-r${round}`, manifest, { 'content-type': MANIFEST });
          const gap = Date.now() - checked;
          if (put.statusCode !== 201) {
            if (gap >= GRACE_SECONDS * 1000) slow++;
            else failures.push(`PUT ${repo} w${w}-r${round} ${gap} ms after seeing its blobs: ${put.statusCode} ${put.body}`);
            continue;
          }
          const pushed = { repo, digest: digestOf(manifest), manifest, blobs };
          live.set(`${repo}@${pushed.digest}`, pushed);
          mine.push(pushed);
          if (round % 3 === 1) {
            const retag = await req(app, 'PUT', `/v2/${repo}/manifests/latest-${w}`, manifest, { 'content-type': MANIFEST });
            if (retag.statusCode !== 201) failures.push(`re-tag: ${retag.statusCode} ${retag.body}`);
          }
          if (round % 4 === 3) {
            const victim = mine.splice(0, 1)[0];
            if (victim) {
              const del = await req(app, 'DELETE', `/v2/${victim.repo}/manifests/${victim.digest}`);
              if (del.statusCode === 202) {
                live.delete(`${victim.repo}@${victim.digest}`);
                deleted.add(`${victim.repo}@${victim.digest}`);
              } else if (del.statusCode !== 404) failures.push(`delete: ${del.statusCode} ${del.body}`);
            }
          }
          // Now and then a pause longer than the grace, so deleted versions' bytes become garbage mid-run.
          if (round % 5 === 4) await sleep(GRACE_SECONDS * 1000 * 0.6);
        }
      };
      await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
      pushing = false;
      await gcLoop;
      // Out of the grace for everything: a last run frees whatever is unreferenced now.
      await sleep(GRACE_SECONDS * 1000 * 1.2 + 300);
      const last = await app.jobs.run(app.gc, { options: { dryRun: false }, trigger: 'cli' });
      assert.equal(last.status, 'succeeded');
      if (last.status === 'succeeded') runs.push(last.summary);

      assert.ok(live.size >= (WORKERS * ROUNDS) / 2, `${live.size} manifests pushed, ${slow} slower than the grace`);
      assert.deepEqual(failures, [], 'every push, re-tag, delete and GC run succeeded');
      assert.ok(runs.length >= 3, `GC ran ${runs.length} times`);
      const freed = runs.reduce((n, r) => n + r.blobsDeleted, 0);
      assert.ok(freed > 0, 'GC freed the unique layers of deleted versions (the test is not vacuous)');
      assert.ok(deleted.size > 0);
      for (const p of live.values()) {
        const m = await req(app, 'GET', `/v2/${p.repo}/manifests/${p.digest}`, undefined, { accept: MANIFEST });
        assert.equal(m.statusCode, 200, `${p.repo}@${p.digest}`);
        assert.ok(m.rawPayload.equals(p.manifest));
        for (const [d, bytes] of p.blobs) {
          const b = await req(app, 'GET', `/v2/${p.repo}/blobs/${d}`);
          assert.equal(b.statusCode, 200, `${p.repo} blob ${d} after GC (${b.body.slice(0, 200)})`);
          assert.ok(b.rawPayload.equals(bytes), `${p.repo} blob ${d} byte-exact`);
        }
      }
    } finally {
      await app.close();
    }
  });
}
