/**
 * Real Helm against a started Wharf, shared by helm3.test.ts and helm4.test.ts: OCI push/pull
 * (exact version, range, highest, digest), show, template, dependency update from oci://,
 * registry login/logout, provenance verification, the classic repository (repo add/update,
 * search, pull, template) and the ChartMuseum upload API. Each Helm gets its own HELM_* homes.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { findBinary, type RunResult, runFails, runOk } from '../helpers/clients.ts';
import { e2eSkip, useE2E } from '../helpers/e2e.ts';

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

export function helmSuite(tool: 'helm3' | 'helm4'): void {
  // Inside a suite, hooks run one after the other (useE2E's server start, then our setup).
  describe(tool, () => suite(tool));
}

function suite(tool: 'helm3' | 'helm4'): void {
  const skip = e2eSkip(tool);
  const ctx = useE2E(skip, `e2e-${tool}`);
  const helm4 = tool === 'helm4';
  let dir = '';
  let env: Record<string, string> = {};
  let owner = '';
  let host = '';
  let auth = '';
  const packaged = new Map<string, Buffer>();
  let pubring = '';

  const helm = async (args: string[], opts: { cwd?: string; input?: string } = {}): Promise<RunResult> =>
    runOk(findBinary(tool) ?? tool, args, { env, ...opts, timeoutMs: 120_000 });
  const helmFails = async (args: string[]): Promise<RunResult> => runFails(findBinary(tool) ?? tool, args, { env, timeoutMs: 120_000 });
  const oci = (chart: string) => `oci://${host}/${owner}/charts/${chart}`;
  const freshDir = async (name: string) => {
    const d = join(dir, name);
    await mkdir(d, { recursive: true }); // Helm 3 `pull -d` needs the directory to exist
    return d;
  };
  const api = async <T>(path: string, init: RequestInit = {}): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${ctx().server.url}${path}`, { ...init, headers: { ...(auth ? { authorization: auth } : {}), ...(init.headers as Record<string, string>) } });
    const text = await res.text();
    return { status: res.status, body: (text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text) as T };
  };
  /** Indexing follows the push asynchronously; wait (bounded) until the classic index lists `want`. */
  const waitForIndex = async (want: string[]) => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const { body } = await api<string>(`/charts/${owner}/index.yaml`);
      if (want.every((v) => body.includes(`version: ${v}\n`))) return;
      if (Date.now() > deadline) assert.fail(`index.yaml never listed ${want.join(', ')}:\n${body}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  before(async () => {
    if (skip !== false) return;
    const { server, clients, ns } = ctx();
    dir = await clients.tempDir(tool);
    owner = ns;
    host = server.host;
    env = {
      HELM_CONFIG_HOME: join(dir, 'config'),
      HELM_CACHE_HOME: join(dir, 'cache'),
      HELM_DATA_HOME: join(dir, 'data'),
      HOME: join(dir, 'home'),
      GNUPGHOME: join(dir, 'gnupg'),
    };
    if (server.admin) auth = `Basic ${Buffer.from(`${server.admin.username}:${server.admin.password}`).toString('base64')}`;

    // Charts made the way users make them: `helm create`, a README, a marker in values.yaml.
    await helm(['create', 'web'], { cwd: dir });
    await writeFile(join(dir, 'web/README.md'), `# web\n\nReadme of the ${tool} test chart.\n`);
    const values = await readFile(join(dir, 'web/values.yaml'), 'utf8');
    await writeFile(join(dir, 'web/values.yaml'), `${values}\nwharfMarker: ${tool}-values\n`);
    const out = await freshDir('packages');
    for (const version of ['0.1.0', '0.2.0', '0.3.0-beta.1', '1.0.0+build.1']) {
      await helm(['package', join(dir, 'web'), '--version', version, '--app-version', `app-${version}`, '-d', out]);
      packaged.set(version, await readFile(join(out, `web-${version}.tgz`)));
    }
  });

  after(async () => {
    if (dir && findBinary('gpgconf')) await runOk('gpgconf', ['--kill', 'gpg-agent'], { env }).catch(() => undefined);
  });

  test(`${tool}: registry login`, { skip }, async () => {
    const admin = ctx().server.admin;
    if (!admin) return;
    const flag = helm4 ? '--plain-http' : '--insecure';
    const res = await helm(['registry', 'login', host, '--username', admin.username, '--password-stdin', flag], { input: admin.password });
    assert.match(res.stdout + res.stderr, /Login Succeeded/);
  });

  test(`${tool}: push every version; tags carry '_' for '+'`, { skip }, async () => {
    for (const version of packaged.keys()) {
      const res = await helm(['push', join(dir, 'packages', `web-${version}.tgz`), `oci://${host}/${owner}/charts`, '--plain-http']);
      assert.match(res.stdout + res.stderr, new RegExp(`Pushed: ${host}/${owner}/charts/web:${version.replace('+', '_')}`));
    }
    const tags = await api<{ tags: string[] }>(`/v2/${owner}/charts/web/tags/list`);
    assert.deepEqual(tags.body.tags.sort(), ['0.1.0', '0.2.0', '0.3.0-beta.1', '1.0.0_build.1']);
  });

  test(`${tool}: pull by exact version, by range, without a version (highest) and by digest`, { skip }, async () => {
    const exact = await freshDir('pull-exact');
    await helm(['pull', oci('web'), '--version', '0.2.0', '--plain-http', '-d', exact]);
    assert.equal(sha256(await readFile(join(exact, 'web-0.2.0.tgz'))), sha256(packaged.get('0.2.0') ?? Buffer.alloc(0)));

    const range = await freshDir('pull-range');
    await helm(['pull', oci('web'), '--version', '>=0.1.0 <0.3.0', '--plain-http', '-d', range]);
    assert.ok(existsSync(join(range, 'web-0.2.0.tgz')), 'the highest version in the range');

    const latest = await freshDir('pull-latest');
    await helm(['pull', oci('web'), '--plain-http', '-d', latest]);
    assert.ok(existsSync(join(latest, 'web-1.0.0+build.1.tgz')), 'highest stable version, build metadata restored');
    assert.equal(sha256(await readFile(join(latest, 'web-1.0.0+build.1.tgz'))), sha256(packaged.get('1.0.0+build.1') ?? Buffer.alloc(0)));

    const detail = await api<{ digest: string }>(`/api/v1/charts/${owner}/charts/web/versions/0.1.0`);
    assert.equal(detail.status, 200);
    const byDigest = await freshDir('pull-digest');
    await helm(['pull', `${oci('web')}@${detail.body.digest}`, '--plain-http', '-d', byDigest]);
    // Helm names a chart pulled by digest after the digest.
    const files = await readdir(byDigest);
    assert.deepEqual(files, [`web@${detail.body.digest.replace(':', '-')}.tgz`]);
    assert.equal(sha256(await readFile(join(byDigest, files[0] ?? ''))), sha256(packaged.get('0.1.0') ?? Buffer.alloc(0)));
  });

  test(`${tool}: show chart, values, readme and template`, { skip }, async () => {
    const chart = await helm(['show', 'chart', oci('web'), '--version', '0.2.0', '--plain-http']);
    assert.match(chart.stdout, /^name: web$/m);
    assert.match(chart.stdout, /^version: 0\.2\.0$/m);
    assert.match(chart.stdout, /^appVersion: app-0\.2\.0$/m);
    const values = await helm(['show', 'values', oci('web'), '--version', '0.2.0', '--plain-http']);
    assert.match(values.stdout, new RegExp(`wharfMarker: ${tool}-values`));
    const readme = await helm(['show', 'readme', oci('web'), '--version', '0.2.0', '--plain-http']);
    assert.match(readme.stdout, new RegExp(`Readme of the ${tool} test chart`));
    const rendered = await helm(['template', 'rel', oci('web'), '--version', '0.2.0', '--plain-http']);
    assert.match(rendered.stdout, /kind: Deployment/);
    assert.match(rendered.stdout, /name: rel-web/);
  });

  test(`${tool}: Wharf shows what Helm pushed, with the real semver`, { skip }, async () => {
    const v = await api<{ versions: { version: string; prerelease: boolean; status: string }[] }>(`/api/v1/charts/${owner}/charts/web/versions`);
    assert.deepEqual(
      v.body.versions.map((x) => [x.version, x.prerelease, x.status]),
      [
        ['1.0.0+build.1', false, 'ok'],
        ['0.3.0-beta.1', true, 'ok'],
        ['0.2.0', false, 'ok'],
        ['0.1.0', false, 'ok'],
      ],
    );
    const d = await api<{ readme: { text: string }; values: string; commands: { install: string; pull: string } }>(`/api/v1/charts/${owner}/charts/web/versions/0.2.0`);
    assert.match(d.body.readme.text, /Readme of the/);
    assert.match(d.body.values, /wharfMarker/);
    // The pull line Wharf shows is a command that works.
    const shown = d.body.commands.pull.split(' ').slice(1);
    const target = await freshDir('pull-shown');
    await helm([...shown, '-d', target]);
    assert.ok(existsSync(join(target, 'web-0.2.0.tgz')));
  });

  test(`${tool}: dependency update resolves an oci:// dependency on Wharf`, { skip }, async () => {
    await helm(['create', 'app'], { cwd: dir });
    const chartYaml = await readFile(join(dir, 'app/Chart.yaml'), 'utf8');
    await writeFile(join(dir, 'app/Chart.yaml'), `${chartYaml}\ndependencies:\n  - name: web\n    version: "~0.2.0"\n    repository: "oci://${host}/${owner}/charts"\n`);
    await helm(['dependency', 'update', join(dir, 'app'), '--plain-http']);
    assert.equal(sha256(await readFile(join(dir, 'app/charts/web-0.2.0.tgz'))), sha256(packaged.get('0.2.0') ?? Buffer.alloc(0)));
    const lock = await readFile(join(dir, 'app/Chart.lock'), 'utf8');
    assert.match(lock, /version: 0\.2\.0/);
    const rendered = await helm(['template', 'r', join(dir, 'app')]);
    assert.match(rendered.stdout, /name: r-web/, 'the subchart renders');
  });

  test(`${tool}: provenance is stored with the chart and verifies on pull`, { skip: skip || (findBinary('gpg') ? false : 'gpg not found: apt-get install -y gnupg') }, async () => {
    await mkdir(env['GNUPGHOME'] ?? '', { recursive: true, mode: 0o700 });
    await runOk('gpg', ['--batch', '--passphrase', '', '--quick-gen-key', `Wharf ${tool} <${tool}@example.com>`, 'rsa2048', 'sign', 'never'], { env });
    const secring = join(dir, 'secring.gpg');
    pubring = join(dir, 'pubring.gpg');
    // Helm reads the legacy keyring format, which `gpg --export` writes.
    await runOk('gpg', ['--batch', '--yes', '--output', secring, '--export-secret-keys'], { env });
    await runOk('gpg', ['--batch', '--yes', '--output', pubring, '--export'], { env });
    const out = await freshDir('signed');
    await helm(['package', join(dir, 'web'), '--version', '2.0.0', '--sign', '--key', `Wharf ${tool}`, '--keyring', secring, '-d', out]);
    await helm(['push', join(out, 'web-2.0.0.tgz'), `oci://${host}/${owner}/charts`, '--plain-http']);
    const pulled = await freshDir('pull-verify');
    const res = await helm(['pull', oci('web'), '--version', '2.0.0', '--plain-http', '--verify', '--keyring', pubring, '-d', pulled]);
    assert.match(res.stdout + res.stderr, /Chart Hash Verified/);
    assert.ok(existsSync(join(pulled, 'web-2.0.0.tgz.prov')));
    await waitForIndex(['2.0.0']);
    const prov = await api<string>(`/charts/${owner}/web-2.0.0.tgz.prov`);
    assert.equal(prov.status, 200);
    assert.equal(prov.body, await readFile(join(out, 'web-2.0.0.tgz.prov'), 'utf8'));
  });

  test(`${tool}: the classic repository: a mistyped owner fails; no or wrong credentials see the public charts only`, { skip }, async () => {
    await waitForIndex(['0.1.0']);
    const url = `${ctx().server.url}/charts/${owner}`;
    const typo = await helmFails(['repo', 'add', `${owner}-typo`, `${url}-typo`]);
    assert.match(typo.stdout + typo.stderr, /404/, 'helm repo add of an owner that does not exist fails');
    // This owner's charts are private (the default): strangers get a valid, empty repository,
    // the same answer as for an owner without private charts, so nothing leaks.
    await helm(['repo', 'add', `${owner}-anon`, url]);
    const anon = await helm(['search', 'repo', `${owner}-anon/`]);
    assert.match(anon.stdout, /No results found/);
    await helm(['repo', 'add', `${owner}-wrong`, url, '--username', 'admin', '--password', 'not-the-password']);
    const denied = await helmFails(['pull', `${owner}-wrong/web`, '--version', '0.1.0', '-d', await freshDir('wrong-creds')]);
    assert.match(denied.stdout + denied.stderr, /not found|401/, 'a private chart stays out of reach with wrong credentials');
    for (const name of [`${owner}-anon`, `${owner}-wrong`]) await helm(['repo', 'remove', name]);
  });

  test(`${tool}: the classic repository: repo add, update, search, pull, template`, { skip }, async () => {
    await waitForIndex(['0.1.0', '0.2.0', '0.3.0-beta.1', '1.0.0+build.1']);
    const admin = ctx().server.admin;
    const creds = admin ? ['--username', admin.username, '--password', admin.password] : [];
    await helm(['repo', 'add', owner, `${ctx().server.url}/charts/${owner}`, ...creds]);
    await helm(['repo', 'update', owner]);

    const rows = (out: string) =>
      out
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => l.split('\t').map((c) => c.trim()))
        .map((c) => [c[0], c[1]]);
    // The signed 2.0.0 of the provenance test is the newest when gpg is there to sign it.
    const newestVersion = findBinary('gpg') ? '2.0.0' : '1.0.0+build.1';
    const latest = await helm(['search', 'repo', `${owner}/web`]);
    assert.deepEqual(rows(latest.stdout), [[`${owner}/web`, newestVersion]]);
    const stable = await helm(['search', 'repo', `${owner}/web`, '--versions']);
    assert.ok(!stable.stdout.includes('0.3.0-beta.1'), 'no pre-releases without --devel');
    assert.ok(stable.stdout.includes('0.1.0'));
    const devel = await helm(['search', 'repo', `${owner}/web`, '--versions', '--devel']);
    for (const v of ['0.1.0', '0.2.0', '0.3.0-beta.1', '1.0.0+build.1']) assert.ok(devel.stdout.includes(v), `--devel lists ${v}`);

    const byVersion = await freshDir('repo-pull-version');
    await helm(['pull', `${owner}/web`, '--version', '0.1.0', '-d', byVersion]);
    assert.equal(sha256(await readFile(join(byVersion, 'web-0.1.0.tgz'))), sha256(packaged.get('0.1.0') ?? Buffer.alloc(0)));
    const plus = await freshDir('repo-pull-plus');
    await helm(['pull', `${owner}/web`, '--version', '1.0.0+build.1', '-d', plus]);
    assert.equal(sha256(await readFile(join(plus, 'web-1.0.0+build.1.tgz'))), sha256(packaged.get('1.0.0+build.1') ?? Buffer.alloc(0)));
    const newest = await freshDir('repo-pull-latest');
    await helm(['pull', `${owner}/web`, '-d', newest]);
    assert.ok(existsSync(join(newest, `web-${newestVersion}.tgz`)), 'no --version pulls the newest stable version');
    const rendered = await helm(['template', 'r', `${owner}/web`, '--version', '0.2.0']);
    assert.match(rendered.stdout, /name: r-web/);
    if (pubring) {
      const verified = await freshDir('repo-pull-verify');
      const res = await helm(['pull', `${owner}/web`, '--version', '2.0.0', '--verify', '--keyring', pubring, '-d', verified]);
      assert.match(res.stdout + res.stderr, /Chart Hash Verified/, 'the .prov is served next to the .tgz');
    }
  });

  test(`${tool}: metadata that a YAML 1.1 reader could misread survives the classic index`, { skip }, async () => {
    await helm(['create', 'tricky'], { cwd: dir });
    await writeFile(
      join(dir, 'tricky/Chart.yaml'),
      [
        'apiVersion: v2',
        'name: tricky',
        'version: 0.0.1',
        'appVersion: "1.0"',
        'description: "yes"',
        'keywords: ["on", "0x1F", "a: b", "#hash"]',
        'home: https://example.com/x?y=1#z',
        'maintainers:',
        '  - name: "no"',
        '    email: no@example.com',
        'annotations:',
        '  "example.com/when": "2024-01-02"',
        'dependencies:',
        '  - name: web',
        '    version: "~0.2.0"',
        `    repository: "oci://${host}/${owner}/charts"`,
        '    condition: web.enabled',
        '',
      ].join('\n'),
    );
    await helm(['dependency', 'update', join(dir, 'tricky'), '--plain-http']);
    const out = await freshDir('tricky-pkg');
    await helm(['package', join(dir, 'tricky'), '-d', out]);
    await helm(['push', join(out, 'tricky-0.0.1.tgz'), `oci://${host}/${owner}/charts`, '--plain-http']);
    await waitForIndex(['0.0.1']);
    await helm(['repo', 'update', owner]);
    const found = JSON.parse((await helm(['search', 'repo', `${owner}/tricky`, '-o', 'json'])).stdout) as { name: string; version: string; app_version: string; description: string }[];
    assert.deepEqual(found, [{ name: `${owner}/tricky`, version: '0.0.1', app_version: '1.0', description: 'yes' }]);
  });

  test(`${tool}: a ChartMuseum upload is pullable over OCI and from the classic repository`, { skip }, async () => {
    await helm(['create', 'museum'], { cwd: dir });
    const out = await freshDir('museum-pkg');
    await helm(['package', join(dir, 'museum'), '--version', '0.5.0', '-d', out]);
    const tgz = await readFile(join(out, 'museum-0.5.0.tgz'));
    const res = await api<{ saved: boolean }>(`/api/${owner}/charts`, { method: 'POST', body: tgz, headers: { 'content-type': 'application/gzip' } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const again = await api(`/api/${owner}/charts`, { method: 'POST', body: tgz });
    assert.equal(again.status, 409);

    const viaOci = await freshDir('museum-oci');
    await helm(['pull', oci('museum'), '--version', '0.5.0', '--plain-http', '-d', viaOci]);
    assert.equal(sha256(await readFile(join(viaOci, 'museum-0.5.0.tgz'))), sha256(tgz));
    await helm(['repo', 'update', owner]);
    const viaRepo = await freshDir('museum-repo');
    await helm(['pull', `${owner}/museum`, '-d', viaRepo]);
    assert.equal(sha256(await readFile(join(viaRepo, 'museum-0.5.0.tgz'))), sha256(tgz));
  });

  test(`${tool}: registry logout; private charts then need credentials again`, { skip }, async () => {
    if (!ctx().server.admin) return;
    await helm(['registry', 'logout', host]);
    const res = await helmFails(['pull', oci('web'), '--version', '0.1.0', '--plain-http', '-d', await freshDir('after-logout')]);
    assert.match(res.stderr, /unauthorized|authentication required|authorization failed|access denied|401/i);
  });
}
