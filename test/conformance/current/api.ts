/**
 * The requests of the current conformance suite (conformance/api.go of
 * opencontainers/distribution-spec), on the port's client: each blob push API (POST+PUT, POST
 * only, chunked PATCH with the last chunk in the PATCHes or in the closing PUT and with
 * out-of-order chunks, streamed PATCH), mount with and without `from`, cancel, GET/HEAD/DELETE,
 * manifest PUT (with `?tag=` and `OCI-Tag`), GET, HEAD, DELETE, tag list and referrers.
 *
 * As in Go, bodies go out with their Content-Length (a streamed PATCH is chunked), and an
 * optional feature the registry lacks is `Unsupported` (Go's errRegUnsupported: a skip there).
 */
import assert from 'node:assert/strict';
import { client } from '../harness.ts';
import type { Method, Request, Response } from '../client.ts';
import { type Descriptor, mediaTypeOf, mt } from './data.ts';

/** Go's chunkMin: the smallest chunk the suite sends. */
export const CHUNK_MIN = 1024;

/** A feature the spec makes optional and the registry does not offer (errRegUnsupported). */
export class Unsupported extends Error {}

export interface Expect {
  /** The content is wrong on purpose: the registry must refuse it with 400. */
  badDigest?: boolean;
  /** Docker-Content-Digest must be present (the suite's DigestHeader settings, on here). */
  requireDigestHeader?: boolean;
}

function req(method: Method, url: string): Request {
  return client.newRequest(method, url).withLength();
}

function status(resp: Response, ...accepted: number[]): void {
  assert.ok(accepted.includes(resp.status), `expected status ${accepted.join(' or ')}, got ${resp.describe()}`);
}

/** Resolves a Location (absolute or relative) to the path and query the client sends. */
function resolve(base: string, location: string): string {
  const u = new URL(location, `http://registry.invalid${base}`);
  return u.pathname + u.search;
}

function withQuery(path: string, key: string, value: string): string {
  const u = new URL(path, 'http://registry.invalid');
  u.searchParams.set(key, value);
  return u.pathname + u.search;
}

export function verifyDigest(resp: Response, digest: string, e: Expect): void {
  const h = resp.header('Docker-Content-Digest');
  if (h === '' && e.requireDigestHeader) assert.fail(`no Docker-Content-Digest header on ${resp.method} ${resp.url} (${resp.status})`);
  if (h !== '') assert.equal(h, digest, `Docker-Content-Digest of ${resp.method} ${resp.url}`);
}

async function verifyLocation(base: string, location: string, body: Buffer): Promise<void> {
  assert.notEqual(location, '', 'location header missing');
  const resp = await client.do(req('GET', resolve(base, location)));
  status(resp, 200);
  assert.ok(resp.body.equals(body), `GET of the returned location ${location} has other bytes`);
}

const uploads = (repo: string) => `/v2/${repo}/blobs/uploads/`;

export async function blobPostPut(repo: string, digest: string, body: Buffer, e: Expect = {}): Promise<void> {
  const post = await client.do(req('POST', uploads(repo)));
  status(post, 202);
  assert.notEqual(post.header('Location'), '', 'blob post did not return a location');
  const url = withQuery(resolve(uploads(repo), post.header('Location')), 'digest', digest);
  const put = await client.do(req('PUT', url).setHeader('Content-Type', mt.octetStream).setBody(body));
  if (e.badDigest) return status(put, 400);
  status(put, 201);
  verifyDigest(put, digest, e);
  await verifyLocation(url, put.header('Location'), body);
}

export async function blobPostOnly(repo: string, digest: string, body: Buffer, e: Expect = {}): Promise<void> {
  const url = withQuery(uploads(repo), 'digest', digest);
  const post = await client.do(req('POST', url).setHeader('Content-Type', mt.octetStream).setBody(body));
  if (e.badDigest) return status(post, 400, 202);
  status(post, 201, 202);
  if (post.status === 202) {
    const put = await client.do(req('PUT', withQuery(resolve(url, post.header('Location')), 'digest', digest)).setHeader('Content-Type', mt.octetStream).setBody(body));
    status(put, 201);
    throw new Unsupported('registry does not support content in the POST, fallback to PUT');
  }
  verifyDigest(post, digest, e);
  await verifyLocation(url, post.header('Location'), body);
}

