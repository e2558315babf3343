import { CommandBlock, Loading } from '../components.tsx';
import { useTitle } from '../hooks.ts';
import { Link } from '../router.tsx';
import { useSession } from '../session.tsx';

export function HomePage() {
  useTitle('');
  const { user } = useSession();
  const host = window.location.host;
  if (user === undefined) return <Loading />;
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
            <Link to="/-/settings/tokens" className="btn">
              Create an access token
            </Link>
          </div>
        ) : (
          <div className="hero-actions">
            <Link to="/-/sign-in" className="btn btn-primary">
              Sign in
            </Link>
          </div>
        )}
      </div>
      {user && user.orgs.length > 0 ? (
        <div className="card">
          <h2>Your organizations</h2>
          <ul className="plain-list">
            {user.orgs.map((o) => (
              <li key={o.org}>
                <Link to={`/${o.org}`}>{o.org}</Link> <span className="muted">· {o.role}</span>
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      <div className="grid-2">
        <div className="card">
          <h2>Push an image</h2>
          <CommandBlock command={`podman login ${host}`} />
          <CommandBlock command={`podman push ${host}/${user?.username ?? 'OWNER'}/app:1.0.0`} />
        </div>
        <div className="card">
          <h2>Push a chart</h2>
          <CommandBlock command={`helm registry login ${host}`} />
          <CommandBlock command={`helm push app-1.0.0.tgz oci://${host}/${user?.username ?? 'OWNER'}/charts`} />
        </div>
      </div>
    </section>
  );
}
