/**
 * Site administration: users (create, disable/enable, reset password, delete) and every
 * organization. Each destructive action asks first (useConfirm) and shows its error in that
 * dialog; the create form shows its own errors beside it.
 */
import { type FormEvent, useState } from 'react';
import { api, get } from '../api.ts';
import type { OrgSummary, User } from '../api.gen.ts';
import { Alert, Badge, Empty, LoadError, Loading, Time } from '../components.tsx';
import { useConfirm } from '../confirm.tsx';
import { useLoad, useSubmit } from '../hooks.ts';
import { Link } from '../router.tsx';
import { useSession } from '../session.tsx';

const userApi = (u: string, suffix = '') => `/api/v1/users/${encodeURIComponent(u)}${suffix}`;

function CreateUser({ onCreated }: { onCreated(u: User): void }) {
  const [username, setUsername] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [admin, setAdmin] = useState(false);
  const { busy, error, run } = useSubmit();
  const submit = (e: FormEvent) =>
    run(e, async () => {
      const u = await api<User>('POST', '/api/v1/users', { username: username.trim(), password, email: email.trim() === '' ? null : email.trim(), admin });
      setUsername('');
      setEmail('');
      setPassword('');
      setAdmin(false);
      onCreated(u);
    });
  return (
    <form className="form" onSubmit={submit} aria-labelledby="create-user-title">
      <h3 id="create-user-title">Create a user</h3>
      <div className="form-row">
        <div className="field">
          <label htmlFor="new-username">Username</label>
          <input id="new-username" required autoCapitalize="none" spellCheck={false} value={username} onChange={(e) => setUsername(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="new-email">Email (optional)</label>
          <input id="new-email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="new-password">Initial password</label>
          <input id="new-password" type="password" autoComplete="new-password" required minLength={8} value={password} onChange={(e) => setPassword(e.target.value)} />
        </div>
      </div>
      <label className="checkbox">
        <input type="checkbox" checked={admin} onChange={(e) => setAdmin(e.target.checked)} /> Site administrator
      </label>
      {error ? <Alert>{error}</Alert> : null}
      <button type="submit" className="btn btn-primary" disabled={busy}>
        {busy ? 'Creating…' : 'Create user'}
      </button>
    </form>
  );
}

function ResetPassword({ user, onDone }: { user: User; onDone(message: string): void }) {
  const [password, setPassword] = useState('');
  const { busy, error, run } = useSubmit();
  const submit = (e: FormEvent) =>
    run(e, async () => {
      await api('PUT', userApi(user.username, '/password'), { password });
      setPassword('');
      onDone(`New password set for ${user.username}; their web sessions ended.`);
    });
  return (
    <form className="inline-form" onSubmit={submit} aria-label={`Reset the password of ${user.username}`}>
      <label htmlFor={`reset-${user.username}`} className="sr-only">
        New password for {user.username}
      </label>
      <input id={`reset-${user.username}`} type="password" autoComplete="new-password" required minLength={8} placeholder="New password" value={password} onChange={(e) => setPassword(e.target.value)} />
      <button type="submit" className="btn btn-small" disabled={busy}>
        Set
      </button>
      {error ? <div className="small error-text" role="alert">{error}</div> : null}
    </form>
  );
}

export function AdminUsers() {
  const { user: me } = useSession();
  const users = useLoad('admin-users', () => get<User[]>('/api/v1/users'));
  const confirm = useConfirm();
  const [notice, setNotice] = useState<string | null>(null);
  const [resetting, setResetting] = useState<string | null>(null);
  if (users.error) return <LoadError error={users.error} what="users" retry={users.reload} />;
  if (!users.data) return <Loading what="Loading users" />;

  const toggle = (u: User) =>
    confirm.ask(
      u.disabled
        ? {
            title: `Enable ${u.username}?`,
            body: <p>{u.username} can sign in again. Sessions and refresh tokens that ended when the account was disabled stay ended.</p>,
            confirmLabel: 'Enable',
            action: async () => {
              await api('PATCH', userApi(u.username), { disabled: false });
              setNotice(`${u.username} is enabled.`);
              users.reload();
            },
          }
        : {
            title: `Disable ${u.username}?`,
            body: (
              <p>
                {u.username} is signed out everywhere at once: web sessions and refresh tokens end, and passwords and personal access tokens stop working until the account is enabled again.
                Their packages stay.
              </p>
            ),
            confirmLabel: 'Disable',
            action: async () => {
              await api('PATCH', userApi(u.username), { disabled: true });
              setNotice(`${u.username} is disabled and signed out.`);
              users.reload();
            },
          },
    );
  const remove = (u: User) =>
    confirm.ask({
      title: `Delete ${u.username}?`,
      body: (
        <>
          <p>
            The account, its sessions, tokens, memberships and grants are deleted; the audit log keeps what it did. This cannot be undone.
          </p>
          <p>
            Wharf refuses while {u.username} owns packages (the trash included) or is the last owner of an organization: delete or move those first, or disable the account instead.
          </p>
        </>
      ),
      confirmLabel: 'Delete user',
      typed: u.username,
      action: async () => {
        await api('DELETE', userApi(u.username));
        setNotice(`${u.username} was deleted.`);
        users.reload();
      },
    });

  return (
    <div className="settings-page">
      <section className="card settings-section" aria-labelledby="users-title">
        <h2 id="users-title">Users</h2>
        {notice ? <Alert kind="success">{notice}</Alert> : null}
        <div className="table-wrap" tabIndex={0}>
          <table>
            <caption className="sr-only">Every user</caption>
            <thead>
              <tr>
                <th scope="col">User</th>
                <th scope="col">Status</th>
                <th scope="col">Created</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {users.data.map((u) => (
                <tr key={u.username} data-user={u.username}>
                  <td>
                    <Link to={`/${encodeURIComponent(u.username)}`}>{u.username}</Link>
                    {u.email ? <div className="muted small break">{u.email}</div> : null}
                  </td>
                  <td>
                    {u.disabled ? <Badge tone="warn">disabled</Badge> : <Badge tone="ok">active</Badge>} {u.admin ? <Badge tone="info">admin</Badge> : null}
                  </td>
                  <td>
                    <Time iso={u.createdAt} />
                  </td>
                  <td>
                    {u.username === me?.username ? (
                      <span className="muted small">you</span>
                    ) : (
                      <div className="actions-row">
                        <button type="button" className="btn btn-small" onClick={() => toggle(u)} aria-label={`${u.disabled ? 'Enable' : 'Disable'} ${u.username}`}>
                          {u.disabled ? 'Enable' : 'Disable'}
                        </button>
                        <button type="button" className="btn btn-small" aria-expanded={resetting === u.username} onClick={() => setResetting(resetting === u.username ? null : u.username)} aria-label={`Reset password of ${u.username}`}>
                          Reset password
                        </button>
                        <button type="button" className="btn btn-small btn-danger-outline" onClick={() => remove(u)} aria-label={`Delete ${u.username}`}>
                          Delete
                        </button>
                      </div>
                    )}
                    {resetting === u.username ? (
                      <ResetPassword
                        user={u}
                        onDone={(m) => {
                          setResetting(null);
                          setNotice(m);
                        }}
                      />
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
      <section className="card settings-section">
        <CreateUser
          onCreated={(u) => {
            setNotice(`${u.username} was created.`);
            users.reload();
          }}
        />
      </section>
      {confirm.dialog}
    </div>
  );
}

export function AdminOrgs() {
  const orgs = useLoad('admin-orgs', () => get<OrgSummary[]>('/api/v1/orgs'));
  if (orgs.error) return <LoadError error={orgs.error} what="organizations" retry={orgs.reload} />;
  if (!orgs.data) return <Loading what="Loading organizations" />;
  return (
    <section className="card settings-section" aria-labelledby="orgs-title">
      <h2 id="orgs-title">Organizations</h2>
      {orgs.data.length === 0 ? (
        <Empty title="No organizations yet">Any signed-in user can create one from their settings.</Empty>
      ) : (
        <div className="table-wrap" tabIndex={0}>
          <table>
            <caption className="sr-only">Every organization</caption>
            <thead>
              <tr>
                <th scope="col">Organization</th>
                <th scope="col">Owners</th>
                <th scope="col" className="num">
                  Members
                </th>
                <th scope="col">New packages</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {orgs.data.map((o) => (
                <tr key={o.name}>
                  <td>
                    <Link to={`/${encodeURIComponent(o.name)}`}>{o.name}</Link>
                  </td>
                  <td className="break">{o.owners.join(', ')}</td>
                  <td className="num">{o.members}</td>
                  <td>{o.defaultVisibility}</td>
                  <td>
                    <Time iso={o.createdAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
