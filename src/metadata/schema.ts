import type { Generated } from 'kysely';
import type { AccountTables, PackageColumns } from './accounts-schema.ts';



/** Timestamps are milliseconds since the epoch in every dialect. */
export interface RepositoriesTable extends Partial<PackageColumns> {
  name: string;
  owner: string;
  created_at: number;
  updated_at: number;
  /** Bumped by every change to the repository's tags (cache validation). */
  tag_version?: number;
  /** Set while the whole package is in the trash (migration 0009). */
  trashed_at?: number | null;
}

export interface RepoBlobsTable {
  repo: string;
  digest: string;
  size: number;
  created_at: number;
  /** Last upload, mount or HEAD/GET in this repository (ms); null only before migration 0008 ran. */
  touched_at: number | null;
}

export interface ManifestsTable {
  repo: string;
  digest: string;
  media_type: string;
  size: number;
  content: Uint8Array;
  artifact_type: string | null;
  config_media_type: string | null;
  config_digest: string | null;
  subject: string | null;
  annotations: string | null;
  created_at: number;
  /** Set while the manifest is in the trash: hidden everywhere but kept for GC (migration 0009). */
  trashed_at: Generated<number | null>;
}

export interface ManifestRefsTable {
  repo: string;
  digest: string;
  child: string;
  kind: 'blob' | 'manifest';
}

export interface TagsTable {
  repo: string;
  name: string;
  digest: string;
  updated_at: number;
}

export interface UploadsTable {
  id: string;
  repo: string;
  created_at: number;
  updated_at: number;
  /** The digest this session is committing into (a GC pin), set just before the commit. */
  digest?: string | null;
}

export interface BlobLocksTable {
  digest: string;
}

/** A package or version in the trash (migration 0009). */
export interface TrashTable {
  id: string;
  owner: string;
  repo: string;
  kind: 'package' | 'version';
  digest: string | null;
  actor: string;
  trashed_at: number;
  expires_at: number;
}

export interface TrashManifestsTable {
  repo: string;
  digest: string;
  trash_id: string;
}

export interface TrashTagsTable {
  trash_id: string;
  name: string;
  digest: string;
  updated_at: number;
}

export interface DB extends AccountTables {
  repositories: RepositoriesTable;
  repo_blobs: RepoBlobsTable;
  manifests: ManifestsTable;
  manifest_refs: ManifestRefsTable;
  tags: TagsTable;
  uploads: UploadsTable;
  trash: TrashTable;
  trash_manifests: TrashManifestsTable;
  trash_tags: TrashTagsTable;
  blob_locks: BlobLocksTable;
}
