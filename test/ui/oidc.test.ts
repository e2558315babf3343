/**
 * Sign-in with an OpenID provider in real Chromium: a real provider (oidc-provider, in this
 * process, with its own login and consent pages) and a started Wharf configured for it.
 * - a new person signs in through the provider's pages and gets an account (createAccounts),
 *   and their `groups` claim puts them on the mapped team;
 * - a person whose provider email is verified and matches an existing account signs in as it;
 * - an unverified email matching an account is refused, with the reason on the page;
 * - the sign-in page says registry clients keep using passwords or tokens.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startOidcProvider, type StartedProvider } from '../helpers/oidc-provider.ts';
import { freePort, type StartedServer, startWharf } from '../helpers/server.ts';
import { browserUnavailable, ensureUiBuilt, horizontalOverflow, launchChromium, newContext, shoot, unlabelledControls } from './browser.ts';

describe('sign in with an OpenID provider in Chromium', { skip: browserUnavailable() }, () => {
  let server: StartedServer;
  let provider: StartedProvider;
  let browser: Browser;
  let configDir: string;
  const pageErrors: string[] = [];
  const problems: string[] = [];

  const auth = () => `Basic ${Buffer.from(`${server.admin?.username}:${server.admin?.password}`).toString('base64')}`;
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(server.url + path, {
      method,
      headers: { authorization: auth(), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, text: await res.text() };
  };

  const check = async (page: Page, name: string) => {
    await shoot(page, name);
    await page.setViewportSize({ width: 390, height: 844 });
    const extra = await horizontalOverflow(page);
    if (extra > 1) problems.push(`${name}: ${extra}px wider than a phone screen`);
    for (const c of await unlabelledControls(page)) problems.push(`${name}: unlabelled ${c}`);
    await page.setViewportSize({ width: 1280, height: 800 });
  };

  /** From Wharf's sign-in page through the provider's login and consent pages. */
  async function signInThroughProvider(login: string): Promise<Page> {
    const ctx = await newContext(browser, server.url);
    const page = await ctx.newPage();
    page.on('pageerror', (e) => pageErrors.push(`${page.url()}: ${e.message}`));
    await page.goto('/-/sign-in');
    await page.getByRole('button', { name: 'Sign in with Test ID' }).click();
    await page.waitForURL((u) => u.href.startsWith(provider.issuer)).catch(async (err: unknown) => {
      throw new Error(`not at the provider: ${page.url()}\n${await page.locator('main').innerText()}`, { cause: err });
    });
    await page.locator('input[name="login"]').fill(login);
    await page.locator('input[name="password"]').fill('whatever the provider checks');
    await page.getByRole('button', { name: 'Sign-in' }).click();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL((u) => u.href.startsWith(server.url));
    return page;
  }

  before(async () => {
    ensureUiBuilt();
    const [wharfPort, providerPort] = [await freePort(), await freePort()];
    configDir = await mkdtemp(join(tmpdir(), 'wharf-oidc-'));
    const config = join(configDir, 'wharf.yaml');
    provider = await startOidcProvider({
      port: providerPort,
      redirectUris: [`http://127.0.0.1:${wharfPort}/-/sign-in/oidc`],
      accounts: {
        carol: { email: 'carol@example.com', email_verified: true, preferred_username: 'carol', groups: ['deployers'] },
        'erin-at-idp': { email: 'Erin@Example.com', email_verified: true, preferred_username: 'erin-idp' },
        'dave-at-idp': { email: 'dave@example.com', email_verified: false, preferred_username: 'dave-idp' },
      },
    });
    await writeFile(
      config,
      [
        'auth:',
        '  oidc:',
        '    allowInsecureIssuers: true',
        '  oidcSignIn:',
        `    issuer: ${provider.issuer}`,
        `    clientId: ${provider.clientId}`,
        `    clientSecret: ${provider.clientSecret}`,
        '    displayName: Test ID',
        '    scopes: [openid, email, profile, groups]',
        '    createAccounts: true',
        '    teamMappings:',
        '      - { group: deployers, org: acme, team: deployers }',
        '',
      ].join('\n'),
    );
    server = await startWharf({ port: wharfPort, env: { WHARF_CONFIG: config } });
    browser = await launchChromium();
    for (const [username, email] of [
      ['erin', 'erin@example.com'],
      ['dave', 'dave@example.com'],
    ]) {
      const r = await api('POST', '/api/v1/users', { username, password: `${username}-password-1`, email });
      assert.equal(r.status, 201, r.text);
    }
    assert.equal((await api('POST', '/api/v1/orgs', { name: 'acme' })).status, 201);
    assert.equal((await api('POST', '/api/v1/orgs/acme/teams', { name: 'deployers' })).status, 201);
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await server?.stop();
    await provider?.stop();
    if (configDir) await rm(configDir, { recursive: true, force: true });
  });

  test('the sign-in page offers the provider and says registry clients keep passwords and tokens', async () => {
    const ctx = await newContext(browser, server.url);
    const page = await ctx.newPage();
    await page.goto('/-/sign-in');
    await page.getByRole('button', { name: 'Sign in with Test ID' }).waitFor();
    await page.getByText(/Registry clients \(docker, podman, helm\) keep signing in with a username and password or a personal access token/).waitFor();
    await check(page, 'oidc-01-sign-in');
    await ctx.close();
  });

  test('a new person signs in through the provider, gets an account and their mapped team', async () => {
    const page = await signInThroughProvider('carol');
    await page.waitForURL(/\/carol$/);
    await page.getByRole('button', { name: 'carol', exact: true }).waitFor();
    await check(page, 'oidc-02-signed-in');
    const user = await api('GET', '/api/v1/users/carol');
    assert.equal(user.status, 200, user.text);
    assert.equal((JSON.parse(user.text) as { email: string }).email, 'carol@example.com');
    const org = JSON.parse((await api('GET', '/api/v1/orgs/acme')).text) as { teams: { name: string; members: { username: string }[] }[] };
    assert.deepEqual(
      org.teams.find((t) => t.name === 'deployers')?.members.map((m) => m.username),
      ['carol'],
    );
    // The session is an ordinary one: the API answers as carol.
    const me = (await page.evaluate(`fetch('/api/v1/session').then((r) => r.json())`)) as { user: { username: string } };
    assert.equal(me.user.username, 'carol');
    await page.context().close();

    // Removed from the group at the provider: off the team at the next sign-in.
    provider.accounts.set('carol', { email: 'carol@example.com', email_verified: true, preferred_username: 'carol', groups: [] });
    const again = await signInThroughProvider('carol');
    await again.waitForURL(/\/carol$/);
    const after = JSON.parse((await api('GET', '/api/v1/orgs/acme')).text) as { teams: { name: string; members: { username: string }[] }[] };
    assert.deepEqual(after.teams.find((t) => t.name === 'deployers')?.members, []);
    await again.context().close();
  });

  test('a verified email matching an account signs in as that account', async () => {
    const page = await signInThroughProvider('erin-at-idp');
    await page.waitForURL(/\/erin$/);
    await page.getByRole('button', { name: 'erin', exact: true }).waitFor();
    assert.equal((await api('GET', '/api/v1/users/erin-idp')).status, 404, 'no second account was created');
    await page.context().close();
  });

  test('an unverified email matching an account is refused, saying why', async () => {
    const page = await signInThroughProvider('dave-at-idp');
    await page.getByRole('heading', { name: 'Sign-in failed' }).waitFor();
    await page.getByRole('alert').filter({ hasText: 'has not verified that address' }).waitFor();
    await check(page, 'oidc-03-unverified-refused');
    assert.equal((await api('GET', '/api/v1/users/dave-idp')).status, 404);
    // Replaying the callback (the code and state are single use) is refused too.
    const replay = (await page.evaluate(`fetch('/api/v1/session/oidc/callback', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: location.search }) }).then((r) => r.status)`)) as number;
    assert.equal(replay, 400);
    await page.context().close();
  });

  test('no page errors, nothing wider than a phone, every control labelled', () => {
    assert.deepEqual(pageErrors, []);
    assert.deepEqual(problems, []);
  });
});