export interface ChunkedOpts extends Expect {
  /** The last chunk goes in the closing PUT. */
  putLastChunk?: boolean;
  /** Before each chunk, send one at the wrong offset (416 expected), then resume from GET's Range. */
  outOfOrder?: boolean;
  /** Receives OCI-Chunk-Min-Length of the POST. */
  minLength?: (value: string) => void;
}

export async function blobPatchChunked(repo: string, digest: string, body: Buffer, o: ChunkedOpts = {}): Promise<void> {
  const post = await client.do(req('POST', uploads(repo)));
  status(post, 202);
  const minStr = post.header('OCI-Chunk-Min-Length');
  o.minLength?.(minStr);
  let loc = post.header('Location');
  let url = uploads(repo);
  let chunkSize = Math.floor(body.length / 3) + 1;
  if (minStr !== '') chunkSize = Math.max(chunkSize, Number.parseInt(minStr, 10));
  chunkSize = Math.min(Math.max(chunkSize, CHUNK_MIN), body.length);
  let lastByte = -1;
  let final: Response | undefined;
  while (lastByte < body.length - 1) {
    if (o.outOfOrder) {
      assert.notEqual(loc, '', 'blob request did not return a location');
      url = resolve(url, loc);
      // Skip ahead, or back to the beginning when ahead is past the end.
      let badStart = lastByte + 1 + chunkSize;
      if (badStart >= body.length) badStart = 0;
      const badLast = Math.min(badStart + chunkSize - 1, body.length - 1);
      const asPut = o.putLastChunk === true && badLast === body.length - 1;
      if (asPut) url = withQuery(url, 'digest', digest);
      const bad = await client.do(
        req(asPut ? 'PUT' : 'PATCH', url)
          .setHeader('Content-Type', mt.octetStream)
          .setHeader('Content-Range', `${badStart}-${badLast}`)
          .setBody(body.subarray(badStart, badLast + 1)),
      );
      assert.equal(bad.status, 416, `out-of-order chunk ${badStart}-${badLast} in a ${asPut ? 'PUT' : 'PATCH'}: expected 416, got ${bad.describe()}`);
      const get = await client.do(req('GET', url));
      status(get, 204);
      loc = get.header('Location');
      const range = get.header('Range');
      assert.ok(range.startsWith('0-'), `Range of the upload status lacks the 0- prefix: ${JSON.stringify(range)}`);
      if (lastByte >= 0) assert.equal(Number.parseInt(range.slice(2), 10), lastByte, `upload status after the refused chunk: Range ${range}`);
    }
    assert.notEqual(loc, '', 'blob request did not return a location');
    url = resolve(url, loc);
    const start = lastByte + 1;
    lastByte = Math.min(start + chunkSize - 1, body.length - 1);
    const last = o.putLastChunk === true && lastByte === body.length - 1;
    if (last) url = withQuery(url, 'digest', digest);
    const resp = await client.do(
      req(last ? 'PUT' : 'PATCH', url)
        .setHeader('Content-Type', mt.octetStream)
        .setHeader('Content-Range', `${start}-${lastByte}`)
        .setBody(body.subarray(start, lastByte + 1)),
    );
    if (last && o.badDigest) return status(resp, 400);
    status(resp, last ? 201 : 202);
    loc = resp.header('Location');
    if (last) final = resp;
  }
  if (!o.putLastChunk) {
    assert.notEqual(loc, '', 'blob patch did not return a location');
    url = withQuery(resolve(url, loc), 'digest', digest);
    const put = await client.do(req('PUT', url).setHeader('Content-Type', mt.octetStream));
    if (o.badDigest) return status(put, 400);
    status(put, 201);
    loc = put.header('Location');
    final = put;
  }
  if (final === undefined) throw new Error('no closing response');
  verifyDigest(final, digest, o);
  await verifyLocation(url, loc, body);
}

export async function blobPatchStream(repo: string, digest: string, body: Buffer, e: Expect = {}): Promise<void> {
  const post = await client.do(req('POST', uploads(repo)));
  status(post, 202);
  assert.notEqual(post.header('Location'), '', 'blob post did not return a location');
  let url = resolve(uploads(repo), post.header('Location'));
  // Streamed: no Content-Length, no Content-Range.
  const patch = await client.do(client.newRequest('PATCH', url).setHeader('Content-Type', mt.octetStream).setBody(body));
  status(patch, 202);
  assert.notEqual(patch.header('Location'), '', 'blob patch did not return a location');
  url = withQuery(resolve(url, patch.header('Location')), 'digest', digest);
  const put = await client.do(req('PUT', url).setHeader('Content-Type', mt.octetStream));
  if (e.badDigest) return status(put, 400);
  status(put, 201);
  assert.notEqual(put.header('Location'), '');
  verifyDigest(put, digest, e);
  await verifyLocation(url, put.header('Location'), body);
}

