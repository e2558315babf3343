/**
 * `wharf backup` under load and `wharf restore`, with real clients: images pushed with skopeo
 * before the backup, pushes running while it copies (the backup process is frozen with SIGSTOP
 * right after its snapshot so that pushes land mid-copy without any timing luck), then a restore
 * into a fresh data directory and a server started on it. Every image of the snapshot pulls back
 * byte-exact with skopeo; an image pushed after the snapshot is absent — no manifest, no tag, and
 * none of its blobs in the backup. Also: the backup holds the `gc` lease while it copies and waits
 * for a garbage collection holding it; restore refuses a non-empty data directory; the scale-out
 * profile is pointed at pg_dump.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { openSqlite } from '../../src/metadata/metadata.ts';
import { wharfBin } from '../../scripts/build.ts';
import { type ClientEnv, createClientEnv, layoutBlobs, layoutRef, missingClients, randomFiles, reachableBlobs, umociImage, uniqueName } from '../helpers/clients.ts';
import { login } from '../helpers/e2e.ts';
import { type StartedServer, repoRoot, startWharf } from '../helpers/server.ts';

const skip = missingClients('skopeo', 'umoci');

interface Pushed {
  ref: string;
  layout: string;
  tag: string;
  startedAt: number;
  endedAt: number;
}

/** Runs the wharf CLI on a data directory (the server's, or a fresh one), as an operator would. */
function cli(args: string[], dataDir: string, extraEnv: Record<string, string> = {}): ChildProcess {
  // Like the server helper: none of the test runner's own WHARF_* settings reach the config loader.
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('WHARF_')) env[k] = v;
  return spawn(wharfBin(), args, { cwd: repoRoot, env: { ...env, WHARF_BUILD: '0', WHARF_SERVER__WORKERS: '1', WHARF_DATA_DIR: dataDir, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
}

async function finished(child: ChildProcess): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  return { code, stdout, stderr };
}

async function cliRun(args: string[], dataDir: string, extraEnv: Record<string, string> = {}) {
  return await finished(cli(args, dataDir, extraEnv));
}

describe('wharf backup under load, wharf restore', { skip }, () => {
  let server: StartedServer;
  let restored: StartedServer | undefined;
  let clients: ClientEnv;
  let work = '';
  const ns = uniqueName('e2e-backup');
  const layouts = new Map<string, string>();

  const push = async (layout: string, tag: string, ref: string): Promise<Pushed> => {
    const startedAt = Date.now();
    await clients.runOk('skopeo', ['copy', '--dest-tls-verify=false', `oci:${layout}:${tag}`, `docker://${server.host}/${ref}`], { timeoutMs: 120_000 });
    return { ref, layout, tag, startedAt, endedAt: Date.now() };
  };

  /** Pulls `ref` from `host` into a fresh layout and compares every reachable blob with the pushed layout's bytes. */
  const assertSameImage = async (env: ClientEnv, host: string, p: Pushed): Promise<void> => {
    const dest = join(await env.tempDir('pulled'), 'layout');
    await env.runOk('skopeo', ['copy', '--src-tls-verify=false', `docker://${host}/${p.ref}`, `oci:${dest}:x`], { timeoutMs: 120_000 });
    const want = await reachableBlobs(p.layout, await layoutRef(p.layout, p.tag));
    const got = await layoutBlobs(dest);
    for (const [digest, bytes] of want) assert.deepEqual(got.get(digest), bytes, `${p.ref}: blob ${digest} differs after restore`);
  };

  before(async () => {
    if (skip) return;
    work = await mkdtemp(join(tmpdir(), 'wharf-backup-'));
    server = await startWharf();
    clients = await createClientEnv([server.host]);
    if (server.admin) await login(clients, server.host, server.admin);
    // Images, built up front (umoci, nothing runs): 6 of 4 MiB for before the backup, 8 small
    // ones for the load, 1 for after the snapshot.
    for (const [name, files, size] of [
      ...Array.from({ length: 6 }, (_, i) => [`before-${i}`, 2, 2 * 1024 * 1024] as const),
      ...Array.from({ length: 8 }, (_, i) => [`load-${i}`, 1, 256 * 1024] as const),
      ['after', 2, 512 * 1024] as const,
    ]) {
      const layout = join(await clients.tempDir('src'), 'layout');
      await umociImage(clients, layout, 'v1', { layers: [randomFiles(files, size, name)] });
      layouts.set(name, layout);
    }
  });
  after(async () => {
    await restored?.stop();
    await server?.stop();
    await clients?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('a backup taken while pushes run restores byte-exact; a push after the snapshot is absent', async (t) => {
    const before: Pushed[] = [];
    for (let i = 0; i < 6; i++) before.push(await push(layouts.get(`before-${i}`) ?? '', 'v1', `${ns}/before-${i}:v1`));

    // Pushes keep running through the backup.
    const load: Pushed[] = [];
    let stopLoad = false;
    const loadLoop = (async () => {
      for (let i = 0; !stopLoad; i++) {
        load.push(await push(layouts.get(`load-${i % 8}`) ?? '', 'v1', `${ns}/load-${i % 8}:r${i}`));
      }
    })();

    const dir = join(work, 'backup');
    // ~24 MiB at 4 MiB/s: the copy lasts seconds, so the SIGSTOP below lands mid-copy.
    const backup = cli(['backup', dir, '--bwlimit', '4M', '--json'], server.dataDir);
    const result = finished(backup);
    let stderr = '';
    backup.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
    const deadline = Date.now() + 60_000;
    while (!stderr.includes('snapshot taken')) {
      assert.equal(backup.exitCode, null, `backup ended before its snapshot:\n${stderr}`);
      assert.ok(Date.now() < deadline, `no snapshot after 60 s:\n${stderr}`);
      await sleep(20);
    }
    // Freeze the copy; push while it is frozen, then let it go on.
    backup.kill('SIGSTOP');
    let afterSnapshot: Pushed;
    try {
      assert.equal(backup.exitCode, null, 'the backup was still copying');
      const metadata = openSqlite(join(server.dataDir, 'wharf.db'));
      try {
        const gc = await metadata.leases.current('gc', Date.now());
        assert.ok(gc && gc.holder !== '', 'the backup holds the gc lease while it copies');
        const busy = await metadata.leases.acquire('gc', 'a-garbage-collector', Date.now(), Date.now() + 60_000);
        assert.equal(busy, false, 'garbage collection cannot take the lease meanwhile');
      } finally {
        await metadata.close();
      }
      afterSnapshot = await push(layouts.get('after') ?? '', 'v1', `${ns}/after:v1`);
      await sleep(300); // let a load push or two land mid-copy too
    } finally {
      backup.kill('SIGCONT');
    }
    const { code, stdout } = await result;
    stopLoad = true;
    await loadLoop;
    assert.equal(code, 0, `backup failed:\n${stderr}`);
    const summary = JSON.parse(stdout) as { snapshotAt: string; snapshotMs: number; blobs: number; run: string };
    const snapshotStart = Date.parse(summary.snapshotAt);
    const snapshotEnd = snapshotStart + summary.snapshotMs;
    assert.ok(afterSnapshot.startedAt > snapshotEnd);

    // Restore into a fresh data directory; a second restore there is refused.
    const fresh = join(work, 'restored');
    const restore = await cliRun(['restore', dir, '--json'], fresh);
    assert.equal(restore.code, 0, restore.stderr);
    const again = await cliRun(['restore', dir], fresh);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /not empty/);

    restored = await startWharf({ dataDir: fresh, env: { WHARF_AUTH__ADMIN__PASSWORD: server.admin?.password ?? '' } });
    const pulls = await createClientEnv([restored.host]);
    try {
      if (server.admin) await login(pulls, restored.host, server.admin);
      const inRestored = async (p: Pushed): Promise<boolean> => {
        const res = await pulls.run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${restored?.host}/${p.ref}`]);
        if (res.code === 0) return true;
        assert.match(res.stderr, /manifest unknown|name unknown|not found/i, res.stderr);
        return false;
      };
      for (const p of before) {
        assert.ok(await inRestored(p), `${p.ref} (pushed before the backup) is missing`);
        await assertSameImage(pulls, restored.host, p);
      }
      for (const p of load) {
        const has = await inRestored(p);
        if (p.endedAt < snapshotStart) assert.ok(has, `${p.ref} finished before the snapshot but is missing`);
        if (p.startedAt > snapshotEnd) assert.ok(!has, `${p.ref} started after the snapshot but is present`);
        if (has) {
          await assertSameImage(pulls, restored.host, p);
        }
      }
      assert.ok(load.some((p) => p.startedAt > snapshotEnd), 'some load pushes ran after the snapshot');
      t.diagnostic(`load pushes: ${load.length}, before the snapshot ${load.filter((p) => p.endedAt < snapshotStart).length}, after it ${load.filter((p) => p.startedAt > snapshotEnd).length}; backup of ${summary.blobs} blobs`);
      // After the snapshot: absent, and none of its own blobs were copied.
      assert.equal(await inRestored(afterSnapshot), false);
      const own = await reachableBlobs(afterSnapshot.layout, await layoutRef(afterSnapshot.layout, 'v1'));
      for (const digest of own.keys()) {
        const hex = digest.split(':')[1] ?? '';
        assert.equal(existsSync(join(dir, 'storage', 'blobs', 'sha256', hex.slice(0, 2), hex)), false, `blob ${digest} of the later push is in the backup`);
      }
      // The backup holds exactly the blobs its snapshot references.
      let files = 0;
      for (const prefix of await readdir(join(dir, 'storage', 'blobs', 'sha256'))) files += (await readdir(join(dir, 'storage', 'blobs', 'sha256', prefix))).length;
      assert.equal(files, summary.blobs);
    } finally {
      await pulls.cleanup();
    }

    // The backup is on record: a job run and an audit entry (in the source database).
    const metadata = openSqlite(join(server.dataDir, 'wharf.db'));
    try {
      const run = await metadata.jobRuns.get(summary.run);
      assert.equal(run?.status, 'succeeded');
      assert.equal(run?.trigger, 'cli');
      assert.ok((await metadata.audit.list({ limit: 10, actor: 'system' })).some((e) => e.action === 'backup.create' && e.target === dir));
    } finally {
      await metadata.close();
    }
  });

  test('a backup waits for a garbage collection holding the gc lease, and gives up with a reason', async () => {
    const metadata = openSqlite(join(server.dataDir, 'wharf.db'));
    try {
      assert.ok(await metadata.leases.acquire('gc', 'gc-in-test', Date.now(), Date.now() + 60_000));
      const dir = join(work, 'refused');
      const res = await cliRun(['backup', dir, '--wait', '1'], server.dataDir);
      assert.equal(res.code, 1);
      assert.match(res.stderr, /garbage collection is running \(lease held by gc-in-test\)/);
      assert.equal(existsSync(join(dir, 'wharf.db')), false);
    } finally {
      await metadata.leases.release('gc', 'gc-in-test');
      await metadata.close();
    }
  });

  test('backup refuses a non-empty directory; both commands point the scale-out profile elsewhere', async () => {
    const dir = join(work, 'occupied');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'something'), 'x');
    const occupied = await cliRun(['backup', dir], server.dataDir);
    assert.equal(occupied.code, 1);
    assert.match(occupied.stderr, /not empty/);
    assert.equal((await readdir(dir)).join(), 'something', 'nothing written, nothing removed');

    const res = await cliRun(['backup', join(work, 'pg')], server.dataDir, {
      WHARF_DATABASE__DRIVER: 'postgres',
      WHARF_DATABASE__POSTGRES__URL: 'postgres://nobody@127.0.0.1:1/none',
    });
    assert.equal(res.code, 1);
    assert.match(res.stderr, /^error: backup and restore cover the embedded profile .*pg_dump/);
  });
});

