import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';

/** Connection settings of the s3 driver (config `storage.s3`, AWS env vars already merged in). */
export interface S3Options {
  bucket: string;
  region: string;
  /** Custom endpoint (RGW, MinIO, …); empty = AWS. */
  endpoint?: string | undefined;
  /** Path-style (`endpoint/bucket/key`) instead of virtual-host (`bucket.endpoint/key`) addressing. */
  forcePathStyle: boolean;
  /** Static credentials; when absent the SDK's default chain (env, profile, instance role) applies. */
  accessKeyId?: string | undefined;
  secretAccessKey?: string | undefined;
  sessionToken?: string | undefined;
  /** Key prefix inside the bucket, so several registries (or test runs) can share one bucket. */
  prefix: string;
  /** Redirect blob GETs to presigned URLs instead of streaming through the replica. */
  redirect: boolean;
  redirectTtlSeconds: number;
  /** Multipart part size: bytes buffered per part (S3 minimum 5 MiB, except the last part). */
  partSizeBytes: number;
  /** Create the bucket when it does not exist (handy for tests and single-tenant installs). */
  createBucket: boolean;
  /** If-Match spelling for conditional overwrites (see s3/conditional.ts); 'auto' (default) probes. */
  conditionalWrites?: 'auto' | 'quoted' | 'bare' | 'none' | undefined;
  /** Receives every S3 call's latency by operation (metrics); a "not found" answer counts as ok. */
  observe?: ((operation: string, seconds: number, ok: boolean) => void) | undefined;
}

export const MIN_PART_SIZE = 5 * 1024 * 1024;
export const MAX_PART_SIZE = 5 * 1024 * 1024 * 1024;
export const MAX_PARTS = 10_000;

export function createS3Client(opts: S3Options): S3Client {
  const config: S3ClientConfig = {
    region: opts.region,
    forcePathStyle: opts.forcePathStyle,
    // Newer SDKs add CRC32 trailers to every upload by default; S3-compatible servers such as
    // Ceph RGW 16 reject those. SigV4 already signs the payload's sha256, and blob digests are
    // verified at commit, so only send checksums where an operation requires them.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // Blob downloads hold a socket for as long as the client reads; the SDK's default of 50
    // sockets would queue every other S3 call behind 50 slow pulls.
    requestHandler: {
      httpAgent: new HttpAgent({ keepAlive: true, maxSockets: 1024 }),
      httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: 1024 }),
      connectionTimeout: 10_000,
    },
  };
  if (opts.endpoint) config.endpoint = opts.endpoint;
  if (opts.accessKeyId && opts.secretAccessKey) {
    config.credentials = {
      accessKeyId: opts.accessKeyId,
      secretAccessKey: opts.secretAccessKey,
      ...(opts.sessionToken ? { sessionToken: opts.sessionToken } : {}),
    };
  }
  const client = new S3Client(config);
  if (opts.observe) observeRequests(client, opts.observe);
  return client;
}

/**
 * One middleware around every command (retries included: the latency a caller sees), labelled
 * by the command's name (GetObject, UploadPart, …). GetObject resolves once the headers are in;
 * the body streams afterwards.
 */
function observeRequests(client: S3Client, observe: (operation: string, seconds: number, ok: boolean) => void): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const operation = (context.commandName ?? 'Unknown').replace(/Command$/, '');
      const start = performance.now();
      try {
        const out = await next(args);
        observe(operation, (performance.now() - start) / 1000, true);
        return out;
      } catch (err) {
        observe(operation, (performance.now() - start) / 1000, isNotFound(err));
        throw err;
      }
    },
    { step: 'initialize', name: 'wharfMetrics' },
  );
}

/** `prefix` normalised to '' or 'a/b/' (no leading slash, one trailing slash). */
export function normalisePrefix(prefix: string): string {
  const p = prefix.replace(/^\/+|\/+$/g, '');
  return p === '' ? '' : `${p}/`;
}

function status(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const meta = (err as { $metadata?: { httpStatusCode?: unknown } }).$metadata;
  return typeof meta?.httpStatusCode === 'number' ? meta.httpStatusCode : undefined;
}

function errName(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const name = (err as { name?: unknown }).name;
  return typeof name === 'string' ? name : undefined;
}

export function isNotFound(err: unknown): boolean {
  const name = errName(err);
  return status(err) === 404 || name === 'NoSuchKey' || name === 'NotFound' || name === 'NoSuchUpload';
}

export function isPreconditionFailed(err: unknown): boolean {
  return status(err) === 412 || errName(err) === 'PreconditionFailed';
}

export function isNoSuchUpload(err: unknown): boolean {
  return errName(err) === 'NoSuchUpload';
}