/** POST ?mount=&from= (no `from` when `source` is ''); a 202 falls back to a PUT and is Unsupported. */
export async function blobMount(repo: string, source: string, digest: string, body: Buffer, e: Expect = {}): Promise<void> {
  let url = withQuery(uploads(repo), 'mount', digest);
  if (source !== '') url = withQuery(url, 'from', source);
  const post = await client.do(req('POST', url));
  status(post, 201, 202);
  assert.notEqual(post.header('Location'), '', 'blob post did not return a location');
  if (post.status === 202) {
    const put = await client.do(req('PUT', withQuery(resolve(url, post.header('Location')), 'digest', digest)).setHeader('Content-Type', mt.octetStream).setBody(body));
    status(put, 201);
    verifyDigest(put, digest, e);
    await verifyLocation(url, put.header('Location'), body);
    throw new Unsupported(`registry returned status 202 to the mount, fell back to blob POST+PUT`);
  }
  verifyDigest(post, digest, e);
  await verifyLocation(url, post.header('Location'), body);
}

export async function blobPostCancel(repo: string): Promise<void> {
  const post = await client.do(req('POST', uploads(repo)));
  status(post, 202);
  assert.notEqual(post.header('Location'), '', 'blob post did not return a location');
  const url = resolve(uploads(repo), post.header('Location'));
  status(await client.do(req('DELETE', url)), 204);
  // Not in Go's check, but what a cancel means: the session is gone.
  status(await client.do(req('GET', url)), 404);
}

export async function blobGet(repo: string, digest: string, body: Buffer | undefined, e: Expect = {}, headers: Record<string, string> = {}): Promise<Response> {
  const r = req('GET', `/v2/${repo}/blobs/${digest}`);
  for (const [k, v] of Object.entries(headers)) r.setHeader(k, v);
  const resp = await client.do(r);
  if (Object.keys(headers).length > 0) return resp;
  status(resp, 200);
  if (body) {
    assert.ok(resp.body.equals(body), `GET ${digest}: other bytes`);
    assert.equal(resp.header('Content-Length'), String(body.length));
  }
  verifyDigest(resp, digest, e);
  return resp;
}

export async function blobHead(repo: string, digest: string, body: Buffer | undefined, e: Expect = {}): Promise<void> {
  const resp = await client.do(req('HEAD', `/v2/${repo}/blobs/${digest}`));
  status(resp, 200);
  assert.equal(resp.body.length, 0, 'a HEAD has no body');
  if (body) assert.equal(resp.header('Content-Length'), String(body.length));
  verifyDigest(resp, digest, e);
}

/** DELETE a blob (202, 404 or 405), then check it is gone at once. */
export async function blobDelete(repo: string, digest: string): Promise<void> {
  const resp = await client.do(req('DELETE', `/v2/${repo}/blobs/${digest}`));
  status(resp, 202, 404, 405);
  if (resp.status === 405) throw new Unsupported(`registry returned status 405 to a blob delete`);
  status(await client.do(req('HEAD', `/v2/${repo}/blobs/${digest}`)), 404);
}

export interface ManifestPutOpts extends Expect {
  /** `?tag=` parameters; each must come back in an OCI-Tag header. */
  tags?: string[];
  /** Check OCI-Subject when the manifest has a subject (the referrers API is tested). */
  referrers?: boolean;
}

