/**
 * Policies with real clients against a started Wharf (fs + SQLite), asserting what each client
 * prints (issue 13): podman and skopeo pushing over an immutable tag, skopeo deleting it, Helm 3
 * and Helm 4 pushing an existing chart version again with other content — each refused with the
 * message naming the tag and the rule — while re-pushing the identical image succeeds; and
 * `wharf retention preview|apply` beside the running server; podman pushing over an owner's
 * quota (the usage in what it prints) and succeeding after a delete and `wharf gc`.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chartTgz } from '../helpers/charts.ts';
import { type ClientEnv, createClientEnv, findBinary, missingClients, randomFiles, run, type RunResult, uniqueName } from '../helpers/clients.ts';
import { login } from '../helpers/e2e.ts';
import { repoRoot, type StartedServer, startWharf } from '../helpers/server.ts';

const helms = ['helm3', 'helm4'].map((h) => findBinary(h)).filter((b): b is string => b !== undefined);
const skip = missingClients('skopeo', 'podman') || (helms.length > 0 ? false : 'helm not found: bash scripts/install-test-deps.sh');
const NO_TLS = '--tls-verify=false';

function ok(r: RunResult, what: string): RunResult {
  assert.equal(r.code, 0, `${what} failed (exit ${r.code}):\n${r.stderr}\n${r.stdout}`);
  return r;
}

function refused(r: RunResult, what: string, expected: RegExp): void {
  assert.notEqual(r.code, 0, `${what} should fail:\n${r.stdout}`);
  assert.match(r.stderr, expected, `${what}: what the client prints`);
}

/** `s` as a regular expression; skopeo's log lines escape quotes (\"), podman's and Helm's do not. */
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/"/g, '\\\\?"');

