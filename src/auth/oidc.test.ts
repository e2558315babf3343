import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type OidcIssuer, startOidcIssuer } from '../../test/helpers/access-oidc.ts';
import { claimMatches, type Fetch, OidcError, OidcVerifier } from './oidc.ts';

test('claim conditions are globs where * matches any run of characters', () => {
  assert.equal(claimMatches('acme/web', 'acme/web'), true);
  assert.equal(claimMatches('acme/web', 'acme/web2'), false, 'anchored at the end');
  assert.equal(claimMatches('acme/web', 'xacme/web'), false, 'anchored at the start');
  assert.equal(claimMatches('refs/heads/*', 'refs/heads/main'), true);
  assert.equal(claimMatches('refs/heads/*', 'refs/heads/feature/x'), true);
  assert.equal(claimMatches('refs/heads/*', 'refs/tags/v1'), false);
  assert.equal(claimMatches('refs/tags/v*.*', 'refs/tags/v1.2'), true);
  assert.equal(claimMatches('*', ''), true);
  assert.equal(claimMatches('*', undefined), false, 'a missing claim never matches');
  assert.equal(claimMatches('1', 1), false, 'only string claims are compared');
  // Regular-expression characters are literal.
  assert.equal(claimMatches('a.b', 'axb'), false);
  assert.equal(claimMatches('a+b', 'aab'), false);
  assert.equal(claimMatches('a+b', 'a+b'), true);
  assert.equal(claimMatches('(x|y)', 'x'), false);
  assert.equal(claimMatches('.github/workflows/release.yml@refs/heads/main', '.github/workflows/release.yml@refs/heads/main'), true);
});

let issuer: OidcIssuer;
let fetches: string[] = [];
const recordingFetch: Fetch = (url, init) => {
  fetches.push(url);
  return fetch(url, init);
};
before(async () => {
  issuer = await startOidcIssuer();
});
after(async () => {
  await issuer.close();
});

function verifier(now = Date.now): OidcVerifier {
  fetches = [];
  return new OidcVerifier({ fetch: recordingFetch, clock: now });
}

async function rejects(p: Promise<unknown>, message: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => err instanceof OidcError && message.test(err.message));
}

test('a token signed by the issuer verifies through discovery and JWKS; keys are cached', async () => {
  const v = verifier();
  const claims = await v.verify(issuer.sign({ aud: 'wharf', repository: 'globex/app' }), issuer.url);
  assert.equal(claims['repository'], 'globex/app');
  assert.deepEqual(fetches, [`${issuer.url}/.well-known/openid-configuration`, `${issuer.url}/jwks`]);
  await v.verify(issuer.sign({ aud: 'wharf' }), issuer.url);
  assert.equal(fetches.length, 2, 'the second token uses cached keys');
  assert.equal(OidcVerifier.issuerOf(issuer.sign({})), issuer.url);
  assert.equal(OidcVerifier.issuerOf('not a jwt'), null);
});

test('bad signatures, foreign keys, other issuers and expired tokens are rejected', async () => {
  const v = verifier();
  const good = issuer.sign({ aud: 'wharf' });
  const [h, c] = good.split('.');
  const forged = `${h}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(c ?? '', 'base64url').toString()), repository: 'acme/secret' })).toString('base64url')}.${good.split('.')[2]}`;
  await rejects(v.verify(forged, issuer.url), /bad signature/);
  await rejects(v.verify(issuer.sign({ aud: 'wharf' }, { key: 'foreign' }), issuer.url), /signing key not found/);
  await rejects(v.verify(issuer.sign({ iss: 'https://token.actions.githubusercontent.com' }), issuer.url), /issuer mismatch/);
  const now = Math.floor(Date.now() / 1000);
  await rejects(v.verify(issuer.sign({ exp: now - 3600, iat: now - 7200 }), issuer.url), /expired/);
  await rejects(v.verify(issuer.sign({ nbf: now + 3600 }), issuer.url), /not yet valid/);
  const noExp = issuer.sign({ exp: undefined });
  await rejects(v.verify(noExp, issuer.url), /missing exp/);
  await rejects(v.verify('a.b.c', issuer.url), /not a JWT/);
  // alg none with the issuer's kid.
  const kid = (JSON.parse(Buffer.from(h ?? '', 'base64url').toString()) as { kid: string }).kid;
  const none = `${Buffer.from(JSON.stringify({ alg: 'none', kid })).toString('base64url')}.${c}.`;
  await rejects(v.verify(none, issuer.url), /not a JWT|bad signature/);
});

test('a new key at the issuer is picked up by refetching the JWKS once', async () => {
  let now = Date.now();
  const v = verifier(() => now);
  await v.verify(issuer.sign({}), issuer.url);
  const kid = issuer.rotate();
  now += 31_000; // forced refreshes wait 30 s between fetches
  const claims = await v.verify(issuer.sign({}, { kid }), issuer.url);
  assert.equal(claims['iss'], issuer.url);
  assert.equal(fetches.filter((u) => u.endsWith('/jwks')).length, 2);
});

test('unknown kids cannot make the verifier hammer the issuer', async () => {
  const now = Date.now();
  const v = verifier(() => now);
  await v.verify(issuer.sign({}), issuer.url);
  for (let i = 0; i < 5; i++) await rejects(v.verify(issuer.sign({}, { key: 'foreign' }), issuer.url), /signing key not found/);
  assert.equal(fetches.filter((u) => u.endsWith('/jwks')).length, 1, 'no refetch within 30 s');
});

test('an unreachable or broken issuer is a clear OidcError', async () => {
  const v = verifier();
  await rejects(v.verify(issuer.sign({ iss: 'http://127.0.0.1:1' }), 'http://127.0.0.1:1'), /cannot reach/);
  const notFound = `${issuer.url}/nowhere`;
  await rejects(v.verify(issuer.sign({ iss: notFound }), notFound), /answered 404/);
});
