/**
 * CPU profile of Wharf under one request load, and nothing else (no start-up-heavy mixes):
 *
 *   node bench/profile.ts get|head|ping|tags|push|pull|put|images [seconds]
 *
 * Starts Wharf with --cpu-prof on 127.0.0.1, sets up a small image (and, for `tags`, a
 * repository of BENCH_TAGS tags), runs the load (wrk or the Node load generator, 32
 * connections; `tags` lists the full tag list in a loop on one connection; `push` pushes
 * BENCH_BLOB_MB blobs monolithically and `pull` pulls one, in a loop; `put` puts distinct manifests,
 * BENCH_PUT_CONCURRENCY in flight, and `images` pushes rounds of BENCH_SMALL_PUSHES small images
 * into new repositories at once, like the core bench's rows), stops Wharf so the
 * profile is written, and prints the summary (also written to bench/output/profile-<case>.md).
 */
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { MiB, loadConfig } from './config.ts';
import { HttpClient, pool } from './http.ts';
import { chooseLoadGen, runLoad } from './loadgen.ts';
import { summarizeProfile } from './profile-summary.ts';
import {
  BLOB_TIMEOUT_MS,
  loadHeaders,
  imageManifest,
  listTags,
  pullBlob,
  pushBufferMonolithic,
  pushImageBlobs,
  putManifest,
  sha256,
  smallImage,
} from './registry-client.ts';
import { startWharf } from './servers.ts';

const which = process.argv[2] ?? 'get';
const seconds = Number(process.argv[3] ?? '10');
if (!['get', 'head', 'ping', 'tags', 'push', 'pull', 'put', 'images'].includes(which) || !Number.isFinite(seconds) || seconds <= 0 || seconds > 120) {
  console.error('usage: node bench/profile.ts get|head|ping|tags|push|pull|put|images [seconds (1-120)]');
  process.exit(2);
}
const cfg = { ...loadConfig(), cpuProfile: true };
const since = Date.now();
const scratch = await mkdtemp(join(cfg.tmpRoot, 'wharf-profile-'));
const server = await startWharf(cfg);
let loadStart = Date.now();
try {
  const client = new HttpClient(server.baseUrl, 64, server.credentials);
  const repo = 'bench/profile';
  const image = smallImage('bench-profile');
  await pushImageBlobs(client, repo, image);
  await putManifest(client, repo, 'latest', imageManifest(image));
  if (which === 'push' || which === 'pull') {
    // One random buffer; each push changes its first 8 bytes so every push is a new blob.
    const data = randomBytes(cfg.blobMiB * MiB);
    let seq = 0;
    const push = async () => {
      data.writeBigUInt64BE(BigInt(seq++), 0);
      return pushBufferMonolithic(client, repo, data, sha256(data), BLOB_TIMEOUT_MS);
    };
    const pulled = which === 'pull' ? await push() : null;
    loadStart = Date.now();
    const until = performance.now() + seconds * 1000;
    let bytes = 0;
    let busy = 0;
    while (performance.now() < until) {
      const t = performance.now();
      if (pulled) bytes += await pullBlob(client, repo, pulled.digest);
      else bytes += (await push()).size;
      busy += performance.now() - t;
    }
    console.error(`${which}: ${(bytes / MiB / (busy / 1000)).toFixed(0)} MiB/s over ${(bytes / MiB).toFixed(0)} MiB (${cfg.blobMiB} MiB blobs)`);
  } else if (which === 'put' || which === 'images') {
    loadStart = Date.now();
    const cpuStart = server.cpuSeconds();
    const until = performance.now() + seconds * 1000;
    let done = 0;
    for (let round = 0; performance.now() < until; round++) {
      if (which === 'put') {
        const bodies = Array.from({ length: 200 }, (_, i) => imageManifest(image, { 'bench.index': `${round}-${i}` }));
        await pool(bodies.length, cfg.putConcurrency, (i) => putManifest(client, repo, `t-${round}-${i}`, bodies[i] ?? ''));
        done += bodies.length;
      } else {
        const pusher = new HttpClient(server.baseUrl, cfg.smallPushes + 4, server.credentials);
        await Promise.all(
          Array.from({ length: cfg.smallPushes }, async (_, i) => {
            const small = smallImage(`bench-profile-${round}-${i}`);
            await pushImageBlobs(pusher, `bench/small-${round}-${i}`, small);
            await putManifest(pusher, `bench/small-${round}-${i}`, 'v1', imageManifest(small));
          }),
        );
        pusher.close();
        done += cfg.smallPushes;
      }
    }
    const cpuMs = (server.cpuSeconds() - cpuStart) * 1000;
    console.error(`${which}: ${done} ${which === 'put' ? 'manifests' : 'images'} in ${seconds} s (${(done / seconds).toFixed(0)}/s), server CPU ${(cpuMs / done).toFixed(2)} ms each`);
  } else if (which === 'tags') {
    const body = imageManifest(image);
    await pool(cfg.tags, cfg.putConcurrency, (i) => putManifest(client, repo, `v${i}`, body));
    loadStart = Date.now();
    const until = performance.now() + seconds * 1000;
    let lists = 0;
    while (performance.now() < until) {
      await listTags(client, repo);
      lists++;
    }
    console.error(`${lists} full listings of ${cfg.tags} tags in ${seconds} s (${((seconds * 1000) / lists).toFixed(1)} ms each)`);
  } else {
    loadStart = Date.now();
    const tool = which === 'head' ? 'node' : chooseLoadGen(cfg.loadgen);
    const r = await runLoad(
      tool,
      {
        url: `${server.baseUrl}${which === 'ping' ? '/v2/' : `/v2/${repo}/manifests/latest`}`,
        method: which === 'head' ? 'HEAD' : 'GET',
        headers: await loadHeaders(client, which === 'head' ? 'HEAD' : 'GET', which === 'ping' ? '/v2/' : `/v2/${repo}/manifests/latest`),
        connections: cfg.concurrency,
        durationSeconds: seconds,
      },
      scratch,
    );
    console.error(`${which}: ${r.rps.toFixed(0)} req/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms (${tool})`);
  }
  client.close();
} finally {
  await server.stop();
  await rm(scratch, { recursive: true, force: true });
}
const dir = join(cfg.outDir, 'profiles');
let newest: { path: string; mtime: number } | null = null;
for (const f of (await readdir(dir)).filter((x) => x.endsWith('.cpuprofile'))) {
  const m = (await stat(join(dir, f))).mtimeMs;
  if (m >= since && (newest === null || m > newest.mtime)) newest = { path: join(dir, f), mtime: m };
}
if (newest === null) {
  console.error('no profile was written');
  process.exit(1);
}
// Skip start-up and set-up; the profile starts a little after `since` (process start).
const summary = await summarizeProfile(newest.path, 25, Math.max(loadStart - since, 0));
await writeFile(join(cfg.outDir, `profile-${which}.md`), `${summary}\n`);
process.stdout.write(`${summary}\n`);
