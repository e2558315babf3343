/**
 * Pull-through cache measurements (issue 17, ADR 0017; not a test, prints numbers):
 *
 *   node bench/proxy.ts
 *
 * An upstream CNCF Distribution (Debian docker-registry) holding one image (a WHARF_BENCH_MIB MiB
 * incompressible layer, default 16), behind a counting forwarder; an in-process Wharf (files +
 * SQLite, or S3 + PostgreSQL with WHARF_TEST_PROFILE=scale) with a proxy organization of it. Rows:
 * a pull (manifest + blobs, over HTTP with fetch) straight from the upstream, a cold and a warm pull
 * through the proxy, and WHARF_BENCH_CONCURRENCY (default 32) concurrent cold pulls of one layer:
 * wall time and the bytes the upstream sent (ideal: one layer).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { SYSTEM } from '../src/auth/principal.ts';
import { buildTestApp } from '../test/helpers/app.ts';
import { removeUpstreamDir, startDistributionUpstream, startForwarder } from '../test/helpers/upstream.ts';

const MIB = Number(process.env['WHARF_BENCH_MIB'] ?? 16);
const CONCURRENCY = Number(process.env['WHARF_BENCH_CONCURRENCY'] ?? 32);
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

async function push(base: string, repo: string, layer: Buffer): Promise<void> {
  const config = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
  for (const blob of [config, layer]) {
    const start = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    const location = new URL(start.headers.get('location') ?? '', base);
    location.searchParams.set('digest', sha(blob));
    const put = await fetch(location, { method: 'PUT', body: blob, headers: { 'content-type': 'application/octet-stream' } });
    if (put.status !== 201) throw new Error(`upstream upload: ${put.status}`);
  }
  const manifest = JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length }, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha(layer), size: layer.length }] });
  const put = await fetch(`${base}/v2/${repo}/manifests/1`, { method: 'PUT', body: manifest, headers: { 'content-type': OCI_MANIFEST } });
  if (put.status !== 201) throw new Error(`upstream manifest: ${put.status}`);
}

/** manifest + every blob, bodies read and checked; milliseconds. */
async function pull(base: string, repo: string): Promise<number> {
  const t0 = performance.now();
  const m = (await (await fetch(`${base}/v2/${repo}/manifests/1`, { headers: { accept: OCI_MANIFEST } })).json()) as { config: { digest: string }; layers: { digest: string }[] };
  await Promise.all(
    [m.config, ...m.layers].map(async (d) => {
      const body = Buffer.from(await (await fetch(`${base}/v2/${repo}/blobs/${d.digest}`)).arrayBuffer());
      if (sha(body) !== d.digest) throw new Error(`digest mismatch for ${d.digest}`);
    }),
  );
  return performance.now() - t0;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-bench-proxy-'));
  const upstream = await startDistributionUpstream({ kind: 'none' }, 'bench-proxy-upstream');
  const fwd = await startForwarder(upstream.url);
  const scale = process.env['WHARF_TEST_PROFILE'] === 'scale';
  const app = await buildTestApp(scale ? {} : { storage: { driver: 'fs', fs: { root: join(dir, 'blobs') } }, database: { sqlite: { path: join(dir, 'wharf.db') } } });
  try {
    const layer = randomBytes(MIB * 1024 * 1024);
    for (const repo of ['library/app', 'library/many']) await push(upstream.url, repo, layer);
    const url = await app.app.listen({ host: '127.0.0.1', port: 0 });
    await app.proxyAdmin.create(SYSTEM, 'hub', { url: fwd.url });
    const row = (what: string, ms: number, extra = '') => console.log(`${what.padEnd(44)} ${(ms / 1000).toFixed(2).padStart(7)} s  ${((MIB / ms) * 1000).toFixed(0).padStart(5)} MiB/s ${extra}`);
    console.log(`profile: ${scale ? 'S3 + PostgreSQL' : 'files + SQLite'}; image: one ${MIB} MiB layer`);
    await pull(upstream.url, 'library/app'); // the upstream's page cache, as for the others
    row('upstream direct', await pull(upstream.url, 'library/app'));
    let before = fwd.blobBytes;
    row('proxy cold (fetch + store + serve)', await pull(url, 'hub/library/app'), `upstream sent ${((fwd.blobBytes - before) / 2 ** 20).toFixed(1)} MiB`);
    row('proxy warm', await pull(url, 'hub/library/app'));
    before = fwd.blobBytes;
    const getsBefore = new Map(fwd.blobGets);
    const m = (await (await fetch(`${url}/v2/hub/library/many/manifests/1`, { headers: { accept: OCI_MANIFEST } })).json()) as { layers: { digest: string }[] };
    const digest = m.layers[0]?.digest ?? '';
    const t0 = performance.now();
    // Each client hashes as it reads (as docker and containerd do) and notes its first byte.
    const firstBytes = await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        const res = await fetch(`${url}/v2/hub/library/many/blobs/${digest}`);
        if (!res.body) throw new Error(`no body (${res.status})`);
        const hash = createHash('sha256');
        let first = Number.NaN;
        for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
          if (Number.isNaN(first)) first = performance.now() - t0;
          hash.update(chunk);
        }
        if (`sha256:${hash.digest('hex')}` !== digest) throw new Error('digest mismatch');
        return first;
      }),
    );
    const ms = performance.now() - t0;
    const ttfb = [...firstBytes].sort((a, b) => a - b);
    console.log(`${`${CONCURRENCY} concurrent cold pulls of one layer`.padEnd(44)} ${(ms / 1000).toFixed(2).padStart(7)} s  upstream sent ${((fwd.blobBytes - before) / 2 ** 20).toFixed(1)} MiB (${((fwd.blobBytes - before) / layer.length).toFixed(2)}× the layer), ${(fwd.blobGets.get(digest) ?? 0) - (getsBefore.get(digest) ?? 0)} upstream GET of it`);
    console.log(`${'  time to first byte: first client, median'.padEnd(44)} ${((ttfb[0] ?? 0) / 1000).toFixed(2).padStart(7)} s, ${((ttfb[Math.floor(ttfb.length / 2)] ?? 0) / 1000).toFixed(2)} s`);
  } finally {
    await app.close();
    await fwd.stop();
    await upstream.stop();
    await removeUpstreamDir(upstream);
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
