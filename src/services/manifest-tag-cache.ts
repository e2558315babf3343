import { StampedLru } from '../lib/stamped-lru.ts';
import type { ManifestRecord } from '../metadata/registry.ts';
import type { RepoName, Tag } from '../oci/name.ts';
import { sameTagStamp, type TagStamp } from '../oci/tag-stamp.ts';

/**
 * What a tag resolved to, held in this process and reused while the repository's tag stamp is
 * unchanged (issue 18, ADR 0026 addendum). Every change to a repository's tags (push, delete,
 * trash, restore, retention) bumps its stamp in the same transaction, and the stamp is read on
 * every request with the access facts, so a hit answers exactly what the database would have at
 * that read, on every replica. A manifest's content never changes under its digest.
 *
 * Bounded by the bytes of manifest content held (least recently used first); a manifest larger
 * than a sixteenth of the bound is answered but not kept.
 */
export class ManifestTagCache {
  private readonly lru: StampedLru<TagStamp, ManifestRecord>;

  constructor(maxBytes: number) {
    this.lru = new StampedLru({ maxWeight: maxBytes, maxItemWeight: maxBytes / 16, weigh: (m) => m.content.length, same: sameTagStamp });
  }

  get(repo: RepoName, tag: Tag, stamp: TagStamp): ManifestRecord | undefined {
    return this.lru.get(keyOf(repo, tag), stamp);
  }

  set(repo: RepoName, tag: Tag, stamp: TagStamp, record: ManifestRecord): void {
    this.lru.set(keyOf(repo, tag), stamp, record);
  }

  get size(): number {
    return this.lru.size;
  }
}

function keyOf(repo: RepoName, tag: Tag): string {
  // A newline is in neither a repository name nor a tag.
  return `${repo}\n${tag}`;
}
