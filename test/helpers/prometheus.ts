/**
 * Scrapes parsed by the official Prometheus client's text parser (python3-prometheus-client), so
 * tests assert on what a real scraper reads. Missing parser: the caller skips with the install hint.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';

const PYTHON = '/usr/bin/python3';
const SCRIPT = join(import.meta.dirname, 'prom-parse.py');

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  /** As the parser reports it: counters without their `_total` suffix. */
  name: string;
  type: string;
  samples: Sample[];
}

/** Why the parser cannot run here (a skip reason), or null when it can. */
export function parserMissing(): string | null {
  const r = spawnSync(PYTHON, ['-c', 'import prometheus_client.parser'], { stdio: 'ignore' });
  return r.status === 0 ? null : 'missing python3-prometheus-client: apt-get install -y python3-prometheus-client (or: bash scripts/install-test-deps.sh)';
}

export class Scrape {
  readonly families: Family[];
  readonly text: string;

  constructor(text: string) {
    this.text = text;
    const out = execFileSync(PYTHON, [SCRIPT], { input: text, maxBuffer: 64 * 1024 * 1024 });
    const families = JSON.parse(out.toString('utf8')) as { name: string; type: string; samples: { name: string; labels: Record<string, string>; value: number | string }[] }[];
    this.families = families.map((f) => ({ ...f, samples: f.samples.map((x) => ({ ...x, value: Number(x.value) })) }));
  }

  /** Every sample name a PromQL query may use (counter `_total`, histogram `_bucket`/`_sum`/`_count`, …). */
  sampleNames(): Set<string> {
    const names = new Set<string>();
    for (const f of this.families) {
      for (const s of f.samples) names.add(s.name);
      // A family declared but without samples yet (a labelled counter nothing has touched).
      names.add(f.type === 'counter' ? `${f.name}_total` : f.name);
      if (f.type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(f.name + suffix);
      if (f.type === 'summary') for (const suffix of ['_sum', '_count']) names.add(f.name + suffix);
    }
    return names;
  }

  family(name: string): Family | undefined {
    const base = name.replace(/_total$/, '');
    return this.families.find((f) => f.name === base || f.name === name);
  }

  /** Sum of the samples called `name` whose labels include `labels`. */
  value(name: string, labels: Record<string, string> = {}): number {
    let sum = 0;
    for (const f of this.families) {
      for (const s of f.samples) {
        if (s.name !== name) continue;
        if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) sum += s.value;
      }
    }
    return sum;
  }

  samples(name: string): Sample[] {
    return this.families.flatMap((f) => f.samples.filter((s) => s.name === name));
  }
}
