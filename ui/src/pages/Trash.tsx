/** The owner's trash (restore or delete forever) and the site admins' storage view. */
import { useState } from 'react';
import { api, get, messageOf } from '../api.ts';
import { Alert, ConfirmDialog, Empty, formatBytes, LoadError, Loading, shortDigest, Time } from '../components.tsx';
import { useLoad, useTitle } from '../hooks.ts';
import { Link, ownerPath, packagePath } from '../router.tsx';
import { useSession } from '../session.tsx';
import type { RestoreResult, SiteUsage, TrashEntry } from '../api.gen.ts';

function entryLabel(e: TrashEntry): string {
  if (e.kind === 'package') return e.package;
  return `${e.package}:${e.tags[0] ?? (e.digest ? shortDigest(e.digest) : '')}`;
}

export function TrashPage({ owner }: { owner: string }) {
  useTitle(`Trash · ${owner}`);
  const { user } = useSession();
  const load = useLoad(`trash|${owner}|${user?.username ?? ''}`, () => get<TrashEntry[]>(`/api/v1/owners/${encodeURIComponent(owner)}/trash`));
  const [done, setDone] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [purging, setPurging] = useState<TrashEntry | null>(null);

  const restore = async (e: TrashEntry) => {
    setBusy(e.id);
    setError(null);
    setDone(null);
    try {
      const r = await api<RestoreResult>('POST', `/api/v1/trash/${e.id}/restore`);
      const kept = r.keptTags.map((t) => `${t.name} (now on ${shortDigest(t.digest)})`);
      setDone(
        `Restored ${entryLabel(e)}.` +
          (r.restoredTags.length > 0 ? ` Tags back: ${r.restoredTags.join(', ')}.` : '') +
          (kept.length > 0 ? ` Re-used meanwhile and left where they are: ${kept.join(', ')}.` : ''),
      );
      load.reload();
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(null);
    }
  };

  const purge = async () => {
    if (!purging) return;
    setBusy(purging.id);
    setError(null);
    try {
      await api('DELETE', `/api/v1/trash/${purging.id}`);
      setDone(`${entryLabel(purging)} was deleted for good. Its storage is freed by the next garbage collection.`);
      setPurging(null);
      load.reload();
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(null);
    }
  };

  if (user === null) return <Empty title="Sign in to see the trash" />;
  if (load.error) return <LoadError error={load.error} what="trash" retry={load.reload} />;
  const entries = load.data;
  return (
    <section aria-labelledby="trash-title">
      <div className="page-head">
        <div>
          <h1 id="trash-title">Trash</h1>
          <p className="muted">
            <Link to={ownerPath(owner)}>{owner}</Link> · Packages and versions deleted in the last days. Restore one to bring it back with its tags; after its date it is deleted for good.
          </p>
        </div>
      </div>
      {done ? <Alert kind="success">{done}</Alert> : null}
      {error && !purging ? <Alert>{error}</Alert> : null}
      {!entries ? <Loading what="Loading the trash" /> : null}
      {entries && entries.length === 0 ? <Empty title="The trash is empty" /> : null}
      {entries && entries.length > 0 ? (
        <ul className="trash-list" aria-label="Trash entries">
          {entries.map((e) => (
            <li key={e.id} className="card trash-item" data-testid={`trash-${e.id}`}>
              <div className="grow">
                <h2 className="trash-title">
                  {e.kind === 'package' ? 'Package' : 'Version'} <span className="mono">{entryLabel(e)}</span>
                </h2>
                <p className="muted small">
                  {e.digest ? <span className="mono">{shortDigest(e.digest)} · </span> : null}
                  {e.tags.length > 0 ? `tags ${e.tags.join(', ')} · ` : ''}
                  {formatBytes(e.bytes)} · deleted by {e.trashedBy} <Time iso={e.trashedAt} /> · kept until {e.expiresAt.slice(0, 10)}
                </p>
              </div>
              <div className="trash-actions">
                <button type="button" className="btn btn-primary" disabled={busy !== null} onClick={() => void restore(e)} aria-label={`Restore ${entryLabel(e)}`}>
                  {busy === e.id ? 'Working…' : 'Restore'}
                </button>
                <button type="button" className="btn btn-danger-outline" disabled={busy !== null} onClick={() => { setError(null); setPurging(e); }} aria-label={`Delete forever: ${entryLabel(e)}`}>
                  Delete forever
                </button>
              </div>
            </li>
          ))}
        </ul>
      ) : null}
      <ConfirmDialog
        open={purging !== null}
        title={`Delete ${purging ? entryLabel(purging) : ''} forever?`}
        confirmLabel="Delete forever"
        danger
        busy={busy !== null}
        error={error}
        onCancel={() => setPurging(null)}
        onConfirm={() => void purge()}
      >
        <p>It can no longer be restored. {purging?.kind === 'package' ? 'The package name becomes free again.' : ''}</p>
      </ConfirmDialog>
    </section>
  );
}

export function AdminStoragePage() {
  useTitle('Storage');
  const { user } = useSession();
  const load = useLoad(`site-usage|${user?.username ?? ''}`, () => get<SiteUsage>('/api/v1/admin/usage'));
  if (load.error) return <LoadError error={load.error} what="storage usage" retry={load.reload} />;
  const u = load.data;
  if (!u) return <Loading what="Measuring storage" />;
  return (
    <section aria-labelledby="storage-title">
      <div className="page-head">
        <div>
          <h2 id="storage-title">Storage</h2>
          <p className="muted">Site-wide, a blob stored once counts once, however many packages use it.</p>
        </div>
      </div>
      <dl className="package-meta usage-summary" data-testid="site-usage">
        <div>
          <dt>In use</dt>
          <dd>{formatBytes(u.liveBytes)}</dd>
        </div>
        <div>
          <dt>In the trash</dt>
          <dd>{formatBytes(u.trashedBytes)}</dd>
        </div>
        <div>
          <dt>Blobs</dt>
          <dd>{u.blobs}</dd>
        </div>
        <div>
          <dt>Manifests</dt>
          <dd>{u.manifests}</dd>
        </div>
      </dl>
      <table className="table">
        <thead>
          <tr>
            <th scope="col">Owner</th>
            <th scope="col">In use</th>
            <th scope="col">In the trash</th>
            <th scope="col">Blobs</th>
            <th scope="col">Manifests</th>
          </tr>
        </thead>
        <tbody>
          {u.owners.map((o) => (
            <tr key={o.owner}>
              <td>
                <Link to={ownerPath(o.owner)}>{o.owner}</Link> · <Link to={packagePath(o.owner, '/-/trash')}>trash</Link>
              </td>
              <td>{formatBytes(o.liveBytes)}</td>
              <td>{formatBytes(o.trashedBytes)}</td>
              <td>{o.blobs}</td>
              <td>{o.manifests}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
