import { get, packageApi } from '../api.ts';
import { CommandBlock, Empty, formatBytes, formatCount, KindBadge, LoadError, Loading, PackageIcon, Time, VisibilityBadge } from '../components.tsx';
import { useLoad, useTitle } from '../hooks.ts';
import { Digest, FilesTable, Sidebar, Tags, VERSIONS_PER_PAGE } from '../package-parts.tsx';
import { Referrers } from '../referrers.tsx';
import { Link, packagePath } from '../router.tsx';
import { useSession } from '../session.tsx';
import { ChartBody } from './PackageChart.tsx';
import { ImageBody } from './PackageImage.tsx';
import type { PackageView, VersionView } from '../api.gen.ts';

export function PackagePage({ name }: { name: string }) {
  const { user } = useSession();
  const load = useLoad(`${name}|${user?.username ?? ''}`, () => get<PackageView>(packageApi(name, `/view?perPage=${VERSIONS_PER_PAGE}`)));
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
        {p.totalVersions > p.versions.length ? <p className="muted small">Showing the newest {p.versions.length} of {p.totalVersions} versions.</p> : null}
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
      <Referrers referrers={v.referrers} repo={p.name} registry={p.registry} subject={v.digest} plainHttp={p.plainHttp} />
    </section>
  );
}

