/**
 * ChartMuseum-compatible API per owner, so `helm cm-push` and existing CI scripts work:
 *   POST   /api/<owner>/charts                    chart .tgz body, or multipart `chart` (+ `prov`)
 *   GET    /api/<owner>/charts                    { <name>: [version, …] }
 *   GET    /api/<owner>/charts/<name>             [version, …]
 *   GET    /api/<owner>/charts/<name>/<version>   version
 *   DELETE /api/<owner>/charts/<name>/<version>
 * Every route also answers under `/api/charts/<owner>/…`: `helm cm-push` joins the path of the
 * repository URL (`…/charts/<owner>`, the classic repository) under `/api`.
 * Uploads become OCI artifacts in `<owner>/charts/<name>:<version>` (the layout `helm push`
 * produces), so they show up over OCI and in index.yaml alike. Errors are ChartMuseum's
 * `{"error": "…"}` with its status codes (400, 401, 403, 404, 409). An upload is authorized
 * before its body is read: the caller must be able to push some chart of the owner; the exact
 * package, named inside the archive, is checked again once the archive is read.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RegistryError } from '../../errors.ts';
import type { RepoName } from '../../oci/name.ts';
import { museumEntry } from '../../services/charts/museum.ts';
import { sendMuseumError } from '../errors.ts';
import { authorizePull, type ChartRouteDeps, lookupWithoutLeak, parseOwner, readerOf } from './deps.ts';
import { multipartBoundary, parseMultipart } from './multipart.ts';
import type { Principal } from '../../auth/principal.ts';

async function readBody(req: FastifyRequest, max: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > max) {
    throw new RegistryError('BODY_TOO_LARGE', `upload exceeds the ${max}-byte limit`, { size: Number(declared), limit: max });
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of req.raw) {
      total += (chunk as Buffer).length;
      if (total > max) throw new RegistryError('BODY_TOO_LARGE', `upload exceeds the ${max}-byte limit`, { limit: max });
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    if (err instanceof RegistryError) throw err;
    throw new RegistryError('SIZE_INVALID', 'request body ended early');
  }
  return Buffer.concat(chunks);
}

/** The chart (and provenance) of an upload request. */
async function uploadParts(req: FastifyRequest, max: number): Promise<{ chart: Buffer; prov: Buffer | null }> {
  const body = await readBody(req, max);
  const boundary = multipartBoundary(req.headers['content-type']);
  if (boundary === null) return { chart: body, prov: null };
  const parts = parseMultipart(body, boundary);
  const chart = parts.find((p) => p.name === 'chart');
  if (!chart) throw new RegistryError('BAD_REQUEST', 'multipart upload has no "chart" field', { fields: parts.map((p) => p.name) });
  const prov = parts.find((p) => p.name === 'prov');
  return { chart: chart.data, prov: prov && prov.data.length > 0 ? prov.data : null };
}

/** The two places the API is found: `/api/<owner>` and, as `helm cm-push` builds it, `/api/charts/<owner>`. */
const BASES = ['/api/:owner', '/api/charts/:owner'] as const;

export function registerMuseumRoutes(app: FastifyInstance, deps: ChartRouteDeps): void {
  const { charts, museum, gate } = deps;

  // Upload bodies are archives or multipart forms that we read ourselves, under a cap, after authorizing.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null));
  app.setErrorHandler((err, req, reply) => sendMuseumError(err, req, reply));

  const upload = async (req: FastifyRequest, reply: FastifyReply) => {
    const owner = parseOwner((req.params as { owner: string }).owner);
    await gate.authorize(req, { type: 'namespace', prefix: `${owner}/charts/`, actions: ['push'] });
    const { chart, prov } = await uploadParts(req, deps.maxUploadBytes);
    const prepared = await museum.prepareUpload(owner, chart, prov);
    const principal = await gate.authorize(req, { type: 'repository', name: prepared.repo, actions: ['pull', 'push'] });
    const rec = await museum.commitUpload(prepared, principal);
    return reply.code(201).send({ saved: true, repository: rec.repo, digest: rec.digest, name: rec.name, version: rec.version });
  };

  const list = async (req: FastifyRequest) => {
    const owner = parseOwner((req.params as { owner: string }).owner);
    const principal = await readerOf(deps, req);
    await charts.requireOwner(owner);
    return Object.fromEntries(await museum.list(owner, (repo) => gate.canPull(principal, repo)));
  };

  const versions = async (req: FastifyRequest) => {
    const { owner: rawOwner, name } = req.params as { owner: string; name: string };
    const owner = parseOwner(rawOwner);
    const principal = await readerOf(deps, req);
    const list = (await museum.list(owner, (repo) => gate.canPull(principal, repo), name)).get(name);
    if (!list || list.length === 0) throw new RegistryError('NOT_FOUND', `chart ${name} not found`, { owner, name });
    return list;
  };

  const version = async (req: FastifyRequest) => {
    const { owner: rawOwner, name, version: v } = req.params as { owner: string; name: string; version: string };
    const owner = parseOwner(rawOwner);
    const authorize = (repo: RepoName) => authorizePull(gate, req, repo);
    const rec = await lookupWithoutLeak(authorize, { owner, chart: name }, () => museum.version(owner, name, v));
    await authorize(rec.repo);
    return museumEntry(owner, rec);
  };

  const remove = async (req: FastifyRequest) => {
    const { owner: rawOwner, name, version: v } = req.params as { owner: string; name: string; version: string };
    const owner = parseOwner(rawOwner);
    let principal: Principal | undefined;
    const authorize = async (repo: RepoName) => void (principal = await gate.authorize(req, { type: 'repository', name: repo, actions: ['delete'] }));
    const copies = await lookupWithoutLeak(authorize, { owner, chart: name }, () => charts.listedCopies(owner, name, v));
    for (const c of copies) await authorize(c.repo);
    await museum.deleteCopies(copies, principal);
    return { deleted: true };
  };

  for (const base of BASES) {
    app.post(`${base}/charts`, upload);
    app.get(`${base}/charts`, list);
    app.get(`${base}/charts/:name`, versions);
    app.get(`${base}/charts/:name/:version`, version);
    app.delete(`${base}/charts/:name/:version`, remove);
  }
}
