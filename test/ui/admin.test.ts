/**
 * Site administration and account safety in real Chromium against a started Wharf:
 * - a site admin creates a user from the admin area, the user signs in, the admin disables
 *   them (after a confirmation) and the user's open session ends at once;
 * - an admin's delete of a user who owns a package is refused, the reason shown in the dialog;
 * - changing one's password (current one checked) signs out every other browser too;
 * - removing an organization member asks first, and nothing happens on Cancel;
 * - an admin makes a proxy organization (pull-through cache) in the admin area, and its page says
 *   what it mirrors (axe and overflow checked on both pages).
 * Screenshots at desktop and phone width; no control without a label; nothing wider than a phone;
 * no serious or critical axe-core finding at either width.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { type StartedServer, startWharf } from '../helpers/server.ts';
import { axeViolations, browserUnavailable, checkPage, ensureUiBuilt, horizontalOverflow, launchChromium, newContext, type PageProblems, shoot, unlabelledControls } from './browser.ts';

describe('site administration and account safety in Chromium', { skip: browserUnavailable() }, () => {
  let server: StartedServer;
  let browser: Browser;
  const pageErrors: string[] = [];
  const problems: string[] = [];

  const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
  const adminAuth = () => basic(server.admin?.username ?? '', server.admin?.password ?? '');
  const api = async (method: string, path: string, body?: unknown, auth = adminAuth()) => {
    const res = await fetch(server.url + path, {
      method,
      headers: { authorization: auth, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, text: await res.text() };
  };

  const check = async (page: Page, name: string, opts: { fullPage?: boolean } = {}) => {
    await shoot(page, name, opts);
    for (const v of await axeViolations(page)) problems.push(`${name} (desktop): ${v}`);
    await page.setViewportSize({ width: 390, height: 844 });
    const extra = await horizontalOverflow(page);
    if (extra > 1) problems.push(`${name}: ${extra}px wider than a phone screen`);
    for (const c of await unlabelledControls(page)) problems.push(`${name}: unlabelled ${c}`);
    for (const v of await axeViolations(page)) problems.push(`${name} (phone): ${v}`);
    await page.setViewportSize({ width: 1280, height: 800 });
  };

  async function signIn(username: string, password: string): Promise<Page> {
    const ctx = await newContext(browser, server.url);
    const page = await ctx.newPage();
    page.on('pageerror', (e) => pageErrors.push(`${page.url()}: ${e.message}`));
    await page.goto('/-/sign-in');
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(new RegExp(`/${username}$`));
    return page;
  }

  /** What the page's own session cookie gets from the API. */
  const sessionStatus = async (page: Page) => Number(await page.evaluate(`fetch('/api/v1/user').then((r) => r.status)`));

  before(async () => {
    ensureUiBuilt();
    server = await startWharf();
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await server?.stop();
  });

  test('an admin creates a user, who signs in; disabling them ends that session at once', async () => {
    const admin = await signIn(server.admin?.username ?? 'admin', server.admin?.password ?? '');
    await admin.getByRole('button', { name: 'admin', exact: true }).click();
    await admin.getByRole('link', { name: 'Site administration' }).click();
    await admin.getByRole('link', { name: 'Users' }).click();
    await admin.waitForURL(/\/-\/admin\/users$/);
    await admin.getByLabel('Username').fill('fay');
    await admin.getByLabel('Email (optional)').fill('fay@example.com');
    await admin.getByLabel('Initial password').fill('fay-password-1');
    await admin.getByRole('button', { name: 'Create user' }).click();
    await admin.getByText('fay was created.').waitFor();
    await admin.locator('tr[data-user="fay"]').getByText('active').waitFor();
    await check(admin, 'admin-01-users');

    const fay = await signIn('fay', 'fay-password-1');
    assert.equal(await sessionStatus(fay), 200);

    await admin.getByRole('button', { name: 'Disable fay' }).click();
    const dialog = admin.getByRole('dialog', { name: 'Disable fay?' });
    await dialog.getByText('signed out everywhere at once').waitFor();
    await check(admin, 'admin-02-disable-confirm', { fullPage: false });
    await dialog.getByRole('button', { name: 'Disable' }).click();
    await admin.getByText('fay is disabled and signed out.').waitFor();
    await admin.locator('tr[data-user="fay"]').getByText('disabled').waitFor();

    assert.equal(await sessionStatus(fay), 401, "fay's open session ended");
    await fay.reload();
    await fay.getByRole('link', { name: 'Sign in' }).first().waitFor();
    assert.equal((await api('GET', '/api/v1/user', undefined, basic('fay', 'fay-password-1'))).status, 401, 'her password no longer works');
    await fay.context().close();

    // Organizations, the audit log (with its filters) and the rest of the admin area.
    await admin.getByRole('link', { name: 'Organizations' }).click();
    await admin.getByRole('heading', { name: 'Organizations', exact: true }).waitFor();
    await admin.getByRole('link', { name: 'Audit log' }).click();
    await admin.getByLabel(/^Action/).fill('user.update');
    await admin.getByRole('button', { name: 'Filter' }).click();
    await admin.getByText('user.update').first().waitFor();
    await check(admin, 'admin-03-audit-filtered');
    await admin.context().close();
  });

  test('deleting a user who owns a package is refused, the reason beside the button', async () => {
    assert.equal((await api('POST', '/api/v1/users', { username: 'gil', password: 'gil-password-1' })).status, 201);
    assert.equal((await api('POST', '/api/v1/orgs', { name: 'gilorg' }, basic('gil', 'gil-password-1'))).status, 201);
    const admin = await signIn(server.admin?.username ?? 'admin', server.admin?.password ?? '');
    await admin.goto('/-/admin/users');
    await admin.getByRole('button', { name: 'Delete gil' }).click();
    const dialog = admin.getByRole('dialog', { name: 'Delete gil?' });
    await dialog.getByLabel('Type gil to confirm').fill('gil');
    await dialog.getByRole('button', { name: 'Delete user' }).click();
    await dialog.getByRole('alert').filter({ hasText: 'gil is the last owner of gilorg' }).waitFor();
    await check(admin, 'admin-04-delete-refused', { fullPage: false });
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    assert.equal((await api('GET', '/api/v1/users/gil')).status, 200, 'still there');
    await admin.context().close();
  });

  test('changing the password signs out every other browser', async () => {
    assert.equal((await api('POST', '/api/v1/users', { username: 'hal', password: 'hal-password-1' })).status, 201);
    const here = await signIn('hal', 'hal-password-1');
    const elsewhere = await signIn('hal', 'hal-password-1');
    await here.goto('/-/settings/password');
    await here.getByLabel('Current password').fill('not my password');
    await here.getByLabel('New password', { exact: true }).fill('hal-password-2');
    await here.getByLabel('New password again').fill('hal-password-2');
    await here.getByRole('button', { name: 'Change password' }).click();
    await here.locator('#current-password-error').filter({ hasText: 'current password is not correct' }).waitFor();
    await check(here, 'admin-05-password-wrong-current');
    assert.equal(await sessionStatus(elsewhere), 200, 'a refused change ends nothing');

    await here.getByLabel('Current password').fill('hal-password-1');
    await here.getByRole('button', { name: 'Change password' }).click();
    await here.waitForURL(/\/-\/sign-in\?changed=1/);
    await here.getByText('Your password was changed').waitFor();
    assert.equal(await sessionStatus(elsewhere), 401, 'the other browser is signed out');
    await here.getByLabel('Username').fill('hal');
    await here.getByLabel('Password').fill('hal-password-2');
    await here.getByRole('button', { name: 'Sign in', exact: true }).click();
    await here.waitForURL(/\/hal$/);
    await here.context().close();
    await elsewhere.context().close();
  });

  test('removing an organization member asks first', async () => {
    assert.equal((await api('POST', '/api/v1/users', { username: 'ivy', password: 'ivy-password-1' })).status, 201);
    assert.equal((await api('POST', '/api/v1/users', { username: 'jon', password: 'jon-password-1' })).status, 201);
    assert.equal((await api('POST', '/api/v1/orgs', { name: 'ivyorg' }, basic('ivy', 'ivy-password-1'))).status, 201);
    assert.equal((await api('PUT', '/api/v1/orgs/ivyorg/members/jon', { role: 'member' }, basic('ivy', 'ivy-password-1'))).status, 204);
    const ivy = await signIn('ivy', 'ivy-password-1');
    await ivy.goto('/ivyorg/-/people');
    await ivy.getByRole('button', { name: 'Remove jon from ivyorg' }).click();
    const dialog = ivy.getByRole('dialog', { name: 'Remove jon from ivyorg?' });
    await dialog.waitFor();
    await check(ivy, 'admin-06-remove-member-confirm', { fullPage: false });
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    const members = async () => (JSON.parse((await api('GET', '/api/v1/orgs/ivyorg')).text) as { members: { username: string }[] }).members.map((m) => m.username);
    assert.deepEqual(await members(), ['ivy', 'jon'], 'Cancel removes nobody');
    await ivy.getByRole('button', { name: 'Remove jon from ivyorg' }).click();
    await dialog.getByRole('button', { name: 'Remove member' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await ivy.getByRole('link', { name: 'jon' }).waitFor({ state: 'detached' });
    assert.deepEqual(await members(), ['ivy']);
    await ivy.context().close();
  });

  test('owner pages have tabs that are URLs: Packages, People, Teams, Settings', async () => {
    const ivy = await signIn('ivy', 'ivy-password-1');
    // A slow organization lookup: the bar must not show Settings before it knows People and Teams.
    await ivy.route('**/api/v1/orgs/ivyorg', async (route) => {
      await new Promise((r) => setTimeout(r, 400));
      await route.continue();
    });
    await ivy.goto('/ivyorg');
    const tabs = ivy.getByRole('navigation', { name: 'Sections of ivyorg' });
    await tabs.getByRole('link', { name: 'Settings' }).waitFor();
    assert.deepEqual(await tabs.getByRole('link').allInnerTexts(), ['Packages', 'People\n1', 'Teams\n0', 'Settings']);
    await tabs.getByRole('link', { name: /People/ }).click();
    await ivy.waitForURL(/\/ivyorg\/-\/people$/);
    await ivy.getByRole('heading', { name: /Members/ }).waitFor();
    assert.equal(await tabs.getByRole('link', { name: /People/ }).getAttribute('aria-current'), 'page');
    // An error shows beside the form that caused it.
    await ivy.getByLabel('Username').fill('nobody-here');
    await ivy.getByRole('button', { name: 'Add member' }).click();
    await ivy.getByRole('form', { name: 'Add a member' }).getByRole('alert').filter({ hasText: 'no such user' }).waitFor();
    await check(ivy, 'owner-01-people');

    // Deep links open their tab directly.
    await ivy.goto('/ivyorg/-/teams');
    await ivy.getByLabel('Team name').fill('ops');
    await ivy.getByRole('button', { name: 'Create team' }).click();
    await ivy.getByRole('heading', { name: /^ops/ }).waitFor();
    await check(ivy, 'owner-02-teams');

    await ivy.goto('/ivyorg/-/settings');
    await ivy.getByRole('heading', { name: 'Visibility of new packages' }).waitFor();
    await ivy.getByRole('radio', { name: /Internal/ }).check();
    await ivy.getByText('New packages of ivyorg will be internal.').waitFor();
    assert.equal((JSON.parse((await api('GET', '/api/v1/orgs/ivyorg')).text) as { defaultVisibility: string }).defaultVisibility, 'internal');
    await check(ivy, 'owner-03-settings');
    await ivy.context().close();

    // Somebody outside the organization sees its packages only.
    const jon = await signIn('jon', 'jon-password-1');
    const orgLoaded = jon.waitForResponse((r) => r.url().endsWith('/api/v1/orgs/ivyorg'));
    await jon.goto('/ivyorg');
    await orgLoaded;
    await jon.getByRole('heading', { name: 'ivyorg', exact: true }).waitFor();
    assert.deepEqual(await jon.getByRole('navigation', { name: 'Sections of ivyorg' }).getByRole('link').allInnerTexts(), ['Packages']);
    await jon.goto('/ivyorg/-/people');
    await jon.getByRole('heading', { name: 'Members are visible to members only' }).waitFor();
    await jon.context().close();
  });

  test('an admin makes a proxy organization in the admin area; its page says what it mirrors', async () => {
    const pages: PageProblems = { overflow: [], a11y: [], screenshots: [] };
    const admin = await signIn(server.admin?.username ?? 'admin', server.admin?.password ?? '');
    await admin.goto('/-/admin/proxies');
    await admin.getByRole('heading', { name: 'Pull-through cache' }).waitFor();
    await admin.getByLabel('Organization name').fill('mirror');
    await admin.getByLabel('Upstream URL').fill('http://127.0.0.1:9/');
    await admin.getByLabel('Allowed repositories (globs, optional)').fill('library/*');
    await admin.getByLabel('Who may pull').selectOption('internal');
    await admin.getByRole('button', { name: 'Create proxy' }).click();
    await admin.getByText(/^mirror now mirrors http:\/\/127\.0\.0\.1:9/).waitFor();
    const row = admin.getByRole('row', { name: /mirror/ });
    await row.getByText('0 / 0').waitFor();
    await checkPage(admin, 'admin-05-proxies', pages);
    const stored = JSON.parse((await api('GET', '/api/v1/admin/proxies/mirror')).text) as { allow: string[]; url: string };
    assert.deepEqual(stored.allow, ['library/*']);

    // The organization's own page says what it mirrors, how the cache does and the last error.
    await admin.goto('/mirror');
    const panel = admin.getByRole('region', { name: /^Mirrors http:\/\/127\.0\.0\.1:9/ });
    await panel.waitFor();
    await panel.getByText('Pushes are refused.', { exact: false }).waitFor();
    await admin.getByText(/podman pull 127\.0\.0\.1:\d+\/mirror\/library\/alpine:latest/).waitFor();
    await checkPage(admin, 'owner-04-proxy', pages);

    // Stopping the mirror asks first.
    await admin.goto('/-/admin/proxies');
    await admin.getByRole('row', { name: /mirror/ }).getByRole('button', { name: 'Stop mirroring' }).click();
    await admin.getByRole('dialog', { name: 'Stop mirroring into mirror?' }).getByRole('button', { name: 'Stop mirroring' }).click();
    await admin.getByText(/^mirror no longer mirrors/).waitFor();
    assert.equal((await api('GET', '/api/v1/admin/proxies/mirror')).status, 404);
    await admin.context().close();
    assert.deepEqual([...pages.overflow, ...pages.a11y], []);
  });

  test('no page errors, nothing wider than a phone, every control labelled, no serious axe finding', () => {
    assert.deepEqual(pageErrors, []);
    assert.deepEqual(problems, []);
  });
});
