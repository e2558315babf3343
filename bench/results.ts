/**
 * What a run measured: one row per metric, a value (or an error) per server, and the target
 * each Wharf/Distribution ratio is compared with.
 */
import type { TargetName } from './config.ts';

export type Better = 'higher' | 'lower';

/** A bound on the Wharf/Distribution ratio of a metric's raw values. */
export interface RatioTarget {
  op: '>=' | '<=';
  ratio: number;
  /** How the target reads to a person, e.g. "≥ 2× Distribution". */
  text: string;
}

export type LimitKind = 'push' | 'pull';

export interface MetricDef {
  id: string;
  label: string;
  unit: string;
  better: Better;
  decimals: number;
  target?: RatioTarget;
  /** Blob transfers are also shown as a share of the machine's limit for that direction. */
  limit?: LimitKind;
}

export interface MetricRow extends MetricDef {
  values: Partial<Record<TargetName, number>>;
  notes: Partial<Record<TargetName, string>>;
  errors: Partial<Record<TargetName, string>>;
}

export class Results {
  readonly rows: MetricRow[] = [];

  define(def: MetricDef): MetricRow {
    const existing = this.rows.find((r) => r.id === def.id);
    if (existing) return existing;
    const row: MetricRow = { ...def, values: {}, notes: {}, errors: {} };
    this.rows.push(row);
    return row;
  }

  set(def: MetricDef, target: TargetName, value: number, note?: string): void {
    const row = this.define(def);
    row.values[target] = value;
    if (note !== undefined) row.notes[target] = note;
  }

  fail(defs: MetricDef[], target: TargetName, message: string): void {
    for (const def of defs) this.define(def).errors[target] = message;
  }
}

export function ratioOf(row: MetricRow): number | undefined {
  const w = row.values.wharf;
  const d = row.values.distribution;
  if (w === undefined || d === undefined || d === 0) return undefined;
  return w / d;
}

export function meetsTarget(row: MetricRow): boolean | undefined {
  const r = ratioOf(row);
  if (r === undefined || row.target === undefined) return undefined;
  return row.target.op === '>=' ? r >= row.target.ratio : r <= row.target.ratio;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  if (s.length === 0) return Number.NaN;
  return s.length % 2 === 1 ? (s[mid] ?? Number.NaN) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}
