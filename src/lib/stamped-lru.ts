/**
 * A least-recently-used map whose entries are valid only under the stamp they were stored with:
 * a lookup under another stamp drops the entry and misses. Bounded by the total weight of the
 * values held; a value heavier than `maxItemWeight` is not kept (the caller answers it anyway).
 */
export interface StampedLruOptions<S, V> {
  maxWeight: number;
  maxItemWeight: number;
  weigh: (value: V) => number;
  same: (a: S, b: S) => boolean;
}

export class StampedLru<S, V> {
  private readonly entries = new Map<string, { stamp: S; value: V; weight: number }>();
  private readonly opts: StampedLruOptions<S, V>;
  private held = 0;

  constructor(opts: StampedLruOptions<S, V>) {
    this.opts = opts;
  }

  get(key: string, stamp: S): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (!this.opts.same(entry.stamp, stamp)) {
      this.held -= entry.weight;
      return undefined;
    }
    this.entries.set(key, entry); // most recently used last
    return entry.value;
  }

  set(key: string, stamp: S, value: V): void {
    const weight = this.opts.weigh(value);
    if (weight > this.opts.maxItemWeight) return;
    const old = this.entries.get(key);
    if (old) {
      this.held -= old.weight;
      this.entries.delete(key);
    }
    this.entries.set(key, { stamp, value, weight });
    this.held += weight;
    for (const [k, e] of this.entries) {
      if (this.held <= this.opts.maxWeight) break;
      this.entries.delete(k);
      this.held -= e.weight;
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
