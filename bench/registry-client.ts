/**
 * The registry operations the workloads need, written against the OCI Distribution Spec only,
 * so Wharf and CNCF Distribution are driven by exactly the same requests.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { MiB } from './config.ts';
import { expectStatus, header, type HttpClient } from './http.ts';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';
/** What a pulling client sends; the manifest GET/HEAD workload uses it too. */
export const MANIFEST_ACCEPT = [
  OCI_MANIFEST,
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

export const BLOB_TIMEOUT_MS = 10 * 60_000;

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

/** A byte range of a file on disk, pushed as one blob. */
export interface FileBlob {
  path: string;
  offset: number;
  size: number;
  digest: string;
}

async function startUpload(client: HttpClient, repo: string): Promise<string> {
  const path = `/v2/${repo}/blobs/uploads/`;
  const res = await expectStatus(client, 'POST', path, [202], { timeoutMs: 30_000 });
  const location = header(res, 'location');
  if (location === undefined) throw new Error(`POST ${path}: 202 without Location`);
  return client.pathOf(location);
}

function withDigest(path: string, digest: string): string {
  return `${path}${path.includes('?') ? '&' : '?'}digest=${encodeURIComponent(digest)}`;
}

/** POST, then PUT ?digest= with the whole blob as the body. */
export async function pushBufferMonolithic(client: HttpClient, repo: string, data: Buffer, digest = sha256(data), timeoutMs = 30_000): Promise<Descriptor> {
  const location = await startUpload(client, repo);
  await expectStatus(client, 'PUT', withDigest(location, digest), [201], {
    headers: { 'content-type': 'application/octet-stream' },
    body: data,
    timeoutMs,
  });
  return { mediaType: OCI_LAYER, digest, size: data.length };
}

/** POST, then PUT ?digest= streaming the blob from disk. */
export async function pushFileMonolithic(client: HttpClient, repo: string, blob: FileBlob): Promise<void> {
  const location = await startUpload(client, repo);
  await expectStatus(client, 'PUT', withDigest(location, blob.digest), [201], {
    headers: { 'content-type': 'application/octet-stream' },
    body: createReadStream(blob.path, { start: blob.offset, end: blob.offset + blob.size - 1, highWaterMark: MiB }),
    bodyLength: blob.size,
    timeoutMs: BLOB_TIMEOUT_MS,
  });
}

/** POST, PATCH chunks of `chunkBytes` with Content-Range, then PUT ?digest= without a body. */
export async function pushFileChunked(client: HttpClient, repo: string, blob: FileBlob, chunkBytes: number): Promise<number> {
  let location = await startUpload(client, repo);
  let chunks = 0;
  for (let start = 0; start < blob.size; start += chunkBytes) {
    const end = Math.min(start + chunkBytes, blob.size) - 1;
    const res = await expectStatus(client, 'PATCH', location, [202], {
      headers: { 'content-type': 'application/octet-stream', 'content-range': `${start}-${end}` },
      body: createReadStream(blob.path, { start: blob.offset + start, end: blob.offset + end, highWaterMark: MiB }),
      bodyLength: end - start + 1,
      timeoutMs: BLOB_TIMEOUT_MS,
    });
    const next = header(res, 'location');
    if (next !== undefined) location = client.pathOf(next);
    chunks++;
  }
  await expectStatus(client, 'PUT', withDigest(location, blob.digest), [201], { timeoutMs: BLOB_TIMEOUT_MS });
  return chunks;
}

/** GET the blob and discard it; returns the bytes received. */
/** The load generator's headers: the manifest Accept, and the bearer token a client with credentials would send. */
export async function loadHeaders(client: HttpClient, method: string, path: string): Promise<Record<string, string>> {
  const auth = await client.authorization(method, path);
  return { accept: MANIFEST_ACCEPT, ...(auth ? { authorization: auth } : {}) };
}

/** Pulls a blob as docker and containerd do: every byte hashed as it arrives and checked against `digest`. */
export async function pullBlob(client: HttpClient, repo: string, digest: string): Promise<number> {
  const res = await expectStatus(client, 'GET', `/v2/${repo}/blobs/${digest}`, [200], { discard: true, hash: true, timeoutMs: BLOB_TIMEOUT_MS });
  if (res.sha256 !== digest) throw new Error(`pulled ${digest} from ${repo} but the bytes hash to ${res.sha256 ?? '?'}`);
  return res.bytes;
}

export async function putManifest(client: HttpClient, repo: string, reference: string, body: string | Buffer): Promise<void> {
  await expectStatus(client, 'PUT', `/v2/${repo}/manifests/${reference}`, [201], {
    headers: { 'content-type': OCI_MANIFEST },
    body,
    timeoutMs: 30_000,
  });
}

export interface SmallImage {
  config: Buffer;
  layer: Buffer;
  configDesc: Descriptor;
  layerDesc: Descriptor;
}

/** A config and a layer blob of a tiny image; distinct content per `seed`. */
export function smallImage(seed: string, layerBytes = 16 * 1024): SmallImage {
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Labels: { 'bench.seed': seed } },
      rootfs: { type: 'layers', diff_ids: [sha256(seed)] },
    }),
  );
  const layer = Buffer.concat([Buffer.from(seed), randomBytes(Math.max(layerBytes - seed.length, 0))]);
  return {
    config,
    layer,
    configDesc: { mediaType: OCI_CONFIG, digest: sha256(config), size: config.length },
    layerDesc: { mediaType: OCI_LAYER, digest: sha256(layer), size: layer.length },
  };
}

/** An OCI image manifest for the image; `annotations` make otherwise equal manifests distinct. */
export function imageManifest(image: SmallImage, annotations?: Record<string, string>): string {
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: image.configDesc,
    layers: [image.layerDesc],
    ...(annotations ? { annotations } : {}),
  });
}

/** Uploads the image's two blobs (POST + PUT each) into `repo`. */
export async function pushImageBlobs(client: HttpClient, repo: string, image: SmallImage): Promise<void> {
  await pushBufferMonolithic(client, repo, image.config, image.configDesc.digest);
  await pushBufferMonolithic(client, repo, image.layer, image.layerDesc.digest);
}

/**
 * Follows `Link: <...>; rel="next"` through a tag listing. Returns the raw pages so that the
 * caller can stop its clock before parsing them (client-side JSON parsing is not server time).
 */
export async function listTags(client: HttpClient, repo: string, n?: number): Promise<Buffer[]> {
  let path: string | null = `/v2/${repo}/tags/list${n === undefined ? '' : `?n=${n}`}`;
  const pages: Buffer[] = [];
  // Bounded: never more pages than a listing of 10 million tags at the requested size would need.
  const maxPages = n === undefined ? 1 : Math.ceil(10_000_000 / Math.max(n, 1));
  while (path !== null && pages.length < maxPages) {
    const res = await expectStatus(client, 'GET', path, [200], { timeoutMs: 60_000 });
    pages.push(res.body);
    const link = header(res, 'link');
    const m = link === undefined ? null : /<([^>]+)>\s*;\s*rel="?next"?/.exec(link);
    path = m?.[1] === undefined ? null : client.pathOf(m[1]);
  }
  return pages;
}

export function countTags(pages: Buffer[]): number {
  let tags = 0;
  for (const page of pages) {
    const parsed = JSON.parse(page.toString('utf8')) as { tags?: unknown };
    if (Array.isArray(parsed.tags)) tags += parsed.tags.length;
  }
  return tags;
}
