/**
 * Counter and histogram families for the hot path (every request, every database statement).
 * prom-client's own `labels(...).inc()` rebuilds a label key and re-validates labels on every call;
 * here a series is resolved once into a plain cell the caller keeps, so recording is a few number
 * additions with no allocation. The families are prom-client metrics (registered in the Registry as
 * usual) whose `get()` reads the cells at scrape time.
 */
import { Counter, Histogram, type MetricType } from 'prom-client';

export interface CounterCell {
  value: number;
}

export class HistogramCell {
  /** Observations per bucket (not cumulative); the last slot is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  private readonly bounds: readonly number[];

  constructor(bounds: readonly number[]) {
    this.bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > (b[i] as number)) i++;
    this.counts[i] = (this.counts[i] as number) + 1;
    this.sum += value;
    this.count++;
  }
}

type Labels<L extends string> = Partial<Record<L, string | number>>;

function labelsOf<L extends string, K extends string = L>(names: readonly L[], values: readonly string[]): Labels<K | L> {
  const labels: Labels<K | L> = {};
  names.forEach((n, i) => (labels[n] = values[i] ?? ''));
  return labels;
}

type Registers = NonNullable<ConstructorParameters<typeof Counter<string>>[0]['registers']>;

/** Nothing to collect at scrape time: the cells are always current. */
function noCollect(): void {}

/**
 * prom-client's typings declare a metric's `type` as a numeric enum its runtime never exports or
 * uses: the Registry writes the string ('counter', 'histogram') into `# TYPE` lines.
 */
function metricType(type: 'counter' | 'histogram'): MetricType {
  return type as unknown as MetricType;
}

export class CounterFamily<L extends string> extends Counter<L> {
  private readonly cells = new Map<string, { labels: Labels<L>; cell: CounterCell }>();
  private readonly names: readonly L[];
  private readonly family: { name: string; help: string };

  constructor(config: { name: string; help: string; labelNames: readonly L[]; registers: Registers }) {
    super(config);
    this.names = config.labelNames;
    this.family = { name: config.name, help: config.help };
  }

  /** The cell of one label combination (values in labelNames order); keep it, it never changes. */
  cell(...values: string[]): CounterCell {
    const key = values.join('\u0000');
    let entry = this.cells.get(key);
    if (!entry) this.cells.set(key, (entry = { labels: labelsOf(this.names, values), cell: { value: 0 } }));
    return entry.cell;
  }

  override async get() {
    const values = [...this.cells.values()].map((e) => ({ labels: e.labels, value: e.cell.value }));
    return { ...this.family, type: metricType('counter'), aggregator: 'sum' as const, collect: noCollect, values };
  }

  override reset(): void {
    super.reset();
    // The base constructor calls reset() before this class's fields exist.
    for (const e of this.cells?.values() ?? []) e.cell.value = 0;
  }
}

/** `le` appears in the typed labels because the exported bucket samples carry it (never a label name of ours). */
export class HistogramFamily<L extends string> extends Histogram<L | 'le'> {
  private readonly cells = new Map<string, { labels: Labels<L | 'le'>; cell: HistogramCell }>();
  private readonly names: readonly L[];
  private readonly bounds: readonly number[];
  private readonly family: { name: string; help: string };

  constructor(config: { name: string; help: string; labelNames: readonly L[]; buckets: readonly number[]; registers: Registers }) {
    super({ ...config, buckets: [...config.buckets] });
    this.names = config.labelNames;
    this.bounds = [...config.buckets];
    this.family = { name: config.name, help: config.help };
  }

  cell(...values: string[]): HistogramCell {
    const key = values.join('\u0000');
    let entry = this.cells.get(key);
    if (!entry) this.cells.set(key, (entry = { labels: labelsOf<L, 'le'>(this.names, values), cell: new HistogramCell(this.bounds) }));
    return entry.cell;
  }

  /** What prom-client's Registry reads for a histogram's text (its own version is undeclared in the typings). */
  async getForPromString() {
    return this.get();
  }

  override async get() {
    const { name } = this.family;
    const values: { metricName: string; labels: Labels<L | 'le'>; value: number }[] = [];
    for (const { labels, cell } of this.cells.values()) {
      let cumulative = 0;
      this.bounds.forEach((le, i) => {
        cumulative += cell.counts[i] as number;
        values.push({ metricName: `${name}_bucket`, labels: { ...labels, le }, value: cumulative });
      });
      values.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: cell.count });
      values.push({ metricName: `${name}_sum`, labels, value: cell.sum });
      values.push({ metricName: `${name}_count`, labels, value: cell.count });
    }
    return { ...this.family, type: metricType('histogram'), aggregator: 'sum' as const, collect: noCollect, values };
  }

  override reset(): void {
    super.reset();
    for (const { cell } of this.cells?.values() ?? []) {
      cell.counts.fill(0);
      cell.sum = 0;
      cell.count = 0;
    }
  }
}
