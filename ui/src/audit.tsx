/**
 * The audit log: who changed what, from where, with which client, and how it ended. Site admins
 * see everything (site administration → Audit); an owner's administrators see the owner's rows
 * (`/<owner>/-/audit`). Filters by actor, action and package; exports the filtered rows as JSON lines.
 */
import { type FormEvent, useState } from 'react';
import { get } from './api.ts';
import { Badge, Empty, LoadError, Loading, Time } from './components.tsx';
import { useLoad } from './hooks.ts';
import type { AuditEntry } from './api.gen.ts';

interface Filters {
  actor: string;
  action: string;
  package: string;
}

function query(owner: string | null, f: Filters, extra: Record<string, string> = {}): string {
  const p = new URLSearchParams();
  if (owner) p.set('owner', owner);
  if (f.actor.trim()) p.set('actor', f.actor.trim());
  if (f.action.trim()) p.set('action', f.action.trim());
  if (f.package.trim()) p.set('package', f.package.trim());
  for (const [k, v] of Object.entries(extra)) p.set(k, v);
  return `/api/v1/audit?${p.toString()}`;
}

/** The interesting part of a row's detail, short: digest and tags of a push, a tag move, … */
function summary(e: AuditEntry): string {
  const d = e.detail ?? {};
  const parts: string[] = [];
  if (Array.isArray(d['tags']) && d['tags'].length > 0) parts.push(`tags ${(d['tags'] as unknown[]).join(', ')}`);
  if (typeof d['tag'] === 'string') parts.push(`tag ${d['tag']}`);
  if (typeof d['digest'] === 'string') parts.push(d['digest'].slice(0, 19));
  if (typeof d['from'] === 'string') parts.push(`from ${d['from'].slice(0, 19)}`);
  if (typeof d['url'] === 'string') parts.push(d['url']);
  // settings.update / settings.reset (ADR 0025): the value before and after.
  if (e.action.startsWith('settings.') && 'old' in d && 'new' in d) parts.push(`${JSON.stringify(d['old'])} → ${JSON.stringify(d['new'])}`);
  if (parts.length === 0 && Object.keys(d).length > 0) parts.push(JSON.stringify(d).slice(0, 120));
  return parts.join(' · ');
}

export function AuditLog({ owner }: { owner: string | null }) {
  const [draft, setDraft] = useState<Filters>({ actor: '', action: '', package: '' });
  const [filters, setFilters] = useState<Filters>(draft);
  const url = query(owner, filters, { limit: '200' });
  const rows = useLoad(`audit|${url}`, () => get<AuditEntry[]>(url));
  const apply = (e: FormEvent) => {
    e.preventDefault();
    setFilters(draft);
  };
  return (
    <section className="card settings-section" aria-labelledby="audit-title">
      <h2 id="audit-title">Audit log{owner ? ` of ${owner}` : ''}</h2>
      <p className="muted">Every change, newest first: who made it (user, CI identity or access token), from which address and client, and whether it succeeded.</p>
      <form className="form audit-filters" onSubmit={apply} aria-label="Filter the audit log">
        <div className="field">
          <label htmlFor="audit-actor">Actor</label>
          <input id="audit-actor" value={draft.actor} onChange={(e) => setDraft({ ...draft, actor: e.target.value })} placeholder="alice" />
        </div>
        <div className="field">
          <label htmlFor="audit-action">Action (a prefix ending in "." for a family)</label>
          <input id="audit-action" list="audit-action-families" value={draft.action} onChange={(e) => setDraft({ ...draft, action: e.target.value })} placeholder="package.push" />
          <datalist id="audit-action-families">
            {['package.', 'tag.', 'login', 'session.', 'token.', 'user.', 'owner.', 'gc.', 'proxy.', 'settings.', 'settings.update', 'settings.reset'].map((a) => (
              <option key={a} value={a} />
            ))}
          </datalist>
        </div>
        <div className="field">
          <label htmlFor="audit-package">Package</label>
          <input id="audit-package" value={draft.package} onChange={(e) => setDraft({ ...draft, package: e.target.value })} placeholder={owner ? `${owner}/web` : 'acme/web'} />
        </div>
        <div className="button-row">
          <button type="submit" className="btn btn-primary">
            Filter
          </button>
          <a className="btn" href={query(owner, filters, { format: 'jsonl' })} download>
            Export JSON lines
          </a>
        </div>
      </form>
      {rows.error ? <LoadError error={rows.error} what="audit log" retry={rows.reload} /> : null}
      {rows.loading && !rows.data ? <Loading what="Loading the audit log" /> : null}
      {rows.data && rows.data.length === 0 ? <Empty title="Nothing recorded">No audit entries match these filters.</Empty> : null}
      {rows.data && rows.data.length > 0 ? (
        <div className="table-wrap" tabIndex={0}>
          <table className="table audit-table" aria-label="Audit entries">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Actor</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col">Details</th>
                <th scope="col">From</th>
              </tr>
            </thead>
            <tbody>
              {rows.data.map((e) => (
                <tr key={e.id} data-action={e.action}>
                  <td>
                    <Time iso={e.at} />
                  </td>
                  <td>
                    <span className="break">{e.actor}</span>
                    {e.actorKind && e.actorKind !== 'user' ? <span className="muted small"> ({e.actorKind})</span> : null}
                    {e.tokenId ? <div className="muted small">token {e.tokenId.slice(0, 8)}</div> : null}
                  </td>
                  <td className="mono small">
                    {e.action} {e.outcome === 'failure' ? <Badge tone="warn">failed</Badge> : null}
                  </td>
                  <td className="break">{e.target}</td>
                  <td className="small break">{summary(e)}</td>
                  <td className="small break">
                    {e.address ?? ''}
                    {e.userAgent ? <div className="muted">{e.userAgent}</div> : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}
