/**
 * The trash with real clients against a started Wharf (fs + SQLite): a trashed image is not
 * pullable by skopeo or podman and pulls again after a restore made with `wharf trash restore`
 * beside the running server; a trashed chart version disappears from `helm repo update`/search
 * and `helm pull` and comes back; `wharf usage` reports it; the bytes of a trashed version stay
 * on disk through the trash and are freed only after its purge (by `wharf gc` when present).
 */
import assert from 'node:assert/strict';
import { readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chartTgz } from '../helpers/charts.ts';
import { type ClientEnv, createClientEnv, findBinary, missingClients, randomFiles, run, type RunResult, umociImage, uniqueName } from '../helpers/clients.ts';
import { login } from '../helpers/e2e.ts';
import { repoRoot, type StartedServer, startWharf } from '../helpers/server.ts';

const helmBin = findBinary('helm3') ?? findBinary('helm4');
const skip = missingClients('skopeo', 'podman', 'umoci') || (helmBin ? false : 'helm not found: bash scripts/install-test-deps.sh');

interface Entry {
  id: string;
  package: string;
  digest: string | null;
  tags: string[];
}

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) total += (await stat(join(e.parentPath, e.name))).size;
  }
  return total;
}

function ok(r: RunResult, what: string): RunResult {
  assert.equal(r.code, 0, `${what} failed (exit ${r.code}):\n${r.stderr}\n${r.stdout}`);
  return r;
}

