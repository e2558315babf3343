/** A list of packages across owners (explore, home, dashboard): name with its owner, kind, visibility, latest, updated. */
import { formatCount, KindBadge, PackageIcon, Time, VisibilityBadge } from './components.tsx';
import { Link, packagePath } from './router.tsx';
import type { PackageListItem } from './api.gen.ts';

export function PackageCards({ packages, label }: { packages: PackageListItem[]; label: string }) {
  return (
    <ul className="package-list" aria-label={label}>
      {packages.map((p) => (
        <li key={p.name} className="package-item">
          <PackageIcon kind={p.kind} />
          <div className="package-main">
            <div className="package-title">
              <Link to={packagePath(p.name)} className="package-name">
                {p.name}
              </Link>
              <KindBadge kind={p.kind} />
              <VisibilityBadge visibility={p.visibility} />
            </div>
            {p.description ? <p className="package-desc">{p.description}</p> : null}
            <dl className="package-meta">
              <div>
                <dt>Latest</dt>
                <dd className="mono">{p.latest ?? '—'}</dd>
              </div>
              <div>
                <dt>Updated</dt>
                <dd>
                  <Time iso={p.updatedAt} />
                </dd>
              </div>
              <div>
                <dt>Downloads</dt>
                <dd>{formatCount(p.downloads)}</dd>
              </div>
            </dl>
          </div>
        </li>
      ))}
    </ul>
  );
}
