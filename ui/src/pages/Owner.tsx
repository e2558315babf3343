import { useEffect, useState } from 'react';
import { get } from '../api.ts';
import { CommandBlock, Empty, formatBytes, LoadError, Loading } from '../components.tsx';
import { useLoad, useTitle } from '../hooks.ts';
import { Link, navigate, useLocation } from '../router.tsx';
import { useSession } from '../session.tsx';
import type { OwnerPackages, OwnerUsage, PackageKind, QuotaView } from '../api.gen.ts';
import { quotaText } from '../policies.tsx';
import { OwnerTabs } from './OwnerTabs.tsx';
import { ProxyPanel, useOwnerProxy } from '../proxies.tsx';
import { PackageCards } from '../package-cards.tsx';

const KINDS: { id: '' | PackageKind; label: string }[] = [
  { id: '', label: 'All kinds' },
  { id: 'image', label: 'Container images' },
  { id: 'chart', label: 'Helm charts' },
  { id: 'artifact', label: 'Other artifacts' },
];

export function OwnerPage({ owner }: { owner: string }) {
  useTitle(owner);
  const { user } = useSession();
  const { path, query } = useLocation();
  const kind = (query.get('kind') ?? '') as '' | PackageKind;
  const q = query.get('q') ?? '';
  const [search, setSearch] = useState(q);
  useEffect(() => setSearch(q), [q]);

  const params = new URLSearchParams();
  if (kind) params.set('kind', kind);
  if (q) params.set('q', q);
  const qs = params.toString();
  const load = useLoad(`${owner}?${qs}|${user?.username ?? ''}`, () => get<OwnerPackages>(`/api/v1/owners/${encodeURIComponent(owner)}/package-views${qs ? `?${qs}` : ''}`));

  const setFilter = (next: { kind?: string; q?: string }) => {
    const p = new URLSearchParams();
    const k = next.kind ?? kind;
    const s = (next.q ?? q).trim();
    if (k) p.set('kind', k);
    if (s) p.set('q', s);
    navigate(`${path}${p.toString() ? `?${p.toString()}` : ''}`, { replace: true });
  };

  const mine = user?.username === owner || user?.orgs.some((o) => o.org === owner);
  const manages = user?.admin || user?.username === owner || user?.orgs.some((o) => o.org === owner && o.role === 'owner');
  // Storage and the trash are for the owner's members and site admins; others never ask.
  const seesStorage = mine === true || user?.admin === true;
  const usage = useLoad(`usage|${owner}|${seesStorage ? (user?.username ?? '') : ''}`, () =>
    seesStorage ? get<OwnerUsage>(`/api/v1/owners/${encodeURIComponent(owner)}/usage`) : Promise.resolve(null),
  );
  const sizeOf = (name: string) => usage.data?.packages.find((x) => x.name === name);
  const quota = useLoad(`quota|${owner}|${seesStorage ? (user?.username ?? '') : ''}`, () =>
    seesStorage ? get<QuotaView>(`/api/v1/owners/${encodeURIComponent(owner)}/quota`) : Promise.resolve(null),
  );
  const quotaLine = quota.data ? quotaText(quota.data) : null;
  const proxy = useOwnerProxy(owner, seesStorage);

  if (load.error) return <LoadError error={load.error} what="owner" retry={load.reload} />;
  const data = load.data;
  const isOrg = data?.ownerKind === 'org';
  const host = window.location.host;

  return (
    <section aria-labelledby="owner-title">
      <div className="page-head">
        <div className="owner-avatar" aria-hidden="true">
          {owner.slice(0, 1).toUpperCase()}
        </div>
        <div>
          <h1 id="owner-title">{owner}</h1>
          <p className="muted">{isOrg ? 'Organization' : data?.ownerKind === 'user' ? 'User' : 'Owner'} · Packages</p>
        </div>
        <div className="head-actions">
          {seesStorage ? (
            <Link to={`/${encodeURIComponent(owner)}/-/trash`} className="btn">
              Trash
            </Link>
          ) : null}
          {manages ? (
            <Link to={`/${encodeURIComponent(owner)}/-/audit`} className="btn">
              Audit log
            </Link>
          ) : null}
        </div>
      </div>
      <OwnerTabs owner={owner} current="packages" />
      {proxy ? <ProxyPanel owner={owner} proxy={proxy} /> : null}
      {usage.data ? (
        <p className="muted small usage-line" data-testid="owner-usage">
          Storage: <strong>{formatBytes(usage.data.liveBytes)}</strong> in use
          {usage.data.trashedBytes > 0 ? (
            <>
              {' '}
              · {formatBytes(usage.data.trashedBytes)} in the <Link to={`/${encodeURIComponent(owner)}/-/trash`}>trash</Link>
            </>
          ) : null}{' '}
          (a layer shared by several packages counts once)
          {quotaLine ? <span data-testid="owner-quota"> · uses {quotaLine}</span> : null}
        </p>
      ) : null}

      <form
        className="filters"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setFilter({ q: search });
        }}
      >
        <div className="field grow">
          <label htmlFor="pkg-search" className="sr-only">
            Find a package
          </label>
          <input id="pkg-search" type="search" placeholder="Find a package…" value={search} onChange={(e) => setSearch(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="pkg-kind" className="sr-only">
            Kind
          </label>
          <select id="pkg-kind" value={kind} onChange={(e) => setFilter({ kind: e.target.value, q: search })}>
            {KINDS.map((k) => (
              <option key={k.id} value={k.id}>
                {k.label}
              </option>
            ))}
          </select>
        </div>
        <button type="submit" className="btn">
          Search
        </button>
      </form>

      {load.loading && !data ? <Loading what="Loading packages" /> : null}
      {data && data.packages.length === 0 ? (
        data.total === 0 ? (
          <Empty title={mine ? 'No packages yet' : `${owner} has no packages you can see`}>
            {mine && proxy ? (
              <>
                <p>Nothing is cached yet: what is pulled through {owner} appears here.</p>
                <CommandBlock label="Pull through the cache" command={`podman pull ${host}/${owner}/library/alpine:latest`} />
              </>
            ) : mine ? (
              <>
                <p>Push an image or a chart and it appears here.</p>
                <CommandBlock label="Container image" command={`podman push ${host}/${owner}/IMAGE:TAG`} />
                <CommandBlock label="Helm chart" command={`helm push CHART-VERSION.tgz oci://${host}/${owner}/charts`} />
              </>
            ) : user ? (
              <p>Packages that are private to {owner} only show up for people with access.</p>
            ) : (
              <p>
                <Link to={`/-/sign-in?next=${encodeURIComponent(path)}`}>Sign in</Link> to see private packages.
              </p>
            )}
          </Empty>
        ) : (
          <Empty title="No packages match">
            <p>
              <button type="button" className="btn" onClick={() => setFilter({ kind: '', q: '' })}>
                Clear the filters
              </button>
            </p>
          </Empty>
        )
      ) : null}
      {data && data.packages.length > 0 ? (
        <>
          <p className="muted small" aria-live="polite">
            {data.packages.length === data.total ? `${data.total} package${data.total === 1 ? '' : 's'}` : `${data.packages.length} of ${data.total} packages`}
          </p>
          <PackageCards
            packages={data.packages}
            label={`Packages of ${owner}`}
            withinOwner
            meta={(p) => (
              <>
                <div>
                  <dt>Versions</dt>
                  <dd>{p.versions}</dd>
                </div>
                {sizeOf(p.name) ? (
                  <div>
                    <dt>Size</dt>
                    <dd>{formatBytes(sizeOf(p.name)?.liveBytes ?? 0)}</dd>
                  </div>
                ) : null}
              </>
            )}
          />
        </>
      ) : null}
    </section>
  );
}
