/**
 * docs/grafana/wharf.json: valid JSON with the basics Grafana needs to import it (title, uid,
 * schemaVersion, a Prometheus data-source variable, panels with ids, grid positions and queries),
 * and every metric its queries name exists in a real scrape of a started Wharf (bin/wharf serve)
 * — while every wharf_* family the scrape offers is shown somewhere on the dashboard.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type StartedServer, startWharf } from '../helpers/server.ts';
import { parserMissing, Scrape } from '../helpers/prometheus.ts';

const DASHBOARD = join(import.meta.dirname, '..', '..', 'docs', 'grafana', 'wharf.json');

interface Target {
  refId?: unknown;
  expr?: unknown;
}
interface Panel {
  id?: unknown;
  type?: unknown;
  title?: unknown;
  gridPos?: { h?: unknown; w?: unknown; x?: unknown; y?: unknown };
  datasource?: { type?: unknown; uid?: unknown };
  targets?: Target[];
  panels?: Panel[];
}

const PREFIXES = /\b((?:wharf|process|nodejs)_[a-zA-Z0-9_]+)\b/g;

/** Metric names a PromQL expression uses: label matchers and strings removed, names by their prefixes. */
export function metricNames(expr: string): string[] {
  const bare = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/\{[^}]*\}/g, '');
  return [...bare.matchAll(PREFIXES)].map((m) => m[1] as string);
}

function panelsOf(d: { panels: Panel[] }): Panel[] {
  return d.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
  title?: unknown;
  uid?: unknown;
  schemaVersion?: unknown;
  templating?: { list?: { name?: unknown; type?: unknown; query?: unknown }[] };
  panels: Panel[];
};

describe('Grafana dashboard', () => {
  test('has what Grafana needs to import it', () => {
    assert.equal(typeof dashboard.title, 'string');
    assert.match(String(dashboard.uid), /^[a-zA-Z0-9_-]{1,40}$/);
    assert.ok(Number.isInteger(dashboard.schemaVersion) && Number(dashboard.schemaVersion) >= 30);
    const ds = dashboard.templating?.list?.find((v) => v.type === 'datasource');
    assert.ok(ds && ds.query === 'prometheus', 'a Prometheus data-source variable');
    assert.ok(Array.isArray(dashboard.panels) && dashboard.panels.length > 0);
    const ids = new Set<unknown>();
    for (const p of panelsOf(dashboard)) {
      assert.ok(Number.isInteger(p.id), `panel ${String(p.title)} has an integer id`);
      assert.ok(!ids.has(p.id), `panel id ${String(p.id)} is unique`);
      ids.add(p.id);
      assert.equal(typeof p.type, 'string');
      assert.equal(typeof p.title, 'string');
      const g = p.gridPos;
      assert.ok(g && [g.h, g.w, g.x, g.y].every((n) => Number.isInteger(n)), `panel ${String(p.title)} has a grid position`);
      assert.ok(Number(g.x) + Number(g.w) <= 24, `panel ${String(p.title)} fits the 24-column grid`);
      if (p.type === 'row') continue;
      assert.equal(p.datasource?.uid, '${datasource}', `panel ${String(p.title)} uses the data-source variable`);
      assert.ok(p.targets && p.targets.length > 0, `panel ${String(p.title)} has queries`);
      const refIds = new Set(p.targets.map((t) => t.refId));
      assert.equal(refIds.size, p.targets.length, `panel ${String(p.title)} has distinct refIds`);
      for (const t of p.targets) {
        assert.equal(typeof t.expr, 'string');
        assert.ok(metricNames(String(t.expr)).length > 0, `query names a metric: ${String(t.expr)}`);
        assert.equal(String(t.expr).split('(').length, String(t.expr).split(')').length, `balanced parentheses: ${String(t.expr)}`);
      }
    }
  });

  test('finds metric names in queries', () => {
    assert.deepEqual(metricNames('sum by (le, route) (rate(wharf_http_request_duration_seconds_bucket{instance=~"$instance",x="wharf_not_a_metric"}[5m]))'), [
      'wharf_http_request_duration_seconds_bucket',
    ]);
  });
});

// The dashboard does not depend on the storage profile: checked once, in the embedded pass.
const onScaleProfile = process.env['WHARF_TEST_PROFILE'] === 'scale' ? 'checked in the embedded pass' : false;

describe('Grafana dashboard against a real scrape', { skip: parserMissing() ?? onScaleProfile }, () => {
  let server: StartedServer;
  let names: Set<string>;
  let scrape: Scrape;
  before(async () => {
    server = await startWharf();
    const res = await fetch(`${server.url}/metrics`);
    assert.equal(res.status, 200);
    scrape = new Scrape(await res.text());
    names = scrape.sampleNames();
  });
  after(async () => server?.stop());

  test('every metric a query names is exported', () => {
    const missing = new Set<string>();
    for (const p of panelsOf(dashboard)) {
      for (const t of p.targets ?? []) for (const name of metricNames(String(t.expr))) if (!names.has(name)) missing.add(`${name} (${String(p.title)})`);
    }
    assert.deepEqual([...missing], []);
  });

  test('every wharf_* family is on the dashboard', () => {
    const used = new Set(panelsOf(dashboard).flatMap((p) => (p.targets ?? []).flatMap((t) => metricNames(String(t.expr)))));
    const unused = scrape.families
      .filter((f) => f.name.startsWith('wharf_'))
      .filter((f) => ![f.name, `${f.name}_total`, `${f.name}_bucket`, `${f.name}_sum`, `${f.name}_count`].some((n) => used.has(n)))
      .map((f) => f.name);
    assert.deepEqual(unused, []);
  });
});
