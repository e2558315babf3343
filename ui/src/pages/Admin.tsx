/**
 * Site administration (`/-/admin/…`), for site admins only. A side navigation with one section per
 * area: users, organizations, garbage collection, storage, quotas, proxies (pull-through cache),
 * instance settings changed at run time, the audit log (with filters).
 */
import { type ReactNode, useEffect, useState } from 'react';
import { ApiError, api, get, messageOf } from '../api.ts';
import { Alert, Badge, ConfirmDialog, Empty, formatBytes, LoadError, Loading, NoAccess, Time } from '../components.tsx';
import { useLoad, useTitle } from '../hooks.ts';
import { Link, Redirect } from '../router.tsx';
import { useSession } from '../session.tsx';
import type { GcRun, GcStatus } from '../api.gen.ts';
import { AdminStoragePage } from './Trash.tsx';
import { AdminQuotas } from '../policies.tsx';
import { AuditLog } from '../audit.tsx';
import { AdminOrgs, AdminUsers } from './AdminUsers.tsx';
import { AdminProxies } from '../proxies.tsx';
import { AdminSettings } from '../instance-settings.tsx';

const SECTIONS = [
  { id: 'users', label: 'Users' },
  { id: 'orgs', label: 'Organizations' },
  { id: 'gc', label: 'Garbage collection' },
  { id: 'storage', label: 'Storage' },
  { id: 'quotas', label: 'Quotas' },
  { id: 'proxies', label: 'Proxies' },
  { id: 'settings', label: 'Settings' },
  { id: 'audit', label: 'Audit log' },
] as const;

const SECTION_PAGES: Record<(typeof SECTIONS)[number]['id'], () => ReactNode> = {
  users: () => <AdminUsers />,
  orgs: () => <AdminOrgs />,
  gc: () => <GcSection />,
  storage: () => <AdminStoragePage />,
  quotas: () => <AdminQuotas />,
  proxies: () => <AdminProxies />,
  settings: () => <AdminSettings />,
  audit: () => <AuditLog owner={null} />,
};

export function AdminPage({ section }: { section: string }) {
  const { user } = useSession();
  useTitle('Site administration');
  if (!user) return <Redirect to={`/-/sign-in?next=${encodeURIComponent(`/-/admin/${section}`)}`} />;
  if (!user.admin) return <NoAccess message="Site administration is for site administrators." />;
  const current = SECTIONS.find((s) => s.id === section);
  if (!current) return <Redirect to="/-/admin/gc" />;
  return (
    <section className="account" aria-labelledby="admin-title">
      <h1 id="admin-title">Site administration</h1>
      <div className="settings-layout">
        <nav aria-label="Site administration" className="side-nav">
          {SECTIONS.map((s) => (
            <Link key={s.id} to={`/-/admin/${s.id}`} className={s.id === section ? 'active' : ''} aria-current={s.id === section ? 'page' : undefined}>
              {s.label}
            </Link>
          ))}
        </nav>
        <div className="settings-main">{SECTION_PAGES[current.id]()}</div>
      </div>
    </section>
  );
}

function duration(ms: number | null): string {
  if (ms === null) return '—';
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  return s < 120 ? `${s.toFixed(1)} s` : `${Math.round(s / 60)} min`;
}

function every(seconds: number): string {
  if (seconds === 0) return 'off';
  if (seconds % 3600 === 0) return `every ${seconds / 3600} h`;
  if (seconds % 60 === 0) return `every ${seconds / 60} min`;
  return `every ${seconds} s`;
}

const STATUS_TONE: Record<GcRun['status'], 'ok' | 'warn' | 'info' | 'neutral'> = { succeeded: 'ok', failed: 'warn', interrupted: 'warn', running: 'info' };

function freed(r: GcRun): string {
  const s = r.summary;
  if (!s) return '—';
  return `${formatBytes(s.bytesFreed ?? 0)} · ${s.blobsDeleted ?? 0} blobs · ${s.manifestsDeleted ?? 0} manifests · ${s.linksRemoved ?? 0} links`;
}

