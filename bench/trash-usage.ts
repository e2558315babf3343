/**
 * Focused measurements for ADR 0010 (not a test; prints numbers):
 *
 *   node bench/trash-usage.ts hotpath [ROOT]   manifest GET by tag and blob HEAD through app.inject,
 *                                              in-process, on the checkout at ROOT (default: this one)
 *                                              — run it on main and on this branch to compare
 *   node bench/trash-usage.ts usage            storage usage of one owner with 20,000 manifests and
 *                                              100,000 blobs, on SQLite and (with DATABASE_URL) PostgreSQL
 *
 * WHARF_BENCH_MANIFESTS / WHARF_BENCH_BLOBS / WHARF_BENCH_REQUESTS shrink or grow the runs.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import type { Metadata } from '../src/metadata/metadata.ts';

const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function hotpath(root: string): Promise<void> {
  const { buildTestApp } = (await import(resolve(root, 'test/helpers/app.ts'))) as typeof import('../test/helpers/app.ts');
  const app = await buildTestApp();
  try {
    const inject = (method: 'GET' | 'HEAD' | 'PUT' | 'POST', url: string, payload?: Buffer, headers: Record<string, string> = {}) =>
      app.app.inject({ method, url, headers, ...(payload ? { payload } : {}) });
    const blobs: { digest: string; size: number }[] = [];
    for (const data of [Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'), randomBytes(4096)]) {
      const digest = sha(data);
      const r = await inject('POST', `/v2/bench/web/blobs/uploads/?digest=${digest}`, data, { 'content-type': 'application/octet-stream' });
      if (r.statusCode !== 201) throw new Error(`upload: ${r.statusCode} ${r.body}`);
      blobs.push({ digest, size: data.length });
    }
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...blobs[0] }, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...blobs[1] }] }));
    const put = await inject('PUT', '/v2/bench/web/manifests/1.0', manifest, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
    if (put.statusCode !== 201) throw new Error(`put: ${put.statusCode} ${put.body}`);
    const n = Number(process.env['WHARF_BENCH_REQUESTS'] ?? 20_000);
    const accept = { accept: 'application/vnd.oci.image.manifest.v1+json' };
    const time = async (what: string, fn: () => Promise<unknown>) => {
      for (let i = 0; i < 2000; i++) await fn(); // warm up (prepared queries, JIT)
      const t0 = performance.now();
      for (let i = 0; i < n; i++) await fn();
      const us = ((performance.now() - t0) * 1000) / n;
      console.log(`${what}: ${us.toFixed(1)} µs/request (${Math.round(1e6 / us)} req/s, ${n} sequential requests)`);
    };
    await time('manifest GET by tag', () => inject('GET', '/v2/bench/web/manifests/1.0', undefined, accept));
    await time('blob HEAD', () => inject('HEAD', `/v2/bench/web/blobs/${blobs[1]?.digest}`));
    await time('metadata tags.resolve only', () => app.metadata.tags.resolve('bench/web' as never, '1.0' as never));
    await time('metadata manifests.get only', () => app.metadata.manifests.get('bench/web' as never, sha(manifest) as never));
    await time('metadata blobLinks.get only', () => app.metadata.blobLinks.get('bench/web' as never, blobs[1]?.digest as never));
  } finally {
    await app.close();
  }
}

/** One owner: `manifests` images over 20 packages, 100,000 distinct blobs, one base layer per package shared by all its manifests; every tenth manifest trashed. */
async function seed(m: Metadata, owner: string, manifests: number, blobs: number): Promise<void> {
  const repos = Array.from({ length: 20 }, (_, i) => `${owner}/pkg${i}`);
  const now = Date.now();
  const blobDigest = (i: number) => sha(`${owner}-blob-${i}`);
  const trashId = createHash('sha256').update(owner).digest('hex').slice(0, 12);
  await m.db.insertInto('trash').values({ id: trashId, owner, repo: `${owner}/pkg0`, kind: 'version', digest: null, actor: 'bench', trashed_at: now, expires_at: now }).execute();
  await m.transaction(async (t) => {
    for (const r of repos) await t.db.insertInto('repositories').values({ name: r, owner, created_at: now, updated_at: now }).execute();
  });
  // Each package links the blobs its manifests use; blob i belongs to package i % 20 (plus shared ones).
  const BATCH = 500;
  for (let start = 0; start < blobs; start += BATCH) {
    await m.transaction(async (t) => {
      const rows = [];
      for (let i = start; i < Math.min(blobs, start + BATCH); i++) rows.push({ repo: repos[Math.floor(i / 5) % repos.length] ?? '', digest: blobDigest(i), size: 1000 + (i % 5000), created_at: now });
      await t.db.insertInto('repo_blobs').values(rows).execute();
    });
  }
  for (let start = 0; start < manifests; start += BATCH) {
    await m.transaction(async (t) => {
      const ms = [];
      const refs = [];
      for (let j = start; j < Math.min(manifests, start + BATCH); j++) {
        const repoIndex = j % repos.length;
        const repo = repos[repoIndex] ?? '';
        // About the size of a real image manifest (bytes are stored inline, before `trashed_at`).
        const content = Buffer.from(`{"manifest":${j},"pad":"${'x'.repeat(1000)}"}`);
        const digest = sha(content);
        ms.push({ repo, digest, media_type: 'application/vnd.oci.image.manifest.v1+json', size: content.length, content, artifact_type: null, config_media_type: null, config_digest: null, subject: null, annotations: null, created_at: now, trashed_at: j % 10 === 0 ? now : null });
        // Five blobs of its own (manifest j owns blobs 5j..5j+4, linked to its package) and the
        // first manifest's base layer of its package, shared by every manifest of the package.
        const own = Array.from({ length: 5 }, (_, k) => j * 5 + k).filter((x) => x < blobs);
        const base = repoIndex * 5;
        for (const x of new Set([...own, base])) refs.push({ repo, digest, child: blobDigest(x), kind: 'blob' as const });
      }
      await t.db.insertInto('manifests').values(ms).execute();
      await t.db.insertInto('manifest_refs').values(refs).execute();
      const trashed = ms.filter((x) => x.trashed_at !== null).map((x) => ({ repo: x.repo, digest: x.digest, trash_id: trashId }));
      if (trashed.length > 0) await t.db.insertInto('trash_manifests').values(trashed).execute();
    });
  }
}

