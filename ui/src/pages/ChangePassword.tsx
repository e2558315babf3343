/**
 * Settings → Password: change one's own password. The server then ends every web session of
 * the user (this one too) and their refresh tokens, so the page sends them to sign in again.
 */
import { type FormEvent, useState } from 'react';
import { ApiError, api, messageOf } from '../api.ts';
import { Alert } from '../components.tsx';
import { navigate } from '../router.tsx';
import { useSession } from '../session.tsx';

export function ChangePasswordTab() {
  const { user, refresh } = useSession();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const [error, setError] = useState<{ field: 'current' | 'new' | 'form'; message: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    if (next !== again) {
      setError({ field: 'new', message: 'The new passwords do not match.' });
      return;
    }
    setBusy(true);
    try {
      await api('PUT', '/api/v1/user/password', { currentPassword: current, password: next });
      await refresh();
      navigate(`/-/sign-in?changed=1&next=${encodeURIComponent(`/${user?.username ?? ''}`)}`, { replace: true });
    } catch (err) {
      const wrong = err instanceof ApiError && err.status === 403;
      setError({ field: wrong ? 'current' : err instanceof ApiError && err.status === 400 ? 'new' : 'form', message: messageOf(err) });
      setBusy(false);
    }
  };
  const fieldError = (f: 'current' | 'new') =>
    error?.field === f ? (
      <div id={`${f}-password-error`} className="small error-text" role="alert">
        {error.message}
      </div>
    ) : null;
  return (
    <section className="card settings-section" aria-labelledby="password-title">
      <h2 id="password-title">Change password</h2>
      <p className="muted">You are signed out everywhere when it changes — here and in every other browser — and sign in again with the new password. Personal access tokens keep working.</p>
      <form className="form" onSubmit={submit}>
        <div className="field">
          <label htmlFor="current-password">Current password</label>
          <input id="current-password" type="password" autoComplete="current-password" required value={current} onChange={(e) => setCurrent(e.target.value)} aria-describedby={error?.field === 'current' ? 'current-password-error' : undefined} />
          {fieldError('current')}
        </div>
        <div className="field">
          <label htmlFor="new-password">New password</label>
          <input id="new-password" type="password" autoComplete="new-password" required minLength={8} value={next} onChange={(e) => setNext(e.target.value)} aria-describedby={error?.field === 'new' ? 'new-password-error' : undefined} />
        </div>
        <div className="field">
          <label htmlFor="repeat-password">New password again</label>
          <input id="repeat-password" type="password" autoComplete="new-password" required minLength={8} value={again} onChange={(e) => setAgain(e.target.value)} />
          {fieldError('new')}
        </div>
        {error?.field === 'form' ? <Alert>{error.message}</Alert> : null}
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? 'Changing…' : 'Change password'}
        </button>
      </form>
    </section>
  );
}
