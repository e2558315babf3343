/**
 * Shared setup for test/e2e: one registry (the target selected by WHARF_E2E_TARGET) and one
 * isolated client environment per test file, started in `before` and stopped in `after`.
 * When the registry requires authentication, the client environment is logged in as its
 * administrator (`skopeo login`, else `podman login`/`buildah login`; all share auth.json).
 *
 *   const skip = e2eSkip('skopeo', 'umoci');
 *   const ctx = useE2E(skip);
 *   test('...', { skip }, async () => { const { server, clients, ns } = ctx(); ... });
 */
import { writeFile } from 'node:fs/promises';
import { after, afterEach, before } from 'node:test';
import { type ClientEnv, createClientEnv, findBinary, missingClients, uniqueName } from './clients.ts';
import { type Credentials, type StartedServer, startTarget, targetUnavailable } from './server.ts';

export interface E2EContext {
  server: StartedServer;
  clients: ClientEnv;
  /** A namespace (owner) unique to this file and run, e.g. `e2e-skopeo-1a2b3c4d`. */
  ns: string;
}

/** The skip reason for tests needing these client binaries against the selected target, or false. */
export function e2eSkip(...clients: string[]): string | false {
  return missingClients(...clients) || targetUnavailable();
}

export function useE2E(skip: string | false, name = 'e2e'): () => E2EContext {
  let ctx: E2EContext | undefined;
  before(async () => {
    if (skip !== false) return;
    const server = await startTarget();
    let clients: ClientEnv | undefined;
    try {
      clients = await createClientEnv(server.host);
      if (server.admin) await login(clients, server.host, server.admin);
      ctx = { server, clients, ns: uniqueName(name) };
    } catch (err) {
      await clients?.cleanup();
      await server.stop();
      throw err;
    }
  });
  afterEach((t) => {
    // Point at the server's log when a test failed (`passed` is missing from @types/node).
    if (ctx === undefined || ctx.server.logFile === '' || !('passed' in t) || t.passed !== false || !('diagnostic' in t)) return;
    t.diagnostic(`server log: ${ctx.server.logFile} (WHARF_E2E_LOG_LEVEL=debug logs every request)`);
  });
  after(async () => {
    if (ctx === undefined) return;
    await ctx.clients.cleanup();
    await ctx.server.stop();
  });
  return () => {
    if (ctx === undefined) throw new Error('the e2e registry did not start (see the before hook)');
    return ctx;
  };
}

/**
 * Logs the client environment in to `host` with a real client's `login` (the credentials land in
 * its auth.json, which skopeo, podman and buildah share). Without any of them, writes auth.json.
 */
export async function login(clients: ClientEnv, host: string, credentials: Credentials): Promise<void> {
  const tool = ['skopeo', 'podman', 'buildah'].find((t) => findBinary(t) !== undefined);
  if (tool === undefined) {
    const auth = Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64');
    await writeFile(clients.authFile, JSON.stringify({ auths: { [host]: { auth } } }));
    return;
  }
  await clients.runOk(tool, ['login', '--tls-verify=false', '--username', credentials.username, '--password-stdin', host], {
    input: credentials.password,
  });
}