async function usage(): Promise<void> {
  const manifests = Number(process.env['WHARF_BENCH_MANIFESTS'] ?? 20_000);
  const blobs = Number(process.env['WHARF_BENCH_BLOBS'] ?? 100_000);
  const { openSqlite } = await import('../src/metadata/metadata.ts');
  const targets: { name: string; open: () => Promise<{ m: Metadata; done: () => Promise<void> }> }[] = [
    {
      name: 'sqlite (file, WAL)',
      open: async () => {
        const dir = await mkdtemp(join(tmpdir(), 'wharf-usage-'));
        const m = openSqlite(join(dir, 'wharf.db'));
        await m.migrate();
        return { m, done: async () => (await m.close(), await rm(dir, { recursive: true, force: true })) };
      },
    },
  ];
  const url = process.env['DATABASE_URL'];
  if (url) {
    targets.push({
      name: 'postgres',
      open: async () => {
        const { openPostgres } = await import('../src/metadata/postgres.ts');
        const schema = `bench_usage_${randomBytes(4).toString('hex')}`;
        const m = await openPostgres({ url, poolSize: 4, schema });
        await m.migrate();
        return {
          m,
          done: async () => {
            await m.db.schema.dropSchema(schema).ifExists().cascade().execute();
            await m.close();
          },
        };
      },
    });
  }
  for (const target of targets) {
    const { m, done } = await target.open();
    try {
      const t0 = performance.now();
      await seed(m, 'big', manifests, blobs);
      await seed(m, 'other', Math.floor(manifests / 10), Math.floor(blobs / 10));
      // Planner statistics, as autovacuum (PostgreSQL) or `PRAGMA optimize` (SQLite) keep them.
      await sql`analyze`.execute(m.db);
      console.log(`${target.name}: seeded ${manifests} manifests / ${blobs} blobs for one owner in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      const measure = async (what: string, fn: () => Promise<unknown>) => {
        await fn();
        const runs: number[] = [];
        for (let i = 0; i < 5; i++) {
          const s = performance.now();
          await fn();
          runs.push(performance.now() - s);
        }
        runs.sort((a, b) => a - b);
        console.log(`  ${what}: median ${runs[2]?.toFixed(0)} ms (min ${runs[0]?.toFixed(0)}, max ${runs[4]?.toFixed(0)})`);
      };
      const fig = await m.usage.ofOwner('big');
      console.log(`  owner figures: ${JSON.stringify(fig)}`);
      await measure('ofOwner (20,000 manifests, 100,000 blobs)', () => m.usage.ofOwner('big'));
      await measure('ofPackage (one of 20 packages)', () => m.usage.ofPackage('big/pkg3'));
      await measure('site (deduplicated, both owners)', () => m.usage.site());
    } finally {
      await done();
    }
  }
}

const [mode, root] = process.argv.slice(2);
if (mode === 'hotpath') await hotpath(resolve(root ?? '.'));
else if (mode === 'usage') await usage();
else {
  console.error('usage: node bench/trash-usage.ts hotpath [ROOT] | usage');
  process.exit(2);
}
