import { type ReactNode, useState } from 'react';
import { chartApi, get, packageApi } from '../api.ts';
import {
  Badge,
  CommandBlock,
  CopyButton,
  DownloadsChart,
  Empty,
  formatBytes,
  formatCount,
  KindBadge,
  kindLabel,
  LoadError,
  Loading,
  PackageIcon,
  shortDigest,
  TabPanel,
  Tabs,
  Time,
  VisibilityBadge,
} from '../components.tsx';
import { useLoad, useTitle } from '../hooks.ts';
import { Markdown } from '../markdown.tsx';
import { Link, navigate, packagePath, useLocation } from '../router.tsx';
import { useSession } from '../session.tsx';
import type { ChartDetail, ChartVersions, FileView, PackageUsage, PackageView, ReferrerView, VersionView } from '../api.gen.ts';

export function PackagePage({ name }: { name: string }) {
  const { user } = useSession();
  const load = useLoad(`${name}|${user?.username ?? ''}`, () => get<PackageView>(packageApi(name, '/view')));
  useTitle(name);
  if (load.error) return <LoadError error={load.error} what="package" retry={load.reload} />;
  if (!load.data) return <Loading what="Loading the package" />;
  const p = load.data;
  return (
    <article className="package-page" aria-labelledby="pkg-title">
      <header className="page-head">
        <PackageIcon kind={p.kind} />
        <div className="head-text">
          <p className="crumbs">
            <Link to={`/${p.owner}`}>{p.owner}</Link>
            <span aria-hidden="true"> / </span>
          </p>
          <h1 id="pkg-title">{p.path}</h1>
          <div className="badges">
            <KindBadge kind={p.kind} />
            <VisibilityBadge visibility={p.visibility} />
          </div>
        </div>
        {p.canAdmin ? (
          <Link to={packagePath(p.name, '/-/settings')} className="btn head-action">
            <span aria-hidden="true">⚙ </span>Package settings
          </Link>
        ) : null}
      </header>
      {p.description ? <p className="lead">{p.description}</p> : null}
      {p.kind === 'chart' ? <ChartBody p={p} /> : p.kind === 'image' ? <ImageBody p={p} /> : <ArtifactBody p={p} />}
    </article>
  );
}

function StorageSection({ name }: { name: string }) {
  const usage = useLoad(`usage|${name}`, () => get<PackageUsage>(packageApi(name, '/usage')));
  if (!usage.data) return null;
  return (
    <section className="side-section">
      <h2>Storage</h2>
      <p className="storage-number" data-testid="package-usage">
        {formatBytes(usage.data.liveBytes)}
      </p>
      {usage.data.trashedBytes > 0 ? <p className="muted small">{formatBytes(usage.data.trashedBytes)} more kept by versions in the trash</p> : null}
    </section>
  );
}

