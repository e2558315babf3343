/**
 * Semantic versions as Helm reads chart versions: SemVer 2.0 with the leniency of Helm's parser
 * (Masterminds `NewVersion`): an optional leading `v`, and a missing minor or patch counts as 0.
 * Pre-release identifiers follow SemVer 2.0 strictly (no leading zeros in numeric identifiers).
 *
 * Ordering is by precedence (build metadata ignored), with the original string as a final tie
 * breaker so that the order is total and stable. `sortKey` encodes that order as a lowercase hex
 * string, so a database can order versions with a plain text comparison in any collation.
 */

export interface SemVer {
  /** The version exactly as written (what Wharf shows and serves). */
  raw: string;
  major: string;
  minor: string;
  patch: string;
  prerelease: string[];
  build: string[];
}

const LOOSE = /^v?(0|[0-9]+)(?:\.([0-9]+))?(?:\.([0-9]+))?(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;
const NUMERIC = /^[0-9]+$/;

function stripZeros(n: string): string {
  const s = n.replace(/^0+/, '');
  return s === '' ? '0' : s;
}

/** Parses a chart version; null when Helm would reject it too. */
export function parseSemver(raw: string): SemVer | null {
  if (raw.length === 0 || raw.length > 256) return null;
  const m = LOOSE.exec(raw);
  if (!m) return null;
  const prerelease = m[4] ? m[4].split('.') : [];
  for (const id of prerelease) if (NUMERIC.test(id) && id.length > 1 && id.startsWith('0')) return null;
  return {
    raw,
    major: stripZeros(m[1] ?? '0'),
    minor: stripZeros(m[2] ?? '0'),
    patch: stripZeros(m[3] ?? '0'),
    prerelease,
    build: m[5] ? m[5].split('.') : [],
  };
}

export function isPrerelease(v: SemVer): boolean {
  return v.prerelease.length > 0;
}

/** `1.2.3-rc.1` (no build metadata): the precedence-relevant form. */
export function formatCore(v: SemVer): string {
  const core = `${v.major}.${v.minor}.${v.patch}`;
  return v.prerelease.length > 0 ? `${core}-${v.prerelease.join('.')}` : core;
}

function numberBytes(n: string): number[] {
  // Length first, so longer numbers sort higher without fixed-width padding.
  return [Math.min(n.length, 255), ...Buffer.from(n, 'ascii')];
}

/**
 * A hex string whose lexical order is SemVer precedence order, then the raw string.
 * Layout: numbers as (length, digits); then 0x02 for a release or 0x01 + identifiers for a
 * pre-release, each identifier 0x01 (numeric, length-prefixed) or 0x02 (text, 0x00-terminated),
 * the list ended by 0x00 (a shorter list sorts first); then 0x00 + the raw string.
 */
export function sortKey(v: SemVer): string {
  const bytes: number[] = [...numberBytes(v.major), ...numberBytes(v.minor), ...numberBytes(v.patch)];
  if (v.prerelease.length === 0) {
    bytes.push(0x02);
  } else {
    bytes.push(0x01);
    for (const id of v.prerelease) {
      if (NUMERIC.test(id)) bytes.push(0x01, ...numberBytes(id));
      else bytes.push(0x02, ...Buffer.from(id, 'ascii'), 0x00);
    }
    bytes.push(0x00);
  }
  bytes.push(0x00, ...Buffer.from(v.raw, 'utf8'));
  return Buffer.from(bytes).toString('hex');
}

/** Negative when a < b in precedence (ties broken by the raw string). */
export function compareSemver(a: SemVer, b: SemVer): number {
  const ka = sortKey(a);
  const kb = sortKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** Helm stores `1.0.0+build.1` as the OCI tag `1.0.0_build.1` ('+' is not allowed in tags). */
export function versionToTag(version: string): string {
  return version.replaceAll('+', '_');
}

/** The chart version a Helm tag stands for (`1.0.0_build.1` → `1.0.0+build.1`). */
export function tagToVersion(tag: string): string {
  return tag.replaceAll('_', '+');
}

function hex(s: string): string {
  return Buffer.from(s, 'utf8').toString('hex');
}

/** Complements hex digits, so ascending order of the result is descending order of the input. */
function complementHex(h: string): string {
  let out = '';
  for (const c of h) out += (15 - parseInt(c, 16)).toString(16);
  // 'z' sorts after every hex digit: a shorter key (a prefix) comes after its extensions.
  return `${out}z`;
}

const MAX_MS = 2 ** 53;

/**
 * The position of a chart version in an index.yaml, as one string whose plain text order is
 * the document order: chart name, then version highest first, then newest push first, then
 * repository and digest as tie breakers. Only [0-9a-fz] characters, so any collation orders it
 * like bytes, and a single indexed column serves keyset pagination.
 */
export function indexOrderKey(k: { name: string; sortKey: string; createdAt: number; repo: string; digest: string }): string {
  const newestFirst = String(MAX_MS - Math.max(0, Math.min(k.createdAt, MAX_MS))).padStart(16, '0');
  return `${hex(k.name)}00${complementHex(k.sortKey)}${newestFirst}${hex(`${k.repo}\0${k.digest}`)}`;
}
