/**
 * kill -9 of the server during a GC run: after a restart on the same data directory nothing
 * reachable is missing (every image pulls byte-exact), the killed run is reported interrupted,
 * and the next run completes and frees the rest of the garbage. fs + SQLite, grace 0.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type StartedServer, startWharf } from '../helpers/server.ts';

const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const digestOf = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

interface Image {
  repo: string;
  digest: string;
  manifest: Buffer;
  blobs: Map<string, Buffer>;
}

function client(server: StartedServer) {
  const auth = server.admin ? `Basic ${Buffer.from(`${server.admin.username}:${server.admin.password}`).toString('base64')}` : '';
  return async (method: string, path: string, body?: Buffer | string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${server.url}${path}`, { method, headers: { authorization: auth, ...headers }, ...(body !== undefined ? { body } : {}) });
    return { status: res.status, body: Buffer.from(await res.arrayBuffer()), headers: res.headers };
  };
}

async function pushBlob(http: ReturnType<typeof client>, repo: string, bytes: Buffer): Promise<string> {
  const digest = digestOf(bytes);
  const res = await http('POST', `/v2/${repo}/blobs/uploads/?digest=${digest}`, bytes, { 'content-type': 'application/octet-stream' });
  assert.equal(res.status, 201, res.body.toString());
  return digest;
}

async function countBlobs(dataDir: string): Promise<number> {
  let n = 0;
  const base = join(dataDir, 'storage', 'blobs', 'sha256');
  for (const fan of await readdir(base).catch(() => [])) n += (await readdir(join(base, fan))).length;
  return n;
}

test('kill -9 during a GC run loses nothing reachable; the next run completes', async () => {
  const env = {
    WHARF_GC__GRACE_SECONDS: '0',
    WHARF_GC__INTERVAL_SECONDS: '0',
    // The restarted server must accept the same administrator.
    WHARF_AUTH__ADMIN__PASSWORD: `crash-${randomBytes(8).toString('hex')}`,
  };
  let server = await startWharf({ env, keepDataDir: true });
  const dataDir = server.dataDir;
  try {
    let http = client(server);
    const images: Image[] = [];
    const shared = randomBytes(64 * 1024);
    for (let i = 0; i < 4; i++) {
      const repo = `crash/app${i % 2}`;
      const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, i }));
      const layer = randomBytes(128 * 1024);
      const blobs = new Map([config, shared, layer].map((b) => [digestOf(b), b] as [string, Buffer]));
      for (const b of blobs.values()) await pushBlob(http, repo, b);
      const manifest = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MANIFEST,
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf(config), size: config.length },
          layers: [shared, layer].map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: digestOf(l), size: l.length })),
        }),
      );
      const put = await http('PUT', `/v2/${repo}/manifests/v${i}`, manifest, { 'content-type': MANIFEST });
      assert.equal(put.status, 201);
      images.push({ repo, digest: digestOf(manifest), manifest, blobs });
    }
    // Garbage for the run to chew on: blobs uploaded and never referenced.
    const GARBAGE = 1500;
    for (let i = 0; i < GARBAGE; i += 50) {
      await Promise.all(Array.from({ length: 50 }, () => pushBlob(http, 'crash/junk', randomBytes(200))));
    }
    const reachable = new Set(images.flatMap((im) => [...im.blobs.keys()])).size;
    assert.equal(await countBlobs(dataDir), reachable + GARBAGE);
    await sleep(5); // grace 0: the clock must move past the uploads

    const start = await http('POST', '/api/v1/admin/gc', JSON.stringify({ dryRun: false }), { 'content-type': 'application/json' });
    assert.equal(start.status, 202, start.body.toString());
    const killedRun = (JSON.parse(start.body.toString()) as { id: string }).id;
    // The run is under way (it answered once it held the lease); kill it mid-walk.
    for (let i = 0; i < 400 && (await countBlobs(dataDir)) === reachable + GARBAGE; i++) await sleep(2);
    await server.kill('SIGKILL');
    const left = await countBlobs(dataDir);
    assert.ok(left > reachable, `the run was killed before it finished (${left - reachable} garbage blobs left)`);

    server = await startWharf({ env, dataDir, keepDataDir: true });
    http = client(server);
    for (const im of images) {
      const m = await http('GET', `/v2/${im.repo}/manifests/${im.digest}`, undefined, { accept: MANIFEST });
      assert.equal(m.status, 200);
      assert.ok(m.body.equals(im.manifest));
      for (const [d, bytes] of im.blobs) {
        const b = await http('GET', `/v2/${im.repo}/blobs/${d}`);
        assert.equal(b.status, 200, `${im.repo} ${d} after the crash`);
        assert.ok(b.body.equals(bytes), `${d} byte-exact`);
      }
    }
    // The killed run's lease expires (60 s) unless the new process takes it as the same holder;
    // wait for the next run to be allowed, then run it.
    let next: { status: number; body: Buffer } | null = null;
    for (let i = 0; i < 90; i++) {
      next = await http('POST', '/api/v1/admin/gc', JSON.stringify({ dryRun: false }), { 'content-type': 'application/json' });
      if (next.status === 202) break;
      assert.equal(next.status, 409);
      await sleep(1000);
    }
    assert.equal(next?.status, 202, 'a new run starts once the dead holder lease expired');
    const nextId = (JSON.parse(next?.body.toString() ?? '{}') as { id: string }).id;
    let runs: { id: string; status: string; summary: { blobsDeleted?: number } | null }[] = [];
    for (let i = 0; i < 200; i++) {
      runs = (JSON.parse((await http('GET', '/api/v1/admin/gc')).body.toString()) as { runs: typeof runs }).runs;
      if (runs.find((r) => r.id === nextId)?.status !== 'running') break;
      await sleep(50);
    }
    assert.equal(runs.find((r) => r.id === nextId)?.status, 'succeeded');
    assert.equal(runs.find((r) => r.id === killedRun)?.status, 'interrupted');
    assert.equal(await countBlobs(dataDir), reachable, 'the next run freed the rest of the garbage');
    for (const im of images) for (const d of im.blobs.keys()) assert.equal((await http('HEAD', `/v2/${im.repo}/blobs/${d}`)).status, 200);
  } finally {
    await server.stop();
    const { rm } = await import('node:fs/promises');
    await rm(dataDir, { recursive: true, force: true });
  }
});
