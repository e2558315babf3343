/**
 * The classic Helm chart repository of each owner: `GET /charts/<owner>/index.yaml` and the
 * archives it lists (`<name>-<version>.tgz`, `.tgz.prov`). index.yaml carries a strong ETag
 * per owner generation (304 on If-None-Match) and is gzipped when the client asks.
 *
 * Who sees what (docs/helm.md): an owner that does not exist is a 404 (a mistyped
 * `helm repo add` fails); everyone else gets a 200 listing the charts they may pull, so an
 * anonymous caller gets the public ones whether or not private ones exist. Rejected credentials
 * count as anonymous, as on /token: public charts stay readable with stale credentials, and a
 * private chart's archive answers 401 with the reason. Errors are ChartMuseum's `{"error": "…"}`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RegistryError } from '../../errors.ts';
import type { RepoName } from '../../oci/name.ts';
import { sendMuseumError } from '../errors.ts';
import { authorizePull, type ChartRouteDeps, chartNameOfFile, lookupWithoutLeak, parseOwner, readerOf } from './deps.ts';

/** Whether the client accepts gzip (a `gzip` coding with a non-zero q). */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  return header.split(',').some((part) => {
    const [coding, ...params] = part.trim().split(';');
    if (coding?.trim().toLowerCase() !== 'gzip' && coding?.trim() !== '*') return false;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

/** If-None-Match against our validator; either representation's tag (and weak forms) match. */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((raw) => {
    const t = raw.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
    return t === etag || t === `${etag}-gzip`;
  });
}

export function registerChartRepoRoutes(app: FastifyInstance, deps: ChartRouteDeps): void {
  const { charts, index: classic, gate } = deps;

  const index = async (req: FastifyRequest, reply: FastifyReply) => {
    const owner = parseOwner((req.params as { owner: string }).owner);
    const principal = await readerOf(deps, req);
    await charts.requireOwner(owner);
    const doc = await classic.indexDocument(owner, (repo) => gate.canPull(principal, repo));
    const gzip = acceptsGzip(req.headers['accept-encoding']);
    reply
      .header('etag', `"${gzip ? `${doc.etag}-gzip` : doc.etag}"`)
      .header('vary', 'Accept-Encoding')
      .header('cache-control', 'no-cache')
      .header('last-modified', new Date(doc.lastModified).toUTCString());
    if (etagMatches(req.headers['if-none-match'], doc.etag)) return reply.code(304).send();
    reply.header('content-type', 'application/x-yaml; charset=utf-8');
    if (gzip) reply.header('content-encoding', 'gzip');
    if (req.method === 'HEAD') return reply.code(200).send();
    const body = await doc.open(gzip ? 'gzip' : 'identity');
    if (body.kind === 'file') return deps.files.send(reply, body.handle, body.size);
    return reply.code(200).send(body.stream);
  };

  const file = async (req: FastifyRequest, reply: FastifyReply) => {
    const { owner: rawOwner, file: name } = req.params as { owner: string; file: string };
    const owner = parseOwner(rawOwner);
    if (!name.endsWith('.tgz') && !name.endsWith('.tgz.prov')) throw new RegistryError('NOT_FOUND', 'not found', { path: req.url });
    const authorize = (repo: RepoName) => authorizePull(gate, req, repo);
    const f = await lookupWithoutLeak(authorize, { owner, chart: chartNameOfFile(name) }, () => classic.chartFile(owner, name));
    await authorize(f.repo);
    reply
      .header('etag', `"${f.digest}"`)
      .header('docker-content-digest', f.digest)
      .header('content-type', f.kind === 'chart' ? 'application/gzip' : 'application/pgp-signature')
      .header('content-length', String(f.size));
    if (etagMatches(req.headers['if-none-match'], f.digest)) return reply.code(304).send();
    if (req.method === 'HEAD') return reply.code(200).send();
    const stream = await f.open();
    classic.recordDownload(f);
    return reply.code(200).send(stream);
  };

  app.setErrorHandler((err, req, reply) => sendMuseumError(err, req, reply));
  app.route({ method: ['GET', 'HEAD'], url: '/charts/:owner/index.yaml', handler: index });
  app.route({ method: ['GET', 'HEAD'], url: '/charts/:owner/:file', handler: file });
}
