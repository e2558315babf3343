/**
 * Explore: the packages you may see across owners (public ones; internal ones too when signed in),
 * searched by name, description, image labels and chart keywords. The query is in the URL.
 */
import { type FormEvent, useEffect, useState } from 'react';
import { get } from '../api.ts';
import { Empty, LoadError, Loading } from '../components.tsx';
import { useLoad, useTitle } from '../hooks.ts';
import { PackageCards } from '../package-cards.tsx';
import { navigate, useLocation } from '../router.tsx';
import { useSession } from '../session.tsx';
import type { ExploreResult, PackageKind } from '../api.gen.ts';

export function ExplorePage() {
  useTitle('Explore');
  const { user } = useSession();
  const { path, query } = useLocation();
  const q = query.get('q') ?? '';
  const kind = (query.get('kind') ?? '') as '' | PackageKind;
  const [draft, setDraft] = useState(q);
  useEffect(() => setDraft(q), [q]);
  const qs = new URLSearchParams({ ...(q ? { q } : {}), ...(kind ? { kind } : {}), limit: '100' }).toString();
  const load = useLoad(`explore|${qs}|${user?.username ?? ''}`, () => get<ExploreResult>(`/api/v1/explore?${qs}`));
  const go = (next: { q?: string; kind?: string }) => {
    const p = new URLSearchParams();
    const nq = (next.q ?? q).trim();
    const nk = next.kind ?? kind;
    if (nq) p.set('q', nq);
    if (nk) p.set('kind', nk);
    navigate(p.toString() ? `${path}?${p.toString()}` : path, { replace: true });
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    go({ q: draft });
  };
  return (
    <section aria-labelledby="explore-title">
      <h1 id="explore-title">Explore packages</h1>
      <p className="muted">{user ? 'Public packages and the ones internal to this registry.' : 'Public packages. Sign in to see the ones internal to this registry.'}</p>
      <form className="filter-row" role="search" onSubmit={submit}>
        <label htmlFor="explore-q">Search</label>
        <input id="explore-q" type="search" value={draft} onChange={(e) => setDraft(e.target.value)} placeholder="Name, description, label or keyword" />
        <label htmlFor="explore-kind" className="sr-only">
          Kind
        </label>
        <select id="explore-kind" value={kind} onChange={(e) => go({ kind: e.target.value })}>
          <option value="">All kinds</option>
          <option value="image">Container images</option>
          <option value="chart">Helm charts</option>
          <option value="artifact">Artifacts</option>
        </select>
        <button type="submit" className="btn btn-primary">
          Search
        </button>
      </form>
      {load.error ? <LoadError error={load.error} what="packages" retry={load.reload} /> : null}
      {!load.data && !load.error ? <Loading what="Looking for packages" /> : null}
      {load.data ? (
        load.data.packages.length === 0 ? (
          <Empty title={q ? 'Nothing found' : 'No packages to show'}>
            <p>{q ? `No package you may see matches “${q}”.` : 'No package is visible to you yet.'}</p>
          </Empty>
        ) : (
          <>
            <p className="muted small" aria-live="polite">
              {load.data.total} package{load.data.total === 1 ? '' : 's'}
              {q ? ` matching “${q}”` : ''}
            </p>
            <PackageCards packages={load.data.packages} label="Packages found" />
          </>
        )
      ) : null}
    </section>
  );
}
