import type { AccountTables, PackageColumns } from './accounts-schema.ts';



/** Timestamps are milliseconds since the epoch in every dialect. */
export interface RepositoriesTable extends Partial<PackageColumns> {
  name: string;
  owner: string;
  created_at: number;
  updated_at: number;
  /** Bumped by every change to the repository's tags (cache validation). */
  tag_version?: number;
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


export interface DB extends AccountTables {
  repositories: RepositoriesTable;
  repo_blobs: RepoBlobsTable;
  manifests: ManifestsTable;
  manifest_refs: ManifestRefsTable;
  tags: TagsTable;
  uploads: UploadsTable;
  blob_locks: BlobLocksTable;
}
