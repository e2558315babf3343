/**
 * Webhooks of an owner (every package) or of one package: register (URL, optional secret, events,
 * active), switch on and off, send a test ping, remove; each webhook's delivery log with status,
 * attempts, HTTP status, latency, error and the receiver's answer, and redeliver. See docs/webhooks.md.
 */
import { type FormEvent, useState } from 'react';
import { api, get, messageOf } from './api.ts';
import { Alert, Badge, CopyButton, LoadError, Time } from './components.tsx';
import { useConfirm } from './confirm.tsx';
import { useLoad, useSubmit } from './hooks.ts';
import type { Webhook, WebhookDelivery as Delivery } from './api.gen.ts';

const EVENTS: { id: string; label: string }[] = [
  { id: 'package.published', label: 'Published (a manifest pushed with a tag; images and charts)' },
  { id: 'chart.published', label: 'Chart published (only when "Published" is off)' },
  { id: 'tag.moved', label: 'Tag moved to another digest' },
  { id: 'tag.deleted', label: 'Tag deleted' },
  { id: 'version.deleted', label: 'Version deleted' },
  { id: 'version.restored', label: 'Version restored from the trash' },
  { id: 'package.deleted', label: 'Package deleted' },
  { id: 'package.restored', label: 'Package restored from the trash' },
];

const hookApi = (id: string, suffix = '') => `/api/v1/webhooks/${encodeURIComponent(id)}${suffix}`;

