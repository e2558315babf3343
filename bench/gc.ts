/**
 * Garbage collection at scale: 100,000 blobs and 20,000 manifests, on the embedded profile
 * (fs + SQLite) and, when ../shared/services is up, on S3 + PostgreSQL.
 *
 *   node bench/gc.ts                          # both profiles, prints Markdown
 *   BENCH_GC_BLOBS=20000 BENCH_GC_MANIFESTS=4000 node bench/gc.ts   # smaller
 *   BENCH_GC_PROFILES=embedded node bench/gc.ts
 *
 * Or from bench/run.ts (section `gc`). Not a test: it asserts nothing and reports the targets as
 * met or missed.
 *
 * Seeding goes straight into storage, not through pushes (100,000 pushes would take most of an
 * hour here): blob bytes written at the layout's keys (a file per blob, or PutObject), rows
 * inserted into the metadata database in batches. The data: 200 repositories ×
 * 100 manifests, each with a unique config, a unique layer and two layers shared across the
 * repository's manifests; 10 % of the manifests deleted; 20 % of the blobs uploaded long ago and
 * never referenced. Everything is out of the grace (touched two hours ago).
 *
 * Measured on a started `wharf serve`: the wall time of a run started through the admin API
 * (scheduled runs run there too) and the server's peak RSS growth; requests/s of a pull load
 * (small blob GETs, the load generator of bench/loadgen.ts) without GC and while it runs; and
 * `wharf gc --dry-run` as a separate process: wall time and peak RSS.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import pino from 'pino';
import { ensureBuilt, wharfBin } from '../scripts/build.ts';
import { loadConfig as loadWharfConfig } from '../src/config/load.ts';
import type { Metadata } from '../src/metadata/metadata.ts';
import { openMetadata } from '../src/main.ts';
import type { Digest } from '../src/oci/digest.ts';
import { layout } from '../src/storage/layout.ts';
import { createS3Client } from '../src/storage/s3/client.ts';
import { emptyPrefix, freshSchema, postgresMissing, s3Missing, s3TestOptions, scaleEnv } from '../test/scale/backends.ts';
import { startWharf, type StartedServer } from '../test/helpers/server.ts';
import { chooseLoadGen, runLoad } from './loadgen.ts';
import { readMemory, treeCpuSeconds as cpuSeconds } from './servers.ts';

export interface GcBenchProfile {
  profile: string;
  blobs: number;
  manifests: number;
  seedSeconds: number;
  /** CPU seconds the server used while the run went on (GC and the concurrent pulls). */
  serverCpuSeconds: number;
  run: { seconds: number; blobsDeleted: number; bytesFreed: number; manifestsDeleted: number; linksRemoved: number; phases: Record<string, { ms: number }> };
  serverRssMiB: { before: number; peak: number };
  dryRun: { seconds: number; cpuSeconds: number; peakRssMiB: number; blobsDeleted: number };
  pull: { withoutRps: number; duringRps: number; ratio: number; slices: number; tool: string };
}

const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const HOUR = 3600_000;

function digestOf(b: Buffer): Digest {
  return `sha256:${createHash('sha256').update(b).digest('hex')}` as Digest;
}

async function inBatches<T>(items: readonly T[], size: number, fn: (batch: T[]) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await fn(items.slice(i, i + size));
}

async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

interface Seeded {
  probeRepo: string;
  probeDigest: Digest;
}

