/**
 * Garbage collection with real clients on a started server, on both profiles (fs + SQLite, and
 * S3 + PostgreSQL when ../shared/services is up), the issue's "done when" scenario:
 * with WHARF_GC__GRACE_SECONDS=0, two images sharing one layer and each with a unique 2 MiB
 * layer; `skopeo delete` one; `wharf gc --dry-run` then `wharf gc` → the stored bytes shrink by
 * the deleted image's unique bytes (within a few KiB), exactly the dry run's figure; the other
 * image pulls byte-exact; deleting an index's child is refused; a re-push by skopeo works. Then
 * a chart version deleted through the API, collected, and pushed again by `helm push`.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { wharfBin } from '../../scripts/build.ts';
import { createS3Client } from '../../src/storage/s3/client.ts';
import {
  addIndex,
  type ClientEnv,
  createClientEnv,
  findBinary,
  layoutRef,
  missingClients,
  reachableBlobs,
  runOk,
  sha256,
  umociImage,
  uniqueName,
} from '../helpers/clients.ts';
import { login } from '../helpers/e2e.ts';
import { type StartedServer, startWharf } from '../helpers/server.ts';
import { emptyPrefix, freshSchema, postgresMissing, s3Missing, s3TestOptions, scaleEnv } from '../scale/backends.ts';

const MiB = 1024 * 1024;

interface Profile {
  name: string;
  skip: string | false;
  open(): Promise<{ env: Record<string, string>; storedBytes(dataDir: string): Promise<number>; cleanup(): Promise<void> }>;
}

async function treeBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) total += await treeBytes(p);
    else if (entry.isFile()) total += (await stat(p)).size;
  }
  return total;
}

const PROFILES: Profile[] = [
  {
    name: 'fs + SQLite',
    skip: false,
    async open() {
      return { env: {}, storedBytes: (dataDir) => treeBytes(join(dataDir, 'storage')), cleanup: async () => undefined };
    },
  },
  {
    name: 'S3 + PostgreSQL',
    skip: s3Missing || postgresMissing,
    async open() {
      const s3 = s3TestOptions();
      const db = await freshSchema();
      const client = createS3Client(s3);
      return {
        env: scaleEnv(s3, db),
        // The key prefix's bytes, as a bucket's usage report would count them.
        async storedBytes() {
          let total = 0;
          let token: string | undefined;
          do {
            const page = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: s3.prefix, ...(token ? { ContinuationToken: token } : {}) }));
            for (const o of page.Contents ?? []) total += o.Size ?? 0;
            token = page.IsTruncated ? page.NextContinuationToken : undefined;
          } while (token);
          return total;
        },
        async cleanup() {
          client.destroy();
          await emptyPrefix(s3);
          await db.drop();
        },
      };
    },
  },
];

interface GcJson {
  status: string;
  dryRun: boolean;
  blobsDeleted: number;
  bytesFreed: number;
  manifestsDeleted: number;
  linksRemoved: number;
}

const skipClients = missingClients('skopeo', 'umoci');

for (const profile of PROFILES) {
  const skip = skipClients || profile.skip;
  describe(`gc with real clients: ${profile.name}`, () => {
    let server: StartedServer;
    let clients: ClientEnv;
    let env: Record<string, string> = {};
    let storedBytes: (dataDir: string) => Promise<number> = async () => 0;
    let cleanup = async () => undefined as unknown;
    const ns = uniqueName('e2e-gc');

    before(async () => {
      if (skip) return;
      const opened = await profile.open();
      env = { ...opened.env, WHARF_GC__GRACE_SECONDS: '0', WHARF_GC__INTERVAL_SECONDS: '0' };
      storedBytes = opened.storedBytes;
      cleanup = opened.cleanup;
      server = await startWharf({ env });
      clients = await createClientEnv(server.host);
      if (server.admin) await login(clients, server.host, server.admin);
    });
    after(async () => {
      if (skip) return;
      await clients?.cleanup();
      await server?.stop();
      await cleanup();
    });

    /** `wharf gc` as an operator runs it: the server's configuration, beside the running server. */
    const wharfGc = async (...args: string[]): Promise<GcJson> => {
      const res = await runOk(wharfBin(), ['gc', '--json', ...args], { env: { ...env, WHARF_DATA_DIR: server.dataDir, WHARF_BUILD: '0' }, timeoutMs: 120_000 });
      return JSON.parse(res.stdout) as GcJson;
    };
    const dest = (ref: string) => `docker://${server.host}/${ns}/${ref}`;

    test('two images share a layer; one deleted; wharf gc frees its unique bytes, as the dry run said; the other pulls byte-exact', { skip }, async () => {
      const layout = join(await clients.tempDir('gc-layout'), 'oci');
      const shared = { 'shared.bin': randomBytes(512 * 1024) };
      const a = await umociImage(clients, layout, 'a', { layers: [shared, { 'a.bin': randomBytes(2 * MiB) }], config: { labels: { image: 'a' } } });
      const b = await umociImage(clients, layout, 'b', { layers: [shared, { 'b.bin': randomBytes(2 * MiB) }], config: { labels: { image: 'b' } } });
      const blobsA = await reachableBlobs(layout, a);
      const blobsB = await reachableBlobs(layout, b);
      for (const tag of ['a', 'b']) await clients.runOk('skopeo', ['copy', '--dest-tls-verify=false', `oci:${layout}:${tag}`, dest(`app:${tag}`)]);
      // The manifest itself lives in the database; the blob store holds config and layers.
      const unique = [...blobsA].filter(([d]) => d !== a.digest && !blobsB.has(d)).reduce((n, [, bytes]) => n + bytes.length, 0);
      assert.ok(unique > 2 * MiB, `unique bytes ${unique}`);

      await clients.runOk('skopeo', ['delete', '--tls-verify=false', dest(`app@${a.digest}`)]);
      const before = await storedBytes(server.dataDir);
      const dry = await wharfGc('--dry-run');
      assert.equal(dry.dryRun, true);
      assert.equal(dry.bytesFreed, unique, 'the dry run counts exactly the unique blobs of the deleted image');
      assert.equal(await storedBytes(server.dataDir), before, 'a dry run frees nothing');
      const real = await wharfGc();
      assert.equal(real.bytesFreed, dry.bytesFreed, 'the run freed what the dry run reported');
      const afterBytes = await storedBytes(server.dataDir);
      assert.ok(Math.abs(before - afterBytes - unique) <= 4096, `stored bytes shrank by ${before - afterBytes}, unique ${unique}`);

      const pulled = await clients.tempDir('gc-pull');
      await clients.runOk('skopeo', ['copy', '--src-tls-verify=false', dest('app:b'), `oci:${pulled}:b`]);
      const got = await reachableBlobs(pulled, await layoutRef(pulled, 'b'));
      assert.deepEqual([...got.keys()].sort(), [...blobsB.keys()].sort());
      for (const [d, bytes] of blobsB) assert.ok(got.get(d)?.equals(bytes), `${d} byte-exact`);

      // The same image again, after its bytes were collected: skopeo pushes every blob anew.
      await clients.runOk('skopeo', ['copy', '--dest-tls-verify=false', `oci:${layout}:a`, dest('app:a')]);
      const again = await clients.tempDir('gc-pull-a');
      await clients.runOk('skopeo', ['copy', '--src-tls-verify=false', dest('app:a'), `oci:${again}:a`]);
      const gotA = await reachableBlobs(again, await layoutRef(again, 'a'));
      for (const [d, bytes] of blobsA) assert.ok(gotA.get(d)?.equals(bytes), `re-pushed ${d} byte-exact`);
      const quiet = await wharfGc();
      assert.equal(quiet.bytesFreed, 0, 'nothing to free after the re-push');
    });

    test("deleting an index's child is refused, naming the index", { skip }, async () => {
      const layout = join(await clients.tempDir('gc-index'), 'oci');
      const amd = await umociImage(clients, layout, 'amd', { layers: [{ 'x.bin': randomBytes(1000) }], config: { architecture: 'amd64', os: 'linux' } });
      const arm = await umociImage(clients, layout, 'arm', { layers: [{ 'y.bin': randomBytes(1000) }], config: { architecture: 'arm64', os: 'linux' } });
      const index = await addIndex(layout, 'multi', [amd, arm]);
      await clients.runOk('skopeo', ['copy', '--all', '--dest-tls-verify=false', `oci:${layout}:multi`, dest('multi:v1')]);
      const refused = await clients.runFails('skopeo', ['delete', '--tls-verify=false', dest(`multi@${amd.digest}`)]);
      assert.match(refused.stderr, new RegExp(`listed by index ${index.digest}`));
      await clients.runOk('skopeo', ['inspect', '--tls-verify=false', '--raw', dest('multi:v1')]);
      await wharfGc();
      await clients.runOk('skopeo', ['inspect', '--tls-verify=false', dest(`multi@${amd.digest}`)]);
    });

    const helmSkip = skip || (findBinary('helm3') ? false : 'missing helm3: bash scripts/install-test-deps.sh');
    test('a chart version deleted through the API and collected is pushed again by helm push', { skip: helmSkip }, async () => {
      const helmBin = findBinary('helm3') ?? 'helm3';
      const dir = await clients.tempDir('gc-helm');
      const henv = { HELM_CONFIG_HOME: join(dir, 'config'), HELM_CACHE_HOME: join(dir, 'cache'), HELM_DATA_HOME: join(dir, 'data'), HOME: join(dir, 'home') };
      const helm = (args: string[], input?: string) => runOk(helmBin, args, { env: henv, timeoutMs: 120_000, cwd: dir, ...(input ? { input } : {}) });
      const admin = server.admin;
      if (admin) await helm(['registry', 'login', server.host, '--username', admin.username, '--password-stdin', '--insecure'], admin.password);
      await helm(['create', 'gcchart']);
      await mkdir(join(dir, 'pkg'), { recursive: true });
      await writeFile(join(dir, 'gcchart', 'payload.txt'), randomBytes(64 * 1024).toString('base64'));
      await helm(['package', join(dir, 'gcchart'), '--version', '1.0.0', '-d', join(dir, 'pkg')]);
      const tgz = await readFile(join(dir, 'pkg', 'gcchart-1.0.0.tgz'));
      await helm(['push', join(dir, 'pkg', 'gcchart-1.0.0.tgz'), `oci://${server.host}/${ns}/charts`, '--plain-http']);
      const auth = admin ? { authorization: `Basic ${Buffer.from(`${admin.username}:${admin.password}`).toString('base64')}` } : {};
      const head = await fetch(`${server.url}/v2/${ns}/charts/gcchart/manifests/1.0.0`, { method: 'HEAD', headers: { ...auth, accept: 'application/vnd.oci.image.manifest.v1+json' } });
      const digest = head.headers.get('docker-content-digest') ?? '';
      const del = await fetch(`${server.url}/api/v1/packages/${ns}/${encodeURIComponent('charts/gcchart')}/versions/${digest}`, { method: 'DELETE', headers: auth });
      assert.equal(del.status, 200, 'the version moves to the trash');
      const { id } = (await del.json()) as { id: string };
      const kept = await wharfGc();
      assert.ok(kept.bytesFreed < tgz.length, `a trashed chart keeps its bytes (freed ${kept.bytesFreed})`);
      const purge = await fetch(`${server.url}/api/v1/trash/${id}`, { method: 'DELETE', headers: auth });
      assert.equal(purge.status, 200, await purge.text());
      const freed = await wharfGc();
      assert.ok(freed.bytesFreed >= tgz.length, `freed ${freed.bytesFreed} of a ${tgz.length}-byte chart`);
      await helm(['push', join(dir, 'pkg', 'gcchart-1.0.0.tgz'), `oci://${server.host}/${ns}/charts`, '--plain-http']);
      await mkdir(join(dir, 'out'), { recursive: true });
      await helm(['pull', `oci://${server.host}/${ns}/charts/gcchart`, '--version', '1.0.0', '--plain-http', '-d', join(dir, 'out')]);
      assert.equal(sha256(await readFile(join(dir, 'out', 'gcchart-1.0.0.tgz'))), sha256(tgz), 'the re-pushed chart pulls byte-exact');
    });
  });
}
