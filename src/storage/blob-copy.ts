/**
 * Copies a blob file from one store root to another (backups, restores), verifying on the way that
 * its bytes still hash to its digest: a backup never carries a blob it did not check. Written to a
 * temporary name, flushed, then renamed, so a copy interrupted half-way is never taken for a blob.
 */
import { createHash } from 'node:crypto';
import { link, mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { RegistryError } from '../errors.ts';
import { type Digest, digestAlgorithm, digestHex } from '../oci/digest.ts';
import type { RateLimiter } from '../lib/rate-limit.ts';

const CHUNK = 1024 * 1024;

export interface CopyOptions {
  /** Hard-link instead of copying (same filesystem only; blob files are never rewritten in place). */
  link?: boolean;
  limiter?: RateLimiter;
  signal?: AbortSignal;
  /** Called with each chunk's size (progress). */
  onBytes?: (n: number) => void;
}

/**
 * Copies (or links) `src` to `dest` and checks the bytes against `digest` and `size`; throws
 * BLOB_UNKNOWN when `src` is missing and DIGEST_INVALID when its bytes do not match.
 */
export async function copyBlobVerified(src: string, dest: string, digest: Digest, size: number, opts: CopyOptions = {}): Promise<void> {
  await mkdir(dirname(dest), { recursive: true });
  const tmp = `${dest}.${process.pid}.partial`;
  const input = await open(src, 'r').catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new RegistryError('BLOB_UNKNOWN', `blob file missing: ${src}`, { digest });
    throw err;
  });
  const output = opts.link ? null : await open(tmp, 'w', 0o640);
  try {
    const hash = createHash(digestAlgorithm(digest));
    const buf = Buffer.allocUnsafe(CHUNK);
    let read = 0;
    for (;;) {
      opts.signal?.throwIfAborted();
      const { bytesRead } = await input.read(buf, 0, CHUNK, read);
      if (bytesRead === 0) break;
      const chunk = buf.subarray(0, bytesRead);
      hash.update(chunk);
      if (output) await output.write(chunk);
      read += bytesRead;
      opts.onBytes?.(bytesRead);
      await opts.limiter?.take(bytesRead, opts.signal);
    }
    const actual = hash.digest('hex');
    if (actual !== digestHex(digest) || read !== size) {
      throw new RegistryError('DIGEST_INVALID', `blob ${src} does not match its digest (${read} bytes, ${digestAlgorithm(digest)}:${actual})`, { digest, size });
    }
    if (output) {
      await output.datasync();
      await output.close();
      await rename(tmp, dest);
    } else {
      await link(src, dest);
    }
  } catch (err) {
    await output?.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  } finally {
    await input.close();
  }
}
