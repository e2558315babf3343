import type { FastifyRequest } from 'fastify';
import type { QuotaService } from '../../services/quotas.ts';
import { RegistryError } from '../../errors.ts';
import type { RegistryService } from '../../services/registry.ts';
import type { UploadService } from '../../services/uploads.ts';
import type { ProxyPullService } from '../../services/proxy/pull.ts';
import type { AccessGate } from '../access.ts';
import type { RepoName } from '../../oci/name.ts';
import type { FileSender } from '../send-file.ts';

export interface V2Deps {
  registry: RegistryService;
  uploads: UploadService;
  gate: AccessGate;
  manifestMaxBytes: number;
  /** Sends blobs kept on local disk (the app's buffer pool). */
  files: FileSender;
  /** Storage quotas, checked before an upload's body is read (ADR 0013). */
  quotas?: QuotaService | undefined;
  /** Pull-through cache: repositories of proxy organizations are pulled through it (ADR 0017). */
  proxy?: ProxyPullService | undefined;
}

export function queryString(req: FastifyRequest, key: string): string | undefined {
  const v = (req.query as Record<string, unknown>)[key];
  if (Array.isArray(v)) return typeof v[0] === 'string' ? v[0] : undefined;
  return typeof v === 'string' ? v : undefined;
}

export function queryStrings(req: FastifyRequest, key: string): string[] {
  const v = (req.query as Record<string, unknown>)[key];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return typeof v === 'string' ? [v] : [];
}

/** `n` for paginated lists: a non-negative integer. */
export function pageSize(req: FastifyRequest): number | undefined {
  const raw = queryString(req, 'n');
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d+$/.test(raw)) throw new RegistryError('PAGINATION_NUMBER_INVALID', 'n must be a non-negative integer', { n: raw });
  return Number(raw);
}

/** Declared body length, or undefined for chunked transfer encoding. */
export function contentLength(req: FastifyRequest): number | undefined {
  const raw = req.headers['content-length'];
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw)) throw new RegistryError('SIZE_INVALID', 'invalid Content-Length');
  return Number(raw);
}

export function hasBody(req: FastifyRequest): boolean {
  const len = req.headers['content-length'];
  if (len !== undefined) return len !== '0';
  return req.headers['transfer-encoding'] !== undefined;
}

/** Reads a small body fully, refusing more than `max` bytes (manifests). */
export async function readCapped(req: FastifyRequest, max: number): Promise<Buffer> {
  const declared = contentLength(req);
  if (declared !== undefined && declared > max) {
    throw new RegistryError('MANIFEST_TOO_LARGE', `manifest exceeds the ${max}-byte limit`, { size: declared, limit: max });
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of req.raw) {
      total += (chunk as Buffer).length;
      if (total > max) throw new RegistryError('MANIFEST_TOO_LARGE', `manifest exceeds the ${max}-byte limit`, { limit: max });
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    if (err instanceof RegistryError) throw err;
    throw new RegistryError('SIZE_INVALID', 'request body ended early');
  }
  if (declared !== undefined && total !== declared) throw new RegistryError('SIZE_INVALID', 'body length does not match Content-Length');
  return Buffer.concat(chunks);
}

/** Link header for the next page, as `<path?n=..&last=..>; rel="next"`. */
export function nextLink(path: string, n: number | undefined, last: string | null): string | null {
  if (last === null) return null;
  const q = new URLSearchParams();
  if (n !== undefined) q.set('n', String(n));
  q.set('last', last);
  return `<${path}?${q.toString()}>; rel="next"`;
}

export function uploadLocation(name: RepoName, id: string): string {
  return `/v2/${name}/blobs/uploads/${id}`;
}

export function rangeHeader(size: number): string {
  return `0-${Math.max(size - 1, 0)}`;
}
