/**
 * A list of packages (explore, home, dashboard, an owner's page): name, kind, visibility, latest,
 * updated, downloads, and whatever more the page adds (`meta`).
 */
import type { ReactNode } from 'react';
import { formatCount, KindBadge, PackageIcon, Time, VisibilityBadge } from './components.tsx';
import { Link, packagePath } from './router.tsx';
import type { PackageListItem } from './api.gen.ts';

export function PackageCards({
  packages,
  label,
  withinOwner = false,
  meta,
}: {
  packages: PackageListItem[];
  label: string;
  /** On the owner's own page: the name without the owner. */
  withinOwner?: boolean;
  meta?: (p: PackageListItem) => ReactNode;
}) {
  return (
    <ul className="package-list" aria-label={label}>
      {packages.map((p) => (
        <li key={p.name} className="package-item">
          <PackageIcon kind={p.kind} />
          <div className="package-main">
            <div className="package-title">
              <Link to={packagePath(p.name)} className="package-name">
                {withinOwner ? p.path : p.name}
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
              {meta?.(p)}
            </dl>
          </div>
        </li>
      ))}
    </ul>
  );
}
