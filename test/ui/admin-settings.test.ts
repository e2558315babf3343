/**
 * Site administration → Settings in real Chromium against a started Wharf (ADR 0025): a site
 * admin sets auth.defaultVisibility to public on the page, and a package a user pushes next is
 * pullable anonymously without a restart; a bad value's error appears under its control; reset
 * asks for confirmation and brings the config file's value back (the next package is private);
 * the audit page lists the changes; every settings area has its heading, and a token lifetime
 * saved on the page is the next registry token's expires_in. checkPage (screenshots, axe, no
 * overflow) at desktop and phone.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { type StartedServer, startWharf } from '../helpers/server.ts';
import { browserUnavailable, checkPage, ensureUiBuilt, launchChromium, newContext, type PageProblems, unlabelledControls } from './browser.ts';

const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const digestOf = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

describe('site administration: instance settings in Chromium', { skip: browserUnavailable() }, () => {
  let server: StartedServer;
  let browser: Browser;
  const pageErrors: string[] = [];
  const problems: PageProblems = { overflow: [], a11y: [], screenshots: [] };

  const http = async (method: string, path: string, auth: string | null, body?: Buffer | string, headers: Record<string, string> = {}) => {
    const res = await fetch(server.url + path, { method, headers: { ...(auth ? { authorization: auth } : {}), ...headers }, ...(body !== undefined ? { body } : {}) });
    return { status: res.status, text: await res.text() };
  };
  const admin = () => basic(server.admin?.username ?? 'admin', server.admin?.password ?? '');

  /** A fresh push of a new package by `user`. */
  async function push(user: string, repo: string): Promise<void> {
    const auth = basic(user, `${user}-password-1`);
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, repo }));
    const r = await http('POST', `/v2/${repo}/blobs/uploads/?digest=${digestOf(config)}`, auth, config, { 'content-type': 'application/octet-stream' });
    assert.equal(r.status, 201, r.text);
    const manifest = JSON.stringify({ schemaVersion: 2, mediaType: MANIFEST, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf(config), size: config.length }, layers: [] });
    const m = await http('PUT', `/v2/${repo}/manifests/1`, auth, manifest, { 'content-type': MANIFEST });
    assert.equal(m.status, 201, m.text);
  }
  const anonymousPull = async (repo: string) => (await http('GET', `/v2/${repo}/manifests/1`, null, undefined, { accept: MANIFEST })).status;

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
    server = await startWharf({ env: { WHARF_AUTH__DEFAULT_VISIBILITY: 'private' } });
    browser = await launchChromium();
    const r = await http('POST', '/api/v1/users', admin(), JSON.stringify({ username: 'erin', password: 'erin-password-1' }), { 'content-type': 'application/json' });
    assert.equal(r.status, 201, r.text);
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await server?.stop();
  });

  test('an admin makes new packages public on the Settings page; the next push is public; reset brings private back', async () => {
    await push('erin', 'erin/before');
    assert.equal(await anonymousPull('erin/before'), 401, 'private by the config file');

    const page = await signIn(server.admin?.username ?? 'admin', server.admin?.password ?? '');
    await page.goto('/-/admin/gc');
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.waitForURL(/\/-\/admin\/settings$/);
    await page.getByRole('heading', { name: 'Instance settings' }).waitFor();
    for (const area of ['Packages', 'Quotas', 'Retention', 'Trash', 'Garbage collection', 'Uploads', 'Sign-in', 'Tokens', 'Webhooks', 'Pull-through cache']) {
      await page.getByRole('heading', { name: area, exact: true }).waitFor();
    }
    assert.deepEqual(await unlabelledControls(page), []);
    await checkPage(page, 'admin-settings-01', problems);

    // A bad value: the error is under the control that caused it, and nothing is saved.
    const attempts = page.locator('form[data-setting="webhooks.maxAttempts"]');
    await attempts.getByRole('spinbutton').fill('99');
    await attempts.getByRole('button', { name: 'Save' }).click();
    await attempts.getByRole('alert').filter({ hasText: 'webhooks.maxAttempts must be an integer ≥ 1 and ≤ 50' }).waitFor();
    await checkPage(page, 'admin-settings-02-error', problems);

    const visibility = page.locator('form[data-setting="auth.defaultVisibility"]');
    await visibility.getByRole('combobox').selectOption('public');
    await visibility.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('status').filter({ hasText: 'auth.defaultVisibility is now public (config file: private)' }).waitFor();
    await visibility.getByText('overridden').waitFor();
    await visibility.getByText(/override public by admin/).waitFor();

    // The effect, without a restart: a fresh push makes a public package.
    await push('erin', 'erin/after');
    assert.equal(await anonymousPull('erin/after'), 200, 'anonymous pull of the package pushed after the change');

    await visibility.getByRole('button', { name: 'Reset to file value' }).click();
    const dialog = page.getByRole('dialog', { name: 'Reset auth.defaultVisibility?' });
    await dialog.waitFor();
    await checkPage(page, 'admin-settings-03-reset', problems, { fullPage: false });
    await dialog.getByRole('button', { name: 'Reset to file value' }).click();
    await page.getByRole('status').filter({ hasText: "auth.defaultVisibility is back to the config file's value, private" }).waitFor();
    // The status comes first; the list reloads after it (waitFor, not an instant count).
    await visibility.getByText('overridden').waitFor({ state: 'detached' });
    await push('erin', 'erin/later');
    assert.equal(await anonymousPull('erin/later'), 401, 'private again');

    // The audit page lists both changes under the settings. family.
    await page.goto('/-/admin/audit');
    await page.getByLabel(/^Action/).fill('settings.');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.locator('tr[data-action="settings.reset"]').filter({ hasText: '"public" → "private"' }).waitFor();
    await page.locator('tr[data-action="settings.update"]').filter({ hasText: '"private" → "public"' }).waitFor();
    assert.equal(await page.locator('tr[data-action="settings.update"]').count(), 1, 'the refused value was not recorded as a change');
    await checkPage(page, 'admin-settings-04-audit', problems);

    // A token lifetime set on the page: the next registry token carries it, without a restart.
    await page.goto('/-/admin/settings');
    const ttl = page.locator('form[data-setting="auth.tokenTtlSeconds"]');
    await ttl.getByRole('spinbutton').fill('42');
    await ttl.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('status').filter({ hasText: /auth\.tokenTtlSeconds is now 42/ }).waitFor();
    const token = await http('GET', `/token?service=${new URL(server.url).host}&scope=repository:erin/after:pull`, basic('erin', 'erin-password-1'));
    assert.equal(token.status, 200, token.text);
    assert.equal((JSON.parse(token.text) as { expires_in: number }).expires_in, 42);
    await checkPage(page, 'admin-settings-05-tokens', problems);

    assert.deepEqual(problems.overflow, []);
    assert.deepEqual(problems.a11y, []);
    assert.deepEqual(pageErrors, []);
  });

  test('a user is told the page is for site administrators', async () => {
    const page = await signIn('erin', 'erin-password-1');
    await page.goto('/-/admin/settings');
    await page.getByText('Site administration is for site administrators.').waitFor();
  });
});
