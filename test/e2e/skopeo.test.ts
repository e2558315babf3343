/**
 * skopeo against a started registry: copy to the registry and back with identical digests and
 * bytes, multi-arch copy --all, inspect (--raw, --config, --override-arch), list-tags, delete by
 * digest, sync. Test images are OCI layouts built with umoci.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  addIndex,
  type Descriptor,
  layoutRef,
  OCI_INDEX,
  OCI_MANIFEST,
  randomFiles,
  reachableBlobs,
  readBlob,
  readJsonBlob,
  sha256,
  umociImage,
} from '../helpers/clients.ts';
import { e2eSkip, useE2E } from '../helpers/e2e.ts';

const skip = e2eSkip('skopeo', 'umoci');
const ctx = useE2E(skip, 'e2e-skopeo');
const NO_TLS = '--tls-verify=false';
const SRC_NO_TLS = '--src-tls-verify=false';
const DEST_NO_TLS = '--dest-tls-verify=false';

interface InspectOutput {
  Name: string;
  Digest: string;
  RepoTags: string[];
  Architecture: string;
  Os: string;
  Layers: string[];
  Labels: Record<string, string> | null;
}

function assertSameBlobs(actual: Map<string, Buffer>, expected: Map<string, Buffer>): void {
  assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort(), 'the same set of blobs');
  for (const [digest, bytes] of expected) {
    const got = actual.get(digest);
    assert.ok(got !== undefined && got.equals(bytes), `blob ${digest} has identical bytes`);
    assert.equal(sha256(bytes), digest);
  }
}

/** One OCI layout with a single-arch image (`v1`) and a hand-written two-platform index (`multi`). */
interface Fixture {
  layout: string;
  single: Descriptor;
  amd64: Descriptor;
  arm64: Descriptor;
  index: Descriptor;
}

let fixture: Promise<Fixture> | undefined;
function images(): Promise<Fixture> {
  fixture ??= (async () => {
    const { clients } = ctx();
    const layout = join(await clients.tempDir('layout'), 'oci');
    const single = await umociImage(clients, layout, 'v1', {
      layers: [randomFiles(3, 64 * 1024, 'a'), randomFiles(2, 16 * 1024, 'b')],
      config: { architecture: 'amd64', os: 'linux', cmd: ['/a-0.bin'], labels: { 'org.example.test': 'skopeo' } },
    });
    const amd64 = await umociImage(clients, layout, 'amd64', {
      layers: [randomFiles(2, 32 * 1024, 'amd')],
      config: { architecture: 'amd64', os: 'linux' },
    });
    const arm64 = await umociImage(clients, layout, 'arm64', {
      layers: [randomFiles(2, 32 * 1024, 'arm')],
      config: { architecture: 'arm64', os: 'linux' },
    });
    const index = await addIndex(layout, 'multi', [amd64, arm64], { 'org.example.index': 'yes' });
    return { layout, single, amd64, arm64, index };
  })();
  return fixture;
}

test('skopeo copy: OCI layout → registry → OCI layout keeps every digest and byte', { skip }, async () => {
  const { server, clients, ns } = ctx();
  const { layout, single } = await images();
  const ref = `docker://${server.host}/${ns}/roundtrip:v1`;
  const digestFile = join(clients.dir, 'roundtrip.digest');

  await clients.runOk('skopeo', ['copy', '--preserve-digests', DEST_NO_TLS, '--digestfile', digestFile, `oci:${layout}:v1`, ref]);
  assert.equal((await readFile(digestFile, 'utf8')).trim(), single.digest, 'pushed manifest digest');

  const raw = await clients.runOk('skopeo', ['inspect', '--raw', NO_TLS, ref]);
  assert.ok(Buffer.from(raw.stdout).equals(await readBlob(layout, single.digest)), 'manifest bytes served unchanged');
  const manifest = await readJsonBlob<{ config: Descriptor }>(layout, single.digest);
  const config = await clients.runOk('skopeo', ['inspect', '--config', '--raw', NO_TLS, ref]);
  assert.ok(Buffer.from(config.stdout).equals(await readBlob(layout, manifest.config.digest)), 'config bytes served unchanged');

  for (const [name, source] of [
    ['by-tag', ref],
    ['by-digest', `docker://${server.host}/${ns}/roundtrip@${single.digest}`],
  ] as const) {
    const back = join(await clients.tempDir(name), 'oci');
    await clients.runOk('skopeo', ['copy', '--preserve-digests', SRC_NO_TLS, source, `oci:${back}:v1`]);
    const pulled = await layoutRef(back, 'v1');
    assert.equal(pulled.digest, single.digest, `${name}: pulled manifest digest`);
    assert.equal(pulled.mediaType, OCI_MANIFEST);
    assertSameBlobs(await reachableBlobs(back, pulled), await reachableBlobs(layout, single));
  }
});

