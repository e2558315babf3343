import { type FormEvent, useState } from 'react';
import { ApiError, messageOf } from '../api.ts';
import { Alert } from '../components.tsx';
import { useTitle } from '../hooks.ts';
import { navigate, useLocation } from '../router.tsx';
import { useSession } from '../session.tsx';
import { OidcSignInButton } from './OidcSignIn.tsx';

/** Only same-site paths: `next` comes from the URL and must not send people elsewhere. */
function safeNext(next: string | null): string {
  return next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/-/sign-in') ? next : '/';
}

export function SignInPage() {
  useTitle('Sign in');
  const { signIn, user } = useSession();
  const { query } = useLocation();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const next = safeNext(query.get('next'));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(username, password);
      navigate(next === '/' ? `/${username}` : next, { replace: true });
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? 'Incorrect username or password.' : err instanceof ApiError && err.status === 429 ? 'Too many failed attempts. Wait a few minutes and try again.' : messageOf(err));
      setBusy(false);
    }
  };

  return (
    <section className="signin" aria-labelledby="signin-title">
      <h1 id="signin-title">Sign in to Wharf</h1>
      {query.get('changed') === '1' && !user ? <Alert kind="success">Your password was changed and you were signed out everywhere. Sign in with the new password.</Alert> : null}
      {user ? <Alert kind="info">You are signed in as {user.username}. Signing in again switches account.</Alert> : null}
      <form className="card form" onSubmit={submit}>
        {error ? <Alert>{error}</Alert> : null}
        <div className="field">
          <label htmlFor="username">Username</label>
          <input id="username" name="username" autoComplete="username" autoCapitalize="none" spellCheck={false} required value={username} onChange={(e) => setUsername(e.target.value)} autoFocus />
        </div>
        <div className="field">
          <label htmlFor="password">Password</label>
          <input id="password" name="password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        </div>
        <button type="submit" className="btn btn-primary btn-block" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <OidcSignInButton next={next} />
      </form>
      <p className="muted small center">
        Registry clients (docker, podman, helm) keep signing in with a username and password or a personal access token, also for accounts that sign in here through a provider.
      </p>
    </section>
  );
}
