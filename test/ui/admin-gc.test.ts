/**
 * The site administration page for garbage collection in real Chromium against a started Wharf
 * (grace 0): a site admin opens it from the user menu, starts a dry run and then a run (with the
 * confirmation dialog), and sees both in the list with what they freed; a deleted version's
 * bytes go. A non-admin is told the page is not for them. Screenshots at desktop and phone
 * width; no control without a label; nothing wider than a phone.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { type StartedServer, startWharf } from '../helpers/server.ts';
import { browserUnavailable, ensureUiBuilt, horizontalOverflow, launchChromium, newContext, shoot, unlabelledControls } from './browser.ts';

const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const digestOf = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('site administration: garbage collection in Chromium', { skip: browserUnavailable() }, () => {
  let server: StartedServer;
  let browser: Browser;
  const pageErrors: string[] = [];
  const problems: string[] = [];

  const auth = () => `Basic ${Buffer.from(`${server.admin?.username}:${server.admin?.password}`).toString('base64')}`;
  const http = async (method: string, path: string, body?: Buffer | string, headers: Record<string, string> = {}) => {
    const res = await fetch(server.url + path, { method, headers: { authorization: auth(), ...headers }, ...(body !== undefined ? { body } : {}) });
    return { status: res.status, text: await res.text(), headers: res.headers };
  };

  async function pushImage(repo: string, tag: string, layerBytes: number): Promise<{ digest: string; layer: string }> {
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, tag }));
    const layer = randomBytes(layerBytes);
    for (const b of [config, layer]) {
      const r = await http('POST', `/v2/${repo}/blobs/uploads/?digest=${digestOf(b)}`, b, { 'content-type': 'application/octet-stream' });
      assert.equal(r.status, 201, r.text);
    }
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MANIFEST,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf(config), size: config.length },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: digestOf(layer), size: layer.length }],
      }),
    );
    const r = await http('PUT', `/v2/${repo}/manifests/${tag}`, manifest, { 'content-type': MANIFEST });
    assert.equal(r.status, 201, r.text);
    return { digest: digestOf(manifest), layer: digestOf(layer) };
  }

  const check = async (page: Page, name: string) => {
    await shoot(page, name);
    await page.setViewportSize({ width: 390, height: 844 });
    const extra = await horizontalOverflow(page);
    if (extra > 1) problems.push(`${name}: ${extra}px wider than a phone screen`);
    for (const c of await unlabelledControls(page)) problems.push(`${name}: unlabelled ${c}`);
    await page.setViewportSize({ width: 1280, height: 800 });
  };

  async function signIn(username: string, password: string): Promise<Page> {
    const ctx = await newContext(browser, server.url);
    const page = await ctx.newPage();
    page.on('pageerror', (e) => pageErrors.push(`${page.url()}: ${e.message}`));
    await page.goto('/-/sign-in');
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(new RegExp(`/${username}$`));
    return page;
  }

  before(async () => {
    ensureUiBuilt();
    server = await startWharf({ env: { WHARF_GC__GRACE_SECONDS: '0', WHARF_GC__INTERVAL_SECONDS: '86400' } });
    browser = await launchChromium();
    const r = await http('POST', '/api/v1/users', JSON.stringify({ username: 'dora', password: 'dora-password-1' }), { 'content-type': 'application/json' });
    assert.equal(r.status, 201, r.text);
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await server?.stop();
  });

  test('an admin starts a dry run and a run; both are listed with what they freed', async () => {
    await pushImage('admin/app', 'keep', 2000);
    const gone = await pushImage('admin/app', 'gone', 200_000);
    const trashed = await http('DELETE', `/api/v1/packages/admin/app/versions/${gone.digest}`);
    assert.equal(trashed.status, 200, trashed.text);
    const purged = await http('DELETE', `/api/v1/trash/${(JSON.parse(trashed.text) as { id: string }).id}`);
    assert.equal(purged.status, 200, purged.text);

    const page = await signIn(server.admin?.username ?? 'admin', server.admin?.password ?? '');
    await page.getByRole('button', { name: server.admin?.username ?? 'admin' }).click();
    await page.getByRole('link', { name: 'Site administration' }).click();
    await page.waitForURL(/\/-\/admin\/gc$/);
    await page.getByRole('heading', { name: 'Garbage collection' }).waitFor();
    await page.getByText('every 24 h').waitFor();
    await page.getByRole('heading', { name: 'No runs yet' }).waitFor();
    await check(page, 'admin-gc-empty');

    await page.getByRole('button', { name: 'Start dry run' }).click();
    await page.getByRole('status').filter({ hasText: 'Dry run started' }).waitFor();
    const dryRow = page.locator('tbody tr').filter({ hasText: 'Dry run' }).filter({ hasText: 'succeeded' });
    await dryRow.waitFor();
    const dryText = await dryRow.innerText();
    // The deleted version's config and layer (its manifest lives in the database).
    const figure = /would free\s+(\S+ [KM]?B) · 2 blobs · 0 manifests/.exec(dryText)?.[1];
    assert.ok(figure, dryText);

    await page.getByRole('button', { name: 'Run garbage collection' }).click();
    const dialog = page.getByRole('dialog', { name: 'Run garbage collection?' });
    await dialog.waitFor();
    await check(page, 'admin-gc-confirm');
    await dialog.getByRole('button', { name: 'Run now' }).click();
    await page.getByRole('status').filter({ hasText: 'Garbage collection started' }).waitFor();
    // The page polls while the run is in progress, then lists it.
    for (let i = 0; i < 150 && ((await page.locator('tbody tr').count()) < 2 || (await page.getByText('in progress').count()) > 0); i++) await page.waitForTimeout(100);
    const rows = await page.locator('tbody tr').allInnerTexts();
    assert.equal(rows.length, 2);
    assert.match(rows[0] ?? '', /Run\s/);
    assert.match(rows[0] ?? '', /succeeded/);
    assert.ok((rows[0] ?? '').includes(`${figure} · 2 blobs`), `the run freed what the dry run said: ${rows[0]}`);
    assert.match(rows[0] ?? '', /api · admin/);
    await check(page, 'admin-gc-runs');
    assert.equal((await http('GET', `/v2/admin/app/blobs/${gone.layer}`)).status, 404);
    assert.equal((await http('GET', '/v2/admin/app/manifests/keep', undefined, { accept: MANIFEST })).status, 200);
    await page.context().close();
  });

  test('a user who is not a site admin is turned away', async () => {
    const page = await signIn('dora', 'dora-password-1');
    await page.getByRole('button', { name: 'dora', exact: true }).click();
    assert.equal(await page.getByRole('link', { name: 'Site administration' }).count(), 0, 'no menu entry');
    await page.goto('/-/admin/gc');
    await page.getByRole('heading', { name: "You don't have access to this" }).waitFor();
    await page.getByText('Site administration is for site administrators.').waitFor();
    await check(page, 'admin-gc-denied');
    await page.context().close();
  });

  test('no page errors, labels everywhere, readable on a phone', () => {
    assert.deepEqual(pageErrors, []);
    assert.deepEqual(problems, []);
  });
});
