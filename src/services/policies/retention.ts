/**
 * The retention evaluator (docs/adr/0013-policies.md), pure: which versions of a package a set of
 * rules removes, and why. Combined as zot's and Harbor's are — a version is removed only when a
 * removal applies to it and no keep-rule keeps it:
 *
 * - A **version** is a top-level manifest: not listed by a live index of the package and not a
 *   referrer of a live manifest of it. Index children and referrers (signatures, SBOMs) are never
 *   judged on their own: they stay with a kept version and go with a removed one (the trash's
 *   version closure, which also keeps a child another remaining index lists).
 * - **Tagged** versions are judged when a tagged keep-rule is set (`keepMostRecent`,
 *   `keepPulledWithinDays`, `keepTags`): kept by any of them, removed otherwise.
 * - **Untagged** versions are judged by `removeUntaggedOlderThanDays`: removed when pushed longer
 *   ago, unless `keepPulledWithinDays` keeps them. `keepMostRecent` ranks tagged versions only, so
 *   a CI pushing untagged digests cannot push tagged releases out.
 * - A version with a tag an **immutability rule** protects is always kept.
 */
import type { Digest } from '../../oci/digest.ts';
import type { PackageContents } from '../../metadata/policies.ts';
import { compileGlob } from './glob.ts';
import type { RetentionRules } from './model.ts';

export const DAY_MS = 86_400_000;

export interface VersionFacts {
  digest: Digest;
  tags: string[];
  /** The manifest's push, or the latest push of one of its tags, whichever is later. */
  pushedAt: number;
  /** Start of the last UTC day it was pulled, or null. */
  lastPulledAt: number | null;
}

export interface RetentionDecision extends VersionFacts {
  action: 'keep' | 'remove';
  /** Which rules kept it, or why it goes (each names its rule). */
  reasons: string[];
}

/** Top-level versions of a package, newest push first, from its contents and per-digest last pull days. */
export function versionsOf(contents: PackageContents, lastPulledDay: ReadonlyMap<string, number>): VersionFacts[] {
  const live = new Set(contents.manifests.map((m) => m.digest));
  const listed = new Set(contents.listings.filter((l) => l.index !== l.child && live.has(l.index)).map((l) => l.child));
  const tagsOf = new Map<string, { names: string[]; latest: number }>();
  for (const t of contents.tags) {
    const e = tagsOf.get(t.digest) ?? { names: [], latest: 0 };
    e.names.push(t.name);
    e.latest = Math.max(e.latest, t.updatedAt);
    tagsOf.set(t.digest, e);
  }
  const out: VersionFacts[] = [];
  for (const m of contents.manifests) {
    if (listed.has(m.digest)) continue;
    if (m.subject !== null && live.has(m.subject)) continue;
    const tags = tagsOf.get(m.digest);
    const day = lastPulledDay.get(m.digest);
    out.push({
      digest: m.digest,
      tags: (tags?.names ?? []).sort(),
      pushedAt: Math.max(m.createdAt, tags?.latest ?? 0),
      lastPulledAt: day === undefined ? null : day * DAY_MS,
    });
  }
  return out.sort((a, b) => b.pushedAt - a.pushedAt || (a.digest < b.digest ? -1 : 1));
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/**
 * Decides every version. `immutable(tag)` names the immutability rule protecting a tag (or null).
 * `versions` must be newest first (as versionsOf returns them).
 */
export function evaluateRetention(
  versions: readonly VersionFacts[],
  rules: RetentionRules,
  opts: { now: number; immutable: (tag: string) => string | null },
): RetentionDecision[] {
  const keepTags = (rules.keepTags ?? []).map((p) => ({ p, match: compileGlob(p) }));
  const judgesTagged = rules.keepMostRecent !== undefined || rules.keepPulledWithinDays !== undefined || keepTags.length > 0;
  const pulledSince = rules.keepPulledWithinDays !== undefined ? Math.floor(opts.now / DAY_MS) * DAY_MS - rules.keepPulledWithinDays * DAY_MS : null;
  let rank = 0;
  return versions.map((v) => {
    const keep: string[] = [];
    const tagged = v.tags.length > 0;
    if (tagged) rank++;
    for (const t of v.tags) {
      const rule = opts.immutable(t);
      if (rule) keep.push(`tag ${t} is immutable (${rule})`);
    }
    if (tagged && rules.keepMostRecent !== undefined && rank <= rules.keepMostRecent) keep.push(`among the ${plural(rules.keepMostRecent, 'most recently pushed tagged version')} (keepMostRecent: ${rules.keepMostRecent}, #${rank})`);
    if (pulledSince !== null && v.lastPulledAt !== null && v.lastPulledAt >= pulledSince) keep.push(`pulled within ${plural(rules.keepPulledWithinDays ?? 0, 'day')} (keepPulledWithinDays: ${rules.keepPulledWithinDays}, last ${new Date(v.lastPulledAt).toISOString().slice(0, 10)})`);
    if (tagged) {
      for (const { p, match } of keepTags) {
        const hit = v.tags.find((t) => match(t));
        if (hit !== undefined) keep.push(`tag ${hit} matches keepTags pattern ${JSON.stringify(p)}`);
      }
    }
    if (keep.length > 0) return { ...v, action: 'keep', reasons: keep };

    if (tagged) {
      if (!judgesTagged) return { ...v, action: 'keep', reasons: ['tagged, and no rule judges tagged versions'] };
      const why: string[] = [];
      if (rules.keepMostRecent !== undefined) why.push(`not among the ${plural(rules.keepMostRecent, 'most recently pushed tagged version')} (keepMostRecent: ${rules.keepMostRecent}, #${rank})`);
      if (rules.keepPulledWithinDays !== undefined) why.push(`not pulled within ${plural(rules.keepPulledWithinDays, 'day')} (keepPulledWithinDays: ${rules.keepPulledWithinDays})`);
      if (keepTags.length > 0) why.push(`no tag matches keepTags ${keepTags.map((k) => JSON.stringify(k.p)).join(', ')}`);
      return { ...v, action: 'remove', reasons: why };
    }
    const days = rules.removeUntaggedOlderThanDays;
    if (days === undefined) return { ...v, action: 'keep', reasons: ['untagged, and no removeUntaggedOlderThanDays rule'] };
    if (v.pushedAt > opts.now - days * DAY_MS) return { ...v, action: 'keep', reasons: [`untagged for less than ${plural(days, 'day')} (removeUntaggedOlderThanDays: ${days})`] };
    return { ...v, action: 'remove', reasons: [`untagged and pushed more than ${plural(days, 'day')} ago (removeUntaggedOlderThanDays: ${days})`] };
  });
}
