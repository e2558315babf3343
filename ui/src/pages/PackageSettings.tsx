import { type FormEvent, useState } from 'react';
import { api, get, messageOf, packageApi } from '../api.ts';
import { Alert, ConfirmDialog, Empty, LoadError, Loading, NoAccess, shortDigest, VisibilityBadge } from '../components.tsx';
import { useConfirm } from '../confirm.tsx';
import { useLoad, useTitle } from '../hooks.ts';
import { Link, navigate, packagePath } from '../router.tsx';
import { useSession } from '../session.tsx';
import { TrustSection } from '../trusts.tsx';
import { PolicySection } from '../policies.tsx';
import { WebhookSection } from '../webhooks.tsx';
import type { Grant, PackageRole, PackageView, TrashEntry, Visibility } from '../api.gen.ts';

const VISIBILITY_HELP: Record<Visibility, string> = {
  public: 'Anyone can pull it, without signing in.',
  internal: 'Any signed-in user of this Wharf can pull it.',
  private: 'Only people and teams you grant access to can pull it.',
};

export function PackageSettingsPage({ name }: { name: string }) {
  useTitle(`Settings · ${name}`);
  const { user } = useSession();
  const view = useLoad(`settings|${name}|${user?.username ?? ''}`, () => get<PackageView>(packageApi(name, '/view')));
  if (view.error) return <LoadError error={view.error} what="package" retry={view.reload} />;
  if (!view.data) return <Loading />;
  const p = view.data;
  if (!p.canAdmin) return <NoAccess message="Only administrators of this package can change its settings." />;
  return (
    <article className="settings-page" aria-labelledby="settings-title">
      <p className="crumbs">
        <Link to={`/${p.owner}`}>{p.owner}</Link> <span aria-hidden="true">/</span> <Link to={packagePath(p.name)}>{p.path}</Link>
      </p>
      <h1 id="settings-title">Package settings</h1>
      <VisibilitySection p={p} onChange={view.reload} />
      <AccessSection name={p.name} owner={p.owner} />
      <PolicySection kind="package" api={packageApi(p.name, '/policy')} previewApi={packageApi(p.name, '/retention/preview')} />
      <TrustSection scope={{ kind: 'package', owner: p.owner, name: p.name, api: packageApi(p.name, '/trusts') }} />
      <WebhookSection scope={{ kind: 'package', name: p.name, api: packageApi(p.name, '/webhooks') }} />
      <DangerSection p={p} onChange={view.reload} />
    </article>
  );
}

function VisibilitySection({ p, onChange }: { p: PackageView; onChange(): void }) {
  const [choice, setChoice] = useState<Visibility>(p.visibility);
  const [confirm, setConfirm] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const apply = async () => {
    setBusy(true);
    setError(null);
    try {
      await api('PATCH', packageApi(p.name), { visibility: choice });
      setConfirm(false);
      setDone(`${p.name} is now ${choice}.`);
      onChange();
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="card settings-section" aria-labelledby="vis-title">
      <h2 id="vis-title">Visibility</h2>
      <p>
        Currently <VisibilityBadge visibility={p.visibility} />
      </p>
      {done ? <Alert kind="success">{done}</Alert> : null}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setDone(null);
          setConfirm(true);
        }}
      >
        <fieldset className="radio-group">
          <legend>Who can pull this package</legend>
          {(['public', 'internal', 'private'] as const).map((v) => (
            <label key={v} className="radio">
              <input type="radio" name="visibility" value={v} checked={choice === v} onChange={() => setChoice(v)} />
              <span>
                <strong>{v[0]?.toUpperCase() + v.slice(1)}</strong>
                <span className="muted"> — {VISIBILITY_HELP[v]}</span>
              </span>
            </label>
          ))}
        </fieldset>
        <button type="submit" className="btn btn-primary" disabled={choice === p.visibility}>
          Change visibility
        </button>
      </form>
      <ConfirmDialog
        open={confirm}
        title={`Make ${p.path} ${choice}?`}
        confirmLabel={`Make ${choice}`}
        danger={choice === 'public'}
        busy={busy}
        error={error}
        onCancel={() => setConfirm(false)}
        onConfirm={apply}
      >
        <p>{VISIBILITY_HELP[choice]}</p>
        {choice === 'public' ? <p>Every version, tag and file of this package becomes readable by anyone who can reach this registry.</p> : null}
      </ConfirmDialog>
    </section>
  );
}

