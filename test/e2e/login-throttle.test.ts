/**
 * What real clients print when sign-ins are throttled (issue 10: podman does not show
 * Retry-After, so the wait must be in the message). Measured with podman 4.3 / skopeo 1.9
 * (containers/image): for `login` they print a fixed text whatever the body says — 401 becomes
 * "invalid username/password", 429 "too many requests to registry" — so a throttled login check
 * answers 429 (the fixed text that is true); for a pull or copy they print a 401's message, so a
 * throttled scoped token request answers 401 with "… try again in N seconds".
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { type ClientEnv, createClientEnv, missingClients } from '../helpers/clients.ts';
import { startWharf, type StartedServer } from '../helpers/server.ts';

const skip = missingClients('podman', 'skopeo');
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('throttled sign-ins as podman and skopeo show them', { skip }, () => {
  let server: StartedServer;
  let env: ClientEnv;
  let admin: { username: string; password: string };
  let pat = '';

  before(async () => {
    server = await startWharf({ env: { WHARF_AUTH__LOGIN_RATE_LIMIT__PER_ACCOUNT_ADDRESS: '2', WHARF_AUTH__LOGIN_RATE_LIMIT__KNOWN_ADDRESS_MAX_DELAY_SECONDS: '5' } });
    admin = server.admin ?? { username: '', password: '' };
    env = await createClientEnv(server.host);
    const auth = { authorization: `Basic ${Buffer.from(`${admin.username}:${admin.password}`).toString('base64')}` };
    for (const blob of [Buffer.from('{}'), Buffer.from('layer')]) {
      const r = await fetch(`${server.url}/v2/admin/app/blobs/uploads/?digest=${sha(blob)}`, { method: 'POST', headers: auth, body: blob });
      assert.equal(r.status, 201);
    }
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(Buffer.from('{}')), size: 2 },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha(Buffer.from('layer')), size: 5 }],
    });
    assert.equal((await fetch(`${server.url}/v2/admin/app/manifests/v1`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/vnd.oci.image.manifest.v1+json' }, body: manifest })).status, 201);
    const t = await fetch(`${server.url}/api/v1/user/tokens`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'e2e', scopes: ['read:packages'] }) });
    pat = ((await t.json()) as { token: string }).token;
  });
  after(async () => server?.stop());

  test('the wait is in what they print for a pull; the owner is slowed down, not locked out; a PAT keeps working', async () => {
    const login = (password: string) => env.run('podman', ['login', '--tls-verify=false', '-u', admin.username, '-p', password, server.host], { check: false } as never);
    assert.equal((await login(admin.password)).code, 0, 'a successful login: this address is now known');
    // Waits double from 1 s per failure beyond two, so keep guessing until one lands in a wait.
    const seen: string[] = [];
    for (let i = 0; i < 12 && !seen.some((e) => /too many requests to registry/.test(e)); i++) seen.push((await login(`wrong-${i}`)).stderr);
    assert.match(seen[0] ?? '', /invalid username\/password/);
    assert.ok(seen.some((e) => /too many requests to registry/.test(e)), `podman login prints a fixed text for 429:\n${seen.join('')}`);

    const inspect = (creds: string) => env.run('skopeo', ['inspect', '--tls-verify=false', '--creds', creds, `docker://${server.host}/admin/app:v1`], { check: false } as never);
    const pulls: string[] = [];
    for (let i = 0; i < 12 && !pulls.some((e) => /try again in/.test(e)); i++) pulls.push((await inspect(`${admin.username}:wrong-pull-${i}`)).stderr);
    assert.match(pulls.at(-1) ?? '', /too many failed sign-in attempts for admin from your address; try again in \d+ seconds?/, pulls.join(''));
    assert.equal((await inspect(`${admin.username}:${pat}`)).code, 0, 'a personal access token is not throttled');
    // The owner's known address waits at most the (here 5 s) cap, then gets in.
    await sleep(5_500);
    const after = await inspect(`${admin.username}:${admin.password}`);
    assert.equal(after.code, 0, after.stderr);
  });
});
