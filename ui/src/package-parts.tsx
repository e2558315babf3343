/** Pieces of the package page shared by the image, chart and artifact bodies. */
import type { ReactNode } from 'react';
import { get, packageApi } from './api.ts';
import { CopyButton, DownloadsChart, formatBytes, formatCount, kindLabel, shortDigest, Time } from './components.tsx';
import { useLoad } from './hooks.ts';
import { Link, packagePath } from './router.tsx';
import type { FileView, PackageUsage, PackageView } from './api.gen.ts';

/** Versions per page of a package page (the image page pages through them; charts list theirs from the chart index). */
export const VERSIONS_PER_PAGE = 100;

export function StorageSection({ name }: { name: string }) {
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

export function Sidebar({ p, extra }: { p: PackageView; extra?: ReactNode }) {
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

export function Digest({ digest }: { digest: string }) {
  return (
    <span className="digest">
      <code title={digest}>{shortDigest(digest)}</code>
      <CopyButton text={digest} label="Copy digest" />
    </span>
  );
}

export function Tags({ tags }: { tags: string[] }) {
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

export function FilesTable({ files, caption }: { files: FileView[]; caption: string }) {
  if (files.length === 0) return <p className="muted">No files.</p>;
  return (
    <div className="table-wrap" tabIndex={0}>
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
