import { useState } from 'react';
import { chartApi, get, packageApi } from '../api.ts';
import { Badge, CommandBlock, CopyButton, Empty, formatBytes, formatCount, KindBadge, LoadError, Loading, PackageIcon, TabPanel, Tabs, Time, VisibilityBadge } from '../components.tsx';
import { useLoad, useTitle } from '../hooks.ts';
import { Markdown } from '../markdown.tsx';
import { Digest, FilesTable, Sidebar, Tags } from '../package-parts.tsx';
import { Referrers } from '../referrers.tsx';
import { Link, navigate, packagePath, useLocation } from '../router.tsx';
import { useSession } from '../session.tsx';
import { ImageBody } from './PackageImage.tsx';
import type { ChartDetail, ChartVersions, PackageView, VersionView } from '../api.gen.ts';

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
          p.versions.map((v) => <ArtifactVersion key={v.digest} p={p} v={v} />)
        )}
      </div>
      <Sidebar p={p} />
    </div>
  );
}

function ArtifactVersion({ p, v }: { p: PackageView; v: VersionView }) {
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
      <Referrers referrers={v.referrers} repo={p.name} registry={p.registry} subject={v.digest} />
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
