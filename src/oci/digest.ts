import { createHash, type Hash } from 'node:crypto';
import { RegistryError } from '../errors.ts';
import type { Brand } from './brand.ts';

/** A validated digest, `sha256:<64 hex>` or `sha512:<128 hex>`. */
export type Digest = Brand<string, 'Digest'>;
export type DigestAlgorithm = 'sha256' | 'sha512';

const GRAMMAR = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const ENCODED: Record<DigestAlgorithm, RegExp> = {
  sha256: /^[a-f0-9]{64}$/,
  sha512: /^[a-f0-9]{128}$/,
};

export function isDigestAlgorithm(alg: string): alg is DigestAlgorithm {
  return alg === 'sha256' || alg === 'sha512';
}

/** Parses a digest string; throws DIGEST_INVALID for bad grammar or an unsupported algorithm. */
export function parseDigest(value: string): Digest {
  if (!GRAMMAR.test(value)) {
    throw new RegistryError('DIGEST_INVALID', 'invalid digest', { digest: value });
  }
  const idx = value.indexOf(':');
  const alg = value.slice(0, idx);
  const encoded = value.slice(idx + 1);
  if (!isDigestAlgorithm(alg)) {
    throw new RegistryError('DIGEST_INVALID', 'unsupported digest algorithm', { digest: value, supported: ['sha256', 'sha512'] });
  }
  if (!ENCODED[alg].test(encoded)) {
    throw new RegistryError('DIGEST_INVALID', `invalid ${alg} digest`, { digest: value });
  }
  return value as Digest;
}

export function isDigest(value: string): boolean {
  try {
    parseDigest(value);
    return true;
  } catch {
    return false;
  }
}

export function digestAlgorithm(d: Digest): DigestAlgorithm {
  return d.slice(0, d.indexOf(':')) as DigestAlgorithm;
}

export function digestHex(d: Digest): string {
  return d.slice(d.indexOf(':') + 1);
}

export function digestOf(bytes: Uint8Array, alg: DigestAlgorithm = 'sha256'): Digest {
  return `${alg}:${createHash(alg).update(bytes).digest('hex')}` as Digest;
}

/**
 * Hashes a stream with both supported algorithms at once, so an upload can be verified
 * against whichever digest the client names at commit time without reading it twice.
 */
export class DualHasher {
  private readonly sha256: Hash = createHash('sha256');
  private readonly sha512: Hash | null;
  bytes = 0;

  constructor(withSha512 = true) {
    this.sha512 = withSha512 ? createHash('sha512') : null;
  }

  update(chunk: Uint8Array): void {
    this.sha256.update(chunk);
    this.sha512?.update(chunk);
    this.bytes += chunk.length;
  }

  /** Finishes hashing; the hasher cannot be used afterwards. */
  digests(): Partial<Record<DigestAlgorithm, Digest>> {
    const out: Partial<Record<DigestAlgorithm, Digest>> = {
      sha256: `sha256:${this.sha256.digest('hex')}` as Digest,
    };
    if (this.sha512) out.sha512 = `sha512:${this.sha512.digest('hex')}` as Digest;
    return out;
  }
}
