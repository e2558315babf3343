/**
 * Policies in the settings pages (docs/policies.md): tag immutability rules, chart overwrites and
 * retention rules of a package or (as defaults) an owner, with a preview of exactly what the
 * retention rules in the form would remove — before they are saved. And storage quotas: usage
 * against the quota on the owner's page, and the site administrators' list with overrides.
 */
import { useState } from 'react';
import { api, get, messageOf } from './api.ts';
import { Alert, Empty, formatBytes, LoadError, Loading, shortDigest } from './components.tsx';
import type { BodyOf, PolicyView, QuotaView, RetentionReport } from './api.gen.ts';
import { useLoad, useSubmit } from './hooks.ts';

// The shapes are generated from the route schemas (npm run gen:api-types).
type Settings = BodyOf<'putPackagePolicy'>;
type TagRule = NonNullable<Settings['tagRules']>[number];
type Retention = NonNullable<Settings['retention']>;
type Report = RetentionReport;

const num = (s: string): number | undefined => (s.trim() === '' ? undefined : Number(s));

/** "pattern immutable|mutable" per line ↔ rules. */
function rulesText(rules: TagRule[] | null | undefined): string {
  return (rules ?? []).map((r) => `${r.pattern} ${r.immutable ? 'immutable' : 'mutable'}`).join('\n');
}
function parseRules(text: string): TagRule[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .map((l) => {
      const [pattern = '', kind = 'immutable'] = l.split(/\s+/);
      return { pattern, immutable: kind !== 'mutable' };
    });
}

export function PolicySection({ api: path, previewApi, kind }: { api: string; previewApi: string; kind: 'owner' | 'package' }) {
  const load = useLoad(`policy|${path}`, () => get<PolicyView>(path));
  if (load.error) return <LoadError error={load.error} what="policy" retry={load.reload} />;
  if (!load.data) return <Loading />;
  return <PolicyForm view={load.data} path={path} previewApi={previewApi} kind={kind} onSaved={load.reload} />;
}

function PolicyForm({ view, path, previewApi, kind, onSaved }: { view: PolicyView; path: string; previewApi: string; kind: 'owner' | 'package'; onSaved(): void }) {
  const s = view.settings;
  const [ownRules, setOwnRules] = useState(s.tagRules !== undefined);
  const [rules, setRules] = useState(rulesText(s.tagRules ?? view.effective.tagRules.rules));
  const [charts, setCharts] = useState<'inherit' | 'allow' | 'forbid'>(s.allowChartOverwrite === undefined || s.allowChartOverwrite === null ? 'inherit' : s.allowChartOverwrite ? 'allow' : 'forbid');
  const r = s.retention ?? {};
  const [retOn, setRetOn] = useState(s.retention !== undefined && s.retention !== null);
  const [keepN, setKeepN] = useState(String(r.keepMostRecent ?? ''));
  const [pulled, setPulled] = useState(String(r.keepPulledWithinDays ?? ''));
  const [keepTags, setKeepTags] = useState((r.keepTags ?? []).join(', '));
  const [untagged, setUntagged] = useState(String(r.removeUntaggedOlderThanDays ?? ''));
  const [done, setDone] = useState<string | null>(null);
  const [preview, setPreview] = useState<Report | null>(null);
  const submit = useSubmit();
  const { busy, error } = submit;

  const retention = (): Retention => {
    const out: Retention = {};
    const n = num(keepN);
    const p = num(pulled);
    const u = num(untagged);
    if (n !== undefined) out.keepMostRecent = n;
    if (p !== undefined) out.keepPulledWithinDays = p;
    const tags = keepTags.split(',').map((t) => t.trim()).filter((t) => t !== '');
    if (tags.length > 0) out.keepTags = tags;
    if (u !== undefined) out.removeUntaggedOlderThanDays = u;
    return out;
  };
  const doc = (): Settings => {
    const out: Settings = {};
    if (ownRules) out.tagRules = parseRules(rules);
    if (charts !== 'inherit') out.allowChartOverwrite = charts === 'allow';
    if (retOn) out.retention = retention();
    return out;
  };
  const run = (fn: () => Promise<void>) => {
    setDone(null);
    return submit.run(null, fn);
  };

  return (
    <section className="card settings-section" aria-labelledby="policy-title" data-testid="policy-section">
      <h2 id="policy-title">{kind === 'owner' ? 'Default policies for every package' : 'Policies'}</h2>
      {error ? <Alert>{error}</Alert> : null}
      {done ? <Alert kind="success">{done}</Alert> : null}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void run(async () => {
            await api('PUT', path, doc());
            setDone('Policies saved.');
            onSaved();
          });
        }}
      >
        <h3>Immutable tags</h3>
        <p className="muted small">
          One rule per line, <code>pattern immutable</code> or <code>pattern mutable</code>; the first match decides. Patterns are globs: <code>*</code>, <code>?</code>, <code>[0-9]</code>,{' '}
          <code>{'{latest,main}'}</code>. A push that would move an immutable tag is refused.
        </p>
        {kind === 'package' ? (
          <label className="checkbox">
            <input type="checkbox" checked={ownRules} onChange={(e) => setOwnRules(e.target.checked)} /> Rules of its own (otherwise the owner's: {view.effective.tagRules.source})
          </label>
        ) : null}
        <textarea aria-label="Tag rules" rows={4} value={rules} disabled={kind === 'package' && !ownRules} onChange={(e) => setRules(e.target.value)} placeholder={'{latest,main} mutable\n[0-9]*.[0-9]*.[0-9]* immutable'} />
        <h3>Chart versions</h3>
        <label>
          Overwriting an existing chart version{' '}
          <select aria-label="Chart overwrite" value={charts} onChange={(e) => setCharts(e.target.value as typeof charts)}>
            <option value="inherit">inherit ({view.effective.chartOverwrite.allowed ? 'allowed' : 'refused'} by {view.effective.chartOverwrite.source})</option>
            <option value="forbid">refused</option>
            <option value="allow">allowed</option>
          </select>
        </label>
        <h3>Retention</h3>
        <label className="checkbox">
          <input type="checkbox" checked={retOn} onChange={(e) => setRetOn(e.target.checked)} /> Retention rules {kind === 'package' ? `of its own (otherwise the owner's: ${view.effective.retention.source})` : ''}
        </label>
        <fieldset disabled={!retOn} className="retention-fields">
          <label>
            Keep the <input aria-label="Keep most recent" type="number" min={1} value={keepN} onChange={(e) => setKeepN(e.target.value)} /> most recently pushed tagged versions
          </label>
          <label>
            Keep versions pulled in the last <input aria-label="Keep pulled within days" type="number" min={1} value={pulled} onChange={(e) => setPulled(e.target.value)} /> days
          </label>
          <label>
            Keep tags matching <input aria-label="Keep tags" value={keepTags} onChange={(e) => setKeepTags(e.target.value)} placeholder="release-*, v*" />
          </label>
          <label>
            Remove untagged versions older than <input aria-label="Remove untagged older than days" type="number" min={0} value={untagged} onChange={(e) => setUntagged(e.target.value)} /> days
          </label>
          <button
            type="button"
            className="button"
            disabled={busy}
            onClick={() =>
              void run(async () => {
                setPreview(await api<Report>('POST', previewApi, { rules: retention() }));
              })
            }
          >
            Preview what these rules remove
          </button>
        </fieldset>
        {preview ? <PreviewTable report={preview} /> : null}
        <p>
          <button type="submit" className="button primary" disabled={busy}>
            Save policies
          </button>
        </p>
      </form>
    </section>
  );
}

