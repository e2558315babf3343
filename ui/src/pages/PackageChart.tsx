/**
 * A Helm chart's page: a version picker and a pre-release banner, the install lines (or, for a
 * library chart, the `dependencies:` entry that uses it), and tabs — README, Values, Values
 * schema, Templates, Changelog, Dependencies, Images, Versions — whose choice is in the URL
 * (`?tab=values&version=1.2.0`), so every tab can be linked to.
 */
import { chartApi, get, packageApi } from '../api.ts';
import { Badge, CommandBlock, Empty, formatBytes, formatCount, LoadError, Loading, TabPanel, Tabs, Time } from '../components.tsx';
import { useLoad } from '../hooks.ts';
import { Markdown } from '../markdown.tsx';
import { Sidebar } from '../package-parts.tsx';
import { Link, navigate, packagePath, useLocation } from '../router.tsx';
import { AppImages } from '../app-images.tsx';
import { YamlView } from '../yaml-view.tsx';
import type { ChartDetail, ChartFiles, ChartVersions, PackageView } from '../api.gen.ts';

const TABS = ['readme', 'values', 'schema', 'templates', 'changelog', 'dependencies', 'images', 'versions'] as const;
type ChartTab = (typeof TABS)[number];

function isTab(t: string | null): t is ChartTab {
  return (TABS as readonly string[]).includes(t ?? '');
}

/** Where a dependency lives when it is hosted here: an OCI reference to this registry, or this registry's classic repository. */
function hostedPath(repository: string | undefined, name: string, registry: string): string | null {
  if (!repository) return null;
  const oci = /^oci:\/\/([^/]+)\/(.+?)\/?$/.exec(repository);
  if (oci && oci[1] === registry) return packagePath(`${oci[2]}/${name}`);
  const classic = /^https?:\/\/([^/]+)\/charts\/([^/]+)\/?$/.exec(repository);
  if (classic && classic[1] === registry && classic[2]) return `/${encodeURIComponent(classic[2])}?q=${encodeURIComponent(name)}`;
  return null;
}

const CHANGE_TONE: Record<string, 'ok' | 'info' | 'warn' | 'neutral'> = { added: 'ok', changed: 'info', fixed: 'info', deprecated: 'warn', removed: 'warn', security: 'warn' };

