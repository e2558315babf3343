/**
 * Blob uploads — OCI Distribution Spec end-4a/4b (POST, POST ?digest=), end-5 (PATCH),
 * end-6 (PUT ?digest=), end-11 (POST ?mount=&from=), end-13 (GET status), DELETE (cancel).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RegistryError } from '../../errors.ts';
import { parseDigest } from '../../oci/digest.ts';
import { isRepoName, type RepoName } from '../../oci/name.ts';
import type { ChunkBody } from '../../services/uploads.ts';
import { contentLength, hasBody, queryString, rangeHeader, uploadLocation, type V2Deps } from './common.ts';

function body(req: FastifyRequest): ChunkBody {
  return { stream: req.raw, length: contentLength(req) };
}

function requiredDigest(req: FastifyRequest) {
  const raw = queryString(req, 'digest');
  if (raw === undefined) throw new RegistryError('DIGEST_INVALID', 'digest query parameter is required');
  return parseDigest(raw);
}

/**
 * Content-Range of a chunk (a PATCH, or the last chunk in the closing PUT): `<start>-<end>`;
 * returns the start offset, which the store checks against the session's end (416 otherwise).
 */
function chunkOffset(req: FastifyRequest): number | undefined {
  const raw = req.headers['content-range'];
  if (raw === undefined) return undefined;
  const m = /^(?:bytes )?(\d+)-(\d+)$/.exec(raw.trim());
  if (!m) throw new RegistryError('RANGE_INVALID', 'invalid Content-Range', { contentRange: raw });
  const start = Number(m[1]);
  const end = Number(m[2]);
  const len = contentLength(req);
  if (end < start || (len !== undefined && end - start + 1 !== len)) {
    throw new RegistryError('RANGE_INVALID', 'Content-Range does not match Content-Length', { contentRange: raw, contentLength: len });
  }
  return start;
}

function accepted(reply: FastifyReply, name: RepoName, id: string, size: number) {
  return reply
    .code(202)
    .header('location', uploadLocation(name, id))
    .header('range', rangeHeader(size))
    .header('docker-upload-uuid', id)
    .header('content-length', '0')
    .send();
}

function created(reply: FastifyReply, name: RepoName, digest: string) {
  return reply
    .code(201)
    .header('location', `/v2/${name}/blobs/${digest}`)
    .header('docker-content-digest', digest)
    .header('content-length', '0')
    .send();
}

export function uploadRoutes(deps: V2Deps) {
  return {
    async start(req: FastifyRequest, reply: FastifyReply, name: RepoName) {
      const mount = queryString(req, 'mount');
      const fromRaw = mount !== undefined ? queryString(req, 'from') : undefined;
      const from = fromRaw !== undefined && isRepoName(fromRaw) ? (fromRaw as RepoName) : undefined;
      await deps.proxy?.refusePush(name);
      const principal = await deps.gate.authorize(req, { type: 'repository', name, actions: ['pull', 'push'], ...(from !== undefined ? { mountFrom: from } : {}) });
      if (mount !== undefined) {
        const digest = parseDigest(mount);
        // A mount that is impossible or not allowed is not an error: fall back to a new session.
        if (from !== undefined && (await deps.gate.requestMayPull(req, from))) {
          if (await deps.uploads.mount(name, from, digest, principal)) return created(reply, name, digest);
        }
        return accepted(reply, name, await deps.uploads.start(name), 0);
      }
      const digestParam = queryString(req, 'digest');
      if (digestParam !== undefined) {
        const digest = parseDigest(digestParam);
        // A monolithic upload of known size: refused before its body is read when over quota.
        await deps.quotas?.refuseUpload(name, contentLength(req) ?? 0, digest);
        await deps.uploads.upload(name, digest, body(req), principal);
        return created(reply, name, digest);
      }
      if (hasBody(req)) await deps.quotas?.refuseUpload(name, contentLength(req) ?? 0, null);
      const id = await deps.uploads.start(name);
      if (hasBody(req)) {
        // Some clients send the first chunk with the POST; keep it rather than dropping it.
        const size = await deps.uploads.append(name, id, 0, body(req));
        return accepted(reply, name, id, size);
      }
      return accepted(reply, name, id, 0);
    },

    async status(req: FastifyRequest, reply: FastifyReply, name: RepoName, id: string) {
      await deps.gate.authorize(req, { type: 'repository', name, actions: ['pull', 'push'] });
      const size = await deps.uploads.status(name, id);
      return reply
        .code(204)
        .header('location', uploadLocation(name, id))
        .header('range', rangeHeader(size))
        .header('docker-upload-uuid', id)
        .send();
    },

    async patch(req: FastifyRequest, reply: FastifyReply, name: RepoName, id: string) {
      await deps.gate.authorize(req, { type: 'repository', name, actions: ['pull', 'push'] });
      // The chunk that would cross the quota is refused before it is stored.
      // The session's size is read only when the owner has a quota (a statement and a stat less otherwise).
      const offset = chunkOffset(req);
      if (deps.quotas) await deps.quotas.refuseUpload(name, async () => (offset ?? (await deps.uploads.status(name, id))) + (contentLength(req) ?? 0), null);
      const size = await deps.uploads.append(name, id, offset, body(req));
      return accepted(reply, name, id, size);
    },

    async put(req: FastifyRequest, reply: FastifyReply, name: RepoName, id: string) {
      const principal = await deps.gate.authorize(req, { type: 'repository', name, actions: ['pull', 'push'] });
      const digest = requiredDigest(req);
      if (deps.quotas) await deps.quotas.refuseUpload(name, async () => (await deps.uploads.status(name, id)) + (hasBody(req) ? (contentLength(req) ?? 0) : 0), digest);
      // The last chunk may come with the PUT; out of order it is 416 like a PATCH, before any byte
      // is written, so the session stays as it was and the client can resume from GET's Range.
      const chunk = hasBody(req) ? { ...body(req), offset: chunkOffset(req) } : null;
      await deps.uploads.complete(name, id, digest, chunk, principal);
      return created(reply, name, digest);
    },

    async cancel(req: FastifyRequest, reply: FastifyReply, name: RepoName, id: string) {
      await deps.gate.authorize(req, { type: 'repository', name, actions: ['pull', 'push'] });
      await deps.uploads.cancel(name, id);
      return reply.code(204).send();
    },
  };
}