describe('trash with real clients', { skip }, () => {
  let server: StartedServer;
  let clients: ClientEnv;
  let owner = '';
  let auth = '';

  /** `bin/wharf …` on the server's data directory, beside the running server (ADR 0008: SQLite is shared safely). */
  const wharf = (args: string[], env: Record<string, string> = {}) =>
    run(join(repoRoot, 'bin/wharf'), args, { env: { WHARF_DATA_DIR: server.dataDir, WHARF_LOG__LEVEL: 'warn', ...env }, timeoutMs: 120_000 });
  const api = async <T>(method: string, path: string): Promise<{ status: number; body: T }> => {
    const res = await fetch(server.url + path, { method, headers: { authorization: auth } });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
  };
  const trashVersion = async (repo: string, digest: string): Promise<Entry> => {
    const i = repo.indexOf('/');
    const r = await api<Entry>('DELETE', `/api/v1/packages/${repo.slice(0, i)}/${encodeURIComponent(repo.slice(i + 1))}/versions/${digest}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body;
  };

  before(async () => {
    server = await startWharf();
    clients = await createClientEnv(server.host);
    if (server.admin) await login(clients, server.host, server.admin);
    owner = server.admin?.username ?? 'admin';
    auth = `Basic ${Buffer.from(`${owner}:${server.admin?.password ?? ''}`).toString('base64')}`;
  });
  after(async () => {
    await clients?.cleanup();
    await server?.stop();
  });

  test('a trashed image is not pullable by skopeo or podman, and pulls again after `wharf trash restore`', async () => {
    const layout = join(await clients.tempDir('layout'), 'oci');
    await umociImage(clients, layout, 'v1', { layers: [randomFiles(2, 64 * 1024, 'trash')], config: { architecture: 'amd64', os: 'linux' } });
    const repo = `${owner}/${uniqueName('web')}`;
    const ref = `docker://${server.host}/${repo}:1.0`;
    ok(await clients.run('skopeo', ['copy', '--dest-tls-verify=false', `oci:${layout}:v1`, ref]), 'skopeo copy');
    const digest = (JSON.parse(ok(await clients.run('skopeo', ['inspect', '--tls-verify=false', ref]), 'inspect').stdout) as { Digest: string }).Digest;

    const entry = await trashVersion(repo, digest);
    const gone = await clients.run('skopeo', ['inspect', '--tls-verify=false', ref]);
    assert.notEqual(gone.code, 0, 'skopeo inspect of a trashed tag fails');
    assert.match(gone.stderr, /manifest unknown/i);
    const podmanGone = await clients.run('podman', ['pull', '--tls-verify=false', `${server.host}/${repo}@${digest}`]);
    assert.notEqual(podmanGone.code, 0, 'podman pull by digest fails');

    // A push of the same image is refused with the way out.
    const again = await clients.run('skopeo', ['copy', '--dest-tls-verify=false', `oci:${layout}:v1`, ref]);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, new RegExp(`in the trash.*wharf trash restore ${entry.id}`));

    const listed = JSON.parse(ok(await wharf(['trash', 'list', owner, '--json']), 'wharf trash list').stdout) as Entry[];
    assert.ok(listed.some((e) => e.id === entry.id && e.tags.includes('1.0')), 'listed by the CLI');
    const text = ok(await wharf(['trash', 'list', owner]), 'wharf trash list (table)').stdout;
    assert.match(text, new RegExp(`${entry.id}\\s+version\\s+${repo}\\s+1\\.0`));
    const restored = ok(await wharf(['trash', 'restore', entry.id]), 'wharf trash restore').stdout;
    assert.match(restored, /tags back: 1\.0/);

    ok(await clients.run('skopeo', ['inspect', '--tls-verify=false', ref]), 'skopeo inspect after restore');
    ok(await clients.run('podman', ['pull', '--tls-verify=false', `${server.host}/${repo}:1.0`]), 'podman pull after restore');
    const usage = JSON.parse(ok(await wharf(['usage', owner, '--json']), 'wharf usage').stdout) as { liveBytes: number; packages: { name: string; liveBytes: number }[] };
    assert.ok((usage.packages.find((p) => p.name === repo)?.liveBytes ?? 0) > 128 * 1024, 'usage counts both layers');
  });

  test('a trashed chart version leaves helm repo update/search and helm pull, and comes back', async () => {
    const dir = await clients.tempDir('helm');
    const env = { HELM_CONFIG_HOME: join(dir, 'config'), HELM_CACHE_HOME: join(dir, 'cache'), HELM_DATA_HOME: join(dir, 'data') };
    const helm = (args: string[], input?: string) => run(helmBin ?? 'helm', args, { env, cwd: dir, timeoutMs: 120_000, ...(input !== undefined ? { input } : {}) });
    const name = uniqueName('trashchart');
    const insecure = (helmBin ?? '').includes('helm4') ? '--plain-http' : '--insecure';
    ok(await helm(['registry', 'login', server.host, '--username', owner, '--password-stdin', insecure], server.admin?.password ?? ''), 'helm registry login');
    for (const version of ['1.0.0', '1.1.0']) {
      const file = join(dir, `${name}-${version}.tgz`);
      await writeFile(file, chartTgz({ name, version }));
      ok(await helm(['push', file, `oci://${server.host}/${owner}/charts`, '--plain-http']), `helm push ${version}`);
    }
    const repoAlias = 'trashrepo';
    ok(await helm(['repo', 'add', repoAlias, `${server.url}/charts/${owner}`, '--username', owner, '--password', server.admin?.password ?? '']), 'helm repo add');
    const search = async () => {
      ok(await helm(['repo', 'update', repoAlias]), 'helm repo update');
      return ok(await helm(['search', 'repo', `${repoAlias}/${name}`, '--versions', '-o', 'json']), 'helm search').stdout;
    };
    // Indexing follows the push; wait (bounded) for both versions.
    const deadline = Date.now() + 15_000;
    while (!(await search()).includes('1.0.0') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    const digest = (await api<{ versions: { version: string; digest: string }[] }>('GET', `/api/v1/charts/${owner}/charts/${name}/versions`)).body.versions.find((v) => v.version === '1.0.0')?.digest;
    assert.ok(digest, 'chart 1.0.0 indexed');

    const entry = await trashVersion(`${owner}/charts/${name}`, digest);
    const after = JSON.parse(await search()) as { version: string }[];
    assert.deepEqual(after.map((v) => v.version), ['1.1.0'], 'only 1.1.0 after the trash');
    const pull = await helm(['pull', `${repoAlias}/${name}`, '--version', '1.0.0', '-d', dir]);
    assert.notEqual(pull.code, 0, 'helm pull of the trashed version fails');

    assert.equal((await api('POST', `/api/v1/trash/${entry.id}/restore`)).status, 200);
    const back = JSON.parse(await search()) as { version: string }[];
    assert.deepEqual(back.map((v) => v.version).sort(), ['1.0.0', '1.1.0']);
    ok(await helm(['pull', `${repoAlias}/${name}`, '--version', '1.0.0', '-d', dir]), 'helm pull after restore');
  });

  test('a trashed version keeps its bytes until its purge; the purge deletes the rows (and GC then frees the bytes)', async (t) => {
    const layout = join(await clients.tempDir('layout'), 'oci');
    await umociImage(clients, layout, 'big', { layers: [randomFiles(1, 2 * 1024 * 1024, 'unique')], config: { architecture: 'amd64', os: 'linux' } });
    const repo = `${owner}/${uniqueName('big')}`;
    const ref = `docker://${server.host}/${repo}:1.0`;
    ok(await clients.run('skopeo', ['copy', '--dest-tls-verify=false', `oci:${layout}:big`, ref]), 'push');
    const digest = (JSON.parse(ok(await clients.run('skopeo', ['inspect', '--tls-verify=false', ref]), 'inspect').stdout) as { Digest: string }).Digest;
    const storage = join(server.dataDir, 'storage');
    const pushed = await dirBytes(storage);

    const entry = await trashVersion(repo, digest);
    const gcAvailable = /\bgc\b/.test((await wharf(['--help'])).stdout);
    // No grace: the blobs were uploaded moments ago (issue 11's "done when" runs GC this way).
    const gc = async () => ok(await wharf(['gc'], { WHARF_GC__GRACE_SECONDS: '0' }), 'wharf gc');
    if (gcAvailable) await gc();
    assert.ok((await dirBytes(storage)) >= pushed, 'the bytes stay while the version is in the trash (GC treats it as live)');

    const purged = JSON.parse(ok(await wharf(['trash', 'purge', entry.id, '--json']), 'wharf trash purge').stdout) as { entries: number; manifests: number };
    assert.deepEqual(purged, { entries: 1, manifests: 1, packages: 0 });
    assert.equal((await api('GET', `/api/v1/trash/${entry.id}`)).status, 404, 'the entry is gone');
    const list = await clients.run('skopeo', ['list-tags', '--tls-verify=false', `docker://${server.host}/${repo}`]);
    assert.deepEqual((JSON.parse(list.stdout || '{"Tags":[]}') as { Tags: string[] }).Tags, [], 'no tag is left');
    if (!gcAvailable) {
      t.diagnostic('wharf gc is not on this branch yet: the bytes are freed by the GC run after the purge (checked once GC lands)');
      return;
    }
    await gc();
    const freed = pushed - (await dirBytes(storage));
    assert.ok(freed >= 2 * 1024 * 1024 - 64 * 1024, `GC after the purge frees the unique layer (freed ${freed} bytes)`);
  });
});
