import type { Digest } from '../oci/digest.ts';
import { digestAlgorithm, digestHex } from '../oci/digest.ts';

/**
 * The one place that knows where bytes live (see docs/adr/0001-storage-key-layout.md).
 * Keys are '/'-separated and relative to the store root (a directory or a bucket prefix).
 */
export const layout = {
  blob(digest: Digest): string {
    const hex = digestHex(digest);
    return `blobs/${digestAlgorithm(digest)}/${hex.slice(0, 2)}/${hex}`;
  },
  blobsRoot: 'blobs',
  upload(id: string): string {
    return `uploads/${id}`;
  },
  uploadsRoot: 'uploads',
} as const;
