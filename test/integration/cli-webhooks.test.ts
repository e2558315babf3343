/**
 * `wharf webhook …` on a temporary SQLite data directory (in-process runCli): create with a
 * generated or piped secret, list, test (queued for a server to send), deliveries, delete; refusals
 * (private target without webhooks.allowPrivateTargets, unknown events) are one error line.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli } from '../../src/cli/main.ts';
import { ensurePackage } from '../helpers/packages.ts';

let dataDir: string;

async function wharf(argv: string[], opts: { env?: Record<string, string>; stdin?: string } = {}) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    env: { WHARF_DATA_DIR: dataDir, WHARF_WEBHOOKS__ALLOW_PRIVATE_TARGETS: 'true', ...opts.env },
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    stdin: async () => opts.stdin ?? '',
  });
  return { code, stdout, stderr };
}

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'wharf-cli-hooks-'));
});
after(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

test('wharf webhook create, list, test, deliveries, delete', async () => {
  const created = await wharf(['webhook', 'create', 'acme', 'http://127.0.0.1:9/hook', '--events', 'package.published,tag.moved']);
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stdout, /created webhook [0-9a-f-]{36} for every package of acme: package.published, tag.moved/);
  assert.match(created.stdout, /secret \(shown once\): whsec_/);
  const id = /webhook ([0-9a-f-]{36})/.exec(created.stdout)?.[1] ?? '';

  const piped = await wharf(['webhook', 'create', 'acme', 'http://127.0.0.1:9/other', '--events', 'package.deleted', '--secret-stdin', '--inactive', '--json'], { stdin: 'a-secret-from-stdin-0123\n' });
  assert.equal(piped.code, 0, piped.stderr);
  const pipedHook = JSON.parse(piped.stdout) as { webhook: { active: boolean }; secret: string };
  assert.equal(pipedHook.secret, 'a-secret-from-stdin-0123');
  assert.equal(pipedHook.webhook.active, false);

  const list = await wharf(['webhook', 'list', 'acme', '--json']);
  assert.equal(list.code, 0, list.stderr);
  const hooks = JSON.parse(list.stdout) as { id: string; url: string; secret?: string }[];
  assert.equal(hooks.length, 2);
  assert.ok(hooks.every((h) => h.secret === undefined), 'secrets are never listed');
  const table = await wharf(['webhook', 'list', 'acme']);
  assert.match(table.stdout, /^ID\s+SCOPE\s+URL\s+EVENTS\s+ACTIVE/im);

  const ping = await wharf(['webhook', 'test', id]);
  assert.equal(ping.code, 0, ping.stderr);
  const log = JSON.parse((await wharf(['webhook', 'deliveries', id, '--json'])).stdout) as { event: string; status: string }[];
  assert.deepEqual(log.map((d) => [d.event, d.status]), [['ping', 'pending']]);

  assert.equal((await wharf(['webhook', 'delete', id])).code, 0);
  const gone = await wharf(['webhook', 'deliveries', id]);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /^error: webhook not found/);
});

test('a restore with wharf trash restore queues its webhook delivery for the server to send', async () => {
  const { openSqlite } = await import('../../src/metadata/metadata.ts');
  const { SYSTEM } = await import('../../src/auth/principal.ts');
  // A package version in the trash, made straight in the database the CLI uses.
  const m = openSqlite(join(dataDir, 'wharf.db'));
  await m.migrate();
  const created = await wharf(['webhook', 'create', 'zeta', 'http://127.0.0.1:9/hook', '--events', 'version.restored', '--json']);
  const hookId = (JSON.parse(created.stdout) as { webhook: { id: string } }).webhook.id;
  const repo = 'zeta/app' as never;
  const digest = `sha256:${'a'.repeat(64)}` as never;
  await ensurePackage(m, repo, 'zeta', 1);
  await m.manifests.put(
    { repo, digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 2, content: Buffer.from('{}'), artifactType: null, configMediaType: null, configDigest: null, subject: null, annotations: null, createdAt: 1 },
    [],
  );
  await m.tags.put(repo, '1.0' as never, digest, 1);
  const { TrashService } = await import('../../src/services/trash.ts');
  const { EventBus } = await import('../../src/lib/events.ts');
  const { AuthzService } = await import('../../src/services/authz.ts');
  const authz = new AuthzService({ metadata: m, enabled: true });
  const entry = await new TrashService({ metadata: m, authz, events: new EventBus(), clock: Date.now, days: 30 }).trashVersion(SYSTEM, repo, digest);
  await m.close();

  const restored = await wharf(['trash', 'restore', entry.id]);
  assert.equal(restored.code, 0, restored.stderr);
  const log = JSON.parse((await wharf(['webhook', 'deliveries', hookId, '--json'])).stdout) as { event: string; status: string }[];
  assert.deepEqual(log.map((d) => [d.event, d.status]), [['version.restored', 'pending']]);
});

test('refusals say why', async () => {
  const priv = await wharf(['webhook', 'create', 'acme', 'http://169.254.169.254/latest', '--events', 'package.published'], { env: { WHARF_WEBHOOKS__ALLOW_PRIVATE_TARGETS: 'false' } });
  assert.equal(priv.code, 1);
  assert.match(priv.stderr, /^error: 169\.254\.169\.254 is a private, loopback or link-local address; set webhooks\.allowPrivateTargets/);
  const unknown = await wharf(['webhook', 'create', 'acme', 'http://127.0.0.1:9/', '--events', 'push']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /unknown event push; events are package\.published/);
  const noPackage = await wharf(['webhook', 'create', 'acme/missing', 'http://127.0.0.1:9/', '--events', 'package.published']);
  assert.equal(noPackage.code, 1);
  assert.match(noPackage.stderr, /package acme\/missing not found/);
  const usage = await wharf(['webhook', 'create', 'acme', 'http://127.0.0.1:9/']);
  assert.equal(usage.code, 2);
});
