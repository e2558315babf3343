/**
 * A local OpenID Connect issuer for CI-token tests: a node:http server on 127.0.0.1 serving a
 * discovery document and a JWKS, and signing ID tokens (RS256) with node:crypto. Nothing here
 * ever contacts an outside service.
 *
 *   const issuer = await startOidcIssuer();
 *   const idToken = issuer.sign({ aud: 'wharf', repository: 'globex/app', ref: 'refs/heads/main' });
 *   await issuer.close();
 *
 * It can also play a GitHub/Forgejo Actions runner's token service: `actionsTokenService(claims)`
 * returns what a job with `id-token: write` gets as ACTIONS_ID_TOKEN_REQUEST_URL and
 * ACTIONS_ID_TOKEN_REQUEST_TOKEN; a GET of `$URL&audience=AUD` with the request token as bearer
 * answers `{"value": <ID token with those claims and aud=AUD>}`. `path` serves the issuer below a
 * path, as Forgejo's `https://HOST/api/actions`.
 */
import { createSign, generateKeyPairSync, type JsonWebKey, type KeyObject, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';

interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  jwk: JsonWebKey;
}

export interface OidcIssuer {
  /** `http://127.0.0.1:PORT` — also the `iss` of every token it signs. */
  url: string;
  /** How many times the JWKS was fetched (to observe caching). */
  jwksFetches(): number;
  /**
   * Signs an ID token. Defaults: iss = url, sub, iat = now, exp = now + 10 min. `kid` picks a key
   * (default: the current one); `key: 'foreign'` signs with a key the JWKS does not publish.
   */
  sign(claims: Record<string, unknown>, opts?: { kid?: string; key?: 'foreign'; header?: Record<string, unknown> }): string;
  /** Adds a new current key (the old one stays published). Returns its kid. */
  rotate(): string;
  /** Stops publishing a key. */
  unpublish(kid: string): void;
  /** A runner's ID-token service for one job (see above). */
  actionsTokenService(claims: Record<string, unknown>): { requestUrl: string; requestToken: string };
  /** How many ID tokens the runner service handed out. */
  actionsTokensIssued(): number;
  close(): Promise<void>;
}

function newKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = randomBytes(6).toString('hex');
  return { kid, privateKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' } };
}

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

export function signRs256(claims: Record<string, unknown>, key: KeyObject, header: Record<string, unknown>): string {
  const input = `${b64({ alg: 'RS256', typ: 'JWT', ...header })}.${b64(claims)}`;
  return `${input}.${createSign('SHA256').update(input).sign(key).toString('base64url')}`;
}

export async function startOidcIssuer(opts: { path?: string } = {}): Promise<OidcIssuer> {
  const keys: SigningKey[] = [newKey()];
  const published = new Set(keys.map((k) => k.kid));
  const foreign = newKey();
  const base = (opts.path ?? '').replace(/\/$/, '');
  const jobs = new Map<string, Record<string, unknown>>();
  let fetches = 0;
  let issued = 0;
  let url = '';
  const sign = (claims: Record<string, unknown>, o: { kid?: string; key?: 'foreign'; header?: Record<string, unknown> } = {}): string => {
    const now = Math.floor(Date.now() / 1000);
    const key = o.key === 'foreign' ? foreign : (keys.find((k) => k.kid === o.kid) ?? keys[keys.length - 1]);
    if (key === undefined) throw new Error('no key');
    const full = { iss: url, sub: 'repo:globex/app:ref:refs/heads/main', iat: now, nbf: now - 1, exp: now + 600, ...claims };
    return signRs256(full, key.privateKey, { kid: key.kid, ...o.header });
  };
  const server: Server = createServer((req, res) => {
    const [rawPath = '', search = ''] = (req.url ?? '').split('?');
    if (!rawPath.startsWith(base)) {
      res.statusCode = 404;
      res.end('not found');
      return;
    }
    const path = rawPath.slice(base.length);
    if (path === '/_apis/idtoken') {
      // As GitHub's and Forgejo's runners: bearer request token, audience in the query.
      const job = jobs.get((req.headers.authorization ?? '').replace(/^bearer /i, ''));
      const audience = new URLSearchParams(search).get('audience');
      res.setHeader('content-type', 'application/json');
      if (!job) {
        res.statusCode = 401;
        res.end(JSON.stringify({ message: 'bad request token' }));
        return;
      }
      issued++;
      res.end(JSON.stringify({ value: sign({ ...job, ...(audience ? { aud: audience } : {}) }) }));
      return;
    }
    if (path === '/.well-known/openid-configuration') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ issuer: url, jwks_uri: `${url}/jwks`, id_token_signing_alg_values_supported: ['RS256'] }));
      return;
    }
    if (path === '/jwks') {
      fetches++;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: keys.filter((k) => published.has(k.kid)).map((k) => k.jwk) }));
      return;
    }
    res.statusCode = 404;
    res.end('not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('issuer did not bind');
  url = `http://127.0.0.1:${addr.port}${base}`;

  return {
    url,
    jwksFetches: () => fetches,
    sign,
    actionsTokenService(claims) {
      const requestToken = randomBytes(16).toString('hex');
      jobs.set(requestToken, claims);
      return { requestUrl: `${url}/_apis/idtoken?api-version=2.0`, requestToken };
    },
    actionsTokensIssued: () => issued,
    rotate() {
      const k = newKey();
      keys.push(k);
      published.add(k.kid);
      return k.kid;
    },
    unpublish(kid) {
      published.delete(kid);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
