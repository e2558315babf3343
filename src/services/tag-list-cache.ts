import type { RepoName, Tag } from '../oci/name.ts';

export interface TagStamp {
  created: number;
  version: number;
}

interface Entry {
  stamp: TagStamp;
  names: readonly Tag[];
  /** The whole list as JSON, made on first use (most listings ask for everything). */
  json: string | null;
}

export interface TagPage {
  json: string;
  /** The `last` of the next page, or null when this page reaches the end. */
  next: string | null;
}

/**
 * Tag lists of recently listed repositories, held in this process and reused while the
 * repository's tag stamp (one indexed read per request) is unchanged, so every replica always
 * answers the current list. Listing 10,000 tags from the database costs milliseconds; a page from
 * here costs microseconds. Bounded by the total number of names held, least recently used first.
 */
export class TagListCache {
  private readonly entries = new Map<RepoName, Entry>();
  private readonly maxNames: number;
  private heldNames = 0;

  constructor(maxNames: number) {
    this.maxNames = maxNames;
  }

  async page(
    repo: RepoName,
    stamp: TagStamp,
    load: () => Promise<Tag[]>,
    opts: { n: number; last: string | undefined },
  ): Promise<TagPage> {
    const entry = this.lookup(repo, stamp) ?? this.store(repo, stamp, await load());
    const names = entry.names;
    const from = opts.last === undefined ? 0 : firstAfter(names, opts.last);
    const to = Math.min(from + opts.n, names.length);
    const next = to < names.length && to > from ? (names[to - 1] ?? null) : null;
    if (from === 0 && to === names.length) {
      entry.json ??= JSON.stringify(names);
      return { json: entry.json, next: null };
    }
    return { json: JSON.stringify(names.slice(from, to)), next };
  }

  private lookup(repo: RepoName, stamp: TagStamp): Entry | undefined {
    const entry = this.entries.get(repo);
    if (!entry) return undefined;
    this.entries.delete(repo);
    if (entry.stamp.created !== stamp.created || entry.stamp.version !== stamp.version) {
      this.heldNames -= entry.names.length;
      return undefined;
    }
    this.entries.set(repo, entry); // most recently used last
    return entry;
  }

  private store(repo: RepoName, stamp: TagStamp, names: Tag[]): Entry {
    const entry: Entry = { stamp, names, json: null };
    if (names.length > this.maxNames) return entry; // too big to keep: answer, don't hold
    const old = this.entries.get(repo);
    if (old) this.heldNames -= old.names.length;
    this.entries.delete(repo);
    this.entries.set(repo, entry);
    this.heldNames += names.length;
    for (const [key, e] of this.entries) {
      if (this.heldNames <= this.maxNames) break;
      this.entries.delete(key);
      this.heldNames -= e.names.length;
    }
    return entry;
  }
}

/**
 * Index of the first name greater than `last` in byte order. Tag names are ASCII (the spec's
 * grammar), where JavaScript's string order is byte order.
 */
function firstAfter(names: readonly string[], last: string): number {
  let lo = 0;
  let hi = names.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((names[mid] as string) <= last) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
