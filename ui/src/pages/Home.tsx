/**
 * The start page. Anonymous: what Wharf is and the recently updated public packages. Signed in:
 * a dashboard of one owner's packages at a time (you or one of your organizations, picked with
 * the switcher), with the push lines.
 */
import { get } from '../api.ts';
import { CommandBlock, Empty, LoadError, Loading } from '../components.tsx';
import { useLoad, useTitle } from '../hooks.ts';
import { PackageCards } from '../package-cards.tsx';
import { Link, navigate, useLocation } from '../router.tsx';
import { useSession } from '../session.tsx';
import type { ExploreResult, OwnerPackages } from '../api.gen.ts';

function RecentPublic() {
  const load = useLoad('home-recent', () => get<ExploreResult>('/api/v1/explore?limit=10'));
  if (load.error) return <LoadError error={load.error} what="packages" retry={load.reload} />;
  if (!load.data) return <Loading what="Loading recent packages" />;
  return (
    <section className="card" aria-labelledby="recent-title">
      <h2 id="recent-title">Recently updated public packages</h2>
      {load.data.packages.length === 0 ? <p className="muted">No public packages yet.</p> : <PackageCards packages={load.data.packages} label="Recently updated public packages" />}
      <p>
        <Link to="/-/explore">Explore all packages</Link>
      </p>
    </section>
  );
}

function Dashboard({ username, orgs }: { username: string; orgs: string[] }) {
  const { query, path } = useLocation();
  const owners = [username, ...orgs];
  const wanted = query.get('owner');
  const owner = wanted && owners.includes(wanted) ? wanted : username;
  const load = useLoad(`dash|${owner}`, () => get<OwnerPackages>(`/api/v1/owners/${encodeURIComponent(owner)}/package-views`));
  return (
    <section className="card" aria-labelledby="dash-title">
      <div className="dash-head">
        <h2 id="dash-title">Packages of {owner}</h2>
        {owners.length > 1 ? (
          <div className="version-picker">
            <label htmlFor="dash-owner">Organization</label>
            <select id="dash-owner" value={owner} onChange={(e) => navigate(e.target.value === username ? path : `${path}?owner=${encodeURIComponent(e.target.value)}`, { replace: true })}>
              {owners.map((o) => (
                <option key={o} value={o}>
                  {o === username ? `${o} (you)` : o}
                </option>
              ))}
            </select>
          </div>
        ) : null}
      </div>
      {load.error ? <LoadError error={load.error} what="packages" retry={load.reload} /> : null}
      {!load.data && !load.error ? <Loading what="Loading packages" /> : null}
      {load.data && load.data.packages.length === 0 ? (
        <Empty title="No packages yet">
          <p>Push an image or a chart to {owner} with the lines below.</p>
        </Empty>
      ) : null}
      {load.data && load.data.packages.length > 0 ? <PackageCards packages={load.data.packages.slice(0, 20)} label={`Packages of ${owner}`} /> : null}
      <p>
        <Link to={`/${encodeURIComponent(owner)}`}>All of {owner}'s packages</Link> · <Link to="/-/explore">Explore</Link>
      </p>
    </section>
  );
}

export function HomePage() {
  useTitle('');
  const { user } = useSession();
  const { query } = useLocation();
  const host = window.location.host;
  if (user === undefined) return <Loading />;
  const owner = user ? (query.get('owner') ?? user.username) : 'OWNER';
  return (
    <section className="home">
      <div className="hero">
        <h1>Container images and Helm charts, side by side</h1>
        <p className="lead">Wharf is this organization's registry. Push images with Docker or Podman and charts with Helm; pull them with the same credentials.</p>
        {user ? (
          <div className="hero-actions">
            <Link to={`/${user.username}`} className="btn btn-primary">
              Your packages
            </Link>
            <Link to="/-/explore" className="btn">
              Explore
            </Link>
            <Link to="/-/settings/tokens" className="btn">
              Create an access token
            </Link>
          </div>
        ) : (
          <div className="hero-actions">
            <Link to="/-/sign-in" className="btn btn-primary">
              Sign in
            </Link>
            <Link to="/-/explore" className="btn">
              Explore
            </Link>
          </div>
        )}
      </div>
      {user ? <Dashboard username={user.username} orgs={user.orgs.map((o) => o.org)} /> : <RecentPublic />}
      <div className="grid-2">
        <div className="card">
          <h2>Push an image</h2>
          <CommandBlock command={`podman login ${host}`} />
          <CommandBlock command={`podman push ${host}/${owner}/app:1.0.0`} />
        </div>
        <div className="card">
          <h2>Push a chart</h2>
          <CommandBlock command={`helm registry login ${host}`} />
          <CommandBlock command={`helm push app-1.0.0.tgz oci://${host}/${owner}/charts`} />
        </div>
      </div>
    </section>
  );
}
