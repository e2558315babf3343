import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Principal } from '../../auth/principal.ts';
import { RegistryError } from '../../errors.ts';
import { jsonShapeProblem } from '../../lib/json-shape.ts';
import { parseRepoName, type RepoName } from '../../oci/name.ts';
import type { AuthGate } from '../auth-gate.ts';
import { HttpHeadersError } from '../errors.ts';

/** Who calls the JSON API: bearer PAT or registry token, Basic credentials, or the UI session. */
export async function principalOf(gate: AuthGate, req: FastifyRequest): Promise<Principal> {
  try {
    const identity = await gate.identify(req);
    // A registry token is a short-lived grant for named repositories, handed to registry clients;
    // accepting it here would turn a pull token into the full account (settings, new PATs).
    if (identity.access !== undefined) throw new RegistryError('UNAUTHORIZED', 'registry tokens are only valid on /v2; use a personal access token');
    return identity.principal;
  } catch (err) {
    if (err instanceof RegistryError && err.code === 'UNAUTHORIZED') {
      throw new HttpHeadersError('UNAUTHORIZED', err.message, { 'www-authenticate': 'Bearer realm="wharf"' });
    }
    throw err;
  }
}

export async function signedIn(gate: AuthGate, req: FastifyRequest): Promise<Principal> {
  const p = await principalOf(gate, req);
  if (p.kind === 'anonymous') throw new HttpHeadersError('UNAUTHORIZED', 'sign in required', { 'www-authenticate': 'Bearer realm="wharf"' });
  return p;
}

/** Path parameters of `/packages/:owner/:package…` routes; `:package` is the rest of the path, slashes escaped. */
export const packageParams = z.object({ owner: z.string().min(1).max(255), package: z.string().min(1) });
export const ownerParams = z.object({ owner: z.string().min(1).max(255) });

/** The repository of `/packages/:owner/:package`; an invalid name is 404, like an absent package. */
export function packageName(params: { owner: string; package: string }): RepoName {
  const name = `${params.owner}/${params.package}`;
  try {
    return parseRepoName(name);
  } catch {
    throw new RegistryError('NOT_FOUND', 'package not found', { package: name });
  }
}

/** The largest JSON body any /api/v1 route accepts; the biggest real ones (token package lists) are a few KiB. */
export const API_BODY_LIMIT = 256 * 1024;
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Guards of the JSON API, before any body is read: every state-changing route requires a
 * signed-in caller (the sign-in itself excepted: its body is the credential, under the same
 * small cap), so an anonymous or mis-credentialed request is refused while its body is still on
 * the wire; and JSON bodies are capped in size and shape (jsonShapeProblem) before parsing.
 */
/** The routes that sign people in: open to the signed-out, of course. */
const SIGN_IN_PATHS = new Set(['/api/v1/session', '/api/v1/session/oidc', '/api/v1/session/oidc/callback']);

export function guardApi(api: FastifyInstance, gate: AuthGate): void {
  api.addHook('onRequest', async (req) => {
    if (SAFE.has(req.method) || SIGN_IN_PATHS.has(req.url.split('?')[0] ?? '')) return;
    await signedIn(gate, req);
  });
  const parseJson = api.getDefaultJsonParser('error', 'error');
  api.removeContentTypeParser('application/json');
  api.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: API_BODY_LIMIT }, (req, body, done) => {
    const bytes = body as Buffer;
    const problem = jsonShapeProblem(bytes);
    if (problem !== null) return done(new RegistryError('BAD_REQUEST', `request body is ${problem}`), undefined);
    void parseJson(req, bytes.toString('utf8'), done);
  });
}
