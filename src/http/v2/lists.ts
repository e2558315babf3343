/**
 * Listings — OCI Distribution Spec end-8a/8b (GET /v2/<name>/tags/list with n/last),
 * end-12a/12b (GET /v2/<name>/referrers/<digest> with artifactType), and the Docker
 * catalog (GET /v2/_catalog with n/last).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { parseDigest } from '../../oci/digest.ts';
import { MediaType } from '../../oci/mediatypes.ts';
import type { RepoName } from '../../oci/name.ts';
import { nextLink, pageSize, queryString, type V2Deps } from './common.ts';

export function listRoutes(deps: V2Deps) {
  return {
    async tags(req: FastifyRequest, reply: FastifyReply, name: RepoName) {
      await deps.gate.authorize(req, { type: 'repository', name, actions: ['pull'] });
      const n = pageSize(req);
      const upstream = deps.proxy ? await deps.proxy.upstreamOf(name) : null;
      const page = (upstream && deps.proxy ? await deps.proxy.tags(upstream, name, { n, last: queryString(req, 'last') }) : null) ?? (await deps.registry.listTags(name, { n, last: queryString(req, 'last') }));
      const link = nextLink(`/v2/${name}/tags/list`, n, page.next);
      if (link) reply.header('link', link);
      return reply.code(200).header('content-type', 'application/json').send(`{"name":${JSON.stringify(name)},"tags":${page.json}}`);
    },

    async referrers(req: FastifyRequest, reply: FastifyReply, name: RepoName, subjectRaw: string) {
      const subject = parseDigest(subjectRaw);
      await deps.gate.authorize(req, { type: 'repository', name, actions: ['pull'] });
      const artifactType = queryString(req, 'artifactType');
      const body = await deps.registry.referrers(name, subject, artifactType);
      if (artifactType !== undefined) reply.header('oci-filters-applied', 'artifactType');
      return reply.code(200).header('content-type', MediaType.OciIndex).send(body);
    },

    async catalog(req: FastifyRequest, reply: FastifyReply) {
      const principal = await deps.gate.authorize(req, { type: 'registry', name: 'catalog', actions: ['*'] });
      const n = pageSize(req);
      const page = await deps.registry.catalog({ n, last: queryString(req, 'last') }, (names) => deps.gate.pullable(principal, names));
      const link = nextLink('/v2/_catalog', n, page.next);
      if (link) reply.header('link', link);
      return reply.code(200).header('content-type', 'application/json').send(JSON.stringify({ repositories: page.items }));
    },
  };
}
