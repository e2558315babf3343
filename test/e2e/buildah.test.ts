/**
 * buildah against a started registry: build from scratch (copy + config + commit, nothing is
 * run), push, remove everything locally, pull back and compare config and file bytes; and a
 * multi-arch list with `buildah manifest create/add/push --all`.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildahImage, type ClientEnv, imageId, randomFiles } from '../helpers/clients.ts';
import { e2eSkip, useE2E } from '../helpers/e2e.ts';

const skip = e2eSkip('buildah');
const ctx = useE2E(skip, 'e2e-buildah');
const NO_TLS = '--tls-verify=false';

interface ImageInspect {
  FromImageID: string;
  Docker: { architecture: string; os: string };
  OCIv1: {
    architecture: string;
    os: string;
    config: { Cmd?: string[]; Entrypoint?: string[]; Env?: string[]; Labels?: Record<string, string>; WorkingDir?: string };
  };
}

async function inspectImage(clients: ClientEnv, ref: string): Promise<ImageInspect> {
  return JSON.parse((await clients.runOk('buildah', ['inspect', '--type', 'image', ref])).stdout) as ImageInspect;
}

/** The bytes of `path` inside an image, through a working container mounted with `buildah mount`. */
async function fileInImage(clients: ClientEnv, image: string, paths: string[]): Promise<Map<string, Buffer>> {
  const container = (await clients.runOk('buildah', ['from', '--quiet', '--pull-never', image])).stdout.trim();
  try {
    const root = (await clients.runOk('buildah', ['mount', container])).stdout.trim();
    const out = new Map<string, Buffer>();
    for (const path of paths) out.set(path, await readFile(join(root, path)));
    await clients.runOk('buildah', ['umount', container]);
    return out;
  } finally {
    await clients.run('buildah', ['rm', container]);
  }
}

test('buildah from scratch + copy + config + commit + push, then pull back', { skip }, async () => {
  const { server, clients, ns } = ctx();
  const files = { ...randomFiles(2, 96 * 1024, 'data'), 'etc/app.conf': 'answer = 42\n' };
  const config = {
    architecture: 'amd64',
    os: 'linux',
    cmd: ['--serve'],
    entrypoint: ['/data-0.bin'],
    env: ['APP_MODE=test'],
    labels: { 'org.opencontainers.image.title': 'buildah-e2e' },
    workingDir: '/srv',
  };
  const local = `localhost/${ns}/built:local`;
  const id = await buildahImage(clients, local, { files, config });

  const remote = `${server.host}/${ns}/built:1.0`;
  const digestFile = join(clients.dir, 'built.digest');
  await clients.runOk('buildah', ['push', '--quiet', NO_TLS, '--digestfile', digestFile, local, `docker://${remote}`]);
  const digest = (await readFile(digestFile, 'utf8')).trim();
  assert.match(digest, /^sha256:[0-9a-f]{64}$/);

  await clients.runOk('buildah', ['rmi', '--all', '--force']);
  await clients.runOk('buildah', ['pull', '--quiet', NO_TLS, remote]);
  const pulled = await inspectImage(clients, remote);
  assert.equal(imageId(pulled.FromImageID), imageId(id), 'image ID');
  assert.equal(pulled.OCIv1.architecture, 'amd64');
  assert.equal(pulled.OCIv1.os, 'linux');
  assert.deepEqual(pulled.OCIv1.config.Cmd, config.cmd);
  assert.deepEqual(pulled.OCIv1.config.Entrypoint, config.entrypoint);
  assert.ok(pulled.OCIv1.config.Env?.includes('APP_MODE=test'));
  assert.equal(pulled.OCIv1.config.Labels?.['org.opencontainers.image.title'], 'buildah-e2e');
  assert.equal(pulled.OCIv1.config.WorkingDir, '/srv');

  const got = await fileInImage(clients, remote, Object.keys(files));
  for (const [path, content] of Object.entries(files)) {
    assert.ok(got.get(path)?.equals(Buffer.from(content)), `${path} has the bytes that were copied in`);
  }

  // Pull by the digest buildah reported.
  await clients.runOk('buildah', ['rmi', '--all', '--force']);
  await clients.runOk('buildah', ['pull', '--quiet', NO_TLS, `${server.host}/${ns}/built@${digest}`]);
});

test('buildah manifest create/add/push --all --format oci', { skip }, async () => {
  const { server, clients, ns } = ctx();
  const ids = new Map<string, string>();
  for (const arch of ['amd64', 'arm64']) {
    ids.set(arch, await buildahImage(clients, `localhost/${ns}/multi:${arch}`, { files: randomFiles(1, 32 * 1024, arch), config: { architecture: arch, os: 'linux' } }));
  }
  const list = `localhost/${ns}/multi:list`;
  await clients.runOk('buildah', ['manifest', 'create', list]);
  for (const arch of ids.keys()) await clients.runOk('buildah', ['manifest', 'add', list, `containers-storage:localhost/${ns}/multi:${arch}`]);
  const remote = `${server.host}/${ns}/multi:2.0`;
  const digestFile = join(clients.dir, 'multi.digest');
  await clients.runOk('buildah', ['manifest', 'push', '--all', '--quiet', NO_TLS, '--format', 'oci', '--digestfile', digestFile, list, `docker://${remote}`]);
  const digest = (await readFile(digestFile, 'utf8')).trim();

  // Pull the list back into a clean store and inspect it there.
  await clients.runOk('buildah', ['rmi', '--all', '--force']);
  for (const [arch, id] of ids) {
    await clients.runOk('buildah', ['pull', '--quiet', NO_TLS, '--arch', arch, remote]);
    const pulled = await inspectImage(clients, remote);
    assert.equal(pulled.OCIv1.architecture, arch);
    assert.equal(imageId(pulled.FromImageID), imageId(id), `${arch} image ID`);
    await clients.runOk('buildah', ['rmi', '--all', '--force']);
  }

  // The list by the digest buildah reported resolves to the platform's image too.
  // (Not `buildah manifest create --all docker://…`: buildah 1.28 sends no credentials there.)
  const arm = ids.get('arm64') ?? '';
  await clients.runOk('buildah', ['pull', '--quiet', NO_TLS, '--arch', 'arm64', `${server.host}/${ns}/multi@${digest}`]);
  const pulled = await inspectImage(clients, `${server.host}/${ns}/multi@${digest}`);
  assert.equal(imageId(pulled.FromImageID), imageId(arm), 'arm64 image ID by list digest');
});
