import { StampedLru } from '../lib/stamped-lru.ts';
import type { RepoName, Tag } from '../oci/name.ts';
import { sameTagStamp, type TagStamp } from '../oci/tag-stamp.ts';

interface Entry {
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
  private readonly lru: StampedLru<TagStamp, Entry>;

  constructor(maxNames: number) {
    this.lru = new StampedLru({ maxWeight: maxNames, maxItemWeight: maxNames, weigh: (e) => e.names.length, same: sameTagStamp });
  }

  async page(
    repo: RepoName,
    stamp: TagStamp,
    load: () => Promise<Tag[]>,
    opts: { n: number; last: string | undefined },
  ): Promise<TagPage> {
    let entry = this.lru.get(repo, stamp);
    if (!entry) {
      entry = { names: await load(), json: null };
      this.lru.set(repo, stamp, entry); // not kept when too big: answered, not held
    }
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