describe('policies with real clients', { skip }, () => {
  let server: StartedServer;
  let clients: ClientEnv;
  let owner = '';
  let auth = '';

  const wharf = (args: string[]) => run(join(repoRoot, 'bin/wharf'), args, { env: { WHARF_DATA_DIR: server.dataDir, WHARF_LOG__LEVEL: 'warn' }, timeoutMs: 120_000 });
  const api = async <T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> => {
    const res = await fetch(server.url + path, {
      method,
      headers: { authorization: auth, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
  };

  /** A local image from random files (`podman import`, no container is run). */
  const importImage = async (name: string, label: string): Promise<void> => {
    const dir = await clients.tempDir('rootfs');
    for (const [path, content] of Object.entries(randomFiles(2, 16 * 1024, label))) await writeFile(join(dir, path), content);
    const tar = join(await clients.tempDir('tar'), 'rootfs.tar');
    ok(await run('tar', ['-C', dir, '-cf', tar, '.']), 'tar');
    ok(await clients.run('podman', ['import', '--quiet', '--change', `LABEL org.example.test=${label}`, tar, name]), 'podman import');
  };

  before(async () => {
    server = await startWharf();
    clients = await createClientEnv(server.host);
    if (server.admin) await login(clients, server.host, server.admin);
    owner = server.admin?.username ?? 'admin';
    auth = `Basic ${Buffer.from(`${owner}:${server.admin?.password ?? ''}`).toString('base64')}`;
    const set = await api('PUT', `/api/v1/owners/${owner}/policy`, { tagRules: [{ pattern: 'latest', immutable: false }, { pattern: '[0-9]*.[0-9]*.[0-9]*', immutable: true }] });
    assert.equal(set.status, 200, JSON.stringify(set.body));
  });
  after(async () => {
    await clients?.cleanup();
    await server?.stop();
  });

  test('podman and skopeo: a push over an immutable tag is refused naming the tag and the rule; the identical re-push succeeds', async () => {
    const repo = `${owner}/${uniqueName('app')}`;
    const remote = `${server.host}/${repo}`;
    await importImage('localhost/policy-a:1', 'a');
    await importImage('localhost/policy-b:1', 'b');
    ok(await clients.run('podman', ['push', '--quiet', NO_TLS, 'localhost/policy-a:1', `docker://${remote}:1.0.0`]), 'podman push a → 1.0.0');
    // A CI retry pushes the same image again: not a change.
    ok(await clients.run('podman', ['push', '--quiet', NO_TLS, 'localhost/policy-a:1', `docker://${remote}:1.0.0`]), 'podman re-push a → 1.0.0');
    const digest = (JSON.parse(ok(await clients.run('skopeo', ['inspect', NO_TLS, `docker://${remote}:1.0.0`]), 'inspect').stdout) as { Digest: string }).Digest;

    const rule = escape(`tag 1.0.0 of ${repo} is immutable (owner tag rule 2 (pattern "[0-9]*.[0-9]*.[0-9]*", immutable)): it points at ${digest.slice(0, 19)}; push a new tag instead`);
    const podman = await clients.run('podman', ['push', '--quiet', NO_TLS, 'localhost/policy-b:1', `docker://${remote}:1.0.0`]);
    refused(podman, 'podman push b → 1.0.0', new RegExp(`denied: ${rule}`));
    const skopeo = await clients.run('skopeo', ['copy', '--dest-tls-verify=false', 'containers-storage:localhost/policy-b:1', `docker://${remote}:1.0.0`]);
    refused(skopeo, 'skopeo copy b → 1.0.0', new RegExp(`denied: ${rule}`));
    // latest is mutable: it moves from a to b.
    ok(await clients.run('podman', ['push', '--quiet', NO_TLS, 'localhost/policy-a:1', `docker://${remote}:latest`]), 'latest → a');
    ok(await clients.run('podman', ['push', '--quiet', NO_TLS, 'localhost/policy-b:1', `docker://${remote}:latest`]), 'latest → b');
    // skopeo delete deletes the manifest by digest: it would take the immutable tag with it.
    const del = await clients.run('skopeo', ['delete', NO_TLS, `docker://${remote}:1.0.0`]);
    refused(del, 'skopeo delete 1.0.0', new RegExp(escape(`would remove tag 1.0.0 of ${repo}, which is immutable (owner tag rule 2`)));
    const still = JSON.parse(ok(await clients.run('skopeo', ['inspect', NO_TLS, `docker://${remote}:1.0.0`]), 'inspect after').stdout) as { Digest: string };
    assert.equal(still.Digest, digest, '1.0.0 still points at the first image');
  });

  for (const helmBin of helms) {
    const which = helmBin.includes('helm4') ? 'Helm 4' : 'Helm 3';
    test(`${which}: a second helm push of an existing chart version fails with a message naming the rule`, async () => {
      const dir = await clients.tempDir('helm');
      const env = { HELM_CONFIG_HOME: join(dir, 'config'), HELM_CACHE_HOME: join(dir, 'cache'), HELM_DATA_HOME: join(dir, 'data') };
      const helm = (args: string[], input?: string) => run(helmBin, args, { env, cwd: dir, timeoutMs: 120_000, ...(input !== undefined ? { input } : {}) });
      const insecure = helmBin.includes('helm4') ? '--plain-http' : '--insecure';
      ok(await helm(['registry', 'login', server.host, '--username', owner, '--password-stdin', insecure], server.admin?.password ?? ''), 'helm registry login');
      const name = uniqueName('web');
      const first = join(dir, 'first', `${name}-1.0.0.tgz`);
      const second = join(dir, 'second', `${name}-1.0.0.tgz`);
      await run('mkdir', ['-p', join(dir, 'first'), join(dir, 'second')]);
      await writeFile(first, chartTgz({ name, version: '1.0.0' }));
      await writeFile(second, chartTgz({ name, version: '1.0.0', description: 'something else' }));
      const pushed = ok(await helm(['push', first, `oci://${server.host}/${owner}/charts`, '--plain-http']), 'helm push 1.0.0');
      const digest = /Digest: (sha256:[0-9a-f]{64})/.exec(pushed.stdout + pushed.stderr)?.[1];
      assert.ok(digest, `helm printed the digest:\n${pushed.stdout}${pushed.stderr}`);
      // The identical chart again (a CI retry): Helm builds the same manifest, nothing moves.
      ok(await helm(['push', first, `oci://${server.host}/${owner}/charts`, '--plain-http']), 'helm push of the identical chart again');
      const again = await helm(['push', second, `oci://${server.host}/${owner}/charts`, '--plain-http']);
      refused(
        again,
        'helm push of other content as 1.0.0',
        new RegExp(escape(`chart version 1.0.0 of ${owner}/charts/${name} already exists (${digest.slice(0, 19)}) and chart versions are immutable (site setting charts.allowOverwrite: false); push a new version`)),
      );
      // What `helm install --version 1.0.0` gets is still the first push.
      const show = ok(await helm(['show', 'chart', `oci://${server.host}/${owner}/charts/${name}`, '--version', '1.0.0', '--plain-http']), 'helm show chart');
      assert.doesNotMatch(show.stdout, /something else/);
    });
  }

  test("podman push over the owner's quota fails with the usage in the message, and succeeds after deleting and GC", async () => {
    const repo = `${owner}/${uniqueName('quota')}`;
    const remote = `${server.host}/${repo}`;
    await importImage('localhost/policy-q1:1', 'q1');
    ok(await clients.run('podman', ['push', '--quiet', NO_TLS, 'localhost/policy-q1:1', `docker://${remote}:one`]), 'push q1');
    const used = (await api<{ usedBytes: number }>('GET', `/api/v1/owners/${owner}/quota`)).body.usedBytes;
    assert.ok(used > 0);
    // Room for a few KiB more: the next image (two 16 KiB random files) does not fit.
    ok(await wharf(['quota', 'set', owner, String(used + 4096)]), 'wharf quota set');
    assert.match(ok(await wharf(['quota', 'show', owner]), 'wharf quota show').stdout, new RegExp(`^${owner}: .* used of .* \\(its own, \\d+%\\)$`, 'm'));
    await importImage('localhost/policy-q2:1', 'q2');
    const over = await clients.run('podman', ['push', '--quiet', NO_TLS, 'localhost/policy-q2:1', `docker://${remote}:two`]);
    refused(over, 'podman push over quota', new RegExp(`denied: ${owner} uses [0-9.]+ (B|KiB|MiB) of its [0-9.]+ (B|KiB|MiB) quota; this (upload|push) needs [0-9.]+ (B|KiB|MiB) more`));

    // Delete what is there (skopeo deletes by digest), collect, push again.
    ok(await clients.run('skopeo', ['delete', NO_TLS, `docker://${remote}:one`]), 'skopeo delete');
    ok(await wharf(['gc']), 'wharf gc');
    ok(await clients.run('podman', ['push', '--quiet', NO_TLS, 'localhost/policy-q2:1', `docker://${remote}:two`]), 'push after delete and GC');
    ok(await wharf(['quota', 'set', owner, 'none']), 'quota back to none');
  });

  test('wharf retention preview (unsaved rules, text and --json) and apply beside the running server', async () => {
    const repo = `${owner}/${uniqueName('ci')}`;
    const remote = `${server.host}/${repo}`;
    for (const label of ['r1', 'r2', 'r3']) {
      await importImage(`localhost/policy-${label}:1`, label);
      ok(await clients.run('podman', ['push', '--quiet', NO_TLS, `localhost/policy-${label}:1`, `docker://${remote}:sha-${label}`]), `push ${label}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const json = JSON.parse(ok(await wharf(['retention', 'preview', repo, '--rules', '{"keepMostRecent":1}', '--json']), 'preview --json').stdout) as {
      removed: number;
      packages: { versions: { tags: string[]; action: string; reasons: string[] }[] }[];
    };
    assert.equal(json.removed, 2);
    assert.deepEqual(json.packages[0]?.versions.filter((v) => v.action === 'remove').flatMap((v) => v.tags).sort(), ['sha-r1', 'sha-r2']);
    const text = ok(await wharf(['retention', 'preview', repo, '--rules', '{"keepMostRecent":1}']), 'preview').stdout;
    assert.match(text, /remove\s+sha-r1 [0-9a-f]{12}.*not among the 1 most recently pushed tagged version \(keepMostRecent: 1, #3\)/);
    assert.match(text, /would move 2 versions to the trash, 1 kept \(dry run: nothing changed\)/);
    ok(await clients.run('skopeo', ['inspect', NO_TLS, `docker://${remote}:sha-r1`]), 'nothing removed by the preview');

    ok(await wharf(['policy', 'set', repo, '{"retention":{"keepMostRecent":1}}']), 'wharf policy set');
    const applied = ok(await wharf(['retention', 'apply', repo]), 'apply').stdout;
    assert.match(applied, /moved 2 versions to the trash, 1 kept/);
    const gone = await clients.run('skopeo', ['inspect', NO_TLS, `docker://${remote}:sha-r1`]);
    refused(gone, 'inspect of a removed version', /manifest unknown/i);
    ok(await clients.run('skopeo', ['inspect', NO_TLS, `docker://${remote}:sha-r3`]), 'the newest is kept');

    // The scheduled job, run now from the CLI: the next push makes sha-r3 the second most recent.
    await importImage('localhost/policy-r4:1', 'r4');
    ok(await clients.run('podman', ['push', '--quiet', NO_TLS, 'localhost/policy-r4:1', `docker://${remote}:sha-r4`]), 'push r4');
    const all = ok(await wharf(['retention', 'apply', '--all']), 'apply --all').stdout;
    assert.match(all, /retention: \d+ packages evaluated, 1 versions moved to the trash, \d+ kept \(job run [^)]+\)/);
    refused(await clients.run('skopeo', ['inspect', NO_TLS, `docker://${remote}:sha-r3`]), 'sha-r3 removed by the job', /manifest unknown/i);
  });
});
