/**
 * Reading and changing the policy documents of packages and owners (docs/adr/0013-policies.md).
 * Package admins change a package's; owner administrators (the user, an organization's owners,
 * site admins) change an owner's defaults. Every change is one transaction with its audit row.
 */
import type { Principal } from '../../auth/principal.ts';
import { RegistryError } from '../../errors.ts';
import type { Metadata } from '../../metadata/metadata.ts';
import type { PolicyTargetKind } from '../../metadata/policies.ts';
import { ownerOf, type RepoName } from '../../oci/name.ts';
import type { AuthzService } from '../authz.ts';
import { type EffectivePolicy, hasRetention, policySettingsSchema, type PolicySettings, resolvePolicy } from './model.ts';
import { parseSettings, type TagPolicy } from './tag-policy.ts';

export interface PolicyServiceDeps {
  metadata: Metadata;
  authz: AuthzService;
  tagPolicy: TagPolicy;
  clock: () => number;
}

export interface PolicyView {
  target: string;
  kind: PolicyTargetKind;
  /** This target's own settings ({} when none are stored). */
  settings: PolicySettings;
  /** For a package: its owner's defaults, which apply where the package sets nothing. */
  ownerSettings: PolicySettings | null;
  /** What decisions use, and where each part comes from. */
  effective: EffectivePolicy;
  updatedAt: string | null;
  updatedBy: string | null;
}

/** Validates a policy document; BAD_REQUEST with each problem otherwise. */
export function validateSettings(input: unknown): PolicySettings {
  const r = policySettingsSchema.safeParse(input);
  if (!r.success) {
    const issues = r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    throw new RegistryError('BAD_REQUEST', `invalid policy: ${issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')}`, { issues });
  }
  return r.data;
}

/** Package admins, with a credential allowed to delete (retention removes versions). */
export async function requirePackageAdmin(m: Metadata, authz: AuthzService, actor: Principal, repo: RepoName): Promise<void> {
  const pkg = await m.packages.get(repo);
  if (!pkg || pkg.trashedAt !== null || !(await authz.canPull(actor, repo))) throw new RegistryError('NOT_FOUND', 'package not found', { package: repo });
  if ((await authz.role(actor, repo)) !== 'admin' || !(await authz.actions(actor, repo)).has('delete')) {
    throw new RegistryError('DENIED', 'package admins only (and a token with delete:packages)', { package: repo });
  }
}

/** The owner's account itself, its organization's owners, site admins (and the CLI). */
export async function requireOwnerAdmin(m: Metadata, actor: Principal, owner: string): Promise<void> {
  if (actor.kind === 'system' || (actor.admin && !actor.token)) return;
  if (actor.kind !== 'user' || actor.token) throw new RegistryError('DENIED', 'owner administrators only (signed in, not with a token)', { owner });
  if (actor.name === owner) return;
  if ((await m.memberships.orgRole(owner, actor.name)) !== 'owner') throw new RegistryError('DENIED', 'owner administrators only', { owner });
}

export class PolicyService {
  private readonly deps: PolicyServiceDeps;
  constructor(deps: PolicyServiceDeps) {
    this.deps = deps;
  }

  async ofPackage(actor: Principal, repo: RepoName): Promise<PolicyView> {
    await requirePackageAdmin(this.deps.metadata, this.deps.authz, actor, repo);
    return this.view(this.deps.metadata, repo, 'package');
  }

  async ofOwner(actor: Principal, owner: string): Promise<PolicyView> {
    await requireOwnerAdmin(this.deps.metadata, actor, owner);
    await this.requireOwnerExists(owner);
    return this.view(this.deps.metadata, owner, 'owner');
  }

  async setPackage(actor: Principal, repo: RepoName, input: unknown): Promise<PolicyView> {
    const settings = validateSettings(input);
    await requirePackageAdmin(this.deps.metadata, this.deps.authz, actor, repo);
    return this.write(actor, repo, 'package', ownerOf(repo), settings);
  }

  async setOwner(actor: Principal, owner: string, input: unknown): Promise<PolicyView> {
    const settings = validateSettings(input);
    await requireOwnerAdmin(this.deps.metadata, actor, owner);
    await this.requireOwnerExists(owner);
    return this.write(actor, owner, 'owner', owner, settings);
  }

  private async requireOwnerExists(owner: string): Promise<void> {
    if (!(await this.deps.metadata.accounts.get(owner)) && !(await this.deps.metadata.packages.ownerHasAny(owner))) throw new RegistryError('NOT_FOUND', 'no such owner', { owner });
  }

  private async write(actor: Principal, target: string, kind: PolicyTargetKind, owner: string, settings: PolicySettings): Promise<PolicyView> {
    const now = this.deps.clock();
    const by = actor.name || 'anonymous';
    return this.deps.metadata.transaction(async (m) => {
      const before = parseSettings((await m.policies.get([target]))[0]);
      if (Object.keys(settings).length === 0) await m.policies.delete(target);
      else await m.policies.put({ target, owner, kind, settings: JSON.stringify(settings), hasRetention: hasRetention(settings), updatedAt: now, updatedBy: by });
      await m.audit.append({ at: now, actor: by, action: kind === 'owner' ? 'owner.policy.update' : 'package.policy.update', target, detail: { before, after: settings }, address: null });
      return this.view(m, target, kind);
    });
  }

  private async view(m: Metadata, target: string, kind: PolicyTargetKind): Promise<PolicyView> {
    const owner = kind === 'owner' ? target : ownerOf(target as RepoName);
    const rows = await m.policies.get(kind === 'owner' ? [owner] : [owner, target]);
    const own = rows.find((r) => r.target === target);
    const ownerRow = rows.find((r) => r.target === owner);
    const ownerSettings = parseSettings(ownerRow);
    const settings = parseSettings(own) ?? {};
    const effective =
      kind === 'owner'
        ? resolvePolicy(this.deps.tagPolicy.siteDefaults, settings, null)
        : await this.deps.tagPolicy.effective(m, target as RepoName);
    return {
      target,
      kind,
      settings,
      ownerSettings: kind === 'package' ? ownerSettings : null,
      effective,
      updatedAt: own ? new Date(own.updatedAt).toISOString() : null,
      updatedBy: own?.updatedBy ?? null,
    };
  }
}
