/**
 * Manifests — OCI Distribution Spec end-3 (GET/HEAD), end-7 (PUT, with ?tag= for several tags),
 * end-9 (DELETE by digest) and DELETE by tag.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RegistryError } from '../../errors.ts';
import { parseReference, parseTag, type Reference, type RepoName } from '../../oci/name.ts';
import { queryStrings, readCapped, type V2Deps } from './common.ts';
import { bindLog } from '../log-context.ts';

/**
 * Content negotiation: the stored bytes are never converted, so the only choice is whether the
 * client accepts them. A client listing manifest types without ours gets MANIFEST_UNKNOWN,
 * as Distribution answers when it cannot serve an accepted type.
 */
function acceptable(accept: string | undefined, mediaType: string): boolean {
  if (!accept) return true;
  const types = accept.split(',').map((t) => t.split(';')[0]?.trim().toLowerCase() ?? '');
  return types.some((t) => t === '' || t === '*/*' || t === 'application/*' || t === mediaType || t === 'application/json');
}

/** What the response headers of a manifest are made of (a structural view of the served record). */
interface ManifestHead {
  mediaType: string;
  digest: string;
  size: number;
}

function manifestHeaders(reply: FastifyReply, m: ManifestHead): FastifyReply {
  return reply
    .header('content-type', m.mediaType)
    .header('docker-content-digest', m.digest)
    .header('etag', `"${m.digest}"`)
    .header('content-length', String(m.size));
}

/**
 * The reference of a GET, HEAD or DELETE. A tag outside the grammar can name no manifest, so it
 * is an unknown manifest (404, as the spec requires for "not found" and the conformance suite
 * checks with `.INVALID_MANIFEST_NAME`), not a bad request; only a PUT rejects it as invalid.
 * Null stands for such a tag; callers answer MANIFEST_UNKNOWN after authorizing.
 */
function lookupReference(refRaw: string): Reference | null {
  try {
    return parseReference(refRaw);
  } catch (err) {
    if (err instanceof RegistryError && err.code === 'TAG_INVALID') return null;
    throw err;
  }
}

function unknownTag(name: RepoName, refRaw: string): RegistryError {
  return new RegistryError('MANIFEST_UNKNOWN', 'manifest unknown to registry', { name, reference: refRaw });
}

export function manifestRoutes(deps: V2Deps) {
  return {
    async get(req: FastifyRequest, reply: FastifyReply, name: RepoName, refRaw: string) {
      const ref = lookupReference(refRaw);
      await deps.gate.authorize(req, { type: 'repository', name, actions: ['pull'] });
      if (ref === null) throw unknownTag(name, refRaw);
      const upstream = deps.proxy ? await deps.proxy.upstreamOf(name) : null;
      const m = upstream && deps.proxy ? await deps.proxy.manifest(upstream, name, ref) : await deps.registry.manifest(name, ref, deps.gate.tagStampOf(req));
      bindLog(req, { digest: m.digest });
      if (!acceptable(req.headers.accept, m.mediaType)) {
        throw new RegistryError('MANIFEST_UNKNOWN', 'manifest is not available in an accepted media type', {
          mediaType: m.mediaType,
          accept: req.headers.accept,
        });
      }
      manifestHeaders(reply, m);
      const inm = req.headers['if-none-match'];
      if (inm !== undefined && inm.split(',').some((t) => t.trim() === `"${m.digest}"` || t.trim() === m.digest)) {
        return reply.code(304).send();
      }
      if (req.method === 'HEAD') return reply.code(200).send();
      deps.registry.recordPull(name, m);
      return reply.code(200).send(m.content);
    },

    async put(req: FastifyRequest, reply: FastifyReply, name: RepoName, refRaw: string) {
      const ref = parseReference(refRaw);
      const extraTags = queryStrings(req, 'tag').map(parseTag);
      // Before authorizing: a push would create the package, and the refusal is not a secret.
      await deps.proxy?.refusePush(name);
      const principal = await deps.gate.authorize(req, { type: 'repository', name, actions: ['pull', 'push'] });
      const bytes = await readCapped(req, deps.manifestMaxBytes);
      const result = await deps.registry.putManifest(name, ref, bytes, req.headers['content-type'], extraTags, principal);
      bindLog(req, { digest: result.digest });
      reply
        .code(201)
        .header('location', `/v2/${name}/manifests/${result.digest}`)
        .header('docker-content-digest', result.digest)
        .header('content-length', '0');
      if (result.subject) reply.header('oci-subject', result.subject);
      // Spec, "Pushing manifests with tags": one OCI-Tag per tag applied, so a client that sent
      // `?tag=` learns which took (a registry without tag parameters answers none).
      if (extraTags.length > 0 && result.tags.length > 0) reply.header('oci-tag', result.tags);
      return reply.send();
    },

    async delete(req: FastifyRequest, reply: FastifyReply, name: RepoName, refRaw: string) {
      const ref = lookupReference(refRaw);
      const principal = await deps.gate.authorize(req, { type: 'repository', name, actions: ['delete'] });
      if (ref === null) throw unknownTag(name, refRaw);
      await deps.registry.deleteManifest(name, ref, principal);
      return reply.code(202).header('content-length', '0').send();
    },
  };
}
