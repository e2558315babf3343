/**
 * Shared setup of the access-control e2e suites (auth-*.test.ts): a started Wharf with
 * authentication on and a known admin password, users made through the HTTP API, and helpers
 * for personal access tokens and package settings. Only meaningful against Wharf itself: with
 * WHARF_E2E_TARGET=distribution or an external URL these suites skip.
 */
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { e2eTarget, startWharf, type StartedServer } from '../helpers/server.ts';

export const ADMIN_PASSWORD = 'e2e-admin-password';

/** Why the auth suites cannot run here (not Wharf, or a client missing), or false. */
export function authSkip(missing: string | false): string | false {
  if (e2eTarget() !== 'wharf') return 'access-control suites run against a Wharf started by the test (WHARF_E2E_TARGET is not wharf)';
  return missing;
}

export interface User {
  username: string;
  password: string;
}

export interface AuthServer {
  server: StartedServer;
  api<T = unknown>(method: string, path: string, auth: User | string | null, body?: unknown): Promise<{ status: number; body: T }>;
  createUser(username: string): Promise<User>;
  createPat(user: User, scopes: string[], extra?: Record<string, unknown>): Promise<string>;
  setVisibility(repo: string, visibility: 'public' | 'internal' | 'private', by: User): Promise<void>;
}

export function basicHeader(user: User): string {
  return `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`;
}

/** `/api/v1/packages/:owner/:package` for `owner/a/b` names. */
export function packagePath(repo: string): string {
  const i = repo.indexOf('/');
  return `/api/v1/packages/${repo.slice(0, i)}/${encodeURIComponent(repo.slice(i + 1))}`;
}

/** Starts Wharf (auth on) before the file's tests and stops it after them. */
export function useAuthServer(skip: string | false): () => AuthServer {
  let ctx: AuthServer | undefined;
  before(async () => {
    if (skip !== false) return;
    // Debug level: every request is logged, so the secrets check below sees everything.
    const server = await startWharf({ env: { WHARF_AUTH__ADMIN__PASSWORD: ADMIN_PASSWORD, WHARF_LOG__LEVEL: 'debug' } });
    const admin: User = { username: 'admin', password: ADMIN_PASSWORD };
    const api: AuthServer['api'] = async (method, path, auth, body) => {
      const headers: Record<string, string> = {};
      if (auth !== null) headers['authorization'] = typeof auth === 'string' ? auth : basicHeader(auth);
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(server.url + path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
      const text = await res.text();
      return { status: res.status, body: (text && (res.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : text) as never };
    };
    ctx = {
      server,
      api,
      async createUser(username) {
        const user = { username, password: `${username}-e2e-password` };
        const res = await api('POST', '/api/v1/users', admin, user);
        assert.equal(res.status, 201, `create user ${username}: ${JSON.stringify(res.body)}`);
        return user;
      },
      async createPat(user, scopes, extra = {}) {
        const res = await api<{ token: string }>('POST', '/api/v1/user/tokens', user, { name: 'e2e', scopes, ...extra });
        assert.equal(res.status, 201, `create token: ${JSON.stringify(res.body)}`);
        return res.body.token;
      },
      async setVisibility(repo, visibility, by) {
        const res = await api('PATCH', packagePath(repo), by, { visibility });
        assert.equal(res.status, 200, `visibility of ${repo}: ${JSON.stringify(res.body)}`);
      },
    };
  });
  after(async () => {
    await ctx?.server.stop();
  });
  return () => {
    if (ctx === undefined) throw new Error('the Wharf server did not start (see the before hook)');
    return ctx;
  };
}

/** The log of the server has no 5xx answers and no secret from `secrets`. */
export async function assertCleanLog(server: StartedServer, secrets: string[]): Promise<void> {
  const log = await server.logs();
  assert.ok(log.includes('"msg":"request"'), 'requests were logged');
  assert.equal(/"status":5\d\d/.test(log), false, `the server answered 5xx:\n${log.split('\n').filter((l) => /"status":5/.test(l)).join('\n')}`);
  for (const s of secrets) assert.equal(log.includes(s), false, `a secret appears in the server log: ${s.slice(0, 12)}…`);
}