function DeliveryLog({ hook }: { hook: Webhook }) {
  const log = useLoad(`deliveries|${hook.id}`, () => get<Delivery[]>(hookApi(hook.id, '/deliveries?limit=20')));
  const [error, setError] = useState<string | null>(null);
  const redeliver = async (d: Delivery) => {
    setError(null);
    try {
      await api('POST', hookApi(hook.id, `/deliveries/${encodeURIComponent(d.id)}/redeliver`));
      log.reload();
    } catch (err) {
      setError(messageOf(err));
    }
  };
  return (
    <div className="delivery-log">
      <div className="row-between">
        <h4>Recent deliveries</h4>
        <button type="button" className="btn btn-small" onClick={log.reload}>
          Refresh
        </button>
      </div>
      {error ? <Alert>{error}</Alert> : null}
      {log.error ? <LoadError error={log.error} retry={log.reload} /> : null}
      {log.data && log.data.length === 0 ? <p className="muted small">Nothing delivered yet.</p> : null}
      {log.data && log.data.length > 0 ? (
        <div className="table-wrap" tabIndex={0}>
          <table className="table" aria-label={`Deliveries to ${hook.url}`}>
            <thead>
              <tr>
                <th scope="col">Event</th>
                <th scope="col">Status</th>
                <th scope="col">Attempts</th>
                <th scope="col">HTTP</th>
                <th scope="col">Latency</th>
                <th scope="col">Queued</th>
                <th scope="col">Answer</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {log.data.map((d) => (
                <tr key={d.id} data-status={d.status}>
                  <td className="mono small">{d.event}</td>
                  <td>
                    <Badge tone={d.status === 'succeeded' ? 'ok' : d.status === 'failed' ? 'warn' : 'info'}>{d.status}</Badge>
                    {d.status === 'pending' && d.nextAttemptAt ? (
                      <div className="muted small">
                        next <Time iso={d.nextAttemptAt} />
                      </div>
                    ) : null}
                  </td>
                  <td>{d.attempts}</td>
                  <td>{d.responseStatus ?? '–'}</td>
                  <td>{d.latencyMs === null ? '–' : `${d.latencyMs} ms`}</td>
                  <td>
                    <Time iso={d.createdAt} />
                  </td>
                  <td className="small break">{d.error ?? d.responseExcerpt ?? ''}</td>
                  <td>
                    <button type="button" className="btn btn-small" onClick={() => void redeliver(d)} aria-label={`Redeliver ${d.event} ${d.id}`}>
                      Redeliver
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </div>
  );
}

function WebhookItem({ hook, onChange }: { hook: Webhook; onChange(): void }) {
  const [open, setOpen] = useState(false);
  const [note, setNote] = useState<{ kind: 'success' | 'error'; text: string } | null>(null);
  const [logKey, setLogKey] = useState(0);
  const removal = useConfirm();
  const act = async (fn: () => Promise<unknown>, ok: string) => {
    setNote(null);
    try {
      await fn();
      setNote({ kind: 'success', text: ok });
      onChange();
    } catch (err) {
      setNote({ kind: 'error', text: messageOf(err) });
    }
  };
  return (
    <li className="webhook" data-webhook={hook.id}>
      <div className="row-between">
        <div>
          <strong className="break mono">{hook.url}</strong> {hook.active ? null : <Badge tone="warn">inactive</Badge>}
          <div className="small muted">
            {hook.package ? `${hook.package} · ` : ''}
            {hook.events.join(', ')}
          </div>
        </div>
        <div className="button-row">
          <button
            type="button"
            className="btn btn-small"
            onClick={() =>
              void act(async () => {
                await api('POST', hookApi(hook.id, '/test'));
                setOpen(true);
                setLogKey((k) => k + 1);
              }, 'Test ping queued: it appears in the deliveries below within a second.')
            }
          >
            Send test
          </button>
          <button type="button" className="btn btn-small" onClick={() => void act(() => api('PATCH', hookApi(hook.id), { active: !hook.active }), hook.active ? 'Webhook switched off.' : 'Webhook switched on.')}>
            {hook.active ? 'Deactivate' : 'Activate'}
          </button>
          <button type="button" className="btn btn-small" aria-expanded={open} onClick={() => setOpen(!open)}>
            Deliveries
          </button>
          <button type="button" className="btn btn-small btn-danger-outline" onClick={() =>
              removal.ask({
                title: 'Remove this webhook?',
                body: (
                  <p>
                    <span className="mono break">{hook.url}</span> stops receiving events, and its delivery log is deleted.
                  </p>
                ),
                confirmLabel: 'Remove webhook',
                action: async () => {
                  await api('DELETE', hookApi(hook.id));
                  onChange();
                },
              })
            }
            aria-label={`Remove the webhook to ${hook.url}`}
          >
            Remove
          </button>
        </div>
      </div>
      {note ? <Alert kind={note.kind}>{note.text}</Alert> : null}
      {open ? <DeliveryLog key={logKey} hook={hook} /> : null}
      {removal.dialog}
    </li>
  );
}

/** `api`: `/api/v1/owners/<owner>/webhooks` or `/api/v1/packages/<owner>/<package>/webhooks`. */
export function WebhookSection({ scope }: { scope: { kind: 'owner'; owner: string; api: string } | { kind: 'package'; name: string; api: string } }) {
  const hooks = useLoad(`webhooks|${scope.api}`, () => get<Webhook[]>(scope.api));
  const [url, setUrl] = useState('');
  const [secret, setSecret] = useState('');
  const [events, setEvents] = useState<string[]>(['package.published']);
  const [created, setCreated] = useState<{ url: string; secret: string } | null>(null);
  const { busy, error, run } = useSubmit();

  const add = (e: FormEvent) => {
    setCreated(null);
    return run(e, async () => {
      const r = await api<{ webhook: Webhook; secret: string }>('POST', scope.api, { url: url.trim(), events, ...(secret ? { secret } : {}) });
      setCreated({ url: r.webhook.url, secret: r.secret });
      setUrl('');
      setSecret('');
      hooks.reload();
    });
  };

  return (
    <section className="card settings-section" aria-labelledby="webhooks-title">
      <h2 id="webhooks-title">Webhooks</h2>
      <p className="muted">
        {scope.kind === 'owner' ? `Wharf POSTs a signed JSON event to these URLs when any package of ${scope.owner} changes.` : 'Wharf POSTs a signed JSON event to these URLs when this package changes.'} Each
        delivery carries <code>X-Wharf-Signature-256: sha256=…</code>, the HMAC-SHA256 of the body keyed by the secret (GitHub's format).
      </p>
      {created ? (
        <Alert kind="success">
          Webhook to {created.url} registered. Its secret is shown this once: <code className="break">{created.secret}</code> <CopyButton text={created.secret} label="Copy secret" />
        </Alert>
      ) : null}
      {error ? <Alert>{error}</Alert> : null}
      {hooks.error ? <LoadError error={hooks.error} retry={hooks.reload} /> : null}
      {hooks.data && hooks.data.length === 0 ? <p className="muted">No webhooks yet.</p> : null}
      {hooks.data && hooks.data.length > 0 ? (
        <ul className="plain-list webhook-list" aria-label="Webhooks">
          {hooks.data.map((h) => (
            <WebhookItem key={h.id} hook={h} onChange={hooks.reload} />
          ))}
        </ul>
      ) : null}
      <form className="form" onSubmit={add} aria-label="Add a webhook">
        <div className="field">
          <label htmlFor="webhook-url">Payload URL</label>
          <input id="webhook-url" type="url" required value={url} onChange={(e) => setUrl(e.target.value)} placeholder="https://ci.example.com/hooks/wharf" />
        </div>
        <div className="field">
          <label htmlFor="webhook-secret">Secret (16 characters or more; leave empty to have one generated)</label>
          <input id="webhook-secret" type="password" autoComplete="off" minLength={16} value={secret} onChange={(e) => setSecret(e.target.value)} />
        </div>
        <fieldset className="checkbox-group">
          <legend>Events</legend>
          {EVENTS.map((ev) => (
            <label key={ev.id} className="checkbox">
              <input
                type="checkbox"
                checked={events.includes(ev.id)}
                onChange={(e) => setEvents(e.target.checked ? [...events, ev.id] : events.filter((x) => x !== ev.id))}
              />{' '}
              {ev.label} <span className="mono small muted">{ev.id}</span>
            </label>
          ))}
        </fieldset>
        <button type="submit" className="btn btn-primary" disabled={busy || events.length === 0}>
          Add webhook
        </button>
      </form>
    </section>
  );
}
