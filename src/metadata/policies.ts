import type { Kysely } from 'kysely';
import type { Digest } from '../oci/digest.ts';
import type { RepoName, Tag } from '../oci/name.ts';
import type { DB } from './schema.ts';

/** Table of migration 0012_policies. */
export interface PoliciesTable {
  target: string;
  owner: string;
  kind: string;
  settings: string;
  has_retention: number;
  updated_at: number;
  updated_by: string;
}

export type PolicyTables = { policies: PoliciesTable };

export type PolicyTargetKind = 'owner' | 'package';

/** One stored policy document; `settings` is JSON the service validates on read. */
export interface PolicyRow {
  target: string;
  owner: string;
  kind: PolicyTargetKind;
  settings: string;
  hasRetention: boolean;
  updatedAt: number;
  updatedBy: string;
}

/** A live manifest of a package as retention sees it. */
export interface LiveManifestRow {
  digest: Digest;
  createdAt: number;
  subject: Digest | null;
  mediaType: string;
  configMediaType: string | null;
  artifactType: string | null;
}

/** What retention reads of one package: live manifests, which live index lists which, tags. */
export interface PackageContents {
  manifests: LiveManifestRow[];
  /** Live index → child manifest. */
  listings: { index: Digest; child: Digest }[];
  tags: { name: Tag; digest: Digest; updatedAt: number }[];
}

function toRow(r: PoliciesTable): PolicyRow {
  return {
    target: r.target,
    owner: r.owner,
    kind: r.kind === 'owner' ? 'owner' : 'package',
    settings: r.settings,
    hasRetention: Number(r.has_retention) === 1,
    updatedAt: Number(r.updated_at),
    updatedBy: r.updated_by,
  };
}

/** Policies of owners and packages, and the package contents retention evaluates. */
export class PolicyStore {
  private readonly db: Kysely<DB & PolicyTables>;
  constructor(db: Kysely<DB>) {
    this.db = db.withTables<PolicyTables>();
  }

  /** The rows of `targets` that exist (an owner and a package: the two a decision needs, in one query). */
  async get(targets: readonly string[]): Promise<PolicyRow[]> {
    if (targets.length === 0) return [];
    return (await this.db.selectFrom('policies').selectAll().where('target', 'in', [...targets]).execute()).map(toRow);
  }

  async put(row: PolicyRow): Promise<void> {
    const values = {
      target: row.target,
      owner: row.owner,
      kind: row.kind,
      settings: row.settings,
      has_retention: row.hasRetention ? 1 : 0,
      updated_at: row.updatedAt,
      updated_by: row.updatedBy,
    };
    await this.db
      .insertInto('policies')
      .values(values)
      .onConflict((oc) => oc.column('target').doUpdateSet({ settings: values.settings, has_retention: values.has_retention, updated_at: values.updated_at, updated_by: values.updated_by }))
      .execute();
  }

  async delete(target: string): Promise<boolean> {
    const res = await this.db.deleteFrom('policies').where('target', '=', target).executeTakeFirst();
    return res.numDeletedRows > 0n;
  }

  /** Every row with retention rules (what the scheduled run evaluates). */
  async withRetention(): Promise<PolicyRow[]> {
    return (await this.db.selectFrom('policies').selectAll().where('has_retention', '=', 1).orderBy('target').execute()).map(toRow);
  }

  /** Live manifests, listings and tags of `repo` (three range scans on primary keys). */
  async contents(repo: RepoName): Promise<PackageContents> {
    const manifests = await this.db
      .selectFrom('manifests')
      .select(['digest', 'created_at', 'subject', 'media_type', 'config_media_type', 'artifact_type'])
      .where('repo', '=', repo)
      .where('trashed_at', 'is', null)
      .execute();
    const listings = await this.db
      .selectFrom('manifest_refs')
      .innerJoin('manifests', (j) => j.onRef('manifests.repo', '=', 'manifest_refs.repo').onRef('manifests.digest', '=', 'manifest_refs.digest'))
      .select(['manifest_refs.digest as index', 'manifest_refs.child as child'])
      .where('manifest_refs.repo', '=', repo)
      .where('manifest_refs.kind', '=', 'manifest')
      .where('manifests.trashed_at', 'is', null)
      .execute();
    const tags = await this.db.selectFrom('tags').select(['name', 'digest', 'updated_at']).where('repo', '=', repo).execute();
    return {
      manifests: manifests.map((r) => ({
        digest: r.digest as Digest,
        createdAt: Number(r.created_at),
        subject: r.subject as Digest | null,
        mediaType: r.media_type,
        configMediaType: r.config_media_type,
        artifactType: r.artifact_type,
      })),
      listings: listings.map((r) => ({ index: r.index as Digest, child: r.child as Digest })),
      tags: tags.map((r) => ({ name: r.name as Tag, digest: r.digest as Digest, updatedAt: Number(r.updated_at) })),
    };
  }
}
