/**
 * Policies and quotas in real Chromium against a started Wharf: on a package's settings page a
 * package admin types retention rules, previews exactly which versions they would remove (and
 * why) before saving, saves them; the owner's page shows usage against the quota a site admin set
 * in Site administration → Quotas. Screenshots at desktop and phone width; no control without a
 * label; nothing wider than a phone; no script errors.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { type StartedServer, startWharf } from '../helpers/server.ts';
import { browserUnavailable, ensureUiBuilt, horizontalOverflow, launchChromium, newContext, shoot, unlabelledControls } from './browser.ts';

const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const digestOf = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('policies and quotas in Chromium', { skip: browserUnavailable() }, () => {
  let server: StartedServer;
  let browser: Browser;
  const pageErrors: string[] = [];
  const problems: string[] = [];

  const auth = () => `Basic ${Buffer.from(`${server.admin?.username}:${server.admin?.password}`).toString('base64')}`;
  const http = async (method: string, path: string, body?: Buffer | string, headers: Record<string, string> = {}) => {
    const res = await fetch(server.url + path, { method, headers: { authorization: auth(), ...headers }, ...(body !== undefined ? { body } : {}) });
    return { status: res.status, text: await res.text() };
  };

  async function pushImage(repo: string, tag: string): Promise<string> {
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, tag }));
    const layer = randomBytes(2048);
    for (const b of [config, layer]) assert.equal((await http('POST', `/v2/${repo}/blobs/uploads/?digest=${digestOf(b)}`, b, { 'content-type': 'application/octet-stream' })).status, 201);
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
    return digestOf(manifest);
  }

  const check = async (page: Page, name: string) => {
    await shoot(page, name);
    await page.setViewportSize({ width: 390, height: 844 });
    const extra = await horizontalOverflow(page);
    if (extra > 1) problems.push(`${name}: ${extra}px wider than a phone screen`);
    for (const c of await unlabelledControls(page)) problems.push(`${name}: unlabelled ${c}`);
    await page.setViewportSize({ width: 1280, height: 800 });
  };

  async function signIn(): Promise<Page> {
    const ctx = await newContext(browser, server.url);
    const page = await ctx.newPage();
    page.on('pageerror', (e) => pageErrors.push(`${page.url()}: ${e.message}`));
    await page.goto('/-/sign-in');
    await page.getByLabel('Username').fill(server.admin?.username ?? 'admin');
    await page.getByLabel('Password').fill(server.admin?.password ?? '');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(new RegExp(`/${server.admin?.username ?? 'admin'}$`));
    return page;
  }

  before(async () => {
    ensureUiBuilt();
    server = await startWharf();
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await server?.stop();
  });

  test('retention rules previewed before they are saved, then saved', async () => {
    const owner = server.admin?.username ?? 'admin';
    const repo = `${owner}/uiapp`;
    for (const t of ['sha-1', 'sha-2', 'sha-3', 'sha-4']) {
      await pushImage(repo, t);
      await new Promise((r) => setTimeout(r, 15));
    }
    const page = await signIn();
    await page.goto(`/${repo}/-/settings`);
    const section = page.getByTestId('policy-section');
    await section.getByRole('heading', { name: 'Policies' }).waitFor();
    await section.getByLabel(/Retention rules/).check();
    await section.getByLabel('Keep most recent').fill('2');
    await section.getByRole('button', { name: 'Preview what these rules remove' }).click();
    const preview = page.getByTestId('retention-preview');
    await preview.getByText('would move to the trash; 2 kept. Nothing has changed yet.').waitFor();
    const rows = await preview.locator('tbody tr').allInnerTexts();
    assert.equal(rows.length, 2);
    assert.match(rows.join('\n'), /sha-1[\s\S]*not among the 2 most recently pushed tagged versions \(keepMostRecent: 2, #4\)/);
    assert.match(rows.join('\n'), /sha-2/);
    await check(page, 'policies-preview');
    // Nothing changed by the preview.
    assert.equal(JSON.parse((await http('GET', `/v2/${repo}/tags/list`)).text).tags.length, 4);
    await section.getByRole('button', { name: 'Save policies' }).click();
    await section.getByText('Policies saved.').waitFor();
    const saved = JSON.parse((await http('GET', `/api/v1/packages/${owner}/uiapp/policy`)).text) as { settings: { retention?: { keepMostRecent?: number } } };
    assert.equal(saved.settings.retention?.keepMostRecent, 2);
    await page.context().close();
  });

  test('a site admin sets a quota; the owner page shows usage against it', async () => {
    const owner = server.admin?.username ?? 'admin';
    const page = await signIn();
    await page.goto('/-/admin/quotas');
    const quotas = page.getByTestId('admin-quotas');
    await quotas.getByLabel('Quota owner').fill(owner);
    await quotas.getByLabel('Quota GiB').fill('1');
    await quotas.getByRole('button', { name: 'Set quota' }).click();
    await quotas.getByRole('cell', { name: '1.0 GB (own)' }).waitFor();
    await check(page, 'admin-quotas');
    await page.goto(`/${owner}`);
    await page.getByTestId('owner-quota').getByText(/uses .* of its 1\.0 GB quota \(\d+%\)/).waitFor();
    await check(page, 'owner-quota');
    await page.context().close();
  });

  test('no page errors, labels everywhere, readable on a phone', () => {
    assert.deepEqual(pageErrors, []);
    assert.deepEqual(problems, []);
  });
});
