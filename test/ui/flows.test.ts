/**
 * The web UI in real Chromium against a started Wharf, with real clients doing what the pages
 * say: sign in → create a token → push an image (podman) and a chart (helm) with it → both on
 * the owner page → the pull/install commands shown on each package page work when run →
 * make the image public → anonymous podman pull → grant a team read access → a team member
 * sees the package → delete a version. Screenshots of every page at desktop and phone width.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { fetchHttp, pushBlob } from '../helpers/charts.ts';
import { buildahImage, type ClientEnv, createClientEnv, findBinary, missingClients, run, type RunResult } from '../helpers/clients.ts';
import { type StartedServer, startWharf } from '../helpers/server.ts';
import { axeViolations, browserUnavailable, ensureUiBuilt, horizontalOverflow, launchChromium, newContext, shoot, unlabelledControls } from './browser.ts';

const helmBin = findBinary('helm3') ?? findBinary('helm4');
const skip = browserUnavailable() || missingClients('podman', 'buildah') || (helmBin ? false : 'helm not found: bash scripts/install-test-deps.sh');
const SOURCE = 'https://github.com/acme/web';
const README = [
  '# web',
  '',
  'The **acme web** application.',
  '',
  '| key | default |',
  '| --- | --- |',
  '| replicas | 2 |',
  '',
  '<script>window.__readmeXss = 1</script>',
  '<img src="x" onerror="window.__readmeXss = 2" alt="broken">',
  '[click me](javascript:window.__readmeXss=3)',
  '',
].join('\n');

/** Splits a shell command line as shown on a page (plain words and single quotes). */
function words(line: string): string[] {
  const out: string[] = [];
  const re = /'((?:[^']|'\\'')*)'|(\S+)/g;
  for (const m of line.matchAll(re)) out.push(m[1] !== undefined ? m[1].replaceAll(`'\\''`, `'`) : (m[2] ?? ''));
  return out;
}

function ok(r: RunResult, what: string): RunResult {
  assert.equal(r.code, 0, `${what} failed (exit ${r.code}):\n${r.stderr}\n${r.stdout}`);
  return r;
}