/** PUT a manifest; returns the tags the registry reported applying (OCI-Tag). */
export async function manifestPut(repo: string, ref: string, digest: string, body: Buffer, o: ManifestPutOpts = {}): Promise<void> {
  let url = `/v2/${repo}/manifests/${ref}`;
  if (o.tags && o.tags.length > 0) url += `?${o.tags.map((t) => `tag=${encodeURIComponent(t)}`).join('&')}`;
  const mediaType = mediaTypeOf(body);
  const resp = await client.do(req('PUT', url).setHeader('Content-Type', mediaType).setBody(body));
  if (o.badDigest) return status(resp, 400);
  status(resp, 201);
  if (o.referrers) {
    const subject = JSON.parse(body.toString('utf8')) as { subject?: Descriptor };
    if (subject.subject) assert.equal(resp.header('OCI-Subject'), subject.subject.digest, 'OCI-Subject of a manifest with a subject');
  }
  verifyDigest(resp, digest, o);
  if (o.tags && o.tags.length > 0) {
    const raw = resp.headers['oci-tag'];
    const applied = (raw === undefined ? [] : Array.isArray(raw) ? raw : [raw]).flatMap((v) => v.split(',')).map((v) => v.trim());
    const missing = o.tags.filter((t) => !applied.includes(t));
    if (missing.length > 0) throw new Unsupported(`header missing OCI-Tag: ${missing.join(', ')}`);
  }
  assert.notEqual(resp.header('Location'), '', 'manifest put did not return a location');
  const got = await client.do(req('GET', resolve(url, resp.header('Location'))).setHeader('Accept', `${mt.ociIndex}, ${mt.ociImage}`));
  status(got, 200);
  assert.equal(got.header('Content-Type'), mediaType);
  assert.equal(got.header('Content-Length'), String(body.length));
  assert.ok(got.body.equals(body), 'the returned location serves other bytes');
}

export async function manifestGet(repo: string, ref: string, digest: string, body: Buffer | undefined, e: Expect = {}): Promise<Response> {
  const resp = await client.do(req('GET', `/v2/${repo}/manifests/${ref}`).setHeader('Accept', `${mt.ociIndex}, ${mt.ociImage}`));
  if (body === undefined) return resp;
  status(resp, 200);
  assert.ok(resp.body.equals(body), `GET manifest ${ref}: other bytes`);
  assert.equal(resp.header('Content-Type'), mediaTypeOf(body));
  assert.equal(resp.header('Content-Length'), String(body.length));
  verifyDigest(resp, digest, e);
  return resp;
}

export async function manifestHead(repo: string, ref: string, digest: string, body: Buffer | undefined, e: Expect = {}): Promise<Response> {
  const resp = await client.do(req('HEAD', `/v2/${repo}/manifests/${ref}`).setHeader('Accept', `${mt.ociIndex}, ${mt.ociImage}`));
  if (body === undefined) return resp;
  status(resp, 200);
  assert.equal(resp.body.length, 0, 'a HEAD has no body');
  assert.equal(resp.header('Content-Type'), mediaTypeOf(body));
  assert.equal(resp.header('Content-Length'), String(body.length));
  verifyDigest(resp, digest, e);
  return resp;
}

/** DELETE a manifest or tag (202, 404; 400/405 mean unsupported), then check it is gone at once. */
export async function manifestDelete(repo: string, ref: string): Promise<void> {
  const resp = await client.do(req('DELETE', `/v2/${repo}/manifests/${ref}`));
  status(resp, 202, 404, 400, 405);
  if (resp.status === 400 || resp.status === 405) throw new Unsupported(`registry returned status ${resp.status} to a manifest delete`);
  status(await manifestHead(repo, ref, '', undefined), 404);
}

export async function tagList(repo: string, last?: string): Promise<string[]> {
  const resp = await client.do(req('GET', `/v2/${repo}/tags/list${last === undefined ? '' : `?last=${encodeURIComponent(last)}`}`));
  status(resp, 200, 404);
  if (resp.status === 404) return [];
  const parsed = JSON.parse(resp.text()) as { tags?: unknown };
  return Array.isArray(parsed.tags) ? parsed.tags.filter((t): t is string => typeof t === 'string') : [];
}

export async function referrersList(repo: string, subject: string, artifactType?: string): Promise<{ manifests: Descriptor[]; filtersApplied: string }> {
  const resp = await client.do(req('GET', `/v2/${repo}/referrers/${subject}${artifactType === undefined ? '' : `?artifactType=${encodeURIComponent(artifactType)}`}`));
  status(resp, 200);
  assert.equal(resp.header('Content-Type'), mt.ociIndex);
  const index = JSON.parse(resp.text()) as { schemaVersion?: unknown; mediaType?: unknown; manifests?: Descriptor[] };
  assert.ok(index.mediaType === mt.ociIndex && index.schemaVersion === 2, `referrers response is not a valid OCI index: ${resp.text().slice(0, 200)}`);
  return { manifests: index.manifests ?? [], filtersApplied: resp.header('OCI-Filters-Applied') };
}

export async function ping(): Promise<void> {
  status(await client.do(req('GET', '/v2/')), 200);
}
