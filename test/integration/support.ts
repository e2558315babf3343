/**
 * Shared pieces of the in-process HTTP suite: a client over `app.inject` that checks the
 * invariants of every response (the API version header, never a 500, spec-shaped errors), and
 * small builders for blobs and manifests.
 */
import assert from 'node:assert/strict';
import type { Readable } from 'node:stream';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { type Digest, digestOf } from '../../src/oci/digest.ts';
import { MediaType } from '../../src/oci/mediatypes.ts';
import { buildTestApp, type TestApp } from '../helpers/app.ts';

export type Res = LightMyRequestResponse;
type Overrides = Parameters<typeof buildTestApp>[0];

export interface Req {
  method?: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE' | 'OPTIONS';
  url: string;
  headers?: Record<string, string>;
  body?: string | Buffer | Readable;
  query?: Record<string, string | string[]>;
}

/** Spec error codes allowed on /v2 (OCI Distribution Spec, "Error Codes"). */
export const SPEC_CODES = new Set([
  'BLOB_UNKNOWN',
  'BLOB_UPLOAD_INVALID',
  'BLOB_UPLOAD_UNKNOWN',
  'DIGEST_INVALID',
  'MANIFEST_BLOB_UNKNOWN',
  'MANIFEST_INVALID',
  'MANIFEST_UNKNOWN',
  'NAME_INVALID',
  'NAME_UNKNOWN',
  'SIZE_INVALID',
  'UNAUTHORIZED',
  'DENIED',
  'UNSUPPORTED',
  'TOOMANYREQUESTS',
]);

/** Asserts the spec error body `{"errors":[{code,message,detail}]}` with this status and code. */
export function assertError(res: Res, status: number, code: string): void {
  assert.equal(res.statusCode, status, `expected ${status} ${code}, got ${res.statusCode}: ${res.body}`);
  if (res.headers['content-length'] === '0' && res.body === '') return; // HEAD: no body by definition
  assert.match(String(res.headers['content-type']), /^application\/json/);
  const body = JSON.parse(res.body) as { errors: unknown };
  assert.ok(Array.isArray(body.errors) && body.errors.length >= 1, res.body);
  for (const e of body.errors as Record<string, unknown>[]) {
    assert.deepEqual(Object.keys(e).sort(), ['code', 'detail', 'message'], res.body);
    assert.equal(typeof e['message'], 'string');
  }
  assert.equal((body.errors as { code: string }[])[0]?.code, code, res.body);
}

export class Client {
  readonly wharf: TestApp;
  constructor(wharf: TestApp) {
    this.wharf = wharf;
  }

  /** Every response must carry the API version header; no bad input may cause a 500. */
  async req(r: Req): Promise<Res> {
    const opts: InjectOptions = { method: r.method ?? 'GET', url: r.url };
    if (r.headers) opts.headers = r.headers;
    if (r.body !== undefined) opts.payload = r.body;
    if (r.query) opts.query = r.query;
    const res = await this.wharf.app.inject(opts);
    assert.ok(res.statusCode < 500, `${opts.method} ${r.url} answered ${res.statusCode}: ${res.body}`);
    assert.equal(res.headers['docker-distribution-api-version'], 'registry/2.0', `${opts.method} ${r.url}: missing API version header`);
    if (res.statusCode >= 400 && r.url.startsWith('/v2')) {
      const code = res.body ? (JSON.parse(res.body) as { errors: { code: string }[] }).errors[0]?.code : undefined;
      if (code !== undefined) assert.ok(SPEC_CODES.has(code), `non-spec error code ${code} on ${r.url}`);
    }
    return res;
  }

  get(url: string, headers?: Record<string, string>) {
    return this.req(headers ? { url, headers } : { url });
  }
  head(url: string, headers?: Record<string, string>) {
    return this.req(headers ? { method: 'HEAD', url, headers } : { method: 'HEAD', url });
  }
  delete(url: string) {
    return this.req({ method: 'DELETE', url });
  }

  /** Monolithic upload (POST then PUT ?digest=); returns the digest. */
  async pushBlob(repo: string, content: string | Buffer): Promise<Digest> {
    const bytes = Buffer.from(content);
    const digest = digestOf(bytes);
    const start = await this.req({ method: 'POST', url: `/v2/${repo}/blobs/uploads/` });
    assert.equal(start.statusCode, 202, start.body);
    const put = await this.req({
      method: 'PUT',
      url: `${String(start.headers.location)}?digest=${digest}`,
      headers: { 'content-type': 'application/octet-stream' },
      body: bytes,
    });
    assert.equal(put.statusCode, 201, put.body);
    return digest;
  }

  async putManifest(repo: string, ref: string, body: string | Buffer, contentType?: string, query?: Record<string, string | string[]>): Promise<Res> {
    const r: Req = { method: 'PUT', url: `/v2/${repo}/manifests/${ref}`, body: Buffer.from(body) };
    if (contentType !== undefined) r.headers = { 'content-type': contentType };
    if (query) r.query = query;
    return this.req(r);
  }

  /** Pushes config + one layer + an OCI image manifest; returns what was pushed. */
  async pushImage(repo: string, tag: string, opts: { layer?: string; extra?: Record<string, unknown>; mediaType?: string } = {}): Promise<PushedManifest> {
    const config = JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } });
    const layer = opts.layer ?? `layer of ${repo}:${tag}`;
    const configDigest = await this.pushBlob(repo, config);
    const layerDigest = await this.pushBlob(repo, layer);
    const mediaType = opts.mediaType ?? MediaType.OciManifest;
    const docker = mediaType === MediaType.DockerManifest;
    const manifest = {
      schemaVersion: 2,
      mediaType,
      config: { mediaType: docker ? MediaType.DockerConfig : MediaType.OciConfig, digest: configDigest, size: config.length },
      layers: [
        {
          mediaType: docker ? 'application/vnd.docker.image.rootfs.diff.tar.gzip' : 'application/vnd.oci.image.layer.v1.tar+gzip',
          digest: layerDigest,
          size: Buffer.byteLength(layer),
        },
      ],
      ...opts.extra,
    };
    const bytes = Buffer.from(JSON.stringify(manifest, null, 2));
    const res = await this.putManifest(repo, tag, bytes, mediaType);
    assert.equal(res.statusCode, 201, res.body);
    return { bytes, digest: digestOf(bytes), mediaType, size: bytes.length, configDigest, layerDigest };
  }
}

export interface PushedManifest {
  bytes: Buffer;
  digest: Digest;
  mediaType: string;
  size: number;
  configDigest: Digest;
  layerDigest: Digest;
}

export async function withApp(fn: (c: Client) => Promise<void>, overrides: Overrides = {}, opts: Parameters<typeof buildTestApp>[1] = {}): Promise<void> {
  const wharf = await buildTestApp(overrides, opts);
  try {
    await fn(new Client(wharf));
  } finally {
    await wharf.close();
  }
}

export function json(res: Res): unknown {
  return JSON.parse(res.body);
}

/**
 * Blob stores the driver-sensitive suites run on: memory and fs on the embedded profile; under
 * WHARF_TEST_PROFILE=scale only the profile's own store (S3), which buildTestApp configures.
 */
export type Driver = 'memory' | 'fs' | 'profile';
export const DRIVERS: readonly Driver[] = process.env['WHARF_TEST_PROFILE'] === 'scale' ? ['profile'] : ['memory', 'fs'];

export function storageFor(driver: Driver): NonNullable<Overrides> {
  return driver === 'profile' ? {} : { storage: { driver } };
}
