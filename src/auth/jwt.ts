import { createPublicKey, createSign, createVerify, type JsonWebKey, type KeyObject } from 'node:crypto';

/** Minimal JWS compact serialisation for ES256/RS256, on node:crypto only. */
export interface JwtHeader {
  alg: string;
  kid?: string;
  typ?: string;
}

export type JwtClaims = Record<string, unknown>;

export function b64urlJson(v: unknown): string {
  return Buffer.from(JSON.stringify(v)).toString('base64url');
}

export function signJwt(claims: JwtClaims, key: KeyObject, kid: string): string {
  const header: JwtHeader = { alg: 'ES256', typ: 'JWT', kid };
  const input = `${b64urlJson(header)}.${b64urlJson(claims)}`;
  const sig = createSign('SHA256').update(input).sign({ key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${sig.toString('base64url')}`;
}

export interface DecodedJwt {
  header: JwtHeader;
  claims: JwtClaims;
  input: string;
  signature: Buffer;
}

/** Splits and JSON-decodes a compact JWT without verifying it; null when it is not one. */
export function decodeJwt(token: string): DecodedJwt | null {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  try {
    const header = JSON.parse(Buffer.from(parts[0] ?? '', 'base64url').toString('utf8')) as unknown;
    const claims = JSON.parse(Buffer.from(parts[1] ?? '', 'base64url').toString('utf8')) as unknown;
    if (typeof header !== 'object' || header === null || typeof claims !== 'object' || claims === null) return null;
    const h = header as Record<string, unknown>;
    if (typeof h['alg'] !== 'string') return null;
    const out: JwtHeader = { alg: h['alg'] };
    if (typeof h['kid'] === 'string') out.kid = h['kid'];
    return { header: out, claims: claims as JwtClaims, input: `${parts[0]}.${parts[1]}`, signature: Buffer.from(parts[2] ?? '', 'base64url') };
  } catch {
    return null;
  }
}

export function looksLikeJwt(value: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(value);
}

const ALGS: Record<string, { hash: string; ec: boolean }> = {
  ES256: { hash: 'SHA256', ec: true },
  ES384: { hash: 'SHA384', ec: true },
  RS256: { hash: 'SHA256', ec: false },
  RS384: { hash: 'SHA384', ec: false },
  RS512: { hash: 'SHA512', ec: false },
};

export function verifySignature(jwt: DecodedJwt, key: KeyObject): boolean {
  const alg = ALGS[jwt.header.alg];
  if (!alg) return false;
  try {
    return createVerify(alg.hash)
      .update(jwt.input)
      .verify(alg.ec ? { key, dsaEncoding: 'ieee-p1363' } : key, jwt.signature);
  } catch {
    return false;
  }
}

export function keyFromJwk(jwk: JsonWebKey): KeyObject {
  return createPublicKey({ key: jwk, format: 'jwk' });
}

/** Standard time claims with a little clock skew tolerance. */
export function checkTimes(claims: JwtClaims, nowSec: number, skewSec = 30): string | null {
  const exp = claims['exp'];
  const nbf = claims['nbf'];
  if (typeof exp !== 'number') return 'missing exp';
  if (nowSec > exp + skewSec) return 'token expired';
  if (typeof nbf === 'number' && nowSec + skewSec < nbf) return 'token not yet valid';
  return null;
}
