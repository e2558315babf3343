/**
 * Wharf hosts itself: `npm run image` (scripts/image.ts) builds the image once for this file; it
 * starts from its own unpacked rootfs (umoci raw unpack, then chroot in new mount and PID
 * namespaces, as the image's user with its entrypoint, cmd and env) and under podman (runc), and
 * answers /v2/ and /readyz; skopeo pushes it into a running Wharf; the Helm chart, packaged with
 * its image pointing there, is pushed with `helm push` and templated back from oci://, validated,
 * and its image reference resolves in that Wharf.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { chown, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { packageChart } from '../../scripts/chart.ts';
import { IMAGE_UID, type ImageBuildResult, buildImage, imageEntrypoint } from '../../scripts/image.ts';
import { type ClientEnv, createClientEnv, findBinary, missingClients, runOk, uniqueName } from '../helpers/clients.ts';
import { login } from '../helpers/e2e.ts';
import { validateManifests } from '../helpers/k8s-validate.ts';
import { type StartedServer, freePort, repoRoot, startWharf } from '../helpers/server.ts';

const skip = missingClients('skopeo', 'umoci', 'helm4');
const notRoot = process.getuid?.() === 0 ? false : 'needs root (chroot, mount namespaces), as CI runs';
const pkg = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string };

interface ImageConfig {
  config: { User: string; Env: string[]; Entrypoint: string[]; Cmd: string[]; ExposedPorts: Record<string, unknown>; Volumes: Record<string, unknown>; Labels: Record<string, string>; WorkingDir: string };
  created: string;
  architecture: string;
  os: string;
}

/** Polls a plain-HTTP URL until it answers `status` (or the process exits). */
async function waitForStatus(url: string, status: number, proc?: ChildProcess, timeoutMs = 60_000): Promise<Response> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    assert.ok(proc?.exitCode === null || proc === undefined, `the server exited (${proc?.exitCode})`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (res.status === status) return res;
      await res.arrayBuffer();
    } catch {
      // not listening yet
    }
    assert.ok(Date.now() < deadline, `${url} never answered ${status}`);
    await sleep(200);
  }
}