function AccessSection({ name, owner }: { name: string; owner: string }) {
  const grants = useLoad(`grants|${name}`, () => get<Grant[]>(packageApi(name, '/grants')));
  const [kind, setKind] = useState<'user' | 'team'>('user');
  const [subject, setSubject] = useState('');
  const [role, setRole] = useState<PackageRole>('read');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const put = async (g: { subjectKind: 'user' | 'team'; subject: string; role: PackageRole }) => {
    setError(null);
    setBusy(true);
    try {
      await api('PUT', packageApi(name, '/grants'), g);
      grants.reload();
      return true;
    } catch (err) {
      setError(messageOf(err));
      return false;
    } finally {
      setBusy(false);
    }
  };
  const add = async (e: FormEvent) => {
    e.preventDefault();
    const s = subject.trim();
    const full = kind === 'team' && !s.includes('/') ? `${owner}/${s}` : s;
    if (await put({ subjectKind: kind, subject: full, role })) setSubject('');
  };
  const removal = useConfirm();
  const remove = (g: Grant) =>
    removal.ask({
      title: `Remove the access of ${g.subject}?`,
      body: (
        <p>
          {g.subjectKind === 'team' ? `Members of team ${g.subject}` : g.subject} lose the {g.role} access granted here to {name}. Access they have through other grants, teams or
          the package's visibility stays.
        </p>
      ),
      confirmLabel: 'Remove access',
      action: async () => {
        await api('DELETE', packageApi(name, `/grants?subjectKind=${g.subjectKind}&subject=${encodeURIComponent(g.subject)}`));
        grants.reload();
      },
    });

  return (
    <section className="card settings-section" aria-labelledby="access-title">
      <h2 id="access-title">Manage access</h2>
      <p className="muted">
        <strong>Read</strong> can pull, <strong>write</strong> can also push, <strong>admin</strong> can also delete and change these settings. Owners of {owner} are always admins.
      </p>
      {error ? <Alert>{error}</Alert> : null}
      {grants.error ? <LoadError error={grants.error} retry={grants.reload} /> : null}
      {grants.data && grants.data.length === 0 ? <p className="muted">Nobody has been granted access yet.</p> : null}
      {grants.data && grants.data.length > 0 ? (
        <div className="table-wrap" tabIndex={0}>
          <table>
            <caption className="sr-only">People and teams with access</caption>
            <thead>
              <tr>
                <th scope="col">Who</th>
                <th scope="col">Role</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {grants.data.map((g) => (
                <tr key={`${g.subjectKind}:${g.subject}`}>
                  <td>
                    <span className="muted small">{g.subjectKind === 'team' ? 'Team' : 'User'}</span> <strong>{g.subject}</strong>
                  </td>
                  <td>
                    <label className="sr-only" htmlFor={`role-${g.subjectKind}-${g.subject}`}>
                      Role of {g.subject}
                    </label>
                    <select id={`role-${g.subjectKind}-${g.subject}`} value={g.role} onChange={(e) => void put({ subjectKind: g.subjectKind, subject: g.subject, role: e.target.value as PackageRole })}>
                      <option value="read">Read</option>
                      <option value="write">Write</option>
                      <option value="admin">Admin</option>
                    </select>
                  </td>
                  <td className="actions">
                    <button type="button" className="btn btn-small btn-danger-outline" onClick={() => remove(g)} aria-label={`Remove access of ${g.subject}`}>
                      Remove
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {removal.dialog}
      <form className="inline-form" onSubmit={add} aria-label="Grant access">
        <div className="field">
          <label htmlFor="grant-kind">Grant to</label>
          <select id="grant-kind" value={kind} onChange={(e) => setKind(e.target.value as 'user' | 'team')}>
            <option value="user">User</option>
            <option value="team">Team</option>
          </select>
        </div>
        <div className="field grow">
          <label htmlFor="grant-subject">{kind === 'team' ? `Team of ${owner}` : 'Username'}</label>
          <input id="grant-subject" value={subject} onChange={(e) => setSubject(e.target.value)} required placeholder={kind === 'team' ? 'developers' : 'username'} autoComplete="off" spellCheck={false} />
        </div>
        <div className="field">
          <label htmlFor="grant-role">Role</label>
          <select id="grant-role" value={role} onChange={(e) => setRole(e.target.value as PackageRole)}>
            <option value="read">Read</option>
            <option value="write">Write</option>
            <option value="admin">Admin</option>
          </select>
        </div>
        <button type="submit" className="btn btn-primary" disabled={busy}>
          Add
        </button>
      </form>
    </section>
  );
}

function DangerSection({ p, onChange }: { p: PackageView; onChange(): void }) {
  const [version, setVersion] = useState(p.versions[0]?.digest ?? '');
  const [dialog, setDialog] = useState<'version' | 'package' | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const selected = p.versions.find((v) => v.digest === version);
  const label = (digest: string) => {
    const v = p.versions.find((x) => x.digest === digest);
    return v?.tags[0] ?? shortDigest(digest);
  };

  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      if (dialog === 'version' && selected) {
        const entry = await api<TrashEntry>('DELETE', packageApi(p.name, `/versions/${encodeURIComponent(selected.digest)}`));
        setDone(`Version ${label(selected.digest)} was moved to the trash. It can be restored until ${entry.expiresAt.slice(0, 10)}.`);
        setDialog(null);
        setVersion('');
        onChange();
      } else if (dialog === 'package') {
        await api('DELETE', packageApi(p.name));
        navigate(`/${p.owner}/-/trash`);
      }
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="card settings-section danger-zone" aria-labelledby="danger-title">
      <h2 id="danger-title">Danger zone</h2>
      {done ? (
        <Alert kind="success">
          {done} <Link to={`/${p.owner}/-/trash`}>Open the trash</Link>
        </Alert>
      ) : null}
      <div className="danger-row">
        <div>
          <h3>Delete a version</h3>
          <p className="muted">Moves the version, its tags, its platform images and its signatures to the trash. Clients can no longer pull it; you can restore it from the trash.</p>
        </div>
        {p.versions.length === 0 ? (
          <Empty title="No versions to delete" />
        ) : (
          <form
            className="inline-form"
            onSubmit={(e) => {
              e.preventDefault();
              setError(null);
              setDialog('version');
            }}
          >
            <div className="field grow">
              <label htmlFor="delete-version">Version</label>
              <select id="delete-version" value={version} onChange={(e) => setVersion(e.target.value)} required>
                <option value="" disabled>
                  Choose a version
                </option>
                {p.versions.map((v) => (
                  <option key={v.digest} value={v.digest}>
                    {v.tags.length > 0 ? v.tags.join(', ') : 'untagged'} — {shortDigest(v.digest)}
                  </option>
                ))}
              </select>
            </div>
            <button type="submit" className="btn btn-danger" disabled={!selected}>
              Delete version
            </button>
          </form>
        )}
      </div>
      <div className="danger-row">
        <div>
          <h3>Delete this package</h3>
          <p className="muted">Moves {p.name} with every version and tag to the trash. Its name stays reserved until it is restored or deleted for good.</p>
        </div>
        <button
          type="button"
          className="btn btn-danger"
          onClick={() => {
            setError(null);
            setDialog('package');
          }}
        >
          Delete package
        </button>
      </div>
      <ConfirmDialog
        open={dialog === 'version'}
        title={`Delete version ${selected ? label(selected.digest) : ''}?`}
        confirmLabel="Delete this version"
        danger
        typed={selected ? label(selected.digest) : ''}
        busy={busy}
        error={error}
        onCancel={() => setDialog(null)}
        onConfirm={run}
      >
        <p>
          The manifest <code className="small">{selected?.digest}</code> and its tags ({selected?.tags.join(', ') || 'none'}) will be moved to the trash, where you can restore them.
        </p>
      </ConfirmDialog>
      <ConfirmDialog open={dialog === 'package'} title={`Delete ${p.name}?`} confirmLabel="Delete this package" danger typed={p.name} busy={busy} error={error} onCancel={() => setDialog(null)} onConfirm={run}>
        <p>Every version of this package disappears for everyone and goes to the trash; it can be restored from there until it is deleted for good.</p>
      </ConfirmDialog>
    </section>
  );
}
