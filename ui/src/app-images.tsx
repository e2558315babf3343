/** The app view: the images a chart deploys (with install warnings), and the charts deploying an image. */
import { get, packageApi } from './api.ts';
import { Alert, Badge, Empty, LoadError, Loading } from './components.tsx';
import { useLoad } from './hooks.ts';
import { Link, packagePath } from './router.tsx';
import type { AppImages as AppImagesView, DeployedBy as DeployedByView } from './api.gen.ts';

export function AppImages({ name, version }: { name: string; version: string }) {
  const load = useLoad(`app-images|${name}|${version}`, () => get<AppImagesView>(packageApi(name, `/app-images?version=${encodeURIComponent(version)}`)));
  if (load.error) return <LoadError error={load.error} what="images" retry={load.reload} />;
  if (!load.data) return <Loading what="Reading the images of this chart" />;
  const images = load.data.images;
  if (images.length === 0) {
    return (
      <Empty title="No images found">
        <p>
          This version's values.yaml names no image in the usual shapes (<code>image: repo:tag</code> or <code>image: {'{repository, tag}'}</code>).
        </p>
      </Empty>
    );
  }
  const warned = images.filter((i) => i.warnings.length > 0).length;
  return (
    <>
      {warned > 0 ? (
        <Alert kind="warn">
          {warned} of the {images.length} images this chart deploys need attention before installing.
        </Alert>
      ) : null}
      <ul className="plain-list app-images">
        {images.map((i) => (
          <li key={i.path} className="card app-image" data-testid="app-image">
            <div className="version-head">
              <code className="break">{i.path}</code>
              {i.signed === true ? <Badge tone="ok">signed</Badge> : null}
              {i.anonymousPull === true ? <Badge tone="info">public</Badge> : i.anonymousPull === false ? <Badge>private</Badge> : null}
            </div>
            <p className="break mono small">
              {i.package ? (
                <Link to={packagePath(i.package)}>{[i.registry, i.repository].filter(Boolean).join('/')}</Link>
              ) : (
                [i.registry, i.repository].filter(Boolean).join('/')
              )}
              {i.digest ? `@${i.digest}` : `:${i.effectiveTag}`}
              {i.tag === null && !i.digest ? <span className="muted"> (no tag written: the chart's appVersion or latest)</span> : null}
            </p>
            {i.package === null && i.warnings.length === 0 ? <p className="muted small">Pulled from another registry.</p> : null}
            {i.warnings.map((w) => (
              <p key={w.code} className="warning-line" role="note" data-testid={`warning-${w.code}`}>
                <strong>Warning:</strong> {w.message}
              </p>
            ))}
          </li>
        ))}
      </ul>
    </>
  );
}

export function DeployedBy({ name }: { name: string }) {
  const load = useLoad(`deployed-by|${name}`, () => get<DeployedByView>(packageApi(name, '/deployed-by')));
  const charts = load.data?.charts ?? [];
  if (charts.length === 0) return null;
  return (
    <section className="side-section">
      <h2>Deployed by</h2>
      <ul className="plain-list" data-testid="deployed-by">
        {charts.map((c) => (
          <li key={c.chart}>
            <Link to={`${packagePath(c.chart)}?version=${encodeURIComponent(c.version)}&tab=images`}>{c.chart}</Link> <span className="muted small">· {c.version}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}