function Sidebar({ p, extra }: { p: PackageView; extra?: ReactNode }) {
  const related = p.related.filter((r) => r.relation !== 'artifact');
  return (
    <aside className="sidebar" aria-label="About this package">
      {extra}
      <StorageSection name={p.name} />
      <section className="side-section">
        <h2>Downloads</h2>
        <p className="big-number">{formatCount(p.downloads.total)}</p>
        <DownloadsChart days={p.downloads.last30Days} />
      </section>
      {related.length > 0 ? (
        <section className="side-section related">
          <h2>{p.kind === 'image' ? "This app's chart" : p.kind === 'chart' ? "This chart's images" : 'Related packages'}</h2>
          <ul className="plain-list">
            {related.map((r) => (
              <li key={r.name}>
                <Link to={packagePath(r.name)}>{r.name}</Link> <span className="muted small">· {kindLabel(r.kind)}</span>
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      <section className="side-section">
        <h2>Details</h2>
        <dl className="details">
          {p.source ? (
            <div>
              <dt>Source</dt>
              <dd>
                <a href={p.source} rel="noopener noreferrer nofollow" target="_blank">
                  {p.source.replace(/^https?:\/\//, '')}
                </a>
              </dd>
            </div>
          ) : null}
          <div>
            <dt>Versions</dt>
            <dd>{p.totalVersions}</dd>
          </div>
          <div>
            <dt>Last updated</dt>
            <dd>
              <Time iso={p.updatedAt} />
            </dd>
          </div>
          <div>
            <dt>Created</dt>
            <dd>
              <Time iso={p.createdAt} />
            </dd>
          </div>
          <div>
            <dt>Your access</dt>
            <dd>{p.viewerRole ?? 'read'}</dd>
          </div>
        </dl>
      </section>
    </aside>
  );
}

function Digest({ digest }: { digest: string }) {
  return (
    <span className="digest">
      <code title={digest}>{shortDigest(digest)}</code>
      <CopyButton text={digest} label="Copy digest" />
    </span>
  );
}

function Tags({ tags }: { tags: string[] }) {
  if (tags.length === 0) return <span className="muted">untagged</span>;
  return (
    <span className="tag-list">
      {tags.map((t) => (
        <code key={t} className="tag">
          {t}
        </code>
      ))}
    </span>
  );
}

function Referrers({ referrers }: { referrers: ReferrerView[] }) {
  if (referrers.length === 0) return null;
  return (
    <div className="referrers">
      <h4>Signatures, SBOMs and attestations</h4>
      <ul className="plain-list">
        {referrers.map((r) => (
          <li key={r.digest} className="referrer">
            <Badge tone={r.role === 'signature' ? 'ok' : r.role === 'sbom' ? 'info' : 'neutral'}>{r.role === 'sbom' ? 'SBOM' : r.role[0]?.toUpperCase() + r.role.slice(1)}</Badge>{' '}
            <code className="small">{r.artifactType ?? r.mediaType}</code> <span className="muted small">· {formatBytes(r.size)} · </span>
            <span className="small">
              <Time iso={r.createdAt} />
            </span>
            <div>
              <Digest digest={r.digest} />
            </div>
          </li>
        ))}
      </ul>
    </div>
  );
}

function FilesTable({ files, caption }: { files: FileView[]; caption: string }) {
  if (files.length === 0) return <p className="muted">No files.</p>;
  return (
    <div className="table-wrap">
      <table>
        <caption className="sr-only">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">File</th>
            <th scope="col">Media type</th>
            <th scope="col" className="num">
              Size
            </th>
            <th scope="col">Digest</th>
          </tr>
        </thead>
        <tbody>
          {files.map((f) => (
            <tr key={f.digest + (f.title ?? '')}>
              <td>{f.title ?? <span className="muted">(no name)</span>}</td>
              <td>
                <code className="small">{f.mediaType}</code>
              </td>
              <td className="num">{formatBytes(f.size)}</td>
              <td>
                <Digest digest={f.digest} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

// ---- container images ---------------------------------------------------------------------------

function ImageBody({ p }: { p: PackageView }) {
  const [tab, setTab] = useState<'versions' | 'labels'>('versions');
  const labels = Object.entries(p.image?.labels ?? {}).sort(([a], [b]) => a.localeCompare(b));
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
          {p.visibility !== 'public' ? <p className="muted small">This package is {p.visibility}: log in first ({`docker login ${p.registry}`}) with a personal access token as the password.</p> : null}
        </section>
        <Tabs
          label="Image information"
          current={tab}
          onChange={setTab}
          tabs={[
            { id: 'versions', label: 'Versions', count: p.totalVersions },
            { id: 'labels', label: 'Labels', count: labels.length },
          ]}
        />
        {tab === 'versions' ? (
          <TabPanel id="versions">
            <VersionList p={p} />
          </TabPanel>
        ) : (
          <TabPanel id="labels">
            {labels.length === 0 ? (
              <Empty title="No labels">
                <p>The latest image's configuration has no labels.</p>
              </Empty>
            ) : (
              <div className="table-wrap">
                <table>
                  <caption className="sr-only">Image labels</caption>
                  <thead>
                    <tr>
                      <th scope="col">Label</th>
                      <th scope="col">Value</th>
                    </tr>
                  </thead>
                  <tbody>
                    {labels.map(([k, v]) => (
                      <tr key={k}>
                        <td>
                          <code className="small">{k}</code>
                        </td>
                        <td className="break">{v}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </TabPanel>
        )}
      </div>
      <Sidebar
        p={p}
        extra={
          p.image ? (
            <section className="side-section">
              <h2>Latest image</h2>
              <dl className="details">
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
          ) : null
        }
      />
    </div>
  );
}

function VersionList({ p }: { p: PackageView }) {
  if (p.versions.length === 0) {
    return (
      <Empty title="No versions">
        <p>Every version of this package has been deleted. Push a new one to bring it back.</p>
      </Empty>
    );
  }
  return (
    <>
      <ul className="version-list">
        {p.versions.map((v) => (
          <li key={v.digest} className="version">
            <div className="version-head">
              <Tags tags={v.tags} />
              {v.prerelease ? <Badge tone="warn">pre-release</Badge> : null}
            </div>
            <div className="version-meta">
              <Digest digest={v.digest} />
              <span>{formatBytes(v.size)}</span>
              <span>
                Published <Time iso={v.createdAt} />
              </span>
              <span>
                {formatCount(v.downloads)} download{v.downloads === 1 ? '' : 's'}
              </span>
            </div>
            {v.platforms.length > 0 ? (
              <div className="platforms" aria-label="Platforms">
                {v.platforms.map((pl) => (
                  <span key={pl.digest} className="platform" title={`${pl.digest} · ${formatBytes(pl.size)}`}>
                    {pl.os}/{pl.architecture}
                    {pl.variant ? `/${pl.variant}` : ''} <span className="muted">{formatBytes(pl.size)}</span>
                  </span>
                ))}
              </div>
            ) : null}
            <Referrers referrers={v.referrers} />
          </li>
        ))}
      </ul>
      {p.totalVersions > p.versions.length ? <p className="muted small">Showing the newest {p.versions.length} of {p.totalVersions} versions.</p> : null}
    </>
  );
}

// ---- other artifacts ------------------------------------------------------------------------------

function ArtifactBody({ p }: { p: PackageView }) {
  return (
    <div className="package-layout">
      <div className="package-content">
        {p.latest ? (
          <section className="card" aria-labelledby="fetch-title">
            <h2 id="fetch-title">Fetch from the command line</h2>
            <CommandBlock label="ORAS" command={`oras pull ${p.registry}/${p.name}:${p.latest}`} />
          </section>
        ) : null}
        <h2>Versions</h2>
        {p.versions.length === 0 ? (
          <Empty title="No versions" />
        ) : (
          p.versions.map((v) => <ArtifactVersion key={v.digest} v={v} />)
        )}
      </div>
      <Sidebar p={p} />
    </div>
  );
}

function ArtifactVersion({ v }: { v: VersionView }) {
  return (
    <section className="card version-card" aria-label={`Version ${v.tags[0] ?? v.digest}`}>
      <div className="version-head">
        <Tags tags={v.tags} />
      </div>
      <dl className="details inline">
        <div>
          <dt>Artifact type</dt>
          <dd>
            <code className="small">{v.artifactType ?? v.config?.mediaType ?? v.mediaType}</code>
          </dd>
        </div>
        <div>
          <dt>Size</dt>
          <dd>{formatBytes(v.size)}</dd>
        </div>
        <div>
          <dt>Published</dt>
          <dd>
            <Time iso={v.createdAt} />
          </dd>
        </div>
        <div>
          <dt>Downloads</dt>
          <dd>{formatCount(v.downloads)}</dd>
        </div>
        <div>
          <dt>Digest</dt>
          <dd>
            <Digest digest={v.digest} />
          </dd>
        </div>
      </dl>
      <h3 className="h4">Files</h3>
      <FilesTable files={v.files} caption={`Files of ${v.tags[0] ?? v.digest}`} />
      <Referrers referrers={v.referrers} />
    </section>
  );
}

// ---- Helm charts -----------------------------------------------------------------------------------

type ChartTab = 'readme' | 'values' | 'dependencies' | 'versions';

function ChartBody({ p }: { p: PackageView }) {
  const { query, path } = useLocation();
  const versions = useLoad(`chart-versions|${p.name}`, () => get<ChartVersions>(chartApi(p.name)));
  const listed = versions.data?.versions.filter((v) => v.status === 'ok' && v.version !== null) ?? [];
  const wanted = query.get('version') ?? versions.data?.latest ?? versions.data?.latestPrerelease ?? listed[0]?.version ?? null;
  const detail = useLoad(`chart-detail|${p.name}|${wanted ?? ''}`, () => (wanted ? get<ChartDetail>(chartApi(p.name, wanted)) : Promise.resolve(null)));
  const [tab, setTab] = useState<ChartTab>('readme');
  const downloadsOf = new Map(p.versions.map((v) => [v.digest, v.downloads]));

  if (versions.error) return <LoadError error={versions.error} what="chart" retry={versions.reload} />;
  if (!versions.data) return <Loading what="Loading chart versions" />;
  const d = detail.data;
  const deps = d?.metadata?.dependencies ?? [];
  const maintainers = d?.metadata?.maintainers ?? [];

  return (
    <div className="package-layout">
      <div className="package-content">
        <div className="version-picker">
          <label htmlFor="chart-version">Version</label>
          <select id="chart-version" value={wanted ?? ''} onChange={(e) => navigate(`${path}?version=${encodeURIComponent(e.target.value)}`, { replace: true })}>
            {listed.map((v) => (
              <option key={v.digest} value={v.version ?? ''}>
                {v.version}
                {v.prerelease ? ' (pre-release)' : ''}
                {v.version === versions.data?.latest ? ' (latest)' : ''}
              </option>
            ))}
          </select>
          {d?.appVersion ? (
            <span className="muted">
              App version <strong>{d.appVersion}</strong>
            </span>
          ) : null}
          {d?.deprecated ? <Badge tone="warn">deprecated</Badge> : null}
        </div>
        {detail.error ? <LoadError error={detail.error} what="chart version" retry={detail.reload} /> : null}
        {!d && !detail.error && wanted ? <Loading what="Loading the chart" /> : null}
        {!wanted ? (
          <Empty title="No chart versions">
            <p>No version of this chart could be read. Push one with <code>helm push</code>.</p>
          </Empty>
        ) : null}
        {d ? (
          <>
            <section className="card" aria-labelledby="install-title">
              <h2 id="install-title">Install</h2>
              {d.commands ? (
                <>
                  <CommandBlock label="Install or upgrade a release" command={d.commands.install} testId="cmd-helm-install" />
                  <CommandBlock label="Download the chart" command={d.commands.pull} testId="cmd-helm-pull" />
                  <CommandBlock label="Or add the classic chart repository" command={d.commands.repoAdd} testId="cmd-helm-repo-add" />
                </>
              ) : (
                <p className="muted">This version could not be indexed{d.error ? `: ${d.error}` : ''}.</p>
              )}
              {p.visibility !== 'public' ? <p className="muted small">This chart is {p.visibility}: run <code>helm registry login {p.registry}</code> with a personal access token first.</p> : null}
            </section>
            <Tabs
              label="Chart information"
              current={tab}
              onChange={setTab}
              tabs={[
                { id: 'readme', label: 'README' },
                { id: 'values', label: 'Values' },
                { id: 'dependencies', label: 'Dependencies', count: deps.length },
                { id: 'versions', label: 'Versions', count: listed.length },
              ]}
            />
            {tab === 'readme' ? (
              <TabPanel id="readme">
                {d.readme ? (
                  <Markdown text={d.readme.text} className="card readme" />
                ) : (
                  <Empty title="No README">
                    <p>This chart version has no README.md.</p>
                  </Empty>
                )}
              </TabPanel>
            ) : null}
            {tab === 'values' ? (
              <TabPanel id="values">
                {d.values ? (
                  <div className="code-block">
                    <div className="code-head">
                      <span>values.yaml</span>
                      <CopyButton text={d.values} label="Copy values" />
                    </div>
                    <pre tabIndex={0} aria-label="values.yaml">
                      <code>{d.values}</code>
                    </pre>
                  </div>
                ) : (
                  <Empty title="No values.yaml" />
                )}
              </TabPanel>
            ) : null}
            {tab === 'dependencies' ? (
              <TabPanel id="dependencies">
                {deps.length === 0 ? (
                  <Empty title="No dependencies">
                    <p>This chart does not depend on other charts.</p>
                  </Empty>
                ) : (
                  <div className="table-wrap">
                    <table>
                      <caption className="sr-only">Chart dependencies</caption>
                      <thead>
                        <tr>
                          <th scope="col">Chart</th>
                          <th scope="col">Version</th>
                          <th scope="col">Repository</th>
                          <th scope="col">Condition</th>
                        </tr>
                      </thead>
                      <tbody>
                        {deps.map((dep) => (
                          <tr key={`${dep.name}${dep.alias ?? ''}`}>
                            <td>
                              {dep.name}
                              {dep.alias ? <span className="muted"> as {dep.alias}</span> : null}
                            </td>
                            <td className="mono">{dep.version ?? '—'}</td>
                            <td className="break">
                              <code className="small">{dep.repository ?? '—'}</code>
                            </td>
                            <td>{dep.condition ?? '—'}</td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  </div>
                )}
              </TabPanel>
            ) : null}
            {tab === 'versions' ? (
              <TabPanel id="versions">
                <div className="table-wrap">
                  <table>
                    <caption className="sr-only">Chart versions, highest first</caption>
                    <thead>
                      <tr>
                        <th scope="col">Version</th>
                        <th scope="col">App version</th>
                        <th scope="col">Published</th>
                        <th scope="col" className="num">
                          Downloads
                        </th>
                      </tr>
                    </thead>
                    <tbody>
                      {versions.data.versions.map((v) => (
                        <tr key={v.digest}>
                          <td>
                            {v.version ? (
                              <Link to={`${path}?version=${encodeURIComponent(v.version)}`} className="mono">
                                {v.version}
                              </Link>
                            ) : (
                              <span className="muted">unreadable</span>
                            )}{' '}
                            {v.prerelease ? <Badge tone="warn">pre-release</Badge> : null}
                            {v.status === 'failed' ? <Badge tone="warn">indexing failed</Badge> : null}
                          </td>
                          <td>{v.appVersion ?? '—'}</td>
                          <td>
                            <Time iso={v.created} />
                          </td>
                          <td className="num">{formatCount(downloadsOf.get(v.digest) ?? 0)}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              </TabPanel>
            ) : null}
          </>
        ) : null}
      </div>
      <Sidebar
        p={p}
        extra={
          d ? (
            <section className="side-section">
              <h2>Chart</h2>
              <dl className="details">
                <div>
                  <dt>Version</dt>
                  <dd className="mono">{d.version}</dd>
                </div>
                {d.metadata?.type ? (
                  <div>
                    <dt>Type</dt>
                    <dd>{d.metadata.type}</dd>
                  </div>
                ) : null}
                {d.size !== null ? (
                  <div>
                    <dt>Size</dt>
                    <dd>{formatBytes(d.size)}</dd>
                  </div>
                ) : null}
                {d.metadata?.home ? (
                  <div>
                    <dt>Home</dt>
                    <dd>
                      <a href={d.metadata.home} target="_blank" rel="noopener noreferrer nofollow">
                        {d.metadata.home.replace(/^https?:\/\//, '')}
                      </a>
                    </dd>
                  </div>
                ) : null}
                {d.metadata?.keywords && d.metadata.keywords.length > 0 ? (
                  <div>
                    <dt>Keywords</dt>
                    <dd>{d.metadata.keywords.join(', ')}</dd>
                  </div>
                ) : null}
                {maintainers.length > 0 ? (
                  <div>
                    <dt>Maintainers</dt>
                    <dd>{maintainers.map((m) => m.name ?? m.email ?? '').filter(Boolean).join(', ')}</dd>
                  </div>
                ) : null}
                {d.provenance ? (
                  <div>
                    <dt>Provenance</dt>
                    <dd>
                      <Badge tone="ok">signed</Badge>
                    </dd>
                  </div>
                ) : null}
              </dl>
            </section>
          ) : null
        }
      />
    </div>
  );
}