function GcSection() {
  const status = useLoad('admin-gc', () => get<GcStatus>('/api/v1/admin/gc?limit=20'));
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [confirm, setConfirm] = useState(false);
  const running = status.data?.running ?? null;

  // Poll while a run is in progress (its progress is persisted every few seconds by the runner).
  useEffect(() => {
    if (!running) return;
    const t = setTimeout(() => status.reload(), 1000);
    return () => clearTimeout(t);
  }, [running, status]);

  const start = async (dryRun: boolean) => {
    setError(null);
    setNotice(null);
    setBusy(true);
    try {
      const r = await api<{ id: string }>('POST', '/api/v1/admin/gc', { dryRun });
      setNotice(`${dryRun ? 'Dry run' : 'Garbage collection'} started (run ${r.id.slice(0, 8)}).`);
      setConfirm(false);
      status.reload();
    } catch (err) {
      setConfirm(false);
      setError(err instanceof ApiError && err.status === 409 ? 'A garbage collection run (or a backup) is already in progress. Try again when it has finished.' : messageOf(err));
    } finally {
      setBusy(false);
    }
  };

  if (status.error) return <LoadError error={status.error} what="garbage collection" retry={status.reload} />;
  if (!status.data) return <Loading what="Loading garbage collection" />;
  const s = status.data;
  return (
    <div className="settings-page">
      <section className="card settings-section" aria-labelledby="gc-title">
        <h2 id="gc-title">Garbage collection</h2>
        <p className="muted">
          Frees the bytes of deleted versions, unused repository links and abandoned uploads. Anything uploaded or checked within the grace period is kept, so pushes in progress are never
          broken.
        </p>
        <dl className="gc-facts">
          <div>
            <dt>Grace period</dt>
            <dd>{s.graceSeconds} s</dd>
          </div>
          <div>
            <dt>Schedule</dt>
            <dd>{every(s.intervalSeconds)}</dd>
          </div>
          <div>
            <dt>Next scheduled run</dt>
            <dd>{s.nextRunAt ? <Time iso={s.nextRunAt} /> : 'not scheduled'}</dd>
          </div>
        </dl>
        {error ? <Alert>{error}</Alert> : null}
        {notice ? <Alert kind="success">{notice}</Alert> : null}
        <div className="actions-row">
          <button type="button" className="btn" disabled={busy || running !== null} onClick={() => void start(true)}>
            Start dry run
          </button>
          <button type="button" className="btn btn-primary" disabled={busy || running !== null} onClick={() => setConfirm(true)}>
            Run garbage collection
          </button>
        </div>
        {running ? (
          <div className="gc-running" role="status" aria-live="polite">
            <strong>{running.dryRun ? 'Dry run' : 'Run'} in progress</strong> since <Time iso={running.startedAt} />
            {running.progress ? (
              <span>
                {' '}
                — {running.progress.phase ?? 'starting'}: {running.progress.scanned ?? 0} scanned, {running.progress.found ?? 0} {running.dryRun ? 'to remove' : 'removed'}
                {running.progress.bytes ? `, ${formatBytes(running.progress.bytes)}` : ''}
              </span>
            ) : null}
          </div>
        ) : null}
      </section>

      <section className="card settings-section" aria-labelledby="gc-runs-title">
        <h2 id="gc-runs-title">Recent runs</h2>
        {s.runs.length === 0 ? (
          <Empty title="No runs yet">Start a dry run to see what garbage collection would free.</Empty>
        ) : (
          <div className="table-wrap" tabIndex={0}>
            <table>
              <caption className="sr-only">Recent garbage collection runs, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Started</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Status</th>
                  <th scope="col" className="num">
                    Duration
                  </th>
                  <th scope="col">Freed</th>
                </tr>
              </thead>
              <tbody>
                {s.runs.map((r) => (
                  <tr key={r.id} data-run={r.id}>
                    <td>
                      <Time iso={r.startedAt} />
                      <div className="muted small">
                        {r.trigger}
                        {r.actor ? ` · ${r.actor}` : ''}
                      </div>
                    </td>
                    <td>{r.dryRun ? 'Dry run' : 'Run'}</td>
                    <td>
                      <Badge tone={STATUS_TONE[r.status]}>{r.status}</Badge>
                      {r.error ? <div className="small error-text">{r.error}</div> : null}
                      {(r.summary?.errors ?? []).map((e) => (
                        <div key={e} className="small error-text">
                          {e}
                        </div>
                      ))}
                    </td>
                    <td className="num">{duration(r.durationMs)}</td>
                    <td>
                      {r.dryRun && r.summary ? <span className="muted">would free </span> : null}
                      {freed(r)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      <ConfirmDialog open={confirm} title="Run garbage collection?" confirmLabel="Run now" busy={busy} error={null} onConfirm={() => void start(false)} onCancel={() => setConfirm(false)}>
        <p>Bytes nothing references any more are deleted for good. Pushes in progress are not affected.</p>
      </ConfirmDialog>
    </div>
  );
}