describe('web UI in Chromium', { skip }, () => {
  let server: StartedServer;
  let browser: Browser;
  let clients: ClientEnv;
  let helmHome: string;
  let alice: { ctx: BrowserContext; page: Page };
  let token = '';
  const shots: string[] = [];
  const overflow: string[] = [];
  const unlabelled: string[] = [];
  /** Serious or critical axe-core findings, at desktop and phone width. */
  const a11y: string[] = [];
  const pageErrors: string[] = [];
  const users = { alice: 'alice-password-1', bob: 'bob-password-12' };

  const snap = async (page: Page, name: string, opts: { fullPage?: boolean } = {}) => {
    shots.push(...(await shoot(page, name, opts)));
    for (const v of await axeViolations(page)) a11y.push(`${name} (desktop): ${v}`);
    await page.setViewportSize({ width: 390, height: 844 });
    const extra = await horizontalOverflow(page);
    if (extra > 1) overflow.push(`${name}: ${extra}px wider than a phone screen`);
    for (const control of await unlabelledControls(page)) unlabelled.push(`${name}: ${control}`);
    for (const v of await axeViolations(page)) a11y.push(`${name} (phone): ${v}`);
    await page.setViewportSize({ width: 1280, height: 800 });
  };

  const openPage = async (ctx: BrowserContext): Promise<Page> => {
    const page = await ctx.newPage();
    page.on('pageerror', (e) => pageErrors.push(`${page.url()}: ${e.message}`));
    return page;
  };

  const helm = (args: string[], cwd?: string) =>
    run(helmBin ?? 'helm', args, {
      env: { HELM_CONFIG_HOME: join(helmHome, 'config'), HELM_CACHE_HOME: join(helmHome, 'cache'), HELM_DATA_HOME: join(helmHome, 'data') },
      ...(cwd ? { cwd } : {}),
      timeoutMs: 120_000,
    });
  const helm3 = () => (helmBin ?? '').includes('helm3');

  const api = async (path: string, init: { method?: string; body?: unknown; auth?: string } = {}) => {
    const res = await fetch(server.url + path, {
      method: init.method ?? 'GET',
      headers: { ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}), ...(init.auth ? { authorization: init.auth } : {}) },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
    return { status: res.status, body: await res.text() };
  };
  const adminAuth = () => `Basic ${Buffer.from(`${server.admin?.username}:${server.admin?.password}`).toString('base64')}`;

  before(async () => {
    ensureUiBuilt();
    server = await startWharf();
    clients = await createClientEnv(server.host);
    helmHome = await clients.tempDir('helm');
    browser = await launchChromium();
    for (const [username, password] of Object.entries(users)) {
      const r = await api('/api/v1/users', { method: 'POST', body: { username, password }, auth: adminAuth() });
      assert.equal(r.status, 201, r.body);
    }
  });

  after(async () => {
    await alice?.ctx.close().catch(() => {});
    await browser?.close().catch(() => {});
    await clients?.cleanup();
    await server?.stop();
    if (shots.length > 0) {
      const list = [...new Set(shots)].map((f) => f.slice(f.indexOf('test-output/'))).sort();
      console.log(`screenshots (${list.length}):\n  ${list.join('\n  ')}`);
    }
  });

  test('anonymous visitors see the start page, sign-in, and a 404 for unknown packages', async () => {
    const ctx = await newContext(browser, server.url);
    const page = await openPage(ctx);
    await page.goto('/');
    await page.getByRole('heading', { name: /Container images and Helm charts/ }).waitFor();
    await snap(page, '01-home-anonymous');
    await page.getByRole('link', { name: 'Sign in' }).first().click();
    await page.getByRole('heading', { name: 'Sign in to Wharf' }).waitFor();
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill('wrong password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'Incorrect username or password' }).waitFor();
    await snap(page, '02-sign-in-failed');
    await page.goto('/acme/nothing-here');
    await page.getByRole('heading', { name: 'This package could not be found' }).waitFor();
    await snap(page, '03-not-found');
    await ctx.close();
  });

  test('sign in with the keyboard only, create an organization and a team', async () => {
    const ctx = await newContext(browser, server.url);
    const page = await openPage(ctx);
    alice = { ctx, page };
    await page.goto('/-/sign-in');
    await page.getByLabel('Username').waitFor();
    // The username field has focus; Tab moves to the password; Enter submits.
    await page.keyboard.type('alice');
    await page.keyboard.press('Tab');
    await page.keyboard.type(users.alice);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/alice$/);
    await page.getByRole('heading', { name: 'No packages yet' }).waitFor();
    await snap(page, '04-owner-empty');

    await page.goto('/-/settings/orgs');
    await page.getByLabel('Name', { exact: true }).fill('acme');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.waitForURL(/\/acme\/-\/teams$/);
    await page.getByLabel('Team name').fill('readers');
    await page.getByLabel('Description (optional)').fill('People who may pull our private packages');
    await page.getByRole('button', { name: 'Create team' }).click();
    await page.getByLabel('Add to readers').fill('bob');
    await page.getByRole('form', { name: 'Add a member to readers' }).getByRole('button', { name: 'Add' }).click();
    await page.getByRole('listitem').filter({ hasText: 'bob' }).first().waitFor();
    const org = JSON.parse((await api('/api/v1/orgs/acme', { auth: `Basic ${Buffer.from(`alice:${users.alice}`).toString('base64')}` })).body) as { teams: { name: string; members: { username: string }[] }[] };
    assert.deepEqual(org.teams.find((t) => t.name === 'readers')?.members.map((m) => m.username), ['bob']);
    await snap(page, '05-org-members-teams');
    // The organization page of older links is the owner page's People tab now.
    await page.goto('/-/orgs/acme');
    await page.waitForURL(/\/acme\/-\/people$/);
  });

  test('create a personal access token: shown once, copied with the button', async () => {
    const { page } = alice;
    await page.goto('/-/settings/tokens');
    await page.getByLabel('Name', { exact: true }).fill('laptop');
    await page.getByRole('checkbox', { name: /write:packages/ }).check();
    await page.getByLabel('Expires').selectOption('90');
    await page.getByRole('button', { name: 'Generate token' }).click();
    const shown = page.getByTestId('new-token');
    await shown.waitFor();
    const text = (await shown.textContent()) ?? '';
    assert.match(text, /^wharf_pat_/);
    await page.getByRole('button', { name: /^Copy token/ }).click();
    assert.equal(await page.evaluate('navigator.clipboard.readText()'), text, 'the copy button copies the token');
    token = text;
    await page.getByRole('listitem').filter({ hasText: 'laptop' }).waitFor();
    await snap(page, '06-settings-token-created');
    // Reloading never shows the secret again.
    await page.reload();
    await page.getByRole('listitem').filter({ hasText: 'laptop' }).waitFor();
    assert.equal(await page.getByTestId('new-token').count(), 0);
    assert.equal((await page.content()).includes(token), false);
  });

  test('push an image with podman and a chart with helm using the token; both appear on the owner page', async () => {
    ok(await clients.run('podman', ['login', '--tls-verify=false', '--username', 'alice', '--password-stdin', server.host], { input: token }), 'podman login');
    await buildahImage(clients, 'localhost/web:build', {
      files: { 'app.txt': 'acme web 1.0.0\n' },
      config: { labels: { 'org.opencontainers.image.source': SOURCE, 'org.opencontainers.image.description': 'The acme web front end', 'org.opencontainers.image.licenses': 'Apache-2.0' } },
    });
    ok(await clients.run('podman', ['push', '--quiet', '--tls-verify=false', 'localhost/web:build', `docker://${server.host}/acme/web:1.0.0`]), 'podman push');

    const chartDir = join(await clients.tempDir('chart'), 'web');
    await mkdir(join(chartDir, 'templates'), { recursive: true });
    await writeFile(
      join(chartDir, 'Chart.yaml'),
      ['apiVersion: v2', 'name: web', 'description: Deploys the acme web front end', 'version: 0.1.0', 'appVersion: "1.0.0"', 'type: application', 'sources:', `  - ${SOURCE}`, 'keywords: [web, acme]', ''].join('\n'),
    );
    await writeFile(join(chartDir, 'values.yaml'), ['# How many pods', 'replicas: 2', 'image:', `  repository: ${server.host}/acme/web`, '  tag: 1.0.0', ''].join('\n'));
    await writeFile(join(chartDir, 'README.md'), README);
    await writeFile(
      join(chartDir, 'templates', 'configmap.yaml'),
      ['apiVersion: v1', 'kind: ConfigMap', 'metadata:', '  name: {{ .Release.Name }}-web', 'data:', '  replicas: "{{ .Values.replicas }}"', '  image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"', ''].join('\n'),
    );
    const out = await clients.tempDir('packaged');
    ok(await helm(['package', chartDir, '-d', out]), 'helm package');
    const login = ['registry', 'login', server.host, '--username', 'alice', '--password', token, helm3() ? '--insecure' : '--plain-http'];
    ok(await helm(login), 'helm registry login');
    ok(await helm(['push', join(out, 'web-0.1.0.tgz'), `oci://${server.host}/acme/charts`, '--plain-http']), 'helm push');

    const { page } = alice;
    await page.goto('/acme');
    const list = page.getByRole('list').filter({ has: page.getByRole('link', { name: 'charts/web' }) });
    await list.waitFor();
    const image = page.getByRole('listitem').filter({ has: page.getByRole('link', { name: 'web', exact: true }) });
    const chart = page.getByRole('listitem').filter({ has: page.getByRole('link', { name: 'charts/web', exact: true }) });
    assert.match((await image.textContent()) ?? '', /Container image.*Private.*The acme web front end.*Latest\s*1\.0\.0/s);
    assert.match((await chart.textContent()) ?? '', /Helm chart.*Private.*Latest\s*0\.1\.0/s);
    await snap(page, '07-owner-packages');

    await page.getByLabel('Kind').selectOption('chart');
    await page.waitForURL(/kind=chart/);
    await page.getByText('1 of 2 packages').waitFor();
    assert.equal(await page.getByRole('link', { name: 'web', exact: true }).count(), 0);
    await page.getByLabel('Kind').selectOption('');
    await page.getByLabel('Find a package').fill('nope');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('heading', { name: 'No packages match' }).waitFor();
    await snap(page, '08-owner-no-match');
  });

  test('image page: the podman pull line shown on the page works', async () => {
    const { page } = alice;
    await page.goto('/acme/web');
    await page.getByRole('heading', { name: 'Install from the command line' }).waitFor();
    const line = ((await page.getByTestId('cmd-podman').textContent()) ?? '').trim();
    assert.equal(line, `podman pull --tls-verify=false ${server.host}/acme/web:1.0.0`);
    await page.getByTestId('cmd-podman').locator('xpath=..').getByRole('button').click();
    assert.equal(await page.evaluate('navigator.clipboard.readText()'), line);
    assert.equal(((await page.getByTestId('cmd-docker').textContent()) ?? '').trim(), `docker pull ${server.host}/acme/web:1.0.0`);
    await clients.run('podman', ['rmi', '--all', '--force']);
    const [cmd, ...args] = words(line);
    ok(await clients.run(cmd ?? 'podman', args), 'the podman pull line from the page');
    // The pull is counted: the page shows it in the downloads figure and the 30-day chart.
    await page.reload();
    await page.getByRole('heading', { name: 'Install from the command line' }).waitFor();
    assert.ok(Number(await page.locator('.big-number').textContent()) >= 1, 'the pull counts as a download');
    // The chart sharing the source repository is linked ("this app's chart").
    await page.getByRole('complementary').locator('.related').getByRole('link', { name: 'acme/charts/web' }).waitFor();
    assert.match((await page.locator('.lead').textContent()) ?? '', /The acme web front end/);
    await snap(page, '09-image-versions');
    await page.getByRole('tab', { name: /Labels/ }).click();
    await page.getByRole('cell', { name: 'org.opencontainers.image.licenses' }).waitFor();
    await snap(page, '10-image-labels');
  });

  test('chart page: README sanitised, values, and the helm pull / template lines work', async () => {
    const { page } = alice;
    await page.goto('/acme/charts/web');
    const install = ((await page.getByTestId('cmd-helm-install').textContent()) ?? '').trim();
    const pull = ((await page.getByTestId('cmd-helm-pull').textContent()) ?? '').trim();
    const repoAdd = ((await page.getByTestId('cmd-helm-repo-add').textContent()) ?? '').trim();
    assert.equal(install, `helm upgrade --install web oci://${server.host}/acme/charts/web --version 0.1.0 --plain-http`);
    assert.equal(pull, `helm pull oci://${server.host}/acme/charts/web --version 0.1.0 --plain-http`);
    assert.equal(repoAdd, `helm repo add acme ${server.url}/charts/acme`);

    // README: Markdown rendered (table, bold), hostile HTML neutralised.
    const readme = page.locator('.readme');
    await readme.getByRole('heading', { name: 'web' }).waitFor();
    assert.equal(await readme.locator('table').count(), 1);
    assert.equal(await readme.locator('script').count(), 0);
    assert.equal(await readme.locator('[onerror]').count(), 0);
    assert.equal(await readme.locator('a[href^="javascript"]').count(), 0);
    assert.equal(await page.evaluate('typeof window.__readmeXss'), 'undefined', 'no script from the README ran');
    await page.getByRole('complementary').getByRole('link', { name: 'acme/web', exact: true }).waitFor();
    await snap(page, '11-chart-readme');

    const dir = await clients.tempDir('helm-pull');
    ok(await helm(words(pull).slice(1), dir), 'the helm pull line from the page');
    assert.deepEqual(await readdir(dir), ['web-0.1.0.tgz']);
    const template = words(install.replace('helm upgrade --install', 'helm template'));
    const rendered = ok(await helm(template.slice(1)), 'helm template with the oci:// reference from the page');
    assert.match(rendered.stdout, /name: web-web/);
    assert.match(rendered.stdout, new RegExp(`image: "${server.host}/acme/web:1.0.0"`));

    await page.getByRole('tab', { name: 'Values', exact: true }).click();
    await page.getByLabel('values.yaml').getByText('replicas: 2').waitFor();
    await snap(page, '12-chart-values');
    await page.getByRole('tab', { name: /Dependencies/ }).click();
    await page.getByRole('heading', { name: 'No dependencies' }).waitFor();
    await page.getByRole('tab', { name: /Versions/ }).click();
    await page.getByRole('cell', { name: /0\.1\.0/ }).waitFor();
    await snap(page, '13-chart-versions');
  });

  test('other artifacts: files and referrers (signature, SBOM) are listed', async () => {
    const http = fetchHttp(server.url, `Basic ${Buffer.from(`alice:${token}`).toString('base64')}`);
    const put = async (repo: string, ref: string, manifest: unknown) => {
      const bytes = Buffer.from(JSON.stringify(manifest));
      const r = await http.request('PUT', `/v2/${repo}/manifests/${ref}`, bytes, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
      assert.equal(r.status, 201, r.body.toString());
      return { digest: r.headers['docker-content-digest'] ?? '', size: bytes.length };
    };
    const empty = await pushBlob(http, 'acme/policy', Buffer.from('{}'));
    const wasm = await pushBlob(http, 'acme/policy', Buffer.from('\0asm\x01\0\0\0 policy module'));
    const artifact = await put('acme/policy', 'v1', {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'application/vnd.wasm.component.v1+wasm',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', ...empty },
      layers: [{ mediaType: 'application/wasm', ...wasm, annotations: { 'org.opencontainers.image.title': 'policy.wasm' } }],
      annotations: { 'org.opencontainers.image.description': 'Admission policy as a WebAssembly module' },
    });
    const sbomBody = await pushBlob(http, 'acme/policy', Buffer.from('{"spdxVersion":"SPDX-2.3"}'));
    await put('acme/policy', 'sbom', {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'application/spdx+json',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', ...empty },
      layers: [{ mediaType: 'application/spdx+json', ...sbomBody }],
      subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...artifact },
    });
    const { page } = alice;
    await page.goto('/acme/policy');
    await page.getByRole('cell', { name: 'policy.wasm' }).waitFor();
    await page.getByText('application/vnd.wasm.component.v1+wasm').first().waitFor();
    await snap(page, '14-artifact');
  });

  test('make the image public in settings; anonymous podman pull then works', async () => {
    const anon = await createClientEnv(server.host);
    try {
      const ref = `${server.host}/acme/web:1.0.0`;
      const denied = await anon.run('podman', ['pull', '--quiet', '--tls-verify=false', ref]);
      assert.notEqual(denied.code, 0, 'a private image is not pullable anonymously');

      const { page } = alice;
      await page.goto('/acme/web');
      await page.getByRole('link', { name: /Package settings/ }).click();
      await page.waitForURL(/\/acme\/web\/-\/settings$/);
      await page.getByRole('heading', { name: 'Package settings' }).waitFor();
      await snap(page, '15-package-settings');
      await page.getByRole('radio', { name: /Public/ }).check();
      await page.getByRole('button', { name: 'Change visibility' }).click();
      const dialog = page.getByRole('dialog', { name: 'Make web public?' });
      await dialog.waitFor();
      await snap(page, '16-visibility-confirm', { fullPage: false });
      await dialog.getByRole('button', { name: 'Make public' }).click();
      await page.getByRole('status').filter({ hasText: 'acme/web is now public.' }).waitFor();

      ok(await anon.run('podman', ['pull', '--quiet', '--tls-verify=false', ref]), 'anonymous podman pull of the public image');
    } finally {
      await anon.cleanup();
    }
  });

  test('grant a team read access; a team member then sees the private chart', async () => {
    const ctx = await newContext(browser, server.url);
    const bob = await openPage(ctx);
    try {
      await bob.goto('/-/sign-in');
      await bob.getByLabel('Username').fill('bob');
      await bob.getByLabel('Password').fill(users.bob);
      await bob.getByRole('button', { name: 'Sign in' }).click();
      await bob.waitForURL(/\/bob$/);
      await bob.goto('/acme');
      await bob.getByRole('link', { name: 'web', exact: true }).waitFor();
      assert.equal(await bob.getByRole('link', { name: 'charts/web' }).count(), 0, 'the private chart is hidden before the grant');

      const { page } = alice;
      await page.goto('/acme/charts/web/-/settings');
      await page.getByLabel('Grant to').selectOption('team');
      await page.getByLabel('Team of acme').fill('readers');
      await page.getByLabel('Role', { exact: true }).selectOption('read');
      await page.getByRole('form', { name: 'Grant access' }).getByRole('button', { name: 'Add' }).click();
      await page.getByRole('cell', { name: 'Team acme/readers' }).waitFor();
      await snap(page, '17-package-access');

      await bob.reload();
      await bob.getByRole('link', { name: 'charts/web' }).click();
      await bob.getByTestId('cmd-helm-install').waitFor();
      assert.equal(await bob.getByRole('link', { name: /Package settings/ }).count(), 0, 'readers have no settings link');
      await snap(bob, '18-chart-as-team-member');
      await bob.goto('/acme/charts/web/-/settings');
      await bob.getByRole('heading', { name: "You don't have access to this" }).waitFor();
      await snap(bob, '19-no-access');
    } finally {
      await ctx.close();
    }
  });

  test('delete a version with typed confirmation', async () => {
    await buildahImage(clients, 'localhost/web:next', { files: { 'app.txt': 'acme web 1.1.0\n' }, config: { labels: { 'org.opencontainers.image.source': SOURCE } } });
    ok(await clients.run('podman', ['push', '--quiet', '--tls-verify=false', 'localhost/web:next', `docker://${server.host}/acme/web:1.1.0`]), 'podman push 1.1.0');
    const { page } = alice;
    await page.goto('/acme/web/-/settings');
    const option = page.locator('#delete-version option').filter({ hasText: /^1\.0\.0 / });
    await page.getByLabel('Version', { exact: true }).selectOption((await option.getAttribute('value')) ?? '');
    await page.getByRole('button', { name: 'Delete version' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete version 1.0.0?' });
    await dialog.waitFor();
    const confirm = dialog.getByRole('button', { name: 'Delete this version' });
    assert.equal(await confirm.isDisabled(), true, 'disabled until the name is typed');
    await dialog.getByLabel(/Type 1\.0\.0 to confirm/).fill('1.0.0');
    await snap(page, '20-delete-version-confirm', { fullPage: false });
    await confirm.click();
    await page.getByRole('status').filter({ hasText: 'Version 1.0.0 was moved to the trash.' }).waitFor();
    await page.goto('/acme/web');
    await page.getByText('1.1.0').first().waitFor();
    assert.equal(await page.locator('.version-list .tag', { hasText: /^1\.0\.0$/ }).count(), 0);
    const manifestUrl = (tag: string) => fetch(`${server.url}/v2/acme/web/manifests/${tag}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal((await manifestUrl('1.0.0')).status, 404, 'the trashed version is gone from the registry');
    assert.equal((await manifestUrl('1.1.0')).status, 200);

    // The owner's Trash lists it; Restore brings it back with its tag.
    await page.goto('/acme');
    await page.getByTestId('owner-usage').filter({ hasText: /in the trash/ }).waitFor();
    await page.getByRole('link', { name: 'Trash', exact: true }).first().click();
    await page.getByRole('heading', { name: 'Trash', level: 1 }).waitFor();
    const entry = page.locator('.trash-item', { hasText: 'acme/web:1.0.0' });
    await entry.waitFor();
    await snap(page, '20b-trash');
    await entry.getByRole('button', { name: 'Restore acme/web:1.0.0' }).click();
    await page.getByRole('status').filter({ hasText: 'Restored acme/web:1.0.0. Tags back: 1.0.0.' }).waitFor();
    await page.getByText('The trash is empty').waitFor();
    assert.equal((await manifestUrl('1.0.0')).status, 200, 'pulls again after restore');
    await page.goto('/acme/web');
    await page.locator('.version-list .tag', { hasText: /^1\.0\.0$/ }).first().waitFor();
    await page.getByTestId('package-usage').waitFor();
  });

  test('delete a package: it goes to the trash, its name stays reserved, and can be deleted forever', async () => {
    const http = fetchHttp(server.url, `Basic ${Buffer.from(`alice:${token}`).toString('base64')}`);
    const config = await pushBlob(http, 'acme/scratch', Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'));
    const layer = await pushBlob(http, 'acme/scratch', Buffer.from('scratch layer'));
    const manifest = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }] });
    const putManifest = () => http.request('PUT', '/v2/acme/scratch/manifests/1', Buffer.from(manifest), { 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
    const put = await putManifest();
    assert.equal(put.status, 201, put.body.toString());
    const { page } = alice;
    await page.goto('/acme/scratch/-/settings');
    await page.getByRole('button', { name: 'Delete package' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete acme/scratch?' });
    await dialog.getByLabel(/Type acme\/scratch to confirm/).fill('acme/scratch');
    await dialog.getByRole('button', { name: 'Delete this package' }).click();
    await page.getByRole('heading', { name: 'Trash', level: 1 }).waitFor();
    const entry = page.locator('.trash-item', { hasText: 'Package acme/scratch' });
    await entry.waitFor();
    const push = await http.request('POST', '/v2/acme/scratch/blobs/uploads/');
    assert.equal(push.status, 403, 'a push into the trashed package is refused');
    assert.match(push.body.toString(), /package acme\/scratch is in the trash.*wharf trash restore/);
    await entry.getByRole('button', { name: 'Delete forever: acme/scratch' }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete acme/scratch forever?' });
    await snap(page, '20c-trash-delete-forever', { fullPage: false });
    await confirm.getByRole('button', { name: 'Delete forever' }).click();
    await page.getByRole('status').filter({ hasText: 'acme/scratch was deleted for good.' }).waitFor();
    // The name is free again: a push creates a new package.
    await pushBlob(http, 'acme/scratch', Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'));
    await pushBlob(http, 'acme/scratch', Buffer.from('scratch layer'));
    const again = await putManifest();
    assert.equal(again.status, 201, again.body.toString());

    // Site admins see storage per owner (deduplicated) on the minimal admin page.
    const ctx = await newContext(browser, server.url);
    try {
      const admin = await openPage(ctx);
      await admin.goto('/-/sign-in');
      await admin.getByLabel('Username').fill(server.admin?.username ?? 'admin');
      await admin.getByLabel('Password').fill(server.admin?.password ?? '');
      await admin.getByRole('button', { name: /sign in/i }).click();
      await admin.waitForURL((u) => !u.pathname.startsWith('/-/sign-in'));
      await admin.goto('/-/admin/storage');
      await admin.getByRole('heading', { name: 'Storage', level: 2 }).waitFor();
      await admin.getByTestId('site-usage').filter({ hasText: 'In use' }).waitFor();
      await admin.getByRole('row', { name: /^acme\b/ }).waitFor();
      await snap(admin, '20d-admin-storage');
    } finally {
      await ctx.close();
    }
  });

  test('pull-secret generator and organization list', async () => {
    const { page } = alice;
    await page.goto('/-/settings/pull-secrets');
    await page.getByRole('checkbox', { name: /acme\/web/ }).check();
    await page.getByLabel('Secret name').fill('acme-pull');
    await page.getByRole('button', { name: 'Create pull secret' }).click();
    const line = ((await page.getByTestId('kubectl-line').textContent()) ?? '').trim();
    assert.match(line, new RegExp(`^kubectl create secret docker-registry acme-pull .*--docker-server=${server.host.replace(/\./g, '\\.')}`));
    await snap(page, '21-pull-secret');
    await page.goto('/-/settings/orgs');
    await page.getByRole('link', { name: 'acme', exact: true }).waitFor();
    await snap(page, '22-settings-orgs');
    await page.goto('/');
    // The signed-in home is a dashboard; its switcher lists alice's organizations.
    await page.getByLabel('Organization').selectOption('acme');
    await page.getByRole('heading', { name: 'Packages of acme' }).waitFor();
    await snap(page, '23-home-signed-in');
  });

  test('sign out ends the session', async () => {
    const { page } = alice;
    await page.goto('/acme');
    await page.getByRole('button', { name: /alice/ }).click();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('link', { name: 'Sign in' }).first().waitFor();
    const session = await page.evaluate(`fetch('/api/v1/session').then((r) => r.json())`);
    assert.deepEqual(session, { signedIn: false, user: null, csrfToken: null });
  });

  test('every page fits a phone screen, labels every form control and ran without script errors', () => {
    assert.deepEqual(overflow, []);
    assert.deepEqual(unlabelled, []);
    assert.deepEqual(a11y, []);
    assert.deepEqual(pageErrors, []);
    assert.ok(shots.length >= 40, `expected screenshots of every page, got ${shots.length}`);
    for (const f of shots) assert.ok(existsSync(f), f);
  });
});
