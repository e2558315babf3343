/**
 * Images built with umoci (init/new/unpack/repack/config, nothing is run), pushed with skopeo,
 * pulled back into a fresh layout and unpacked again: the file tree, including a deletion
 * (whiteout) and a multi-MiB layer, and the config survive the registry.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { type Descriptor, layoutRef, reachableBlobs, readJsonBlob } from '../helpers/clients.ts';
import { e2eSkip, useE2E } from '../helpers/e2e.ts';

const skip = e2eSkip('umoci', 'skopeo');
const ctx = useE2E(skip, 'e2e-umoci');

interface OciConfig {
  architecture: string;
  os: string;
  config: { Env?: string[]; Entrypoint?: string[]; Cmd?: string[]; Labels?: Record<string, string>; User?: string; WorkingDir?: string };
  history?: Array<{ created_by?: string; comment?: string; empty_layer?: boolean }>;
  rootfs: { diff_ids: string[] };
}

test('umoci-built layout: push with skopeo, pull back, unpack the same files', { skip }, async () => {
  const { server, clients, ns } = ctx();
  const work = await clients.tempDir('umoci');
  const layout = join(work, 'layout');
  const image = `${layout}:1.0`;
  const bundle = join(work, 'bundle');
  const big = randomBytes(6 * 1024 * 1024 + 123);
  const kept = randomBytes(4096);

  await clients.runOk('umoci', ['init', '--layout', layout]);
  await clients.runOk('umoci', ['new', '--image', image]);
  await clients.runOk('umoci', ['unpack', '--rootless', '--image', image, bundle]);
  // Layer 1: a few files, one of which layer 2 deletes.
  await mkdir(join(bundle, 'rootfs/opt/app'), { recursive: true });
  await writeFile(join(bundle, 'rootfs/opt/app/kept.bin'), kept);
  await writeFile(join(bundle, 'rootfs/opt/app/deleted.txt'), 'short-lived\n');
  await writeFile(join(bundle, 'rootfs/opt/app/config.ini'), 'v = 1\n');
  await clients.runOk('umoci', ['repack', '--refresh-bundle', '--history.created_by', 'layer one', '--image', image, bundle]);
  // Layer 2: a larger file, a deletion (whiteout) and a modification.
  await writeFile(join(bundle, 'rootfs/opt/app/big.bin'), big);
  await rm(join(bundle, 'rootfs/opt/app/deleted.txt'));
  await writeFile(join(bundle, 'rootfs/opt/app/config.ini'), 'v = 2\n');
  await clients.runOk('umoci', ['repack', '--refresh-bundle', '--history.created_by', 'layer two', '--image', image, bundle]);
  await clients.runOk('umoci', [
    'config',
    '--image',
    image,
    '--architecture',
    'arm64',
    '--os',
    'linux',
    '--config.user',
    '1000:1000',
    '--config.env',
    'MODE=e2e',
    '--config.entrypoint',
    '/opt/app/kept.bin',
    '--config.workingdir',
    '/opt/app',
    '--config.label',
    'org.opencontainers.image.source=https://example.test/umoci',
    '--manifest.annotation',
    'org.example.built-by=umoci',
  ]);
  const built = await layoutRef(layout, '1.0');

  const remote = `docker://${server.host}/${ns}/tools/umoci-app:1.0`;
  await clients.runOk('skopeo', ['copy', '--preserve-digests', '--dest-tls-verify=false', `oci:${image}`, remote]);

  // Pull into a brand-new layout.
  const back = join(work, 'back');
  await clients.runOk('skopeo', ['copy', '--preserve-digests', '--src-tls-verify=false', remote, `oci:${back}:pulled`]);
  const pulled = await layoutRef(back, 'pulled');
  assert.equal(pulled.digest, built.digest, 'manifest digest');
  const original = await reachableBlobs(layout, built);
  const copy = await reachableBlobs(back, pulled);
  assert.deepEqual([...copy.keys()].sort(), [...original.keys()].sort());
  for (const [digest, bytes] of original) assert.ok(copy.get(digest)?.equals(bytes), `blob ${digest}`);

  // umoci reads the pulled image: manifest annotation, history and config.
  const manifest = await readJsonBlob<{ config: Descriptor; layers: Descriptor[]; annotations?: Record<string, string> }>(back, pulled.digest);
  assert.equal(manifest.layers.length, 2);
  assert.equal(manifest.annotations?.['org.example.built-by'], 'umoci');
  const config = await readJsonBlob<OciConfig>(back, manifest.config.digest);
  assert.equal(config.architecture, 'arm64');
  assert.equal(config.config.User, '1000:1000');
  assert.deepEqual(config.config.Entrypoint, ['/opt/app/kept.bin']);
  assert.ok(config.config.Env?.includes('MODE=e2e'));
  assert.equal(config.config.WorkingDir, '/opt/app');
  assert.equal(config.config.Labels?.['org.opencontainers.image.source'], 'https://example.test/umoci');
  const stat = await clients.runOk('umoci', ['stat', '--json', '--image', `${back}:pulled`]);
  const history = (JSON.parse(stat.stdout) as { history: Array<{ created_by?: string }> }).history.map((h) => h.created_by);
  assert.ok(history.includes('layer one') && history.includes('layer two'), `history ${JSON.stringify(history)}`);

  // Unpack the pulled image: the final file tree, whiteout applied.
  const unpacked = join(work, 'unpacked');
  await clients.runOk('umoci', ['unpack', '--rootless', '--image', `${back}:pulled`, unpacked]);
  const rootfs = join(unpacked, 'rootfs/opt/app');
  assert.ok((await readFile(join(rootfs, 'kept.bin'))).equals(kept));
  assert.ok((await readFile(join(rootfs, 'big.bin'))).equals(big));
  assert.equal(await readFile(join(rootfs, 'config.ini'), 'utf8'), 'v = 2\n');
  assert.equal(existsSync(join(rootfs, 'deleted.txt')), false, 'the whiteout removed deleted.txt');
});

test('umoci: a tag moved to a new build is served as the new manifest', { skip }, async () => {
  const { server, clients, ns } = ctx();
  const work = await clients.tempDir('umoci-retag');
  const layout = join(work, 'layout');
  await clients.runOk('umoci', ['init', '--layout', layout]);
  const digests: string[] = [];
  for (const generation of ['first', 'second']) {
    const image = `${layout}:${generation}`;
    const bundle = join(work, `bundle-${generation}`);
    await clients.runOk('umoci', ['new', '--image', image]);
    await clients.runOk('umoci', ['unpack', '--rootless', '--image', image, bundle]);
    await writeFile(join(bundle, 'rootfs/generation'), `${generation}\n`);
    await clients.runOk('umoci', ['repack', '--image', image, bundle]);
    await clients.runOk('umoci', ['config', '--image', image, '--config.label', `generation=${generation}`]);
    digests.push((await layoutRef(layout, generation)).digest);
    await clients.runOk('skopeo', ['copy', '--preserve-digests', '--dest-tls-verify=false', `oci:${image}`, `docker://${server.host}/${ns}/moving:latest`]);

    const info = JSON.parse((await clients.runOk('skopeo', ['inspect', '--tls-verify=false', `docker://${server.host}/${ns}/moving:latest`])).stdout) as {
      Digest: string;
      Labels: Record<string, string>;
    };
    assert.equal(info.Digest, digests[digests.length - 1]);
    assert.equal(info.Labels['generation'], generation);
  }
  assert.notEqual(digests[0], digests[1]);
  // The first build is still there by digest (untagged, not deleted).
  await clients.runOk('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${server.host}/${ns}/moving@${digests[0] ?? ''}`]);
});