export function ChartBody({ p }: { p: PackageView }) {
  const { query, path } = useLocation();
  const versions = useLoad(`chart-versions|${p.name}`, () => get<ChartVersions>(chartApi(p.name)));
  const listed = versions.data?.versions.filter((v) => v.status === 'ok' && v.version !== null) ?? [];
  const wanted = query.get('version') ?? versions.data?.latest ?? versions.data?.latestPrerelease ?? listed[0]?.version ?? null;
  const detail = useLoad(`chart-detail|${p.name}|${wanted ?? ''}`, () => (wanted ? get<ChartDetail>(chartApi(p.name, wanted)) : Promise.resolve(null)));
  const rawTab = query.get('tab');
  const tab: ChartTab = isTab(rawTab) ? rawTab : 'readme';
  const downloadsOf = new Map(p.versions.map((v) => [v.digest, v.downloads]));
  const go = (next: { tab?: ChartTab; version?: string | null }) => {
    const q = new URLSearchParams();
    const v = next.version === undefined ? query.get('version') : next.version;
    if (v) q.set('version', v);
    const t = next.tab ?? tab;
    if (t !== 'readme') q.set('tab', t);
    const s = q.toString();
    navigate(s ? `${path}?${s}` : path, { replace: true });
  };

  if (versions.error) return <LoadError error={versions.error} what="chart" retry={versions.reload} />;
  if (!versions.data) return <Loading what="Loading chart versions" />;
  const d = detail.data;
  const deps = d?.metadata?.dependencies ?? [];
  const maintainers = d?.metadata?.maintainers ?? [];
  const library = d?.metadata?.type === 'library';
  const license = d?.metadata?.annotations?.['artifacthub.io/license'] ?? null;

  return (
    <div className="package-layout">
      <div className="package-content">
        <div className="version-picker">
          <label htmlFor="chart-version">Version</label>
          <select id="chart-version" value={wanted ?? ''} onChange={(e) => go({ version: e.target.value })}>
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
        {d?.prerelease ? (
          <p className="banner" role="note" data-testid="prerelease-banner">
            <strong>{d.version} is a pre-release.</strong> {versions.data.latest ? `The latest stable version is ${versions.data.latest}.` : 'There is no stable version yet.'}
            {versions.data.latest ? (
              <>
                {' '}
                <Link to={`${path}?version=${encodeURIComponent(versions.data.latest)}`}>Show {versions.data.latest}</Link>
              </>
            ) : null}
          </p>
        ) : null}
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
              <h2 id="install-title">{library ? 'Use this library chart' : 'Install'}</h2>
              {d.commands && library ? (
                <>
                  <p className="muted small">A library chart is not installed on its own: add it to your chart's Chart.yaml, then run helm dependency update.</p>
                  <YamlView title="Chart.yaml" text={d.commands.dependency} />
                  <CommandBlock label="Download the chart" command={d.commands.pull} testId="cmd-helm-pull" />
                </>
              ) : d.commands ? (
                <>
                  <CommandBlock label="Install or upgrade a release" command={d.commands.install} testId="cmd-helm-install" />
                  <CommandBlock label="Download the chart" command={d.commands.pull} testId="cmd-helm-pull" />
                  <CommandBlock label="Or add the classic chart repository" command={d.commands.repoAdd} testId="cmd-helm-repo-add" />
                </>
              ) : (
                <p className="muted">This version could not be indexed{d.error ? `: ${d.error}` : ''}.</p>
              )}
              {p.visibility !== 'public' ? (
                <p className="muted small">
                  This chart is {p.visibility}: run <code>helm registry login {p.registry}</code> with a personal access token first.
                </p>
              ) : null}
            </section>
            <Tabs
              label="Chart information"
              current={tab}
              onChange={(t) => go({ tab: t })}
              tabs={[
                { id: 'readme', label: 'README' },
                { id: 'values', label: 'Values' },
                { id: 'schema', label: 'Values schema' },
                { id: 'templates', label: 'Templates' },
                { id: 'changelog', label: 'Changelog', count: d.changelog.length },
                { id: 'dependencies', label: 'Dependencies', count: deps.length },
                { id: 'images', label: 'Images' },
                { id: 'versions', label: 'Versions', count: listed.length },
              ]}
            />
            <TabPanel id={tab}>
              {tab === 'readme' ? (
                d.readme ? (
                  <Markdown text={d.readme.text} className="card readme" />
                ) : (
                  <Empty title="No README">
                    <p>This chart version has no README.md.</p>
                  </Empty>
                )
              ) : null}
              {tab === 'values' ? (
                <>
                  {d.commands ? <CommandBlock label="Print them with Helm" command={d.commands.showValues} testId="cmd-helm-show-values" /> : null}
                  {d.values ? <YamlView title="values.yaml" text={d.values} /> : <Empty title="No values.yaml" />}
                </>
              ) : null}
              {tab === 'schema' ? (
                d.valuesSchema ? (
                  <YamlView title="values.schema.json" text={prettyJson(d.valuesSchema)} />
                ) : (
                  <Empty title="No values schema">
                    <p>This chart version has no values.schema.json, so Helm does not validate the values given to it.</p>
                  </Empty>
                )
              ) : null}
              {tab === 'templates' ? <ChartFilesTable name={p.name} version={d.version ?? wanted ?? ''} /> : null}
              {tab === 'changelog' ? (
                d.changelog.length === 0 ? (
                  <Empty title="No changelog">
                    <p>
                      Charts describe their changes in the <code>artifacthub.io/changes</code> annotation of Chart.yaml.
                    </p>
                  </Empty>
                ) : (
                  <ul className="card plain-list changelog">
                    {d.changelog.map((c, i) => (
                      <li key={i}>
                        {c.kind ? <Badge tone={CHANGE_TONE[c.kind] ?? 'neutral'}>{c.kind}</Badge> : null}
                        {c.description}
                      </li>
                    ))}
                  </ul>
                )
              ) : null}
              {tab === 'dependencies' ? (
                deps.length === 0 ? (
                  <Empty title="No dependencies">
                    <p>This chart does not depend on other charts.</p>
                  </Empty>
                ) : (
                  <div className="table-wrap" tabIndex={0}>
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
                        {deps.map((dep) => {
                          const here = hostedPath(dep.repository, dep.name, p.registry);
                          return (
                            <tr key={`${dep.name}${dep.alias ?? ''}`}>
                              <td>
                                {here ? <Link to={here}>{dep.name}</Link> : dep.name}
                                {dep.alias ? <span className="muted"> as {dep.alias}</span> : null}
                              </td>
                              <td className="mono">{dep.version ?? '—'}</td>
                              <td className="break">
                                <code className="small">{dep.repository ?? '—'}</code>
                              </td>
                              <td>{dep.condition ?? '—'}</td>
                            </tr>
                          );
                        })}
                      </tbody>
                    </table>
                  </div>
                )
              ) : null}
              {tab === 'images' ? <AppImages name={p.name} version={d.version ?? wanted ?? ''} /> : null}
              {tab === 'versions' ? (
                <div className="table-wrap" tabIndex={0}>
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
              ) : null}
            </TabPanel>
          </>
        ) : null}
      </div>
      <Sidebar
        p={p}
        extra={
          d ? (
            <section className="side-section">
              <h2>Chart</h2>
              {d.metadata?.icon && /^https?:\/\//.test(d.metadata.icon) ? <img className="chart-icon" src={d.metadata.icon} alt={`${d.name ?? 'chart'} icon`} referrerPolicy="no-referrer" /> : null}
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
                {d.metadata?.kubeVersion ? (
                  <div>
                    <dt>Kubernetes</dt>
                    <dd className="mono">{d.metadata.kubeVersion}</dd>
                  </div>
                ) : null}
                {license ? (
                  <div>
                    <dt>License</dt>
                    <dd>{license}</dd>
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

function ChartFilesTable({ name, version }: { name: string; version: string }) {
  const load = useLoad(`chart-files|${name}|${version}`, () => get<ChartFiles>(packageApi(name, `/chart-files?version=${encodeURIComponent(version)}`)));
  if (load.error) return <LoadError error={load.error} what="chart files" retry={load.reload} />;
  if (!load.data) return <Loading what="Reading the chart archive" />;
  const templates = load.data.files.filter((f) => f.path.startsWith('templates/'));
  const others = load.data.files.filter((f) => !f.path.startsWith('templates/'));
  const rows = [...templates, ...others];
  return (
    <div className="table-wrap" tabIndex={0}>
      <table>
        <caption className="sr-only">Files of the chart, templates first</caption>
        <thead>
          <tr>
            <th scope="col">File</th>
            <th scope="col" className="num">
              Size
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((f) => (
            <tr key={f.path}>
              <td className="mono break">{f.path}</td>
              <td className="num">{formatBytes(f.size)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted small">
        {templates.length} template{templates.length === 1 ? '' : 's'}, {load.data.files.length} files in all.
      </p>
    </div>
  );
}

function prettyJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
