/**
 * The policy document of an owner or a package (docs/adr/0013-policies.md) and how the two
 * combine with the site's settings. Pure: no I/O.
 *
 * - `tagRules`: ordered; the first rule whose pattern matches a tag decides whether it is
 *   immutable. A package's list replaces its owner's (an empty list: no rule, every tag mutable).
 * - `allowChartOverwrite`: whether a chart version may be replaced; package, else owner, else the
 *   site's `charts.allowOverwrite`.
 * - `retention`: a package's rules replace its owner's; `null` on a package switches off the
 *   owner's for it.
 */
import { z } from 'zod';
import { compileGlob, globProblem } from './glob.ts';

const pattern = z
  .string()
  .min(1)
  .max(256)
  .superRefine((p, ctx) => {
    const problem = globProblem(p);
    if (problem !== null) ctx.addIssue({ code: 'custom', message: `invalid pattern ${JSON.stringify(p)}: ${problem}` });
  });

export const tagRuleSchema = z.strictObject({
  /** A glob over the whole tag (`*`, `?`, `[0-9]`, `{a,b}`). */
  pattern,
  immutable: z.boolean(),
});

export const retentionSchema = z
  .strictObject({
    /** Keep the N most recently pushed tagged versions. */
    keepMostRecent: z.number().int().min(1).max(1_000_000).optional(),
    /** Keep versions (tagged or not) pulled within the last D days. */
    keepPulledWithinDays: z.number().int().min(1).max(36_500).optional(),
    /** Keep versions with a tag matching one of these patterns. */
    keepTags: z.array(pattern).max(50).optional(),
    /** Remove untagged versions pushed more than D days ago (0: any untagged version). */
    removeUntaggedOlderThanDays: z.number().int().min(0).max(36_500).optional(),
  })
  .refine((r) => r.keepMostRecent !== undefined || r.keepPulledWithinDays !== undefined || (r.keepTags?.length ?? 0) > 0 || r.removeUntaggedOlderThanDays !== undefined, {
    message: 'a retention policy needs at least one rule (keepMostRecent, keepPulledWithinDays, keepTags or removeUntaggedOlderThanDays)',
  });

export const policySettingsSchema = z.strictObject({
  tagRules: z.array(tagRuleSchema).max(100).nullable().optional(),
  allowChartOverwrite: z.boolean().nullable().optional(),
  retention: retentionSchema.nullable().optional(),
});

export type TagRule = z.infer<typeof tagRuleSchema>;
export type RetentionRules = z.infer<typeof retentionSchema>;
export type PolicySettings = z.infer<typeof policySettingsSchema>;

export type PolicySource = 'package' | 'owner' | 'site' | 'none';

export interface EffectivePolicy {
  tagRules: { rules: TagRule[]; source: PolicySource };
  chartOverwrite: { allowed: boolean; source: PolicySource };
  retention: { rules: RetentionRules | null; source: PolicySource };
}

/** What a package's decisions use: its own settings over its owner's over the site's. */
export function resolvePolicy(site: { allowChartOverwrite: boolean }, owner: PolicySettings | null, pkg: PolicySettings | null): EffectivePolicy {
  const pick = <T>(key: 'tagRules' | 'allowChartOverwrite' | 'retention', get: (s: PolicySettings) => T | null | undefined): { value: T | null; source: PolicySource } => {
    if (pkg && pkg[key] !== undefined) return { value: get(pkg) ?? null, source: 'package' };
    if (owner && owner[key] !== undefined) return { value: get(owner) ?? null, source: 'owner' };
    return { value: null, source: 'none' };
  };
  const tags = pick('tagRules', (s) => s.tagRules);
  const charts = pick('allowChartOverwrite', (s) => s.allowChartOverwrite);
  const retention = pick('retention', (s) => s.retention);
  return {
    tagRules: { rules: tags.value ?? [], source: tags.source },
    chartOverwrite: charts.value === null ? { allowed: site.allowChartOverwrite, source: 'site' } : { allowed: charts.value, source: charts.source },
    retention: { rules: retention.value, source: retention.value === null && retention.source === 'none' ? 'none' : retention.source },
  };
}

/** The rule deciding `tag` (first match), with its 1-based position, or null (mutable). */
export function tagRuleFor(tag: string, rules: readonly TagRule[]): { rule: TagRule; position: number } | null {
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i] as TagRule;
    if (compileGlob(rule.pattern)(tag)) return { rule, position: i + 1 };
  }
  return null;
}

/** "package rule 2 (pattern "v*", immutable)": how refusals and previews name a rule. */
export function describeTagRule(hit: { rule: TagRule; position: number }, source: PolicySource): string {
  return `${source} tag rule ${hit.position} (pattern ${JSON.stringify(hit.rule.pattern)}, ${hit.rule.immutable ? 'immutable' : 'mutable'})`;
}

/** The immutable rule protecting `tag`, described, or null when the tag may move. */
export function immutableBy(tag: string, policy: EffectivePolicy): string | null {
  const hit = tagRuleFor(tag, policy.tagRules.rules);
  return hit?.rule.immutable ? describeTagRule(hit, policy.tagRules.source) : null;
}

/** How the chart overwrite setting in force is named in a refusal. */
export function describeChartRule(policy: EffectivePolicy): string {
  switch (policy.chartOverwrite.source) {
    case 'package':
      return 'package setting allowChartOverwrite: false';
    case 'owner':
      return "owner setting allowChartOverwrite: false";
    default:
      return 'site setting charts.allowOverwrite: false';
  }
}

/** Whether a stored document holds retention rules (kept as a column for the scheduled run). */
export function hasRetention(s: PolicySettings): boolean {
  return s.retention !== undefined && s.retention !== null;
}
