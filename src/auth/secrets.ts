import { createHash, randomBytes } from 'node:crypto';

/**
 * Opaque credentials: `wharf_pat_…` (personal access tokens) and `wharf_rt_…` (refresh tokens).
 * The recognisable prefix lets secret scanners find leaked ones; the trailing CRC-like checksum
 * lets us reject typos without a database lookup. Only a sha256 of the whole string is stored:
 * the secret has 190 bits of entropy, so a fast hash is enough (unlike passwords).
 */
export const PAT_PREFIX = 'wharf_pat_';
export const REFRESH_PREFIX = 'wharf_rt_';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function base62(bytes: Buffer): string {
  let out = '';
  for (const b of bytes) out += ALPHABET[b % 62];
  return out;
}

function checksum(body: string): string {
  return base62(createHash('sha256').update(body).digest().subarray(0, 6));
}

export function newSecret(prefix: string): string {
  const body = base62(randomBytes(32));
  return `${prefix}${body}${checksum(prefix + body)}`;
}

export function looksLikeSecret(value: string, prefix: string): boolean {
  if (!value.startsWith(prefix) || value.length !== prefix.length + 38) return false;
  const body = value.slice(prefix.length, prefix.length + 32);
  return checksum(prefix + body) === value.slice(prefix.length + 32);
}

export function hashSecret(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/** What a UI may show of a secret after creation. */
export function secretHint(value: string): string {
  return `${value.slice(0, 14)}…${value.slice(-4)}`;
}
