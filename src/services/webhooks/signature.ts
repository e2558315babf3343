import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * `sha256=<hex HMAC-SHA256 of the raw body, keyed by the webhook's secret>`: GitHub's
 * `X-Hub-Signature-256` format, sent as `X-Wharf-Signature-256` and `X-Hub-Signature-256`.
 */
export function signBody(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** What a receiver does: recompute and compare in constant time. */
export function verifySignature(secret: string, body: string | Buffer, header: string | undefined): boolean {
  if (!header) return false;
  const expected = Buffer.from(signBody(secret, body));
  const got = Buffer.from(header.trim());
  return got.length === expected.length && timingSafeEqual(got, expected);
}

/** A new secret when the caller gave none (shown once, on creation). */
export function newSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}
