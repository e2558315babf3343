/**
 * Scale-out proof: two Wharf replicas on Ceph RGW (S3) + PostgreSQL behind nginx round-robin
 * (all from ../shared/services/start-services.sh up s3 postgres lb).
 *
 * - skopeo pushes a multi-layer image and helm pushes a chart through the load balancer
 *   (uploads land on both replicas); pulls from each replica directly return identical digests
 *   and bytes;
 * - a chunked upload whose PATCH requests alternate between the replicas completes;
 * - kill -9 of the replica receiving a large blob mid-push: the client's retry through the load
 *   balancer succeeds, nothing is half-visible (every stored blob matches its digest, every
 *   link has its bytes) and no committed manifest is lost.
 *
 * Skipped when the services' variables (S3_ENDPOINT, DATABASE_URL, REGISTRY_LB_URL) are unset.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import pg from 'pg';
import { createS3Client } from '../../src/storage/s3/client.ts';
import {
  type ClientEnv,
  createClientEnv,
  type Descriptor,
  findBinary,
  layoutBlobs,
  layoutRef,
  missingClients,
  OCI_CONFIG,
  OCI_MANIFEST,
  randomFiles,
  reachableBlobs,
  runOk,
  sha256,
  umociImage,
  writeBlob,
} from '../helpers/clients.ts';
import { login } from '../helpers/e2e.ts';
import type { StartedServer } from '../helpers/server.ts';
import { bearer, bytesRead, type Cluster, clusterMissing, startCluster, upstreamsFor } from './cluster.ts';

const skip = clusterMissing || missingClients('skopeo', 'umoci');
const NO_TLS = '--tls-verify=false';
const MiB = 1024 * 1024;

describe('two replicas behind a load balancer on S3 + PostgreSQL', { skip, timeout: 15 * 60_000 }, () => {
  let cluster: Cluster;
  let clients: ClientEnv;
  const ns = `scale-${randomBytes(3).toString('hex')}`;

  before(async () => {
    cluster = await startCluster();
    const hosts = [cluster.lb.host, ...cluster.replicas.map((r) => r.host)];
    clients = await createClientEnv(hosts);
    for (const h of hosts) await login(clients, h, cluster.admin);
  });
  after(async () => {
    await clients?.cleanup();
    await cluster?.stop();
  });

  async function inspectDigest(host: string, ref: string): Promise<string> {
    const raw = (await clients.runOk('skopeo', ['inspect', NO_TLS, '--raw', `docker://${host}/${ref}`])).stdout;
    return sha256(Buffer.from(raw));
  }

  test('skopeo push through the LB lands on both replicas; each replica serves identical digests and bytes', async () => {
    const layout = join(clients.dir, 'multi');
    const image = await umociImage(clients, layout, 'v1', {
      layers: [randomFiles(2, 300 * 1024, 'a'), randomFiles(1, 7 * MiB, 'b'), randomFiles(3, 64 * 1024, 'c')],
      config: { cmd: ['/bin/true'] },
    });
    const ref = `${ns}/app:v1`;
    await clients.runOk('skopeo', ['copy', '--dest-tls-verify=false', `oci:${layout}:v1`, `docker://${cluster.lb.host}/${ref}`], { timeoutMs: 300_000 });

    const upstreams = await upstreamsFor(`/v2/${ns}/app/blobs/uploads`);
    assert.equal(upstreams.size, 2, `upload requests reached both replicas: ${JSON.stringify([...upstreams])}`);

    const expected = await reachableBlobs(layout, image);
    for (const r of cluster.replicas) {
      assert.equal(await inspectDigest(r.host, ref), image.digest, `manifest digest from ${r.host}`);
      const pulled = join(clients.dir, `pull-${r.port}`);
      await clients.runOk('skopeo', ['copy', '--src-tls-verify=false', `docker://${r.host}/${ref}`, `oci:${pulled}:v1`], { timeoutMs: 300_000 });
      assert.equal((await layoutRef(pulled, 'v1')).digest, image.digest);
      const got = await layoutBlobs(pulled);
      for (const [digest, bytes] of expected) assert.ok(got.get(digest)?.equals(bytes), `${digest} identical from ${r.host}`);
    }
  });

  const helmSkip = missingClients('helm3');
  test('helm pushes a chart through the LB; each replica serves the same chart bytes', { skip: helmSkip }, async () => {
    const helmBin = findBinary('helm3') ?? 'helm';
    const dir = await clients.tempDir('helm');
    const env = {
      HELM_CONFIG_HOME: join(dir, 'config'),
      HELM_CACHE_HOME: join(dir, 'cache'),
      HELM_DATA_HOME: join(dir, 'data'),
      HOME: join(dir, 'home'),
    };
    const helm = (args: string[], opts: { cwd?: string; input?: string } = {}) => runOk(helmBin, args, { env, ...opts, timeoutMs: 120_000 });
    await helm(['create', 'web'], { cwd: dir });
    await helm(['package', 'web', '--version', '1.2.3', '-d', 'out'], { cwd: dir });
    const tgz = await readFile(join(dir, 'out', 'web-1.2.3.tgz'));
    for (const h of [cluster.lb.host, ...cluster.replicas.map((r) => r.host)]) {
      await helm(['registry', 'login', h, '--username', cluster.admin.username, '--password-stdin', '--insecure'], { input: cluster.admin.password });
    }
    const pushed = await helm(['push', join(dir, 'out', 'web-1.2.3.tgz'), `oci://${cluster.lb.host}/${ns}/charts`, '--plain-http']);
    const digest = /Digest:\s*(sha256:[0-9a-f]{64})/.exec(pushed.stdout + pushed.stderr)?.[1];
    assert.ok(digest, `helm push printed the manifest digest:\n${pushed.stdout}${pushed.stderr}`);
    for (const r of cluster.replicas) {
      const into = join(dir, `pull-${r.port}`);
      await mkdir(into, { recursive: true });
      const pulled = await helm(['pull', `oci://${r.host}/${ns}/charts/web`, '--version', '1.2.3', '--plain-http', '-d', into]);
      assert.ok((pulled.stdout + pulled.stderr).includes(digest), `same manifest digest from ${r.host}`);
      assert.ok((await readFile(join(into, 'web-1.2.3.tgz'))).equals(tgz), `chart bytes from ${r.host}`);
    }
  });

  test('a chunked upload whose PATCHes alternate between the replicas completes', async () => {
    const repo = `${ns}/chunked`;
    const [r1, r2] = cluster.replicas;
    assert.ok(r1 && r2);
    // A token issued by one replica is honoured by the other: signing keys live in PostgreSQL.
    const token = await bearer(r1.url, `repository:${repo}:pull,push`, cluster.admin);
    const auth = { authorization: `Bearer ${token}` };
    const data = randomBytes(10 * MiB + 12345);
    const cuts = [0, 3 * MiB, 7 * MiB, 8 * MiB + 1, data.length];

    const start = await fetch(`${r1.url}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: auth });
    assert.equal(start.status, 202, await start.text());
    let location = new URL(start.headers.get('location') ?? '', r1.url).pathname + new URL(start.headers.get('location') ?? '', r1.url).search;
    for (let i = 0; i + 1 < cuts.length; i++) {
      const [from, to] = [cuts[i] ?? 0, cuts[i + 1] ?? 0];
      const replica: StartedServer = i % 2 === 0 ? r2 : r1;
      const res = await fetch(replica.url + location, {
        method: 'PATCH',
        headers: { ...auth, 'content-type': 'application/octet-stream', 'content-range': `${from}-${to - 1}` },
        body: data.subarray(from, to),
      });
      assert.equal(res.status, 202, `chunk ${i} on ${replica.host}: ${await res.text()}`);
      assert.equal(res.headers.get('range'), `0-${to - 1}`);
      const next = new URL(res.headers.get('location') ?? '', replica.url);
      location = next.pathname + next.search;
      // The other replica sees the same progress.
      const other = replica === r1 ? r2 : r1;
      const status = await fetch(other.url + location, { headers: auth });
      await status.arrayBuffer();
      assert.equal(status.status, 204);
      assert.equal(status.headers.get('range'), `0-${to - 1}`);
    }
    const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
    const sep = location.includes('?') ? '&' : '?';
    const put = await fetch(`${r1.url}${location}${sep}digest=${digest}`, { method: 'PUT', headers: auth });
    assert.equal(put.status, 201, await put.text());
    for (const r of cluster.replicas) {
      const res = await fetch(`${r.url}/v2/${repo}/blobs/${digest}`, { headers: auth });
      assert.equal(res.status, 200);
      const got = Buffer.from(await res.arrayBuffer());
      assert.ok(got.equals(data), `blob from ${r.host} is byte-identical`);
    }
  });

  test('kill -9 of the replica receiving a large blob: the retry succeeds, nothing is half-visible, nothing is lost', async (t) => {
    // A committed image that must survive whatever happens next.
    const small = join(clients.dir, 'small');
    const kept = await umociImage(clients, small, 'v1', { layers: [randomFiles(2, 128 * 1024, 'k')] });
    await clients.runOk('skopeo', ['copy', '--dest-tls-verify=false', `oci:${small}:v1`, `docker://${cluster.lb.host}/${ns}/kept:v1`], { timeoutMs: 300_000 });

    // A large single-layer image written as an OCI layout by hand (no compression to wait for).
    const big = join(clients.dir, 'big');
    await mkdir(big, { recursive: true });
    await writeFile(join(big, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    // A real gzip stream (stored blocks: fast, incompressible) so skopeo pushes it as it is.
    const layerBytes = gzipSync(randomBytes(256 * MiB), { level: 0 });
    const layer = await writeBlob(big, layerBytes);
    const config = await writeBlob(big, JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layer.digest] } }));
    const manifestJson = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, ...config },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }],
    });
    const manifest = await writeBlob(big, manifestJson);
    const bigImage: Descriptor = { mediaType: OCI_MANIFEST, ...manifest, annotations: { 'org.opencontainers.image.ref.name': 'v1' } };
    await writeFile(join(big, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [bigImage] }));

    const push = () =>
      clients.run('skopeo', ['copy', '--retry-times', '2', '--dest-tls-verify=false', `oci:${big}:v1`, `docker://${cluster.lb.host}/${ns}/big:v1`], {
        timeoutMs: 600_000,
      });
    const base = await Promise.all(cluster.replicas.map((r) => bytesRead(r.pid)));
    const first = push();
    // Find the replica the big PATCH streams into and kill it once 64 MiB have arrived.
    let victim = -1;
    const deadline = Date.now() + 120_000;
    while (victim < 0 && Date.now() < deadline) {
      const now = await Promise.all(cluster.replicas.map((r) => bytesRead(r.pid)));
      victim = now.findIndex((n, i) => n - (base[i] ?? 0) > 64 * MiB);
      if (victim < 0) await sleep(20);
    }
    assert.ok(victim >= 0, 'one replica received the large blob');
    const killed = cluster.replicas[victim];
    assert.ok(killed);
    const exit = await killed.kill('SIGKILL');
    assert.equal(exit.signal, 'SIGKILL');
    const firstResult = await first;
    t.diagnostic(`killed ${killed.host} mid-upload; first skopeo run exited ${firstResult.code} (${firstResult.stderr.trim().split('\n').slice(-1)[0] ?? ''})`);

    // The client's retry through the load balancer (skopeo's own --retry-times, else again by hand).
    let result = firstResult;
    for (let attempt = 0; result.code !== 0 && attempt < 2; attempt++) result = await push();
    assert.equal(result.code, 0, `push through the LB succeeds after the kill:\n${result.stderr}`);
    const survivor = cluster.replicas[1 - victim];
    assert.ok(survivor);
    assert.equal(await inspectDigest(survivor.host, `${ns}/big:v1`), manifest.digest);

    // The killed replica comes back and serves the same bytes.
    const back = await cluster.restart(victim);
    await login(clients, back.host, cluster.admin);
    for (const r of [survivor, back]) {
      assert.equal(await inspectDigest(r.host, `${ns}/big:v1`), manifest.digest, `big image from ${r.host}`);
      assert.equal(await inspectDigest(r.host, `${ns}/kept:v1`), kept.digest, `committed image still there on ${r.host}`);
    }
    const token = await bearer(back.url, `repository:${ns}/big:pull`, cluster.admin);
    const res = await fetch(`${back.url}/v2/${ns}/big/blobs/${layer.digest}`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    const h = createHash('sha256');
    let n = 0;
    for await (const chunk of res.body ?? []) {
      h.update(chunk as Uint8Array);
      n += (chunk as Uint8Array).length;
    }
    assert.equal(n, layerBytes.length);
    assert.equal(`sha256:${h.digest('hex')}`, layer.digest);

    // Nothing half-visible: every object under blobs/ hashes to its key ...
    const s3 = createS3Client(cluster.s3);
    const stored = new Set<string>();
    try {
      let token2: string | undefined;
      do {
        const page = await s3.send(
          new ListObjectsV2Command({ Bucket: cluster.s3.bucket, Prefix: `${cluster.s3.prefix}blobs/`, ...(token2 ? { ContinuationToken: token2 } : {}) }),
        );
        for (const o of page.Contents ?? []) {
          const [alg, , hex] = (o.Key ?? '').slice(`${cluster.s3.prefix}blobs/`.length).split('/');
          const obj = await s3.send(new GetObjectCommand({ Bucket: cluster.s3.bucket, Key: o.Key }));
          const hash = createHash(alg ?? 'sha256');
          for await (const c of obj.Body as AsyncIterable<Uint8Array>) hash.update(c);
          assert.equal(hash.digest('hex'), hex, `${o.Key} holds exactly the bytes of its digest`);
          stored.add(`${alg}:${hex}`);
        }
        token2 = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token2);
    } finally {
      s3.destroy();
    }
    // ... and every blob a repository links to (metadata) has its bytes (storage).
    const db = new pg.Client({ connectionString: cluster.databaseUrl });
    await db.connect();
    try {
      const { rows } = await db.query<{ digest: string }>('select distinct digest from repo_blobs');
      assert.ok(rows.length > 0);
      for (const { digest } of rows) assert.ok(stored.has(digest), `linked blob ${digest} is stored`);
      const { rows: manifests } = await db.query<{ repo: string; digest: string }>('select repo, digest from manifests');
      const names = manifests.map((m) => `${m.repo}@${m.digest}`);
      assert.ok(names.includes(`${ns}/kept@${kept.digest}`) && names.includes(`${ns}/big@${manifest.digest}`), names.join(', '));
    } finally {
      await db.end();
    }
  });
});
