/**
 * ChartMuseum-compatible API per owner, so `helm cm-push` and existing CI scripts work:
 *   POST   /api/<owner>/charts                    chart .tgz body, or multipart `chart` (+ `prov`)
 *   GET    /api/<owner>/charts                    { <name>: [version, …] }
 *   GET    /api/<owner>/charts/<name>             [version, …]
 *   GET    /api/<owner>/charts/<name>/<version>   version
 *   DELETE /api/<owner>/charts/<name>/<version>
 * Uploads become OCI artifacts in `<owner>/charts/<name>:<version>` (the layout `helm push`
 * produces), so they show up over OCI and in index.yaml alike. Errors use the shared
 * `{"errors":[…]}` body with ChartMuseum's status codes (400, 404, 409).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { RegistryError } from '../../errors.ts';
import { museumEntry } from '../../services/charts.ts';
import { type ChartRouteDeps, lookupWithoutLeak, parseOwner } from './deps.ts';
import { multipartBoundary, parseMultipart } from './multipart.ts';

async function readBody(req: FastifyRequest, max: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > max) {
    throw new RegistryError('SIZE_INVALID', `upload exceeds the ${max}-byte limit`, { size: Number(declared), limit: max });
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of req.raw) {
      total += (chunk as Buffer).length;
      if (total > max) throw new RegistryError('SIZE_INVALID', `upload exceeds the ${max}-byte limit`, { limit: max });
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

export function registerMuseumRoutes(app: FastifyInstance, deps: ChartRouteDeps): void {
  const { charts, gate } = deps;

  // Upload bodies are archives or multipart forms that we read ourselves, under a cap.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null));

  app.post('/api/:owner/charts', async (req, reply) => {
    const owner = parseOwner((req.params as { owner: string }).owner);
    const { chart, prov } = await uploadParts(req, deps.maxUploadBytes);
    const prepared = await charts.prepareUpload(owner, chart, prov);
    await gate.authorize(req, { type: 'repository', name: prepared.repo, actions: ['pull', 'push'] });
    const rec = await charts.commitUpload(prepared);
    return reply.code(201).send({ saved: true, repository: rec.repo, digest: rec.digest, name: rec.name, version: rec.version });
  });

  app.get('/api/:owner/charts', async (req) => {
    const owner = parseOwner((req.params as { owner: string }).owner);
    const principal = await deps.principal(req);
    return Object.fromEntries(await charts.museumList(owner, (repo) => gate.canPull(principal, repo)));
  });

  app.get('/api/:owner/charts/:name', async (req) => {
    const { owner: rawOwner, name } = req.params as { owner: string; name: string };
    const owner = parseOwner(rawOwner);
    const principal = await deps.principal(req);
    const list = (await charts.museumList(owner, (repo) => gate.canPull(principal, repo), name)).get(name);
    if (!list || list.length === 0) throw new RegistryError('NOT_FOUND', `chart ${name} not found`, { owner, name });
    return list;
  });

  app.get('/api/:owner/charts/:name/:version', async (req) => {
    const { owner: rawOwner, name, version } = req.params as { owner: string; name: string; version: string };
    const owner = parseOwner(rawOwner);
    const rec = await lookupWithoutLeak(gate, req, { owner, chart: name }, ['pull'], () => charts.museumVersion(owner, name, version));
    await gate.authorize(req, { type: 'repository', name: rec.repo, actions: ['pull'] });
    return museumEntry(owner, rec);
  });

  app.delete('/api/:owner/charts/:name/:version', async (req) => {
    const { owner: rawOwner, name, version } = req.params as { owner: string; name: string; version: string };
    const owner = parseOwner(rawOwner);
    const copies = await lookupWithoutLeak(gate, req, { owner, chart: name }, ['delete'], () => charts.versionCopies(owner, name, version));
    for (const c of copies) await gate.authorize(req, { type: 'repository', name: c.repo, actions: ['delete'] });
    await charts.deleteCopies(copies);
    return { deleted: true };
  });
}
