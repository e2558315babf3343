/**
 * Pull-through cache in the UI: the admin area's Proxies section (list, create, delete) and the
 * panel an organization's page shows when it mirrors an upstream (docs/proxy.md, ADR 0017).
 */
import { type FormEvent, useState } from 'react';
import { api, get } from './api.ts';
import type { OwnerProxy, Proxy } from './api.gen.ts';
import { Alert, Empty, LoadError, Loading, Time } from './components.tsx';
import { useConfirm } from './confirm.tsx';
import { useLoad, useSubmit } from './hooks.ts';
import { Link } from './router.tsx';

const patterns = (s: string): string[] =>
  s
    .split(/[\s,]+/)
    .map((p) => p.trim())
    .filter((p) => p !== '');

function CreateProxy({ onCreated }: { onCreated(p: Proxy): void }) {
  const [name, setName] = useState('');
  const [url, setUrl] = useState('');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [allow, setAllow] = useState('');
  const [ttl, setTtl] = useState('3600');
  const [visibility, setVisibility] = useState<'private' | 'internal' | 'public'>('private');
  const { busy, error, run } = useSubmit();
  const submit = (e: FormEvent) =>
    run(e, async () => {
      const p = await api<Proxy>('POST', '/api/v1/admin/proxies', {
        name: name.trim(),
        url: url.trim(),
        ...(username.trim() !== '' ? { username: username.trim(), password } : {}),
        allow: patterns(allow),
        tagTtlSeconds: Number(ttl),
        visibility,
      });
      setName('');
      setUrl('');
      setUsername('');
      setPassword('');
      setAllow('');
      onCreated(p);
    });
  return (
    <form className="form" onSubmit={submit} aria-labelledby="create-proxy-title">
      <h3 id="create-proxy-title">Mirror an upstream registry</h3>
      <div className="form-row">
        <div className="field">
          <label htmlFor="proxy-name">Organization name</label>
          <input id="proxy-name" required autoCapitalize="none" spellCheck={false} placeholder="dockerhub" value={name} onChange={(e) => setName(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="proxy-url">Upstream URL</label>
          <input id="proxy-url" type="url" required placeholder="https://registry-1.docker.io" value={url} onChange={(e) => setUrl(e.target.value)} />
        </div>
      </div>
      <div className="form-row">
        <div className="field">
          <label htmlFor="proxy-username">Upstream username (optional)</label>
          <input id="proxy-username" autoComplete="off" value={username} onChange={(e) => setUsername(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="proxy-password">Upstream password or token</label>
          <input id="proxy-password" type="password" autoComplete="new-password" disabled={username.trim() === ''} value={password} onChange={(e) => setPassword(e.target.value)} />
        </div>
      </div>
      <div className="form-row">
        <div className="field">
          <label htmlFor="proxy-allow">Allowed repositories (globs, optional)</label>
          <input id="proxy-allow" placeholder="library/*" value={allow} onChange={(e) => setAllow(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="proxy-ttl">Re-check tags after (seconds)</label>
          <input id="proxy-ttl" type="number" min={0} required value={ttl} onChange={(e) => setTtl(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="proxy-visibility">Who may pull</label>
          <select id="proxy-visibility" value={visibility} onChange={(e) => setVisibility(e.target.value as typeof visibility)}>
            <option value="private">Members only (private)</option>
            <option value="internal">Every signed-in user (internal)</option>
            <option value="public">Anyone (public)</option>
          </select>
        </div>
      </div>
      <p className="muted small">The password is stored encrypted and never shown again; registry clients pulling through Wharf never see it.</p>
      {error ? <Alert>{error}</Alert> : null}
      <button type="submit" className="btn btn-primary" disabled={busy}>
        {busy ? 'Creating…' : 'Create proxy'}
      </button>
    </form>
  );
}

/** Admin area → Proxies. */
export function AdminProxies() {
  const proxies = useLoad('admin-proxies', () => get<Proxy[]>('/api/v1/admin/proxies'));
  const confirm = useConfirm();
  const [notice, setNotice] = useState<string | null>(null);
  if (proxies.error) return <LoadError error={proxies.error} what="proxies" retry={proxies.reload} />;
  if (!proxies.data) return <Loading what="Loading proxies" />;
  const remove = (p: Proxy) =>
    confirm.ask({
      title: `Stop mirroring into ${p.name}?`,
      body: (
        <p>
          {p.name} stops fetching from {p.url}. The organization and what it has cached stay, as ordinary packages you can delete or keep.
        </p>
      ),
      confirmLabel: 'Stop mirroring',
      action: async () => {
        await api('DELETE', `/api/v1/admin/proxies/${encodeURIComponent(p.name)}`);
        setNotice(`${p.name} no longer mirrors ${p.url}.`);
        proxies.reload();
      },
    });
  return (
    <section className="card settings-section" aria-labelledby="proxies-title">
      <h2 id="proxies-title">Pull-through cache</h2>
      <p className="muted">
        A proxy organization mirrors an upstream registry: <code>HOST/&lt;organization&gt;/library/alpine:3.20</code> is fetched from the upstream on first pull and served from here
        afterwards, also while the upstream is down.
      </p>
      {notice ? <Alert kind="success">{notice}</Alert> : null}
      {proxies.data.length === 0 ? (
        <Empty title="No proxies yet">Create one below.</Empty>
      ) : (
        <div className="table-wrap" tabIndex={0}>
          <table>
            <caption className="sr-only">Proxy organizations</caption>
            <thead>
              <tr>
                <th scope="col">Organization</th>
                <th scope="col">Upstream</th>
                <th scope="col" className="num">
                  Hits / misses
                </th>
                <th scope="col">Last upstream error</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {proxies.data.map((p) => (
                <tr key={p.name}>
                  <td>
                    <Link to={`/${encodeURIComponent(p.name)}`}>{p.name}</Link>
                  </td>
                  <td className="break">{p.url}</td>
                  <td className="num">
                    {p.hits} / {p.misses}
                  </td>
                  <td className="break">{p.lastError ? <>{p.lastError} {p.lastErrorAt ? <Time iso={p.lastErrorAt} /> : null}</> : 'none'}</td>
                  <td>
                    <button type="button" className="btn btn-small btn-danger" onClick={() => remove(p)}>
                      Stop mirroring
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <CreateProxy
        onCreated={(p) => {
          setNotice(`${p.name} now mirrors ${p.url}.`);
          proxies.reload();
        }}
      />
      {confirm.dialog}
    </section>
  );
}

/**
 * What an organization mirrors, when it is a proxy organization (null otherwise, or while loading).
 * Asked only for viewers who may see it (`enabled`: the organization's members and site admins).
 */
export function useOwnerProxy(owner: string, enabled: boolean): OwnerProxy | null {
  const proxy = useLoad(`owner-proxy|${owner}|${enabled ? 'y' : 'n'}`, () =>
    enabled ? get<OwnerProxy>(`/api/v1/owners/${encodeURIComponent(owner)}/proxy`).catch(() => null) : Promise.resolve(null),
  );
  return proxy.data ?? null;
}

/** On a proxy organization's page: what it mirrors, how the cache does, and the last upstream error. */
export function ProxyPanel({ owner, proxy: p }: { owner: string; proxy: OwnerProxy }) {
  return (
    <section className="card proxy-panel" aria-labelledby="proxy-panel-title">
      <h2 id="proxy-panel-title">Mirrors {p.url}</h2>
      <p>
        Pulls of <code>{owner}/…</code> are fetched from <span className="break">{p.url}</span> on first use and served from this registry afterwards; tags are re-checked after{' '}
        {p.tagTtlSeconds} s. Pushes are refused.
      </p>
      <dl className="gc-facts">
        <div>
          <dt>Cached packages</dt>
          <dd>{p.packages}</dd>
        </div>
        <div>
          <dt>Hits / misses</dt>
          <dd>
            {p.hits} / {p.misses}
          </dd>
        </div>
        <div>
          <dt>Last upstream error</dt>
          <dd className="break">{p.lastError ? <>{p.lastError} {p.lastErrorAt ? <Time iso={p.lastErrorAt} /> : null}</> : 'none'}</dd>
        </div>
      </dl>
    </section>
  );
}