/** The registry answers as Wharf: /readyz 200, a Bearer challenge on /v2/, the UI on /. */
async function assertWharfAnswers(port: number, proc?: ChildProcess): Promise<void> {
  const ready = await waitForStatus(`http://127.0.0.1:${port}/readyz`, 200, proc);
  assert.deepEqual(await ready.json(), { status: 'ready' });
  const v2 = await fetch(`http://127.0.0.1:${port}/v2/`);
  assert.equal(v2.status, 401);
  assert.match(v2.headers.get('www-authenticate') ?? '', /^Bearer realm="http:\/\/127\.0\.0\.1:\d+\/token"/);
  assert.equal(v2.headers.get('docker-distribution-api-version'), 'registry/2.0');
  // The built UI is in the image.
  const ui = await fetch(`http://127.0.0.1:${port}/`);
  assert.equal(ui.status, 200);
  assert.match(ui.headers.get('content-type') ?? '', /text\/html/);
  assert.match(await ui.text(), /<script[^>]+src="\/assets\//);
}

describe('Wharf image: built here, started from its rootfs, pushed into Wharf with its chart', { skip }, () => {
  let work = '';
  let image: ImageBuildResult;
  let config: ImageConfig;
  let server: StartedServer;
  let clients: ClientEnv;
  const ns = uniqueName('selfhost');

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'wharf-selfhost-'));
    // The UI was built by `npm test`'s pretest; everything else is built here, once per run.
    image = await buildImage({ buildUi: false, out: join(work, 'wharf-image.tar'), source: 'https://git.example.com/acme/wharf', log: () => {} });
    server = await startWharf();
    clients = await createClientEnv(server.host);
    if (server.admin) await login(clients, server.host, server.admin);
    config = JSON.parse((await clients.runOk('skopeo', ['inspect', '--config', image.reference])).stdout) as ImageConfig;
  });
  after(async () => {
    await clients?.cleanup();
    await server?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('the image: three layers, non-root user, /data volume, port 5000, bin/wharf flags, OCI labels', (t) => {
    const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
    t.diagnostic(`built in ${(image.ms / 1000).toFixed(1)} s: ${mib(image.compressedBytes)} compressed, ${mib(image.uncompressedBytes)} unpacked (${image.layers.map((l) => `${l.name} ${mib(l.size)}`).join(', ')})`);
    assert.deepEqual(image.layers.map((l) => l.name), ['runtime', 'dependencies', 'app']);
    const c = config.config;
    assert.equal(c.User, `${IMAGE_UID}:${IMAGE_UID}`);
    assert.deepEqual(Object.keys(c.ExposedPorts), ['5000/tcp']);
    assert.deepEqual(Object.keys(c.Volumes), ['/data']);
    assert.ok(c.Env.includes('WHARF_DATA_DIR=/data'));
    assert.deepEqual(c.Entrypoint, imageEntrypoint());
    assert.deepEqual(c.Cmd, ['serve']);
    assert.equal(config.os, 'linux');
    const labels = c.Labels;
    assert.equal(labels['org.opencontainers.image.source'], 'https://git.example.com/acme/wharf');
    assert.equal(labels['org.opencontainers.image.version'], pkg.version);
    assert.equal(labels['org.opencontainers.image.licenses'], 'Apache-2.0');
    assert.match(labels['org.opencontainers.image.revision'] ?? '', /^[0-9a-f]{40}$/);
    assert.equal(labels['org.opencontainers.image.created'], config.created);
    assert.match(image.reference, new RegExp(`^oci-archive:.+wharf-image\\.tar:${pkg.version.replace(/\./g, '\\.')}$`));
  });

  test('starts from its unpacked rootfs (chroot, new mount and PID namespaces) as its own user', { skip: notRoot }, async () => {
    const layout = join(work, 'layout');
    const rootfs = join(work, 'rootfs');
    await mkdir(layout);
    await runOk('tar', ['-xf', image.archive, '-C', layout]);
    await runOk('umoci', ['raw', 'unpack', '--image', `${layout}:${image.tag}`, rootfs], { timeoutMs: 300_000 });
    const data = join(work, 'chroot-data');
    await mkdir(data);
    await chown(data, IMAGE_UID, IMAGE_UID);
    const port = await freePort();
    const [uid, gid] = config.config.User.split(':');
    const env = Object.fromEntries(config.config.Env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
    // The image's own entrypoint, cmd, user and environment; the data directory bind-mounted at /data.
    const proc = spawn(
      findBinary('unshare') ?? 'unshare',
      [
        '--mount', '--pid', '--fork', '--kill-child', '--',
        'sh', '-c', 'mount --bind "$1" "$2/data" && root=$2 && user=$3 && shift 3 && exec chroot --userspec="$user" "$root" "$@"',
        'sh', data, rootfs, `${uid}:${gid}`, ...config.config.Entrypoint, ...config.config.Cmd,
      ],
      {
        env: { ...env, PATH: `${env['PATH']}:/usr/sbin:/sbin`, WHARF_SERVER__HOST: '127.0.0.1', WHARF_SERVER__PORT: String(port), WHARF_AUTH__ADMIN__PASSWORD: 'chroot-admin', WHARF_LOG__LEVEL: 'warn' },
        stdio: ['ignore', 'pipe', 'pipe'],
        // Its own process group: unshare ignores SIGTERM while it waits, so the signal goes to the group.
        detached: true,
      },
    );
    let output = '';
    proc.stdout?.on('data', (b: Buffer) => (output += b.toString()));
    proc.stderr?.on('data', (b: Buffer) => (output += b.toString()));
    try {
      await assertWharfAnswers(port, proc);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- server output ---\n${output}`);
    } finally {
      const closed = new Promise((resolve) => proc.once('close', resolve));
      if (proc.pid !== undefined) process.kill(-proc.pid, 'SIGTERM');
      await closed;
    }
    // It wrote its database as the image's user.
    const { stdout } = await runOk('stat', ['-c', '%u', join(data, 'wharf.db')]);
    assert.equal(stdout.trim(), String(IMAGE_UID));
  });

  test('runs under podman with runc', { skip: notRoot || missingClients('podman', 'runc') }, async () => {
    const local = `localhost/wharf:selfhost-${ns}`;
    await clients.runOk('skopeo', ['copy', image.reference, `containers-storage:${local}`], { timeoutMs: 300_000 });
    const port = await freePort();
    // crun fails on this machine's hybrid cgroups; runc works. The ulimits stay within the host's.
    const id = (
      await clients.runOk('podman', [
        '--runtime', findBinary('runc') ?? 'runc', 'run', '-d', '--network', 'host',
        '--ulimit', 'nofile=4096:4096', '--ulimit', 'nproc=4096:4096',
        '-e', 'WHARF_SERVER__HOST=127.0.0.1', '-e', `WHARF_SERVER__PORT=${port}`, '-e', 'WHARF_AUTH__ADMIN__PASSWORD=podman-admin',
        local,
      ], { timeoutMs: 120_000 })
    ).stdout.trim();
    try {
      await assertWharfAnswers(port);
      const pid = (await clients.runOk('podman', ['inspect', '-f', '{{.State.Pid}}', id])).stdout.trim();
      const status = await readFile(`/proc/${pid}/status`, 'utf8');
      assert.match(status, new RegExp(`^Uid:\\s+${IMAGE_UID}\\s`, 'm'), 'the server runs as the image user, not root');
    } catch (err) {
      const logs = await clients.run('podman', ['logs', id]);
      throw new Error(`${(err as Error).message}\n--- container log ---\n${logs.stdout}${logs.stderr}`);
    } finally {
      await clients.run('podman', ['--runtime', findBinary('runc') ?? 'runc', 'rm', '-f', '-t', '5', id], { timeoutMs: 60_000 });
      await clients.run('podman', ['rmi', '-f', local]);
    }
  });

  test('pushed into a running Wharf with skopeo; the chart pointing at it is pushed with helm and templated back from oci://', async () => {
    const repo = `${server.host}/${ns}/wharf`;
    await clients.runOk('skopeo', ['copy', '--dest-tls-verify=false', image.reference, `docker://${repo}:${image.tag}`], { timeoutMs: 300_000 });
    const inspected = JSON.parse((await clients.runOk('skopeo', ['inspect', '--tls-verify=false', `docker://${repo}:${image.tag}`])).stdout) as { Digest: string; Labels: Record<string, string> };
    assert.equal(inspected.Digest, image.manifestDigest, 'the registry serves the very manifest that was built');
    assert.equal(inspected.Labels['org.opencontainers.image.version'], pkg.version);

    const tgz = packageChart({ image: { repository: repo, tag: image.tag, digest: image.manifestDigest }, outDir: work, helm: findBinary('helm4') ?? 'helm' });
    const imageRef = `${repo}:${image.tag}@${image.manifestDigest}`; // what Kubernetes pulls: the digest wins
    for (const tool of ['helm4', 'helm3'] as const) {
      if (missingClients(tool)) continue;
      const helm = findBinary(tool) ?? tool;
      const home = join(work, tool);
      const env = { HELM_CONFIG_HOME: join(home, 'config'), HELM_CACHE_HOME: join(home, 'cache'), HELM_DATA_HOME: join(home, 'data') };
      const loginFlag = tool === 'helm4' ? '--plain-http' : '--insecure';
      await runOk(helm, ['registry', 'login', server.host, loginFlag, '--username', server.admin?.username ?? '', '--password-stdin'], { env, input: server.admin?.password ?? '' });
      if (tool === 'helm4') {
        const pushed = await runOk(helm, ['push', tgz, `oci://${server.host}/${ns}/charts`, '--plain-http'], { env });
        assert.match(pushed.stdout + pushed.stderr, /Digest: sha256:/);
      }
      const rendered = await runOk(helm, ['template', 'reg', `oci://${server.host}/${ns}/charts/wharf`, '--version', '0.1.0', '--plain-http'], { env, timeoutMs: 120_000 });
      const { objects, problems } = await validateManifests(rendered.stdout);
      assert.deepEqual(problems, [], `${tool}: rendered chart is invalid`);
      const sts = objects.find((o) => o.kind === 'StatefulSet');
      const images = (sts?.['spec'] as { template: { spec: { containers: { image: string }[] } } }).template.spec.containers.map((c) => c.image);
      assert.deepEqual(images, [imageRef], `${tool}: the chart's image is the one pushed`);
    }
    // The chart's image reference resolves in this Wharf.
    const raw = await clients.runOk('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${repo}@${image.manifestDigest}`]);
    assert.match(raw.stdout, /"layers"/);
  });
});
