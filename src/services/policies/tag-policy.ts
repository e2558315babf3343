/**
 * Tag immutability and chart-version immutability, decided inside the caller's transaction from
 * the database (never per-replica memory), so every replica and the CLI agree: a push that would
 * move an immutable tag, or replace a chart version, and a delete that would remove an immutable
 * tag, are refused with DENIED and a message naming the tag and the rule (docs/adr/0013-policies.md).
 * Re-pushing the manifest a tag already points at moves nothing and is never refused.
 */
import { RegistryError } from '../../errors.ts';
import type { Metadata } from '../../metadata/metadata.ts';
import type { PolicyRow } from '../../metadata/policies.ts';
import type { Digest } from '../../oci/digest.ts';
import { MediaType } from '../../oci/mediatypes.ts';
import { ownerOf, type RepoName, type Tag } from '../../oci/name.ts';
import { describeChartRule, type EffectivePolicy, immutableBy, policySettingsSchema, type PolicySettings, resolvePolicy } from './model.ts';

export interface SiteDefaults {
  /** `charts.allowOverwrite`: chart versions may be replaced unless an owner or package says otherwise. */
  allowChartOverwrite: boolean;
}

/** A stored document, validated again on read (written only through the schema, so a failure is a bug). */
export function parseSettings(row: PolicyRow | undefined): PolicySettings | null {
  if (!row) return null;
  const r = policySettingsSchema.safeParse(JSON.parse(row.settings));
  if (!r.success) throw new RegistryError('INTERNAL', `stored policy of ${row.target} is invalid`, { target: row.target });
  return r.data;
}

function short(d: Digest): string {
  return d.slice(0, 19);
}

export class TagPolicy {
  private readonly site: SiteDefaults;
  constructor(site: SiteDefaults) {
    this.site = site;
  }

  get siteDefaults(): SiteDefaults {
    return this.site;
  }

  /** The policy in force for `repo` (its own settings over its owner's over the site's): one query. */
  async effective(m: Metadata, repo: RepoName): Promise<EffectivePolicy> {
    const owner = ownerOf(repo);
    const rows = await m.policies.get([owner, repo]);
    return resolvePolicy(this.site, parseSettings(rows.find((r) => r.target === owner)), parseSettings(rows.find((r) => r.target === repo)));
  }

  /**
   * Refuses a push of manifest `digest` (a chart when `chart`) onto `tags` when one of them points
   * at another manifest and may not move. Reads the policy only when a tag actually moves. A
   * chart version's own rule is named first: it is the more specific reason.
   */
  async refuseMoves(m: Metadata, repo: RepoName, digest: Digest, chart: boolean, tags: readonly Tag[]): Promise<void> {
    let policy: EffectivePolicy | null = null;
    for (const tag of tags) {
      const current = await m.tags.resolve(repo, tag);
      if (!current || current.digest === digest) continue;
      policy ??= await this.effective(m, repo);
      if ((chart || current.configMediaType === MediaType.HelmConfig) && !policy.chartOverwrite.allowed) {
        throw new RegistryError('DENIED', `chart version ${tag} of ${repo} already exists (${short(current.digest)}) and chart versions are immutable (${describeChartRule(policy)}); push a new version`, {
          name: repo,
          tag,
          digest: current.digest,
          rule: describeChartRule(policy),
        });
      }
      const rule = immutableBy(tag, policy);
      if (rule) {
        throw new RegistryError('DENIED', `tag ${tag} of ${repo} is immutable (${rule}): it points at ${short(current.digest)}; push a new tag instead`, {
          name: repo,
          tag,
          digest: current.digest,
          rule,
        });
      }
    }
  }

  /** Refuses removing `tags` (a tag delete, a manifest delete, a move to the trash) when one is immutable. */
  async refuseDeletes(m: Metadata, repo: RepoName, tags: readonly Tag[], what: string): Promise<void> {
    if (tags.length === 0) return;
    const policy = await this.effective(m, repo);
    for (const tag of tags) {
      const rule = immutableBy(tag, policy);
      if (rule) throw new RegistryError('DENIED', `${what} would remove tag ${tag} of ${repo}, which is immutable (${rule})`, { name: repo, tag, rule });
    }
  }
}

export function isChartConfig(configMediaType: string | null): boolean {
  return configMediaType === MediaType.HelmConfig;
}
