import type { ManifestRecord } from '../metadata/registry.ts';
import type { RepoName, Tag } from '../oci/name.ts';
import type { TagStamp } from './tag-list-cache.ts';

interface Entry {
  stamp: TagStamp;
  record: ManifestRecord;
}

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
  private readonly entries = new Map<string, Entry>();
  private readonly maxBytes: number;
  private heldBytes = 0;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  get(repo: RepoName, tag: Tag, stamp: TagStamp): ManifestRecord | undefined {
    const key = keyOf(repo, tag);
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (entry.stamp.created !== stamp.created || entry.stamp.version !== stamp.version) {
      this.heldBytes -= entry.record.content.length;
      return undefined;
    }
    this.entries.set(key, entry); // most recently used last
    return entry.record;
  }

  set(repo: RepoName, tag: Tag, stamp: TagStamp, record: ManifestRecord): void {
    const size = record.content.length;
    if (size > this.maxBytes / 16) return;
    const key = keyOf(repo, tag);
    const old = this.entries.get(key);
    if (old) {
      this.heldBytes -= old.record.content.length;
      this.entries.delete(key);
    }
    this.entries.set(key, { stamp, record });
    this.heldBytes += size;
    for (const [k, e] of this.entries) {
      if (this.heldBytes <= this.maxBytes) break;
      this.entries.delete(k);
      this.heldBytes -= e.record.content.length;
    }
  }

  get size(): number {
    return this.entries.size;
  }
}

function keyOf(repo: RepoName, tag: Tag): string {
  // A newline is in neither a repository name nor a tag.
  return `${repo}\n${tag}`;
}