test('skopeo copy --all: a hand-written two-platform OCI index round-trips', { skip }, async () => {
  const { server, clients, ns } = ctx();
  const { layout, index } = await images();
  const ref = `docker://${server.host}/${ns}/multi:1`;

  await clients.runOk('skopeo', ['copy', '--all', '--preserve-digests', DEST_NO_TLS, `oci:${layout}:multi`, ref]);
  const raw = await clients.runOk('skopeo', ['inspect', '--raw', NO_TLS, ref]);
  assert.ok(Buffer.from(raw.stdout).equals(await readBlob(layout, index.digest)), 'index bytes served unchanged');

  const back = join(await clients.tempDir('multi-back'), 'oci');
  await clients.runOk('skopeo', ['copy', '--all', '--preserve-digests', SRC_NO_TLS, ref, `oci:${back}:multi`]);
  const pulled = await layoutRef(back, 'multi');
  assert.equal(pulled.digest, index.digest);
  assert.equal(pulled.mediaType, OCI_INDEX);
  assertSameBlobs(await reachableBlobs(back, pulled), await reachableBlobs(layout, index));
});

test('skopeo inspect: --raw, --config, --override-arch, by digest', { skip }, async () => {
  const { server, clients, ns } = ctx();
  const { layout, index, amd64, arm64 } = await images();
  const repo = `${server.host}/${ns}/inspect`;
  await clients.runOk('skopeo', ['copy', '--all', '--preserve-digests', DEST_NO_TLS, `oci:${layout}:multi`, `docker://${repo}:1`]);

  const raw = JSON.parse((await clients.runOk('skopeo', ['inspect', '--raw', NO_TLS, `docker://${repo}:1`])).stdout) as {
    mediaType: string;
    manifests: Descriptor[];
  };
  assert.equal(raw.mediaType, OCI_INDEX);
  assert.deepEqual(
    raw.manifests.map((m) => [m.digest, m.platform?.architecture]),
    [
      [amd64.digest, 'amd64'],
      [arm64.digest, 'arm64'],
    ],
  );

  for (const [arch, want] of [
    ['amd64', amd64],
    ['arm64', arm64],
  ] as const) {
    const out = await clients.runOk('skopeo', ['inspect', NO_TLS, '--override-os', 'linux', '--override-arch', arch, `docker://${repo}:1`]);
    const info = JSON.parse(out.stdout) as InspectOutput;
    assert.equal(info.Architecture, arch);
    assert.equal(info.Os, 'linux');
    assert.equal(info.Name, repo);
    assert.deepEqual(info.RepoTags, ['1']);
    assert.equal(info.Digest, index.digest, 'Digest is the digest of what the tag points at');
    const manifest = await readJsonBlob<{ layers: Descriptor[] }>(layout, want.digest);
    assert.deepEqual(
      info.Layers,
      manifest.layers.map((l) => l.digest),
    );

    // The platform's manifest, addressed by digest.
    const child = await clients.runOk('skopeo', ['inspect', '--raw', NO_TLS, `docker://${repo}@${want.digest}`]);
    assert.ok(Buffer.from(child.stdout).equals(await readBlob(layout, want.digest)));
    const config = JSON.parse((await clients.runOk('skopeo', ['inspect', '--config', NO_TLS, `docker://${repo}@${want.digest}`])).stdout) as {
      architecture: string;
    };
    assert.equal(config.architecture, arch);
  }

  const none = await clients.runFails('skopeo', ['inspect', NO_TLS, '--override-arch', 's390x', `docker://${repo}:1`]);
  assert.match(none.stderr, /no image found|s390x/);
});

test('skopeo list-tags lists every tag of a repository', { skip }, async () => {
  const { server, clients, ns } = ctx();
  const { layout } = await images();
  const repo = `${server.host}/${ns}/tags`;
  const tags = ['v1', 'latest', '1.0.0', '1.0', 'release_2024-01', 'A.b-c_D'];
  for (const tag of tags) await clients.runOk('skopeo', ['copy', DEST_NO_TLS, `oci:${layout}:v1`, `docker://${repo}:${tag}`]);

  const out = JSON.parse((await clients.runOk('skopeo', ['list-tags', NO_TLS, `docker://${repo}`])).stdout) as { Repository: string; Tags: string[] };
  assert.equal(out.Repository, repo);
  assert.deepEqual([...out.Tags].sort(), [...tags].sort());

  const missing = await clients.runFails('skopeo', ['list-tags', NO_TLS, `docker://${server.host}/${ns}/does-not-exist`]);
  assert.match(missing.stderr, /name unknown|not found|404/i);
});

