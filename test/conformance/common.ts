/**
 * Request sequences the Go workflows repeat verbatim (written out inline there): a POST that
 * opens an upload session followed by a monolithic PUT `?digest=`, a manifest PUT, and a
 * DELETE whose status the teardowns accept broadly.
 */
import { client, expectStatus, type StatusMatcher } from './harness.ts';
import type { Response } from './client.ts';

/** POST /v2/<name>/blobs/uploads/, then PUT <Location>?digest= with the whole blob. */
export async function postThenPut(content: Buffer, digest: string, contentLength: string): Promise<Response> {
  const post = await client.do(client.newRequest('POST', '/v2/<name>/blobs/uploads/'));
  return await client.do(
    client
      .newRequest('PUT', post.relativeLocation())
      .setQueryParam('digest', digest)
      .setHeader('Content-Type', 'application/octet-stream')
      .setHeader('Content-Length', contentLength)
      .setBody(content),
  );
}

/** PUT /v2/<name>/manifests/<reference>. */
export async function putManifest(reference: string, content: Buffer, contentType = 'application/vnd.oci.image.manifest.v1+json'): Promise<Response> {
  return await client.do(client.newRequest('PUT', '/v2/<name>/manifests/<reference>', { reference }).setHeader('Content-Type', contentType).setBody(content));
}

/** DELETE /v2/<name>/<kind>/<digest> and check the status against the teardown's accepted set. */
export async function deleteExpect(kind: 'manifests' | 'blobs', digest: string, ...accepted: StatusMatcher[]): Promise<void> {
  const resp = await client.do(client.newRequest('DELETE', `/v2/<name>/${kind}/<digest>`, { digest }));
  expectStatus(resp, ...accepted);
}
