/**
 * A container image's page: pull lines by tag and by digest, versions a page at a time with a
 * tag filter (tags on an index's platform images included, under their platform), each version's
 * pusher, platforms, labels and layers (a platform picker chooses which image of an index),
 * and its signatures and SBOMs.
 */
import { type FormEvent, useState } from 'react';
import { api, get, messageOf, packageApi } from '../api.ts';
import { Badge, CommandBlock, ConfirmDialog, Empty, formatBytes, formatCount, LoadError, Loading, TabPanel, Tabs, Time } from '../components.tsx';
import { useLoad } from '../hooks.ts';
import { Digest, FilesTable, Sidebar, Tags, VERSIONS_PER_PAGE } from '../package-parts.tsx';
import { Referrers } from '../referrers.tsx';
import { DeployedBy } from '../app-images.tsx';
import { navigate, useLocation } from '../router.tsx';
import type { ImageView, PackageView, VersionView } from '../api.gen.ts';

function pullLine(p: PackageView, tool: 'docker' | 'podman', ref: string): string {
  return `${tool} pull${tool === 'podman' && p.plainHttp ? ' --tls-verify=false' : ''} ${p.registry}/${p.name}${ref}`;
}

function LabelsTable({ labels, caption }: { labels: Record<string, string>; caption: string }) {
  const rows = Object.entries(labels).sort(([a], [b]) => a.localeCompare(b));
  if (rows.length === 0) return <p className="muted">No labels.</p>;
  return (
    <div className="table-wrap" tabIndex={0}>
      <table>
        <caption className="sr-only">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Label</th>
            <th scope="col">Value</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(([k, v]) => (
            <tr key={k}>
              <td>
                <code className="small break">{k}</code>
              </td>
              <td className="break">{v}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Labels, layers and pull lines of one version, for the platform picked when it is an index. */
function VersionDetails({ p, v }: { p: PackageView; v: VersionView }) {
  const [platform, setPlatform] = useState(v.platforms[0]?.digest ?? v.digest);
  const image = useLoad(`image|${p.name}|${platform}`, () => get<ImageView>(packageApi(p.name, `/images/${platform}`)));
  const tag = v.tags[0];
  const pickerId = `platform-${v.digest.slice(7, 19)}`;
  return (
    <div className="version-details">
      {v.platforms.length > 0 ? (
        <div className="version-picker">
          <label htmlFor={pickerId}>Platform</label>
          <select id={pickerId} value={platform} onChange={(e) => setPlatform(e.target.value)}>
            {v.platforms.map((pl) => (
              <option key={pl.digest} value={pl.digest}>
                {pl.os}/{pl.architecture}
                {pl.variant ? `/${pl.variant}` : ''}
              </option>
            ))}
          </select>
        </div>
      ) : null}
      {tag ? <CommandBlock label="Pull by tag" command={pullLine(p, 'podman', `:${tag}`)} /> : null}
      <CommandBlock label="Pull by digest" command={pullLine(p, 'podman', `@${v.digest}`)} testId="cmd-pull-digest" />
      {platform !== v.digest ? <CommandBlock label="Pull only this platform" command={pullLine(p, 'podman', `@${platform}`)} /> : null}
      {image.error ? <LoadError error={image.error} what="image" retry={image.reload} /> : null}
      {image.data ? (
        <>
          <h4>Labels</h4>
          <LabelsTable labels={image.data.labels} caption={`Labels of ${platform}`} />
          <h4>Layers</h4>
          <p className="muted small">
            {image.data.layers.length} layer{image.data.layers.length === 1 ? '' : 's'}, {formatBytes(image.data.size)} in all
            {image.data.created ? (
              <>
                {' '}
                · built <Time iso={image.data.created} />
              </>
            ) : null}
          </p>
          <FilesTable files={image.data.layers} caption={`Layers of ${platform}`} />
        </>
      ) : !image.error ? (
        <Loading what="Loading the image" />
      ) : null}
    </div>
  );
}

/** Tags with a delete button each for those who may delete (confirmed first). */
function EditableTags({ p, tags, onChanged }: { p: PackageView; tags: string[]; onChanged(): void }) {
  const [doomed, setDoomed] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  if (!p.canAdmin || tags.length === 0) return <Tags tags={tags} />;
  const remove = async () => {
    if (!doomed) return;
    setBusy(true);
    setError(null);
    try {
      await api('DELETE', packageApi(p.name, `/tags/${encodeURIComponent(doomed)}`));
      setDoomed(null);
      onChanged();
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <span className="tag-list">
      {tags.map((t) => (
        <span key={t} className="tag-chip">
          <code className="tag">{t}</code>
          <button type="button" className="tag-delete" aria-label={`Delete tag ${t}`} title={`Delete tag ${t}`} onClick={() => setDoomed(t)}>
            ×
          </button>
        </span>
      ))}
      <ConfirmDialog open={doomed !== null} title={`Delete tag ${doomed ?? ''}?`} confirmLabel="Delete tag" danger busy={busy} error={error} onConfirm={remove} onCancel={() => setDoomed(null)}>
        <p>The tag goes away; the image stays, reachable by its digest and any other tag. Clients pulling {doomed} will fail.</p>
      </ConfirmDialog>
    </span>
  );
}

function VersionItem({ p, v, onChanged }: { p: PackageView; v: VersionView; onChanged(): void }) {
  const [open, setOpen] = useState(false);
  return (
    <li className="version">
      <div className="version-head">
        <EditableTags p={p} tags={v.tags} onChanged={onChanged} />
        {v.prerelease ? <Badge tone="warn">pre-release</Badge> : null}
        {p.latest && v.tags.includes(p.latest) ? <Badge tone="ok">latest</Badge> : null}
      </div>
      <div className="version-meta">
        <Digest digest={v.digest} />
        <span>{formatBytes(v.size)}</span>
        <span>
          Published <Time iso={v.createdAt} />
          {v.pushedBy ? ` by ${v.pushedBy}` : ''}
        </span>
        <span>
          {formatCount(v.downloads)} download{v.downloads === 1 ? '' : 's'}
        </span>
      </div>
      {v.platforms.length > 0 ? (
        <ul className="platforms plain-list" aria-label="Platforms">
          {v.platforms.map((pl) => (
            <li key={pl.digest} className="platform" title={`${pl.digest} · ${formatBytes(pl.size)}`}>
              {pl.os}/{pl.architecture}
              {pl.variant ? `/${pl.variant}` : ''} <span className="muted">{formatBytes(pl.size)}</span>
              {pl.tags.length > 0 ? (
                <span className="platform-tags" data-testid="platform-tags">
                  {' '}
                  <EditableTags p={p} tags={pl.tags} onChanged={onChanged} />
                </span>
              ) : null}
            </li>
          ))}
        </ul>
      ) : null}
      <button type="button" className="btn btn-small" aria-expanded={open} onClick={() => setOpen((o) => !o)}>
        {open ? 'Hide details' : 'Labels, layers and pull lines'}
      </button>
      {open ? <VersionDetails p={p} v={v} /> : null}
      <Referrers referrers={v.referrers} repo={p.name} registry={p.registry} subject={v.digest} plainHttp={p.plainHttp} />
    </li>
  );
}

function Versions({ p }: { p: PackageView }) {
  const { path, query } = useLocation();
  const tag = query.get('tag') ?? '';
  const page = Math.max(Number(query.get('page') ?? '1') || 1, 1);
  const [draft, setDraft] = useState(tag);
  // After a change (a tag deleted) the page's own first page is stale: ask again.
  const [tick, setTick] = useState(0);
  const own = tag === '' && page === 1 && tick === 0;
  const load = useLoad(`versions|${p.name}|${tag}|${page}|${tick}`, () =>
    own ? Promise.resolve(p) : get<PackageView>(packageApi(p.name, `/view?${new URLSearchParams({ tag, page: String(page), perPage: String(VERSIONS_PER_PAGE) }).toString()}`)),
  );
  const go = (next: { tag: string; page: number }) => {
    const q = new URLSearchParams();
    if (next.tag) q.set('tag', next.tag);
    if (next.page > 1) q.set('page', String(next.page));
    const s = q.toString();
    navigate(s ? `${path}?${s}` : path, { replace: true });
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    go({ tag: draft.trim(), page: 1 });
  };
  const data = load.data;
  const pages = data ? Math.max(Math.ceil(data.matchingVersions / data.perPage), 1) : 1;
  return (
    <>
      <form className="filter-row" role="search" onSubmit={submit}>
        <label htmlFor="tag-filter">Filter by tag or digest</label>
        <input id="tag-filter" type="search" value={draft} onChange={(e) => setDraft(e.target.value)} placeholder="e.g. 1.2 or sha256:ab" />
        <button type="submit" className="btn">
          Filter
        </button>
      </form>
      {load.error ? <LoadError error={load.error} what="versions" retry={load.reload} /> : null}
      {!data && !load.error ? <Loading what="Loading versions" /> : null}
      {data && data.versions.length === 0 ? (
        <Empty title={tag ? 'No version matches' : 'No versions'}>
          <p>{tag ? `No tag contains “${tag}”.` : 'Every version of this package has been deleted. Push a new one to bring it back.'}</p>
        </Empty>
      ) : null}
      {data && data.versions.length > 0 ? (
        <>
          <ul className="version-list">
            {data.versions.map((v) => (
              <VersionItem key={v.digest} p={p} v={v} onChanged={() => setTick((t) => t + 1)} />
            ))}
          </ul>
          <nav className="pager" aria-label="Version pages">
            <button type="button" className="btn" disabled={page <= 1} onClick={() => go({ tag, page: page - 1 })}>
              Newer
            </button>
            <span className="muted small">
              Page {page} of {pages} · {data.matchingVersions} version{data.matchingVersions === 1 ? '' : 's'}
              {tag ? ` matching “${tag}”` : ''}
            </span>
            <button type="button" className="btn" disabled={page >= pages} onClick={() => go({ tag, page: page + 1 })}>
              Older
            </button>
          </nav>
        </>
      ) : null}
    </>
  );
}

export function ImageBody({ p }: { p: PackageView }) {
  const [tab, setTab] = useState<'versions' | 'labels'>('versions');
  const labels = p.image?.labels ?? {};
  const latest = p.versions.find((v) => p.latest !== null && v.tags.includes(p.latest));
  return (
    <div className="package-layout">
      <div className="package-content">
        <section className="card" aria-labelledby="install-title">
          <h2 id="install-title">Install from the command line</h2>
          {p.commands ? (
            <>
              <CommandBlock label="Docker" command={p.commands.docker} testId="cmd-docker" />
              <CommandBlock label="Podman" command={p.commands.podman} testId="cmd-podman" />
            </>
          ) : null}
          {latest ? <CommandBlock label="By digest (never changes)" command={pullLine(p, 'podman', `@${latest.digest}`)} /> : null}
          {p.visibility !== 'public' ? <p className="muted small">This package is {p.visibility}: log in first ({`docker login ${p.registry}`}) with a personal access token as the password.</p> : null}
        </section>
        <Tabs
          label="Image information"
          current={tab}
          onChange={setTab}
          tabs={[
            { id: 'versions', label: 'Versions', count: p.totalVersions },
            { id: 'labels', label: 'Labels', count: Object.keys(labels).length },
          ]}
        />
        {tab === 'versions' ? (
          <TabPanel id="versions">
            <Versions p={p} />
          </TabPanel>
        ) : (
          <TabPanel id="labels">
            <p className="muted small">Labels of the latest image{p.latest ? ` (${p.latest})` : ''}; each version shows its own.</p>
            <LabelsTable labels={labels} caption="Image labels" />
          </TabPanel>
        )}
      </div>
      <Sidebar
        p={p}
        extra={
          p.image ? (
            <>
            <DeployedBy name={p.name} />
            <section className="side-section">
              <h2>Latest image</h2>
              <dl className="details">
                {p.latest ? (
                  <div>
                    <dt>Tag</dt>
                    <dd className="mono">{p.latest}</dd>
                  </div>
                ) : null}
                {p.image.created ? (
                  <div>
                    <dt>Built</dt>
                    <dd>
                      <Time iso={p.image.created} />
                    </dd>
                  </div>
                ) : null}
                {p.image.os ? (
                  <div>
                    <dt>Platform</dt>
                    <dd>
                      {p.image.os}/{p.image.architecture}
                    </dd>
                  </div>
                ) : null}
                <div>
                  <dt>Digest</dt>
                  <dd>
                    <Digest digest={p.image.digest} />
                  </dd>
                </div>
              </dl>
            </section>
            </>
          ) : (
            <DeployedBy name={p.name} />
          )
        }
      />
    </div>
  );
}
