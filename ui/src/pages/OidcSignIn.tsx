/**
 * Sign-in with the OpenID provider configured on the server (docs/adr/0021-oidc-sign-in.md):
 * the "Sign in with …" button on the sign-in page, and the page the provider sends the browser
 * back to (`/-/sign-in/oidc?code=…&state=…`), which hands that query to the server and goes on.
 */
import { useEffect, useRef, useState } from 'react';
import { api, get, messageOf } from '../api.ts';
import type { ResponseOf } from '../api.gen.ts';
import { Alert, Loading } from '../components.tsx';
import { useLoad, useTitle } from '../hooks.ts';
import { Link, navigate } from '../router.tsx';
import { useSession } from '../session.tsx';

export function OidcSignInButton({ next }: { next: string }) {
  const info = useLoad('oidc-sign-in', () => get<ResponseOf<'getOidcSignIn'>>('/api/v1/session/oidc'));
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  if (!info.data?.enabled) return null;
  const go = async () => {
    setBusy(true);
    setError(null);
    try {
      const r = await api<ResponseOf<'startOidcSignIn'>>('POST', '/api/v1/session/oidc', { next });
      window.location.assign(r.authorizationUrl);
    } catch (err) {
      setError(messageOf(err));
      setBusy(false);
    }
  };
  return (
    <div className="oidc-sign-in">
      <div className="divider" role="separator">
        <span>or</span>
      </div>
      <button type="button" className="btn btn-block" disabled={busy} onClick={() => void go()} aria-describedby={error ? 'oidc-error' : undefined}>
        {busy ? 'Redirecting…' : `Sign in with ${info.data.displayName ?? 'OpenID Connect'}`}
      </button>
      {error ? (
        <div id="oidc-error">
          <Alert>{error}</Alert>
        </div>
      ) : null}
    </div>
  );
}

export function OidcCallbackPage() {
  useTitle('Signing in');
  const { refresh } = useSession();
  const [error, setError] = useState<string | null>(null);
  // The code is single use: React's development double effects must not send it twice.
  const sent = useRef(false);
  useEffect(() => {
    if (sent.current) return;
    sent.current = true;
    api<ResponseOf<'finishOidcSignIn'>>('POST', '/api/v1/session/oidc/callback', { query: window.location.search })
      .then(async (s) => {
        await refresh();
        const next = s.next === '/' && s.user ? `/${s.user.username}` : s.next;
        navigate(next, { replace: true });
      })
      .catch((err: unknown) => setError(messageOf(err)));
  }, [refresh]);
  if (!error) return <Loading what="Signing in" />;
  return (
    <section className="signin" aria-labelledby="signin-title">
      <h1 id="signin-title">Sign-in failed</h1>
      <Alert>{error}</Alert>
      <p>
        <Link to="/-/sign-in">Back to sign-in</Link>
      </p>
    </section>
  );
}
