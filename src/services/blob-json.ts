/**
 * Reads a small JSON blob (an image or chart config) of one repository. Chart indexing, the
 * package pages and source linking all read configs; they do it here, so each read is checked
 * against the repository's blob links (a digest another repository pushed is not readable
 * through this one), bounded in size before a byte is read, and shape-checked before
 * `JSON.parse` (lib/json-shape.ts).
 */
import { RegistryError } from '../errors.ts';
import { jsonShapeProblem } from '../lib/json-shape.ts';
import type { Metadata } from '../metadata/metadata.ts';
import type { Digest } from '../oci/digest.ts';
import type { RepoName } from '../oci/name.ts';
import type { BlobStore } from '../storage/types.ts';

/** Configs are small; a larger one is refused (charts) or shown without details (package pages). */
export const CONFIG_MAX_BYTES = 1024 * 1024;

export interface BlobJsonSource {
  metadata: Pick<Metadata, 'blobLinks'>;
  blobs: Pick<BlobStore, 'read'>;
}

/** Why a blob could not be read as JSON; `message` completes "the blob is …". */
export class BlobJsonError extends Error {
  readonly reason: 'unknown' | 'too-large' | 'shape' | 'syntax';

  constructor(reason: BlobJsonError['reason'], message: string) {
    super(message);
    this.reason = reason;
  }
}

async function readAll(stream: AsyncIterable<Uint8Array>, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    total += chunk.length;
    if (total > max) throw new BlobJsonError('too-large', `larger than ${max} bytes`);
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

/**
 * The parsed JSON of `digest` as linked to `repo`. Throws BlobJsonError when the blob is not
 * linked to the repository, larger than `max`, too deep or big to parse cheaply, or not JSON; a
 * store error (BLOB_UNKNOWN for bytes gone missing) passes through.
 */
export async function readJsonBlob(src: BlobJsonSource, repo: RepoName, digest: Digest, max = CONFIG_MAX_BYTES): Promise<unknown> {
  const link = await src.metadata.blobLinks.get(repo, digest);
  if (!link) throw new BlobJsonError('unknown', 'unknown to registry');
  if (link.size > max) throw new BlobJsonError('too-large', `larger than ${max} bytes`);
  // A bounded range keeps the store from allocating its full read buffer for a tiny blob.
  const range = link.size > 0 ? { start: 0, end: link.size - 1 } : undefined;
  const bytes = await readAll(await src.blobs.read(digest, range), max);
  const shape = jsonShapeProblem(bytes);
  if (shape !== null) throw new BlobJsonError('shape', shape);
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    throw new BlobJsonError('syntax', 'not valid JSON');
  }
}

/**
 * The JSON object of a config blob, or null when there is none to show: a config that is
 * missing, too big, too deep or not a JSON object simply has no details on a page.
 */
export async function readJsonObject(src: BlobJsonSource, repo: RepoName, digest: Digest): Promise<Record<string, unknown> | null> {
  try {
    const json = await readJsonBlob(src, repo, digest);
    return typeof json === 'object' && json !== null && !Array.isArray(json) ? (json as Record<string, unknown>) : null;
  } catch (err) {
    if (err instanceof BlobJsonError || (err instanceof RegistryError && err.code === 'BLOB_UNKNOWN')) return null;
    throw err;
  }
}
