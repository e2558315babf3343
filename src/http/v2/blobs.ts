/**
 * Blobs — OCI Distribution Spec end-2 (GET/HEAD /v2/<name>/blobs/<digest>) and
 * end-10 (DELETE /v2/<name>/blobs/<digest>).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RegistryError } from '../../errors.ts';
import { parseDigest } from '../../oci/digest.ts';
import type { RepoName } from '../../oci/name.ts';
import type { ByteRange } from '../../lib/byte-range.ts';
import type { V2Deps } from './common.ts';
import { bindLog } from '../log-context.ts';
import { sendFile } from '../send-file.ts';

/** Parses a single `bytes=start-end` / `bytes=start-` / `bytes=-suffix` range against `size`. */
export function parseRange(header: string, size: number): ByteRange {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) throw new RegistryError('RANGE_NOT_SATISFIABLE', 'invalid or multiple ranges', { size });
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) throw new RegistryError('RANGE_NOT_SATISFIABLE', 'range not satisfiable', { size });
    start = Math.max(size - suffix, 0);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) throw new RegistryError('RANGE_NOT_SATISFIABLE', 'range not satisfiable', { size });
  return { start, end };
}

export function blobRoutes(deps: V2Deps) {
  return {
    async get(req: FastifyRequest, reply: FastifyReply, name: RepoName, ref: string) {
      const digest = parseDigest(ref);
      bindLog(req, { digest });
      await deps.gate.authorize(req, { type: 'repository', name, actions: ['pull'] });
      const blob = await deps.registry.blob(name, digest);
      if (blob.redirect && req.method === 'GET') {
        deps.registry.recordBlobPull(name, digest, blob.size);
        return reply.header('docker-content-digest', digest).redirect(blob.redirect, 307);
      }
      const rangeHeader = req.headers.range;
      const range = rangeHeader ? parseRange(rangeHeader, blob.size) : undefined;
      // Open before writing success headers, so a store miss answers a clean BLOB_UNKNOWN.
      const body = req.method === 'GET' ? await blob.body(range) : null;
      reply.header('docker-content-digest', digest).header('accept-ranges', 'bytes').header('etag', `"${digest}"`);
      reply.header('content-type', 'application/octet-stream');
      if (range) {
        reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${blob.size}`);
        reply.header('content-length', String(range.end - range.start + 1));
      } else {
        reply.code(200).header('content-length', String(blob.size));
      }
      if (req.method === 'GET') deps.registry.recordBlobPull(name, digest, range ? range.end - range.start + 1 : blob.size);
      if (body?.kind === 'file') return sendFile(reply, body.handle, range ? range.end - range.start + 1 : blob.size, range ? 206 : 200, range?.start ?? 0);
      return body ? reply.send(body.stream) : reply.send();
    },

    async delete(req: FastifyRequest, reply: FastifyReply, name: RepoName, ref: string) {
      const digest = parseDigest(ref);
      await deps.gate.authorize(req, { type: 'repository', name, actions: ['delete'] });
      await deps.registry.deleteBlob(name, digest);
      return reply.code(202).header('docker-content-digest', digest).header('content-length', '0').send();
    },
  };
}
