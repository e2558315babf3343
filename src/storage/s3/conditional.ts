import { randomUUID } from 'node:crypto';
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { isPreconditionFailed } from './client.ts';

/**
 * How this server spells a conditional overwrite (`PUT` with `If-Match`), found by probing once:
 * AWS takes the quoted ETag, Ceph RGW 16 only matches the bare hex, and some S3-compatible
 * servers ignore the header altogether. Upload-session state writes use it so that two replicas
 * racing on one session cannot both win; where it is unsupported the per-process lock and the
 * digest check at commit remain (see docs/adr/0005-upload-hashing-across-replicas.md).
 */
export type IfMatchMode = 'quoted' | 'bare' | 'none';

export function ifMatchValue(mode: IfMatchMode, etag: string | undefined): string | undefined {
  if (mode === 'none' || etag === undefined) return undefined;
  const bare = etag.replace(/^"|"$/g, '');
  return mode === 'quoted' ? `"${bare}"` : bare;
}

export async function probeIfMatch(s3: S3Client, bucket: string, prefix: string): Promise<IfMatchMode> {
  const Key = `${prefix}_probe/${randomUUID()}`;
  try {
    const first = await s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: 'a' }));
    const etag = first.ETag;
    if (!etag) return 'none';
    try {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: 'b', IfMatch: '"0123456789abcdef0123456789abcdef"' }));
      return 'none'; // a wrong ETag was accepted: the header is ignored
    } catch (err) {
      if (!isPreconditionFailed(err)) return 'none';
    }
    for (const mode of ['quoted', 'bare'] as const) {
      try {
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: 'a', IfMatch: ifMatchValue(mode, etag) }));
        return mode;
      } catch (err) {
        if (!isPreconditionFailed(err)) return 'none';
      }
    }
    return 'none';
  } finally {
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key })).catch(() => undefined);
  }
}
