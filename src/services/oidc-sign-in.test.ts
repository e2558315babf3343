/**
 * The linking rules of OIDC sign-in (docs/adr/0021-oidc-sign-in.md) on a real SQLite database,
 * with the relying party replaced by a stand-in that returns chosen claims: which account a
 * proven identity opens, and which it must not. The protocol itself runs against a real provider
 * in test/integration/oidc-sign-in.test.ts and test/ui/oidc.test.ts.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import pino from 'pino';
import { loadConfig } from '../config/load.ts';
import { RegistryError } from '../errors.ts';
import { type Metadata, openSqlite } from '../metadata/metadata.ts';
import { createAccessServices } from './access.ts';
import { OidcSignInService, type OidcRelyingParty } from './oidc-sign-in.ts';
import { SessionService } from './sessions.ts';

const ISSUER = 'https://id.example.com';

describe('OIDC sign-in: which account', () => {
  let metadata: Metadata;
  let claims: Record<string, unknown>;
  let service: (opts?: { createAccounts?: boolean }) => OidcSignInService;
  const clock = () => 1_900_000_000_000;

  beforeEach(async () => {
    metadata = openSqlite(':memory:');
    await metadata.migrate();
    const config = loadConfig({ env: {}, overrides: { log: { level: 'silent' } } });
    const access = await createAccessServices(config.auth, { metadata, clock, log: pino({ level: 'silent' }) });
    const sessions = new SessionService({ metadata, authn: access.authn, clock });
    const client: OidcRelyingParty = {
      authorizationRequest: async () => ({ url: `${ISSUER}/auth`, state: 'state-0123456789', nonce: 'n', codeVerifier: 'v' }),
      finish: async () => ({ issuer: ISSUER, subject: String(claims['sub']), claims }),
    };
    service = (opts = {}) =>
      new OidcSignInService({
        metadata,
        client,
        sessions,
        clock,
        log: { warn: () => {} },
        settings: { displayName: 'Example', createAccounts: opts.createAccounts ?? true, usernameClaim: 'preferred_username', groupsClaim: 'groups', teamMappings: [] },
      });
    for (const [name, email] of [
      ['erin', 'erin@example.com'],
      ['twin1', 'twin@example.com'],
      ['twin2', 'twin@example.com'],
    ] as const) {
      await metadata.accounts.create({ name, kind: 'user', email, passwordHash: null, now: clock() });
    }
  });

  const signIn = async (s: OidcSignInService) => {
    const started = await s.start('/', 'https://wharf.example.com/-/sign-in/oidc');
    const done = await s.finish(`?code=c&state=${started.state}`, started.state, 'https://wharf.example.com/-/sign-in/oidc', null, null);
    return done.session.principal.name;
  };
  const refusal = (pattern: RegExp) => (e: unknown) => e instanceof RegistryError && e.code === 'DENIED' && pattern.test(e.message);

  test('a verified email links the existing account, and the link (not the email) decides later', async () => {
    claims = { sub: 's-erin', email: 'ERIN@example.com', email_verified: true };
    assert.equal(await signIn(service()), 'erin');
    // The provider's address changes: the subject still opens erin.
    claims = { sub: 's-erin', email: 'erin@elsewhere.example', email_verified: true };
    assert.equal(await signIn(service()), 'erin');
  });

  test('an unverified email never links, even when accounts may be created', async () => {
    claims = { sub: 's-x', email: 'erin@example.com', email_verified: false };
    await assert.rejects(signIn(service()), refusal(/has not verified that address/));
  });

  test('several accounts with the address: refused, an admin decides', async () => {
    claims = { sub: 's-t', email: 'twin@example.com', email_verified: true };
    await assert.rejects(signIn(service()), refusal(/several Wharf accounts use twin@example.com/));
  });

  test('first sign-in: a new account named from the claims, never taking an existing name', async () => {
    claims = { sub: 's-new', email: 'Erin.Two@example.com', email_verified: true, preferred_username: 'erin' };
    assert.equal(await signIn(service()), 'erin-2');
    const created = await metadata.accounts.get('erin-2');
    assert.equal(created?.email, 'Erin.Two@example.com');
    assert.equal(created?.passwordHash, null, 'no password: registry clients use a token');
    claims = { sub: 's-odd', preferred_username: 'Jane Doe!!', email: 'jd@example.com', email_verified: false };
    assert.equal(await signIn(service()), 'jane-doe');
    assert.equal((await metadata.accounts.get('jane-doe'))?.email, null, 'an unverified address is not stored');
  });

  test('without createAccounts, nobody new gets in', async () => {
    claims = { sub: 's-nobody', email: 'nobody@example.com', email_verified: true };
    await assert.rejects(signIn(service({ createAccounts: false })), refusal(/accounts are not created on first sign-in/));
    assert.equal(await metadata.accounts.get('nobody'), null);
  });

  test('a disabled account is refused however it is found', async () => {
    claims = { sub: 's-erin', email: 'erin@example.com', email_verified: true };
    assert.equal(await signIn(service()), 'erin');
    await metadata.accounts.update('erin', { disabled: true });
    await assert.rejects(signIn(service()), refusal(/erin is disabled/));
  });
});