/** The data set, written through the stores (see the header). */
async function seed(env: Record<string, string>, nBlobs: number, nManifests: number, log: (m: string) => void): Promise<Seeded> {
  const config = loadWharfConfig({ env: { ...env, WHARF_LOG__LEVEL: 'silent' } });
  const metadata: Metadata = await openMetadata(config, pino({ level: 'silent' }));
  await metadata.migrate();
  const now = Date.now() - 2 * HOUR;
  const perRepo = 100;
  const repos = Math.max(1, Math.floor(nManifests / perRepo));
  const garbage = Math.floor(nBlobs * 0.2);
  const referenced = nBlobs - garbage;
  // Blob i: its bytes are a small random body; configs and unique layers come first, shared layers after.
  const bodies: Buffer[] = Array.from({ length: nBlobs }, (_, i) => Buffer.concat([Buffer.from(`blob ${i} `), randomBytes(200 + (i % 700))]));
  const digests = bodies.map(digestOf);
  const t = Date.now();
  const s3 = config.storage.driver === 's3' ? createS3Client({ ...config.storage.s3, region: config.storage.s3.region ?? 'us-east-1' }) : null;
  const prefix = config.storage.s3.prefix.replace(/^\/+|\/+$/g, '');
  await mapLimit(
    bodies.map((_, i) => i),
    s3 ? 48 : 8,
    async (i) => {
      const body = bodies[i] as Buffer;
      if (s3) {
        await s3.send(new PutObjectCommand({ Bucket: config.storage.s3.bucket, Key: `${prefix ? `${prefix}/` : ''}${layout.blob(digests[i] as Digest)}`, Body: body }));
        return;
      }
      const file = join(config.dataDir, 'storage', ...layout.blob(digests[i] as Digest).split('/'));
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, body);
    },
  );
  s3?.destroy();
  log(`seeded ${nBlobs} blobs in ${((Date.now() - t) / 1000).toFixed(0)} s`);

  // Manifests: config = blob m, unique layer = blob nManifests + m, two shared layers per repository.
  const sharedBase = 2 * nManifests;
  const sharedPerRepo = Math.max(2, Math.floor((referenced - sharedBase) / repos));
  const rowsM: Record<string, unknown>[] = [];
  const refs: Record<string, unknown>[] = [];
  const links = new Map<string, Record<string, unknown>>();
  const link = (repo: string, i: number) => links.set(`${repo} ${i}`, { repo, digest: digests[i], size: bodies[i]?.length ?? 0, created_at: now, touched_at: now });
  for (let m = 0; m < nManifests; m++) {
    const r = Math.floor(m / perRepo) % repos;
    const repo = `bench/repo${r}`;
    const shared = [sharedBase + r * sharedPerRepo + (m % sharedPerRepo), sharedBase + r * sharedPerRepo + ((m + 1) % sharedPerRepo)].filter((i) => i < referenced);
    const blobs = [m, nManifests + m, ...shared];
    const content = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MANIFEST,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digests[m], size: bodies[m]?.length },
        layers: blobs.slice(1).map((i) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: digests[i], size: bodies[i]?.length })),
      }),
    );
    const digest = digestOf(content);
    rowsM.push({ repo, digest, media_type: MANIFEST, size: content.length, content, artifact_type: null, config_media_type: 'application/vnd.oci.image.config.v1+json', config_digest: digests[m], subject: null, annotations: null, created_at: now });
    for (const i of blobs) {
      refs.push({ repo, digest, child: digests[i], kind: 'blob' });
      link(repo, i);
    }
  }
  // Garbage: uploaded long ago to some repository, never referenced.
  for (let i = referenced; i < nBlobs; i++) link(`bench/repo${i % repos}`, i);
  const db = metadata.db;
  await inBatches(
    [...new Set(rowsM.map((r) => String(r['repo'])))].map((name) => ({ name, owner: 'bench', created_at: now, updated_at: now })),
    500,
    async (b) => void (await db.insertInto('repositories').values(b).onConflict((oc) => oc.doNothing()).execute()),
  );
  await inBatches(rowsM, 200, async (b) => void (await db.insertInto('manifests').values(b as never).execute()));
  await inBatches(refs, 2000, async (b) => void (await db.insertInto('manifest_refs').values(b as never).onConflict((oc) => oc.doNothing()).execute()));
  await inBatches([...links.values()], 2000, async (b) => void (await db.insertInto('repo_blobs').values(b as never).execute()));
  await inBatches(rowsM, 2000, async (b) => void (await db.insertInto('tags').values(b.map((r, k) => ({ repo: r['repo'] as string, name: `v${k}-${String(r['digest']).slice(7, 15)}`, digest: r['digest'] as string, updated_at: now }))).execute()));
  // 10 % of the manifests deleted (as a /v2 DELETE does: tags, references, the manifest).
  const deleted = rowsM.filter((_, k) => k % 10 === 5);
  await inBatches(deleted, 500, async (b) => {
    for (const r of b) {
      await metadata.transaction((mm) => mm.manifests.delete(r['repo'] as never, r['digest'] as never));
    }
  });
  log(`seeded ${nManifests} manifests (${deleted.length} deleted), ${links.size} links in ${((Date.now() - t) / 1000).toFixed(0)} s total`);
  await metadata.close();
  return { probeRepo: 'bench/repo0', probeDigest: digests[sharedBase] as Digest };
}

