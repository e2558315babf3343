/**
 * podman against a started registry: push/pull in OCI and Docker v2 schema 2 formats, a
 * multi-arch manifest list (`podman manifest create/add/push --all`), `podman search` (the
 * catalog), pull by digest. Images are made with `podman import` (no container is run);
 * skopeo checks what landed in the registry.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { type ClientEnv, DOCKER_CONFIG, DOCKER_MANIFEST, type Descriptor, imageId, OCI_CONFIG, OCI_INDEX, OCI_MANIFEST, randomFiles, run, sha256 } from '../helpers/clients.ts';
import { e2eSkip, useE2E } from '../helpers/e2e.ts';

const skip = e2eSkip('podman', 'skopeo');
const ctx = useE2E(skip, 'e2e-podman');
const NO_TLS = '--tls-verify=false';

/** A local image from a tarball of random files, made with `podman import`. Returns its image ID. */
async function importImage(clients: ClientEnv, name: string, arch: string, label: string): Promise<string> {
  const dir = await clients.tempDir('rootfs');
  const files = randomFiles(2, 48 * 1024, `${arch}-${label}`);
  for (const [path, content] of Object.entries(files)) await writeFile(join(dir, path), content);
  const tar = join(await clients.tempDir('tar'), 'rootfs.tar');
  const made = await run('tar', ['-C', dir, '-cf', tar, '.']);
  assert.equal(made.code, 0, made.stderr);
  const out = await clients.runOk('podman', [
    'import',
    '--quiet',
    '--arch',
    arch,
    '--os',
    'linux',
    '--change',
    `LABEL org.example.test=${label}`,
    '--change',
    'CMD ["/bin/true"]',
    tar,
    name,
  ]);
  return imageId(out.stdout);
}

async function localImageId(clients: ClientEnv, ref: string): Promise<string> {
  return imageId((await clients.runOk('podman', ['image', 'inspect', '--format', '{{.Id}}', ref])).stdout);
}

async function rawManifest(clients: ClientEnv, ref: string): Promise<{ text: string; doc: { mediaType?: string; manifests?: Descriptor[]; config: Descriptor } }> {
  const text = (await clients.runOk('skopeo', ['inspect', '--raw', NO_TLS, `docker://${ref}`])).stdout;
  return { text, doc: JSON.parse(text) as { mediaType?: string; manifests?: Descriptor[]; config: Descriptor } };
}

test('podman push and pull: OCI and Docker v2s2 formats keep the image ID', { skip }, async () => {
  const { server, clients, ns } = ctx();
  const local = `localhost/${ns}/app:local`;
  const id = await importImage(clients, local, 'amd64', 'formats');

  const formats = [
    ['oci', OCI_MANIFEST],
    ['v2s2', DOCKER_MANIFEST],
  ] as const;
  const pushed = new Map<string, string>();
  for (const [format, mediaType] of formats) {
    const remote = `${server.host}/${ns}/app:${format}`;
    const digestFile = join(clients.dir, `push-${format}.digest`);
    await clients.runOk('podman', ['push', '--quiet', NO_TLS, '--format', format, '--digestfile', digestFile, local, `docker://${remote}`]);
    const digest = (await readFile(digestFile, 'utf8')).trim();
    pushed.set(format, digest);

    const { text, doc } = await rawManifest(clients, remote);
    // containers/image writes OCI manifests without the optional top-level mediaType.
    assert.equal(doc.mediaType ?? OCI_MANIFEST, mediaType, `${format} manifest media type`);
    assert.equal(doc.config.mediaType, format === 'oci' ? OCI_CONFIG : DOCKER_CONFIG);
    assert.equal(sha256(text), digest, 'the registry serves the manifest podman pushed');
    assert.equal(doc.config.digest, id, 'the config (image ID) is unchanged');
  }

  for (const [format] of formats) {
    const remote = `${server.host}/${ns}/app:${format}`;
    await clients.runOk('podman', ['rmi', '--all', '--force']);
    await clients.runOk('podman', ['pull', '--quiet', NO_TLS, remote]);
    assert.equal(await localImageId(clients, remote), id, `${format}: pulled image ID`);
    const digests = (await clients.runOk('podman', ['image', 'inspect', '--format', '{{json .RepoDigests}}', remote])).stdout;
    const digest = pushed.get(format) ?? '';
    assert.ok(digests.includes(`${server.host}/${ns}/app@${digest}`), `RepoDigests ${digests} names ${digest}`);
  }
});

