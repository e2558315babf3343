import type { ManifestRecord } from '../metadata/registry.ts';
import type { Digest } from '../oci/digest.ts';
import type { RepoName, Tag } from '../oci/name.ts';
import type { EventBus } from '../lib/events.ts';

/** Registry domain events, emitted after the change is committed. */
export interface RegistryEvents extends Record<string, unknown> {
  'manifest.pushed': { repo: RepoName; manifest: ManifestRecord; tags: Tag[] };
  'manifest.deleted': { repo: RepoName; digest: Digest };
  'tag.deleted': { repo: RepoName; tag: Tag; digest: Digest };
  'manifest.pulled': { repo: RepoName; digest: Digest };
  /** A whole package was deleted (its manifests, tags and links are gone). */
  'repository.deleted': { repo: RepoName };
}

export type RegistryEventBus = EventBus<RegistryEvents>;
