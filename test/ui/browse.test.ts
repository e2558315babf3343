/**
 * Browsing in real Chromium (issue 16 part B): the explore page finds a public chart by keyword,
 * the image page of a multi-arch image shows the tags of its platform images and its signature
 * and SBOM (openable in the viewer), the chart page's tabs (deep-linked), a library chart's
 * `dependencies:` snippet, and the warning when a public chart deploys a private image; the
 * anonymous home and the signed-in dashboard. Every page is screenshotted at desktop and phone
 * width (test-output/screenshots/), must not overflow sideways, and must have no serious or
 * critical axe-core finding. The first load must transfer under 200 KB.
 * Content is pushed through /v2 as clients do (fetch, Basic auth).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { fetchHttp, type Http, pushBlob, pushChart } from '../helpers/charts.ts';
import { type StartedServer, startWharf } from '../helpers/server.ts';
import { browserUnavailable, checkPage, ensureUiBuilt, launchChromium, newContext, type PageProblems } from './browser.ts';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const SIG_TYPE = 'application/vnd.dev.cosign.artifact.sig.v1+json';
const SBOM_TYPE = 'application/spdx+json';

function sha256(b: Buffer): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

async function putManifest(http: Http, repo: string, ref: string, body: Buffer, type: string): Promise<string> {
  const res = await http.request('PUT', `/v2/${repo}/manifests/${ref}`, body, { 'content-type': type });
  assert.equal(res.status, 201, `PUT ${repo}:${ref}: ${res.status} ${res.body.toString().slice(0, 300)}`);
  return sha256(body);
}

async function pushImage(http: Http, repo: string, ref: string, arch: string, labels: Record<string, string> = {}): Promise<{ digest: string; manifest: Buffer }> {
  const config = await pushBlob(http, repo, Buffer.from(JSON.stringify({ architecture: arch, os: 'linux', created: '2026-11-01T00:00:00Z', rootfs: { type: 'layers', diff_ids: [] }, config: { Labels: labels } })));
  const layer = await pushBlob(http, repo, Buffer.from(`layer of ${repo} ${arch} `.repeat(200 + arch.length * 50)));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }],
    }),
  );
  return { digest: await putManifest(http, repo, ref, manifest, OCI_MANIFEST), manifest };
}

async function pushReferrer(http: Http, repo: string, subject: { digest: string; size: number; mediaType: string }, artifactType: string, file: string, title: string): Promise<string> {
  const empty = await pushBlob(http, repo, Buffer.from('{}'));
  const body = await pushBlob(http, repo, Buffer.from(file));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType,
      config: { mediaType: 'application/vnd.oci.empty.v1+json', ...empty },
      layers: [{ mediaType: artifactType === SBOM_TYPE ? SBOM_TYPE : 'application/vnd.dev.cosign.simplesigning.v1+json', ...body, annotations: { 'org.opencontainers.image.title': title } }],
      subject,
    }),
  );
  return putManifest(http, repo, sha256(manifest), manifest, OCI_MANIFEST);
}

describe('browsing in Chromium: explore, image and chart pages, quality bar', { skip: browserUnavailable() }, () => {
  let server: StartedServer;
  let browser: Browser;
  let anon: BrowserContext;
  const problems: PageProblems = { overflow: [], a11y: [], screenshots: [] };
  const pageErrors: string[] = [];
  const password = 'alice-password-1';
  let indexDigest = '';

  const api = async (path: string, init: { method?: string; body?: unknown; auth: string }) => {
    const res = await fetch(server.url + path, {
      method: init.method ?? 'GET',
      headers: { authorization: init.auth, ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
    return { status: res.status, body: await res.text() };
  };
  const open = async (ctx: BrowserContext, path: string): Promise<Page> => {
    const page = await ctx.newPage();
    page.on('pageerror', (e) => pageErrors.push(`${path}: ${e.message}`));
    await page.goto(path);
    return page;
  };

  before(async () => {
    ensureUiBuilt();
    server = await startWharf();
    const admin = `Basic ${Buffer.from(`${server.admin?.username}:${server.admin?.password}`).toString('base64')}`;
    const alice = `Basic ${Buffer.from(`alice:${password}`).toString('base64')}`;
    assert.equal((await api('/api/v1/users', { method: 'POST', body: { username: 'alice', password }, auth: admin })).status, 201);
    assert.equal((await api('/api/v1/orgs', { method: 'POST', body: { name: 'acme' }, auth: alice })).status, 201);
    const http = fetchHttp(server.url, alice);
    const host = server.host;

    // A multi-arch image: two platform images by digest, the index by tag, the arm64 image tagged on its own too.
    const amd = await pushImage(http, 'alice/web', 'tmp-amd64', 'amd64', { 'org.opencontainers.image.description': 'The storefront web server' });
    const arm = await pushImage(http, 'alice/web', 'tmp-arm64', 'arm64', { 'org.opencontainers.image.description': 'The storefront web server' });
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [
          { mediaType: OCI_MANIFEST, digest: amd.digest, size: amd.manifest.length, platform: { os: 'linux', architecture: 'amd64' } },
          { mediaType: OCI_MANIFEST, digest: arm.digest, size: arm.manifest.length, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
        ],
      }),
    );
    indexDigest = await putManifest(http, 'alice/web', '1.0.0', index, OCI_INDEX);
    for (const t of ['tmp-amd64', 'tmp-arm64']) assert.equal((await http.request('DELETE', `/v2/alice/web/manifests/${t}`)).status, 202);
    await putManifest(http, 'alice/web', '1.0.0-arm64', arm.manifest, OCI_MANIFEST);
    const subject = { mediaType: OCI_INDEX, digest: indexDigest, size: index.length };
    await pushReferrer(http, 'alice/web', subject, SIG_TYPE, JSON.stringify({ critical: { image: { 'docker-manifest-digest': indexDigest }, type: 'cosign container image signature' } }), 'signature.json');
    await pushReferrer(http, 'alice/web', subject, SBOM_TYPE, JSON.stringify({ spdxVersion: 'SPDX-2.3', name: 'alice/web', packages: [{ name: 'openssl', versionInfo: '3.0.15' }] }), 'sbom.spdx.json');
    // A private image the public chart deploys.
    await pushImage(http, 'alice/worker', '2.0.0', 'amd64');

    // A library chart, and an application chart that depends on it and deploys both images.
    const lib = { name: 'common', version: '1.0.0', extraChartYaml: 'type: library\n' };
    await pushChart(http, 'alice/charts/common', lib, { config: JSON.stringify({ apiVersion: 'v2', name: 'common', version: '1.0.0', type: 'library', description: 'Shared templates' }) });
    const values = [
      '# The storefront.',
      'image:',
      `  repository: ${host}/alice/web`,
      '  tag: "1.0.0"',
      'worker:',
      '  image:',
      `    registry: ${host}`,
      '    repository: alice/worker',
      '    tag: 2.0.0',
      'service:',
      '  type: ClusterIP',
      '  port: 8080',
      'ingress:',
      '  enabled: false',
      '  annotations: {}',
      `  longValueThatWrapsOnPhones: "${'x'.repeat(120)}"`,
      '',
    ].join('\n');
    const shopYaml = {
      apiVersion: 'v2',
      name: 'shop',
      description: 'The storefront application',
      keywords: ['storefront', 'ecommerce'],
      kubeVersion: '>=1.27.0-0',
      dependencies: [{ name: 'common', version: '1.x', repository: `oci://${host}/alice/charts` }],
      annotations: { 'artifacthub.io/changes': '- kind: added\n  description: A worker deployment\n- kind: fixed\n  description: Probe timeouts\n', 'artifacthub.io/license': 'Apache-2.0' },
    };
    for (const version of ['1.0.0', '2.0.0-rc.1']) {
      const spec = { name: 'shop', version, values, readme: '# shop\n\nThe **storefront**.\n', files: { 'values.schema.json': '{"type":"object","properties":{"image":{"type":"object"}}}', 'templates/deployment.yaml': 'kind: Deployment\n' } };
      await pushChart(http, 'alice/charts/shop', spec, { config: JSON.stringify({ ...shopYaml, version }) });
    }
    for (const pkg of ['alice/web', 'alice/charts/shop', 'alice/charts/common']) {
      const r = await api(`/api/v1/packages/alice/${encodeURIComponent(pkg.slice(6))}`, { method: 'PATCH', body: { visibility: 'public' }, auth: alice });
      assert.equal(r.status, 200, r.body);
    }
    browser = await launchChromium();
    anon = await newContext(browser, server.url);
  });

  after(async () => {
    await anon?.close().catch(() => {});
    await browser?.close().catch(() => {});
    await server?.stop();
    const list = [...new Set(problems.screenshots)].map((f) => f.slice(f.indexOf('test-output/'))).sort();
    if (list.length > 0) console.log(`screenshots (${list.length}):\n  ${list.join('\n  ')}`);
  });

  test('the anonymous home lists recently updated public packages, within 200 KB on first load', async () => {
    const page = await anon.newPage();
    const transferred: number[] = [];
    page.on('response', async (res) => {
      const headers = await res.allHeaders();
      const size = (await res.body().catch(() => Buffer.alloc(0))).length;
      // The encoded size on the wire: content-length of a compressed response, else the body.
      transferred.push(Number(headers['content-length'] ?? size));
    });
    await page.goto('/');
    await page.getByRole('heading', { name: 'Recently updated public packages' }).waitFor();
    await page.getByRole('link', { name: 'alice/charts/shop' }).waitFor();
    const total = transferred.reduce((a, b) => a + b, 0);
    assert.ok(total < 200 * 1024, `first load transferred ${total} bytes`);
    assert.equal(await page.getByText('alice/worker').count(), 0, 'a private package never shows');
    await checkPage(page, 'b01-home-anonymous', problems);
    await page.close();
  });

  test('the explore page finds the public chart by keyword', async () => {
    const page = await open(anon, '/-/explore');
    await page.getByLabel('Search', { exact: true }).fill('ecommerce');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByText('1 package matching “ecommerce”').waitFor();
    await page.getByRole('link', { name: 'alice/charts/shop' }).waitFor();
    assert.match(page.url(), /\?q=ecommerce$/);
    await checkPage(page, 'b02-explore-keyword', problems);
    await page.close();
  });

  test('the multi-arch image page shows its platform tags, signature and SBOM, which open in the viewer', async () => {
    const page = await open(anon, '/alice/web');
    await page.getByRole('heading', { name: 'web' }).waitFor();
    const arm = page.locator('.platform', { hasText: 'linux/arm64/v8' });
    await arm.getByText('1.0.0-arm64').waitFor();
    await page.getByRole('button', { name: 'View Signature' }).waitFor();
    await page.getByRole('button', { name: 'View SBOM' }).waitFor();
    await page.getByText('alice/charts/shop').first().waitFor(); // deployed by
    await checkPage(page, 'b03-image-multiarch', problems);

    await page.getByRole('button', { name: 'Labels, layers and pull lines' }).click();
    await page.getByLabel('Platform', { exact: true }).selectOption({ label: 'linux/arm64/v8' });
    await page.getByRole('table', { name: /Layers of/ }).waitFor();
    assert.match((await page.getByTestId('cmd-pull-digest').textContent()) ?? '', new RegExp(`alice/web@${indexDigest}$`));
    await checkPage(page, 'b04-image-details', problems);

    await page.getByRole('button', { name: 'View SBOM' }).click();
    await page.getByRole('dialog').waitFor();
    const sbomFile = await page.getByLabel('Show').locator('option', { hasText: 'sbom.spdx.json' }).getAttribute('value');
    await page.getByLabel('Show').selectOption(sbomFile ?? '');
    await page.getByTestId('referrer-content').filter({ hasText: 'openssl' }).waitFor();
    await checkPage(page, 'b05-referrer-viewer', problems, { fullPage: false });
    await page.close();
  });

  test('the chart page: tabs in the URL, the private-image warning, dependencies linked, pre-release banner', async () => {
    const page = await open(anon, '/alice/charts/shop');
    await page.getByTestId('cmd-helm-install').waitFor();
    await checkPage(page, 'b06-chart-readme', problems);
    for (const [tab, name] of [
      ['values', 'Values'],
      ['schema', 'Values schema'],
      ['templates', 'Templates'],
      ['changelog', 'Changelog'],
      ['dependencies', 'Dependencies'],
      ['images', 'Images'],
      ['versions', 'Versions'],
    ] as const) {
      await page.getByRole('tab', { name: new RegExp(`^${name}\\s*\\d*$`) }).click();
      await page.waitForURL(new RegExp(`tab=${tab}`));
      if (tab === 'values') await page.getByTestId('cmd-helm-show-values').waitFor();
      if (tab === 'changelog') await page.getByText('Probe timeouts').waitFor();
      if (tab === 'templates') await page.getByRole('cell', { name: 'templates/deployment.yaml' }).waitFor();
      if (tab === 'dependencies') await page.getByRole('link', { name: 'common' }).waitFor();
      if (tab === 'images') {
        // Anonymous: the private image is simply not available to them.
        await page.getByTestId('warning-not-available').waitFor();
      }
      await checkPage(page, `b07-chart-${tab}`, problems);
    }
    // Deep link straight to a tab of a pre-release.
    await page.goto('/alice/charts/shop?version=2.0.0-rc.1&tab=values');
    await page.getByTestId('prerelease-banner').waitFor();
    await page.getByTestId('cmd-helm-show-values').waitFor();
    await checkPage(page, 'b08-chart-prerelease-values', problems);
    await page.close();
  });

  test('the library chart shows a dependencies: snippet instead of an install line', async () => {
    const page = await open(anon, '/alice/charts/common');
    await page.getByRole('heading', { name: 'Use this library chart' }).waitFor();
    assert.equal(await page.getByTestId('cmd-helm-install').count(), 0);
    await page.getByText('repository: oci://').waitFor();
    await checkPage(page, 'b09-chart-library', problems);
    await page.close();
  });

  test('signed in: the owner sees the public chart warn about its private image, and a dashboard with an org switcher', async () => {
    const ctx = await newContext(browser, server.url);
    const signIn = await ctx.request.post('/api/v1/session', { data: { username: 'alice', password } });
    assert.equal(signIn.status(), 201);
    const page = await open(ctx, '/alice/charts/shop?tab=images');
    await page.getByTestId('warning-private-image').waitFor();
    assert.match((await page.getByTestId('warning-private-image').textContent()) ?? '', /anonymous installs will fail to pull/);
    await checkPage(page, 'b10-chart-images-owner', problems);

    await page.goto('/');
    await page.getByRole('heading', { name: 'Packages of alice' }).waitFor();
    await page.getByLabel('Organization').selectOption('acme');
    await page.getByRole('heading', { name: 'Packages of acme' }).waitFor();
    await checkPage(page, 'b11-dashboard', problems);

    await page.goto('/-/explore');
    await page.getByRole('link', { name: 'alice/web' }).waitFor();
    await checkPage(page, 'b12-explore-signed-in', problems);
    await page.goto('/alice');
    await page.getByRole('link', { name: 'charts/shop' }).waitFor();
    await checkPage(page, 'b13-owner', problems);
    // The tag on the arm64 image can be found and deleted from the image page.
    await page.goto('/alice/web');
    await page.getByRole('button', { name: 'Delete tag 1.0.0-arm64', exact: true }).click();
    await page.getByRole('dialog').waitFor();
    await checkPage(page, 'b14a-delete-platform-tag', problems, { fullPage: false });
    await page.getByRole('dialog').getByRole('button', { name: 'Delete tag', exact: true }).click();
    await page.getByRole('button', { name: 'Delete tag 1.0.0-arm64', exact: true }).waitFor({ state: 'detached' });
    await page.locator('.platform', { hasText: 'linux/arm64/v8' }).waitFor();
    await page.goto('/alice/web/-/settings');
    await page.getByRole('heading', { name: /settings/i }).first().waitFor();
    await checkPage(page, 'b14-package-settings', problems);
    await page.goto('/alice/-/trash');
    await page.getByRole('heading', { level: 1 }).waitFor();
    await checkPage(page, 'b15-trash', problems);
    await page.goto('/alice/nothing-here');
    await page.getByRole('heading', { name: 'This package could not be found' }).waitFor();
    await checkPage(page, 'b16-not-found', problems);
    await ctx.close();
  });

  test('every page: no sideways overflow, no serious or critical accessibility finding, no script error', () => {
    assert.deepEqual(problems.overflow, [], problems.overflow.join('\n'));
    assert.deepEqual(problems.a11y, [], problems.a11y.join('\n'));
    assert.deepEqual(pageErrors, [], pageErrors.join('\n'));
    assert.ok(problems.screenshots.length >= 36);
  });
});
