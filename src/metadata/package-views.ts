import type { Kysely } from 'kysely';
import type { Digest } from '../oci/digest.ts';
import type { DB } from './schema.ts';

/** A manifest without its bytes, for listings. */
export interface ManifestSummary {
  repo: string;
  digest: Digest;
  mediaType: string;
  size: number;
  artifactType: string | null;
  configMediaType: string | null;
  configDigest: Digest | null;
  subject: Digest | null;
  annotations: Record<string, string> | null;
  createdAt: number;
}

export interface TagRow {
  repo: string;
  name: string;
  digest: Digest;
  updatedAt: number;
}

/** Read-only queries behind the UI's package listings and pages (many repositories at once). */
export class PackageViewStore {
  private readonly db: Kysely<DB>;
  constructor(db: Kysely<DB>) {
    this.db = db;
  }

  async manifests(repos: readonly string[]): Promise<ManifestSummary[]> {
    if (repos.length === 0) return [];
    const rows = await this.db
      .selectFrom('manifests')
      .select(['repo', 'digest', 'media_type', 'size', 'artifact_type', 'config_media_type', 'config_digest', 'subject', 'annotations', 'created_at'])
      .where('repo', 'in', [...new Set(repos)])
      .where('trashed_at', 'is', null)
      .execute();
    return rows.map((r) => ({
      repo: r.repo,
      digest: r.digest as Digest,
      mediaType: r.media_type,
      size: Number(r.size),
      artifactType: r.artifact_type,
      configMediaType: r.config_media_type,
      configDigest: r.config_digest as Digest | null,
      subject: r.subject as Digest | null,
      annotations: r.annotations ? (JSON.parse(r.annotations) as Record<string, string>) : null,
      createdAt: Number(r.created_at),
    }));
  }

  /** Digests that are children of a live index in the same repository (platform manifests). */
  async indexChildren(repos: readonly string[]): Promise<{ repo: string; parent: Digest; child: Digest }[]> {
    if (repos.length === 0) return [];
    const rows = await this.db
      .selectFrom('manifest_refs')
      .innerJoin('manifests', (j) => j.onRef('manifests.repo', '=', 'manifest_refs.repo').onRef('manifests.digest', '=', 'manifest_refs.digest'))
      .select(['manifest_refs.repo as repo', 'manifest_refs.digest as digest', 'manifest_refs.child as child'])
      .where('manifest_refs.repo', 'in', [...new Set(repos)])
      .where('manifest_refs.kind', '=', 'manifest')
      .where('manifests.trashed_at', 'is', null)
      .execute();
    return rows.map((r) => ({ repo: r.repo, parent: r.digest as Digest, child: r.child as Digest }));
  }

  async tags(repos: readonly string[]): Promise<TagRow[]> {
    if (repos.length === 0) return [];
    const rows = await this.db.selectFrom('tags').select(['repo', 'name', 'digest', 'updated_at']).where('repo', 'in', [...new Set(repos)]).execute();
    return rows.map((r) => ({ repo: r.repo, name: r.name, digest: r.digest as Digest, updatedAt: Number(r.updated_at) }));
  }

  /**
   * The owner's packages linked to the source repository `source`. Only the owner's: the source
   * is whatever a pusher wrote in a label, so a stranger could otherwise claim anyone's source.
   */
  async bySource(owner: string, source: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('repositories')
      .select('name')
      .where('owner', '=', owner)
      .where('source', '=', source)
      .where('trashed_at', 'is', null)
      .orderBy('name')
      .execute();
    return rows.map((r) => r.name);
  }
}
