/**
 * Retention runs (docs/adr/0013-policies.md): evaluate a package's rules and move what they remove
 * to the trash (restorable; GC frees the bytes after the purge). A preview runs the very same
 * code in a transaction that is rolled back, so it lists exactly what an apply at that moment
 * would remove — with each version's children and referrers that go with it — and why.
 *
 * One package is one transaction that starts by locking the repository row: pushes to the package
 * wait for it (as they do for a trash move), so no decision is taken on a stale view and a
 * kill -9 leaves all of a package's removals or none. The scheduled run is the `retention.apply`
 * job of the shared runner (ADR 0008), once across replicas.
 */
import type { Principal } from '../../auth/principal.ts';
import { RegistryError } from '../../errors.ts';
import { dayOf } from '../../metadata/downloads.ts';
import type { Metadata } from '../../metadata/metadata.ts';
import { parseRepoName, type RepoName } from '../../oci/name.ts';
import type { AuthzService } from '../authz.ts';
import type { Job, JobContext } from '../jobs/runner.ts';
import type { TrashService } from '../trash.ts';
import { immutableBy, type PolicySource, type RetentionRules, retentionSchema } from './model.ts';
import { evaluateRetention, type RetentionDecision, versionsOf } from './retention.ts';
import { requireOwnerAdmin, requirePackageAdmin } from './settings.ts';
import type { TagPolicy } from './tag-policy.ts';

export interface RetentionDeps {
  metadata: Metadata;
  authz: AuthzService;
  trash: TrashService;
  tagPolicy: TagPolicy;
  clock: () => number;
  /** Writes this replica's pending pull counts first, so a pull just served counts (DownloadCounter.flush). */
  flushPulls?: () => Promise<void>;
}

export interface VersionOutcome extends Omit<RetentionDecision, 'pushedAt' | 'lastPulledAt'> {
  pushedAt: string;
  lastPulledAt: string | null;
  /** For a removal: every manifest that goes with it (the version, its index children, its referrers). */
  manifests: string[];
  /** For an applied removal: the trash entry that restores it. */
  trash: string | null;
}

export interface PackageRetention {
  package: string;
  /** Where the rules come from (`none`: no rule applies, nothing is removed). */
  source: PolicySource | 'preview';
  rules: RetentionRules | null;
  dryRun: boolean;
  kept: number;
  removed: number;
  versions: VersionOutcome[];
}

export interface RetentionReport {
  target: string;
  dryRun: boolean;
  packages: PackageRetention[];
  kept: number;
  removed: number;
}

