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
import type { BlobReadResult } from '../../services/registry.ts';
import type { ProxyBlob } from '../../services/proxy/pull.ts';
import type { Digest } from '../../oci/digest.ts';

/**
 * A proxied blob on its way from the upstream: sent as it arrives (whole, ranges are for cached
 * blobs). A HEAD only needs the size: the stream is left to finish storing the blob.
 */
function sendFetching(req: FastifyRequest, reply: FastifyReply, digest: Digest, blob: Extract<ProxyBlob, { kind: 'fetching' }>) {
  reply.code(200).header('docker-content-digest', digest).header('etag', `"${digest}"`).header('content-type', 'application/octet-stream');
  if (blob.size !== null) reply.header('content-length', String(blob.size));
  if (req.method === 'HEAD') {
    blob.stream.resume();
    return reply.send();
  }
  return reply.send(blob.stream);
}

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
      const upstream = deps.proxy ? await deps.proxy.upstreamOf(name) : null;
      let blob: BlobReadResult;
      if (upstream && deps.proxy) {
        const proxied = await deps.proxy.blob(upstream, name, digest);
        if (proxied.kind === 'fetching') return sendFetching(req, reply, digest, proxied);
        blob = proxied.blob;
      } else {
        blob = await deps.registry.blob(name, digest);
      }
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
      if (body?.kind === 'file') return deps.files.send(reply, body.handle, range ? range.end - range.start + 1 : blob.size, range ? 206 : 200, range?.start ?? 0);
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