function PreviewTable({ report }: { report: Report }) {
  const removals = report.packages.flatMap((p) => p.versions.filter((v) => v.action === 'remove').map((v) => ({ ...v, package: p.package })));
  return (
    <div data-testid="retention-preview">
      <p>
        <strong>{report.removed}</strong> {report.removed === 1 ? 'version' : 'versions'} would move to the trash; {report.kept} kept. Nothing has changed yet.
      </p>
      {removals.length === 0 ? (
        <Empty title="Nothing would be removed" />
      ) : (
        <div className="table-wrap" tabIndex={0}>
        <table className="table">
          <thead>
            <tr>
              <th scope="col">Package</th>
              <th scope="col">Version</th>
              <th scope="col">With it</th>
              <th scope="col">Why</th>
            </tr>
          </thead>
          <tbody>
            {removals.map((v) => (
              <tr key={`${v.package}@${v.digest}`}>
                <td>{v.package}</td>
                <td>
                  {v.tags.join(', ') || '(untagged)'} <code>{shortDigest(v.digest)}</code>
                </td>
                <td>{v.manifests.length > 1 ? `${v.manifests.length - 1} more manifests` : ''}</td>
                <td>{v.reasons.join('; ')}</td>
              </tr>
            ))}
          </tbody>
        </table>
        </div>
      )}
    </div>
  );
}

/** "1.2 GiB of 10 GiB (12%)" for the owner's page. */
export function quotaText(q: QuotaView): string | null {
  if (q.limitBytes === null) return null;
  return `${formatBytes(q.usedBytes)} of its ${formatBytes(q.limitBytes)} quota (${Math.round((q.usedBytes / Math.max(q.limitBytes, 1)) * 100)}%)`;
}

/** Site administrators: every owner's usage against its quota, and an override per owner. */
export function AdminQuotas() {
  const load = useLoad('admin-quotas', () => get<QuotaView[]>('/api/v1/admin/quotas'));
  const [owner, setOwner] = useState('');
  const [size, setSize] = useState('');
  const [error, setError] = useState<string | null>(null);
  if (load.error) return <LoadError error={load.error} what="quotas" retry={load.reload} />;
  if (!load.data) return <Loading />;
  return (
    <section aria-labelledby="quotas-title" data-testid="admin-quotas">
      <h2 id="quotas-title">Quotas</h2>
      {error ? <Alert>{error}</Alert> : null}
      <div className="table-wrap" tabIndex={0}>
      <table className="table">
        <thead>
          <tr>
            <th scope="col">Owner</th>
            <th scope="col">Used</th>
            <th scope="col">Quota</th>
          </tr>
        </thead>
        <tbody>
          {load.data.map((q) => (
            <tr key={q.owner}>
              <td>{q.owner}</td>
              <td>{formatBytes(q.usedBytes)}</td>
              <td>{q.limitBytes === null ? 'none' : `${formatBytes(q.limitBytes)} (${q.source === 'site' ? 'site default' : 'own'})`}</td>
            </tr>
          ))}
        </tbody>
      </table>
      </div>
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          setError(null);
          const gib = size.trim() === '' ? null : Math.round(Number(size) * 1024 ** 3);
          api('PUT', `/api/v1/admin/quotas/${encodeURIComponent(owner)}`, { bytes: gib }).then(load.reload, (err: unknown) => setError(messageOf(err)));
        }}
      >
        <label>
          Owner <input aria-label="Quota owner" value={owner} onChange={(e) => setOwner(e.target.value)} required />
        </label>
        <label>
          Quota in GiB (empty: site default) <input aria-label="Quota GiB" type="number" min={0} step="any" value={size} onChange={(e) => setSize(e.target.value)} />
        </label>
        <button type="submit" className="button">
          Set quota
        </button>
      </form>
    </section>
  );
}