class Rollback extends Error {
  readonly result: PackageRetention;
  constructor(result: PackageRetention) {
    super('retention preview');
    this.result = result;
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Validates rules given for a preview (the UI's unsaved form). */
export function validateRetention(input: unknown): RetentionRules {
  const r = retentionSchema.safeParse(input);
  if (!r.success) {
    const issues = r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    throw new RegistryError('BAD_REQUEST', `invalid retention rules: ${issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')}`, { issues });
  }
  return r.data;
}

export class RetentionService {
  private readonly deps: RetentionDeps;
  constructor(deps: RetentionDeps) {
    this.deps = deps;
  }

  /**
   * What the rules in force (or `rules`, unsaved: they replace the target's own for this preview)
   * would remove from a package (a name with a `/`) or every package of an owner.
   */
  async preview(actor: Principal, target: string, rules?: RetentionRules): Promise<RetentionReport> {
    return this.run(actor, target, { dryRun: true, rules });
  }

  async apply(actor: Principal, target: string): Promise<RetentionReport> {
    return this.run(actor, target, { dryRun: false, rules: undefined });
  }

  private async run(actor: Principal, target: string, opts: { dryRun: boolean; rules: RetentionRules | undefined }): Promise<RetentionReport> {
    const m = this.deps.metadata;
    let repos: RepoName[];
    let ownerLevel: boolean;
    if (target.includes('/')) {
      let repo: RepoName;
      try {
        repo = parseRepoName(target);
      } catch {
        throw new RegistryError('NOT_FOUND', 'package not found', { package: target });
      }
      await requirePackageAdmin(m, this.deps.authz, actor, repo);
      repos = [repo];
      ownerLevel = false;
    } else {
      await requireOwnerAdmin(m, actor, target);
      repos = (await m.packages.listByOwner(target)).map((p) => p.name as RepoName);
      ownerLevel = true;
    }
    const packages: PackageRetention[] = [];
    for (const repo of repos) {
      const r = await this.runPackage(actor, repo, { dryRun: opts.dryRun, rules: opts.rules, ownerLevel });
      if (r) packages.push(r);
    }
    const report: RetentionReport = {
      target,
      dryRun: opts.dryRun,
      packages,
      kept: packages.reduce((n, p) => n + p.kept, 0),
      removed: packages.reduce((n, p) => n + p.removed, 0),
    };
    if (!opts.dryRun && report.removed > 0) {
      await m.audit.append({ at: this.deps.clock(), actor: actor.name || 'anonymous', action: 'retention.apply', target, detail: { packages: packages.filter((p) => p.removed > 0).map((p) => ({ package: p.package, removed: p.removed })) }, address: null });
    }
    return report;
  }

  /**
   * One package, in one transaction holding its repository row. `rules` (a preview's unsaved
   * rules) replace the package's own when `ownerLevel` is false, else its owner's (a package
   * with rules of its own keeps them). Null when the package vanished meanwhile.
   */
  async runPackage(actor: Principal, repo: RepoName, opts: { dryRun: boolean; rules?: RetentionRules | undefined; ownerLevel?: boolean }): Promise<PackageRetention | null> {
    await this.deps.flushPulls?.();
    try {
      return await this.deps.metadata.transaction(async (m) => {
        const row = await m.packages.lock(repo);
        if (!row || row.trashedAt !== null) return null;
        const policy = await this.deps.tagPolicy.effective(m, repo);
        let rules = policy.retention.rules;
        let source: PackageRetention['source'] = policy.retention.source;
        if (opts.rules !== undefined && !(opts.ownerLevel && policy.retention.source === 'package')) {
          rules = opts.rules;
          source = 'preview';
        }
        const result: PackageRetention = { package: repo, source, rules, dryRun: opts.dryRun, kept: 0, removed: 0, versions: [] };
        if (!rules) return result;
        const now = this.deps.clock();
        const lastPulled = new Map<string, number>();
        if (rules.keepPulledWithinDays !== undefined) {
          for (const p of await m.downloads.daily(repo, dayOf(now) - rules.keepPulledWithinDays)) {
            if (p.count > 0) lastPulled.set(p.digest, Math.max(lastPulled.get(p.digest) ?? 0, p.day));
          }
        }
        const decisions = evaluateRetention(versionsOf(await m.policies.contents(repo), lastPulled), rules, { now, immutable: (t) => immutableBy(t, policy) });
        for (const d of decisions) {
          const outcome: VersionOutcome = { ...d, pushedAt: iso(d.pushedAt), lastPulledAt: d.lastPulledAt === null ? null : iso(d.lastPulledAt).slice(0, 10), manifests: [], trash: null };
          if (d.action === 'remove') {
            const moved = await this.deps.trash.trashVersionIn(m, actor, repo, d.digest, { reason: 'retention', because: d.reasons });
            outcome.manifests = moved.members;
            outcome.trash = opts.dryRun ? null : moved.entry.id;
            result.removed++;
          } else result.kept++;
          result.versions.push(outcome);
        }
        if (opts.dryRun) throw new Rollback(result);
        return result;
      });
    } catch (err) {
      if (err instanceof Rollback) return err.result;
      throw err;
    }
  }

  /** Every package under a retention rule (its own or its owner's): what the scheduled job runs. */
  async applyAll(actor: Principal, ctx?: Pick<JobContext, 'signal' | 'progress'>): Promise<{ packages: number; removed: number; kept: number }> {
    const m = this.deps.metadata;
    const repos = new Set<RepoName>();
    for (const row of await m.policies.withRetention()) {
      if (row.kind === 'package') repos.add(row.target as RepoName);
      else for (const p of await m.packages.listByOwner(row.owner)) repos.add(p.name as RepoName);
    }
    const total = { packages: 0, removed: 0, kept: 0 };
    for (const repo of [...repos].sort()) {
      ctx?.signal.throwIfAborted();
      const r = await this.runPackage(actor, repo, { dryRun: false });
      if (!r) continue;
      total.packages++;
      total.removed += r.removed;
      total.kept += r.kept;
      if (r.removed > 0) {
        await m.audit.append({ at: this.deps.clock(), actor: actor.name || 'system', action: 'retention.apply', target: repo, detail: { removed: r.removed, kept: r.kept, source: r.source }, address: null });
      }
      ctx?.progress({ phase: 'applying', packages: total.packages, of: repos.size, removed: total.removed });
    }
    return total;
  }

  /** The scheduled and on-demand run over every package under a rule (ADR 0008's runner). */
  job(actor: Principal): Job<Record<string, never>, Record<string, unknown>> {
    return { name: 'retention.apply', run: async (ctx) => ({ ...(await this.applyAll(actor, ctx)) }) };
  }
}