test('podman pull by digest', { skip }, async () => {
  const { server, clients, ns } = ctx();
  const local = `localhost/${ns}/bydigest:local`;
  const id = await importImage(clients, local, 'amd64', 'bydigest');
  const digestFile = join(clients.dir, 'bydigest.digest');
  await clients.runOk('podman', ['push', '--quiet', NO_TLS, '--digestfile', digestFile, local, `docker://${server.host}/${ns}/bydigest:1`]);
  const digest = (await readFile(digestFile, 'utf8')).trim();
  await clients.runOk('podman', ['rmi', '--force', local]);

  const ref = `${server.host}/${ns}/bydigest@${digest}`;
  await clients.runOk('podman', ['pull', '--quiet', NO_TLS, ref]);
  assert.equal(await localImageId(clients, ref), id);

  const unknown = `${server.host}/${ns}/bydigest@${sha256('no such manifest')}`;
  const failed = await clients.runFails('podman', ['pull', '--quiet', NO_TLS, unknown]);
  assert.match(failed.stderr, /manifest unknown|not found/i);
});

test('podman manifest create/add/push --all: a two-platform list', { skip }, async () => {
  const { server, clients, ns } = ctx();
  const amd = await importImage(clients, `localhost/${ns}/multi:amd64`, 'amd64', 'multi');
  const arm = await importImage(clients, `localhost/${ns}/multi:arm64`, 'arm64', 'multi');
  const list = `localhost/${ns}/multi:list`;
  await clients.runOk('podman', ['manifest', 'create', list]);
  await clients.runOk('podman', ['manifest', 'add', list, `containers-storage:localhost/${ns}/multi:amd64`]);
  await clients.runOk('podman', ['manifest', 'add', list, `containers-storage:localhost/${ns}/multi:arm64`]);
  const remote = `${server.host}/${ns}/multi:1`;
  const digestFile = join(clients.dir, 'multi.digest');
  await clients.runOk('podman', ['manifest', 'push', '--all', '--quiet', NO_TLS, '--format', 'oci', '--digestfile', digestFile, list, `docker://${remote}`]);

  const { text, doc } = await rawManifest(clients, remote);
  assert.equal(doc.mediaType, OCI_INDEX);
  assert.equal(sha256(text), (await readFile(digestFile, 'utf8')).trim());
  assert.deepEqual(doc.manifests?.map((m) => m.platform?.architecture).sort(), ['amd64', 'arm64']);

  for (const [arch, id] of [
    ['arm64', arm],
    ['amd64', amd],
  ] as const) {
    await clients.runOk('podman', ['rmi', '--all', '--force']);
    await clients.runOk('podman', ['pull', '--quiet', NO_TLS, '--arch', arch, remote]);
    assert.equal(await localImageId(clients, remote), id, `${arch} instance`);
  }
});

test('podman search lists repositories from the catalog, and --list-tags their tags', { skip }, async () => {
  const { server, clients, ns } = ctx();
  const local = `localhost/${ns}/search:local`;
  await importImage(clients, local, 'amd64', 'search');
  for (const [repo, tag] of [
    ['alpha', 'v1'],
    ['beta', 'v1'],
    ['beta', 'v2'],
  ] as const) {
    await clients.runOk('podman', ['push', '--quiet', NO_TLS, local, `docker://${server.host}/${ns}/search/${repo}:${tag}`]);
  }

  const found = await clients.runOk('podman', ['search', NO_TLS, '--limit', '100', '--format', 'json', `${server.host}/${ns}/search`]);
  const names = (JSON.parse(found.stdout) as Array<{ Name: string }>).map((r) => r.Name).sort();
  assert.deepEqual(names, [`${server.host}/${ns}/search/alpha`, `${server.host}/${ns}/search/beta`]);

  const tags = await clients.runOk('podman', ['search', NO_TLS, '--list-tags', '--format', 'json', `${server.host}/${ns}/search/beta`]);
  const listed = JSON.parse(tags.stdout) as Array<{ Name: string; Tags: string[] }>;
  assert.equal(listed.length, 1);
  assert.equal(listed[0]?.Name, `${server.host}/${ns}/search/beta`);
  assert.deepEqual([...(listed[0]?.Tags ?? [])].sort(), ['v1', 'v2']);
});