function timed(cmd: string, args: string[], env: Record<string, string>): Promise<{ seconds: number; cpuSeconds: number; peakRssMiB: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const child = spawn('/usr/bin/time', ['-f', 'maxrss=%M cpu=%U+%S', cmd, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const kib = Number(/maxrss=(\d+)/.exec(err)?.[1] ?? 0);
      const cpu = /cpu=([\d.]+)\+([\d.]+)/.exec(err);
      if (code !== 0) reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err}`));
      else resolve({ seconds: (performance.now() - t) / 1000, cpuSeconds: Number(cpu?.[1] ?? 0) + Number(cpu?.[2] ?? 0), peakRssMiB: kib / 1024, stdout: out });
    });
  });
}

async function benchProfile(name: string, env: Record<string, string>, opts: { blobs: number; manifests: number; log: (m: string) => void }): Promise<GcBenchProfile> {
  const { log } = opts;
  const dataDir = await mkdtemp(join(process.env['BENCH_TMP'] ?? tmpdir(), 'wharf-gc-bench-'));
  const password = `bench-${randomBytes(8).toString('hex')}`;
  const auth = `Basic ${Buffer.from(`admin:${password}`).toString('base64')}`;
  const fullEnv = { ...env, WHARF_DATA_DIR: dataDir, WHARF_GC__GRACE_SECONDS: '3600', WHARF_GC__INTERVAL_SECONDS: '0', WHARF_AUTH__ADMIN__PASSWORD: password, WHARF_AUTH__TOKEN_TTL_SECONDS: '86400' };
  let server: StartedServer | null = null;
  try {
    const t = Date.now();
    const probe = await seed(fullEnv, opts.blobs, opts.manifests, (m) => log(`${name}: ${m}`));
    const seedSeconds = (Date.now() - t) / 1000;
    const serveEnv = fullEnv;
    server = await startWharf({ env: serveEnv, dataDir, keepDataDir: true, readyTimeoutMs: 120_000 });
    const pid = server.pid ?? 0;
    const tool = chooseLoadGen('auto');
    const url = `${server.url}/v2/${probe.probeRepo}/blobs/${probe.probeDigest}`;
    // A registry token, as pulling clients use (Basic on every request would verify a password hash).
    const tokenRes = await fetch(`${server.url}/token?scope=repository:${probe.probeRepo}:pull`, { headers: { authorization: auth } });
    const token = ((await tokenRes.json()) as { token: string }).token;
    const load = (seconds: number) => runLoad(tool, { url, method: 'GET', headers: { authorization: `Bearer ${token}` }, connections: 16, durationSeconds: seconds }, dataDir);

    const without = await load(10);
    log(`${name}: pull load without GC: ${without.rps.toFixed(0)} req/s (${tool})`);

    // The dry run first (a separate process, as `wharf gc --dry-run` beside the server): nothing changes.
    const dry = await timed(wharfBin(), ['gc', '--dry-run', '--json'], { ...serveEnv, WHARF_BUILD: '0' });
    const drySummary = JSON.parse(dry.stdout) as { blobsDeleted: number; phases: unknown };
    log(`${name}: dry run phases ${JSON.stringify(drySummary.phases)}`);
    log(`${name}: dry run ${dry.seconds.toFixed(1)} s, peak RSS ${dry.peakRssMiB.toFixed(0)} MiB, would delete ${drySummary.blobsDeleted} blobs`);

    const cpuBefore = cpuSeconds(pid);
    const rssBefore = (readMemory(pid)?.rssKiB ?? 0) / 1024;
    const hwmBefore = readMemory(pid)?.hwmKiB ?? 0;
    const start = await fetch(`${server.url}/api/v1/admin/gc`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: auth }, body: '{"dryRun":false}' });
    if (start.status !== 202) throw new Error(`starting GC: ${start.status} ${await start.text()}`);
    const id = ((await start.json()) as { id: string }).id;
    const slices: number[] = [];
    let run: { status: string; summary: GcBenchProfile['run'] & { durationMs: number } } | undefined;
    let peakKiB = 0;
    for (;;) {
      const slice = await load(3);
      peakKiB = Math.max(peakKiB, readMemory(pid)?.hwmKiB ?? 0);
      const status = (await (await fetch(`${server.url}/api/v1/admin/gc?limit=5`, { headers: { authorization: auth } })).json()) as { runs: { id: string; status: string; summary: GcBenchProfile['run'] & { durationMs: number } }[] };
      run = status.runs.find((r) => r.id === id);
      // Only slices that ran entirely while the run did count.
      if (run?.status === 'running') slices.push(slice.rps);
      else break;
    }
    if (!run || run.status !== 'succeeded') throw new Error(`GC run ${run?.status ?? 'missing'}`);
    // The server's CPU time over the run, pulls included (the load on this shared machine stretches wall times).
    const cpu = cpuSeconds(pid) - cpuBefore;
    const s = run.summary;
    const during = slices.length > 0 ? slices.reduce((a, b) => a + b, 0) / slices.length : Number.NaN;
    log(`${name}: GC ${(s.durationMs / 1000).toFixed(1)} s, deleted ${s.blobsDeleted} blobs; pull load during ${during.toFixed(0)} req/s over ${slices.length} slices`);
    return {
      profile: name,
      blobs: opts.blobs,
      manifests: opts.manifests,
      seedSeconds,
      serverCpuSeconds: cpu,
      run: { seconds: s.durationMs / 1000, blobsDeleted: s.blobsDeleted, bytesFreed: s.bytesFreed, manifestsDeleted: s.manifestsDeleted, linksRemoved: s.linksRemoved, phases: s.phases },
      serverRssMiB: { before: rssBefore, peak: Math.max(peakKiB, hwmBefore) / 1024 },
      dryRun: { seconds: dry.seconds, cpuSeconds: dry.cpuSeconds, peakRssMiB: dry.peakRssMiB, blobsDeleted: drySummary.blobsDeleted },
      pull: { withoutRps: without.rps, duringRps: during, ratio: during / without.rps, slices: slices.length, tool },
    };
  } finally {
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

export async function runGcBench(opts: { log?: (m: string) => void } = {}): Promise<GcBenchProfile[]> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const blobs = Number(process.env['BENCH_GC_BLOBS'] ?? 100_000);
  const manifests = Number(process.env['BENCH_GC_MANIFESTS'] ?? 20_000);
  const wanted = new Set((process.env['BENCH_GC_PROFILES'] ?? 'embedded,scale').split(','));
  ensureBuilt();
  const out: GcBenchProfile[] = [];
  if (wanted.has('embedded')) out.push(await benchProfile('fs + SQLite', {}, { blobs, manifests, log }));
  if (wanted.has('scale')) {
    const missing = s3Missing || postgresMissing;
    if (missing) log(`gc bench: S3 + PostgreSQL skipped: ${missing}`);
    else {
      const s3 = s3TestOptions({ prefix: `bench-gc/${Date.now().toString(36)}/` });
      const db = await freshSchema();
      try {
        out.push(
          await benchProfile(
            'S3 (RGW) + PostgreSQL',
            scaleEnv(s3, db),
            { blobs, manifests, log },
          ),
        );
      } finally {
        await emptyPrefix(s3).catch(() => undefined);
        await db.drop().catch(() => undefined);
      }
    }
  }
  return out;
}

export function gcBenchMarkdown(rows: GcBenchProfile[]): string {
  const lines = [
    '| profile | blobs / manifests | GC wall time (server CPU) | deleted (blobs / links / bytes) | server RSS before → peak | `wharf gc --dry-run`: wall (CPU), peak RSS | pull req/s without → during GC | during / without |',
    '| --- | --- | ---: | --- | --- | --- | --- | ---: |',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.profile} | ${r.blobs.toLocaleString('en')} / ${r.manifests.toLocaleString('en')} | ${r.run.seconds.toFixed(1)} s (${r.serverCpuSeconds.toFixed(1)} s) | ${r.run.blobsDeleted} / ${r.run.linksRemoved} / ${(r.run.bytesFreed / 1024 / 1024).toFixed(1)} MiB | ${r.serverRssMiB.before.toFixed(0)} → ${r.serverRssMiB.peak.toFixed(0)} MiB | ${r.dryRun.seconds.toFixed(1)} s (${r.dryRun.cpuSeconds.toFixed(1)} s), ${r.dryRun.peakRssMiB.toFixed(0)} MiB | ${r.pull.withoutRps.toFixed(0)} → ${r.pull.duringRps.toFixed(0)} (${r.pull.slices} × 3 s, ${r.pull.tool}) | ${(r.pull.ratio * 100).toFixed(0)} % |`,
    );
  }
  lines.push('', 'Phase times (ms): ' + rows.map((r) => `${r.profile}: ${Object.entries(r.run.phases).map(([k, v]) => `${k} ${v.ms}`).join(', ')}`).join('; '));
  return lines.join('\n');
}

if (import.meta.main) {
  const rows = await runGcBench();
  process.stdout.write(`${gcBenchMarkdown(rows)}\n`);
}