test('skopeo delete by digest: the manifest and its tag are gone, other repositories keep theirs', { skip }, async () => {
  const { server, clients, ns } = ctx();
  const { layout, single } = await images();
  const doomed = `${server.host}/${ns}/doomed`;
  const kept = `${server.host}/${ns}/kept`;
  await clients.runOk('skopeo', ['copy', '--preserve-digests', DEST_NO_TLS, `oci:${layout}:v1`, `docker://${doomed}:v1`]);
  await clients.runOk('skopeo', ['copy', '--preserve-digests', DEST_NO_TLS, `oci:${layout}:v1`, `docker://${kept}:v1`]);
  const info = JSON.parse((await clients.runOk('skopeo', ['inspect', NO_TLS, `docker://${doomed}:v1`])).stdout) as InspectOutput;
  assert.equal(info.Digest, single.digest);

  await clients.runOk('skopeo', ['delete', NO_TLS, `docker://${doomed}@${single.digest}`]);

  const byDigest = await clients.runFails('skopeo', ['inspect', '--raw', NO_TLS, `docker://${doomed}@${single.digest}`]);
  assert.match(byDigest.stderr, /manifest unknown|not found/i);
  const pull = await clients.runFails('skopeo', ['copy', SRC_NO_TLS, `docker://${doomed}:v1`, `oci:${join(clients.dir, 'deleted')}:v1`]);
  assert.match(pull.stderr, /manifest unknown|not found/i);

  // The same manifest pushed to another repository is untouched.
  const still = join(await clients.tempDir('kept'), 'oci');
  await clients.runOk('skopeo', ['copy', '--preserve-digests', SRC_NO_TLS, `docker://${kept}:v1`, `oci:${still}:v1`]);
  assert.equal((await layoutRef(still, 'v1')).digest, single.digest);

  // Deleting again is an error, not a silent success.
  await clients.runFails('skopeo', ['delete', NO_TLS, `docker://${doomed}@${single.digest}`]);
});

test('skopeo sync: every tag of a repository to another repository and to a directory', { skip }, async () => {
  const { server, clients, ns } = ctx();
  const { layout, single, index, amd64, arm64 } = await images();
  const source = `${server.host}/${ns}/sync-src`;
  await clients.runOk('skopeo', ['copy', '--preserve-digests', DEST_NO_TLS, `oci:${layout}:v1`, `docker://${source}:v1`]);
  await clients.runOk('skopeo', ['copy', '--preserve-digests', DEST_NO_TLS, `oci:${layout}:amd64`, `docker://${source}:v2`]);
  await clients.runOk('skopeo', ['copy', '--all', '--preserve-digests', DEST_NO_TLS, `oci:${layout}:multi`, `docker://${source}:multi`]);

  // Registry → registry: the repository lands under the destination prefix with its last path segment.
  await clients.runOk('skopeo', ['sync', '--all', '--src', 'docker', '--dest', 'docker', SRC_NO_TLS, DEST_NO_TLS, source, `${server.host}/${ns}/mirror`]);
  const mirror = `${server.host}/${ns}/mirror/sync-src`;
  const tags = JSON.parse((await clients.runOk('skopeo', ['list-tags', NO_TLS, `docker://${mirror}`])).stdout) as { Tags: string[] };
  assert.deepEqual([...tags.Tags].sort(), ['multi', 'v1', 'v2']);
  for (const [tag, digest] of [
    ['v1', single.digest],
    ['v2', amd64.digest],
    ['multi', index.digest],
  ] as const) {
    const raw = await clients.runOk('skopeo', ['inspect', '--raw', NO_TLS, `docker://${mirror}:${tag}`]);
    assert.equal(sha256(raw.stdout), digest, `mirror ${tag} has the source digest`);
  }
  // The index's children came along (--all).
  const arm = await clients.runOk('skopeo', ['inspect', '--raw', NO_TLS, `docker://${mirror}@${arm64.digest}`]);
  assert.equal(sha256(arm.stdout), arm64.digest);

  // Registry → directory.
  const dir = await clients.tempDir('sync-dir');
  await clients.runOk('skopeo', ['sync', '--src', 'docker', '--dest', 'dir', SRC_NO_TLS, `${source}:v1`, dir]);
  const manifest = await readFile(join(dir, 'sync-src:v1', 'manifest.json'));
  assert.equal(sha256(manifest), single.digest);
});
