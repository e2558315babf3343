/** Layout and routes. Wharf's own pages live under `/-/…` (no owner can be named `-`). */
import { useState } from 'react';
import { Loading, NotFound } from './components.tsx';
import { AccountPage } from './pages/Account.tsx';
import { AdminPage } from './pages/Admin.tsx';
import { ExplorePage } from './pages/Explore.tsx';
import { HomePage } from './pages/Home.tsx';
import { OwnerPage } from './pages/Owner.tsx';
import { OwnerAuditPage, OwnerSettingsPage } from './pages/OwnerSettings.tsx';
import { PackagePage } from './pages/Package.tsx';
import { PackageSettingsPage } from './pages/PackageSettings.tsx';
import { SignInPage } from './pages/SignIn.tsx';
import { OidcCallbackPage } from './pages/OidcSignIn.tsx';
import { OwnerOrgTab } from './pages/OwnerTabs.tsx';
import { TrashPage } from './pages/Trash.tsx';
import { Link, Redirect, navigate, segments, useLocation } from './router.tsx';
import { useSession } from './session.tsx';

function Header() {
  const { user, signOut } = useSession();
  const { path } = useLocation();
  const [menu, setMenu] = useState(false);
  const out = async () => {
    setMenu(false);
    try {
      await signOut();
    } finally {
      navigate('/');
    }
  };
  return (
    <header className="site-header">
      <a href="#main" className="skip-link">
        Skip to content
      </a>
      <div className="header-inner">
        <Link to="/" className="brand" aria-label="Wharf home">
          <svg viewBox="0 0 32 32" width="26" height="26" aria-hidden="true">
            <rect width="32" height="32" rx="7" fill="#fff" fillOpacity="0.14" />
            <path d="M6 19h20l-3 6H9z" fill="#fff" />
            <path d="M10 9h5v8h-5zM17 12h5v5h-5z" fill="#9cc3ff" />
          </svg>
          <span>Wharf</span>
        </Link>
        <nav aria-label="Main" className="header-nav">
          <Link to="/-/explore" className="nav-link" aria-current={path === '/-/explore' ? 'page' : undefined}>
            Explore
          </Link>
          {user ? (
            <>
              <Link to={`/${user.username}`} className="nav-link" aria-current={path === `/${user.username}` ? 'page' : undefined}>
                Your packages
              </Link>
              <div className="user-menu">
                <button type="button" className="nav-link user-button" aria-expanded={menu} aria-controls="user-menu" onClick={() => setMenu((m) => !m)}>
                  <span className="avatar" aria-hidden="true">
                    {user.username.slice(0, 1).toUpperCase()}
                  </span>
                  <span className="user-name">{user.username}</span>
                </button>
                {menu ? (
                  <ul id="user-menu" className="menu" onClick={() => setMenu(false)}>
                    <li>
                      <Link to="/-/settings/tokens">Access tokens</Link>
                    </li>
                    <li>
                      <Link to="/-/settings/pull-secrets">Kubernetes pull secrets</Link>
                    </li>
                    <li>
                      <Link to="/-/settings/orgs">Organizations</Link>
                    </li>
                    <li>
                      <Link to="/-/settings/password">Change password</Link>
                    </li>
                    {user.admin ? (
                      <li>
                        <Link to="/-/admin/gc">Site administration</Link>
                      </li>
                    ) : null}
                    <li>
                      <Link to={`/${user.username}/-/trash`}>Trash</Link>
                    </li>
                    <li>
                      <button type="button" onClick={out}>
                        Sign out
                      </button>
                    </li>
                  </ul>
                ) : null}
              </div>
            </>
          ) : user === null && !path.startsWith('/-/sign-in') ? (
            <Link to={`/-/sign-in?next=${encodeURIComponent(path)}`} className="btn btn-light">
              Sign in
            </Link>
          ) : null}
        </nav>
      </div>
    </header>
  );
}

function Routes() {
  const { path } = useLocation();
  const { user } = useSession();
  const seg = segments(path);
  if (seg.length === 0) return <HomePage />;
  if (seg[0] === '-') {
    const page = seg[1];
    if (page === 'sign-in') return seg[2] === 'oidc' ? <OidcCallbackPage /> : <SignInPage />;
    // ---- browse (issue 16 part B) ----
    if (page === 'explore') return user === undefined ? <Loading /> : <ExplorePage />;
    // ---- end browse ----
    if (user === undefined) return <Loading />;
    if (page === 'settings') return <AccountPage tab={seg[2] ?? 'tokens'} />;
    // Older links: an organization's people are a tab of its owner page now.
    if (page === 'orgs' && seg[2]) return <Redirect to={`/${encodeURIComponent(seg[2])}/-/people`} />;
    if (page === 'admin') return <AdminPage section={seg[2] ?? 'gc'} />;
    return <NotFound />;
  }
  const owner = seg[0] ?? '';
  if (seg.length === 1) return <OwnerPage owner={owner} />;
  if (seg.length === 3 && seg[1] === '-' && seg[2] === 'trash') return <TrashPage owner={owner} />;
  if (seg.length === 3 && seg[1] === '-' && seg[2] === 'audit') return user === undefined ? <Loading /> : <OwnerAuditPage owner={owner} />;
  const dash = seg.indexOf('-');
  if (dash === 1 && seg[2] === 'settings' && seg.length === 3) return user === undefined ? <Loading /> : <OwnerSettingsPage owner={owner} />;
  // Owner tabs (uiadmin): People and Teams of an organization.
  if (dash === 1 && seg.length === 3 && (seg[2] === 'people' || seg[2] === 'teams')) return user === undefined ? <Loading /> : <OwnerOrgTab owner={owner} tab={seg[2]} />;
  if (dash > 1) {
    const name = seg.slice(0, dash).join('/');
    if (seg[dash + 1] === 'settings' && seg.length === dash + 2) return <PackageSettingsPage name={name} />;
    return <NotFound />;
  }
  return <PackagePage name={seg.join('/')} />;
}

export function App() {
  const { path } = useLocation();
  return (
    <>
      <Header />
      <main id="main" className="container" tabIndex={-1} key={path.split('/').slice(0, 2).join('/')}>
        <Routes />
      </main>
      <footer className="site-footer">
        <span>Wharf — container images and Helm charts, side by side.</span>
        <a href="/api/v1/openapi.json">API</a>
      </footer>
    </>
  );
}
