/**
 * Trusted CI issuers, for an owner (every package of it) or for one package. A package shows
 * the owner-level trusts it inherits read-only, linking to the owner's settings. A trust whose
 * conditions pin no repository is refused by the API unless confirmed: the form then asks.
 */
import { type FormEvent, useState } from 'react';
import { api, ApiError, get, messageOf } from './api.ts';
import { Alert, ConfirmDialog, LoadError } from './components.tsx';
import { useConfirm } from './confirm.tsx';
import { useLoad } from './hooks.ts';
import { Link, ownerSettingsPath } from './router.tsx';
import type { Trust, TrustBody } from './api.gen.ts';


function conditionsText(t: Trust): string {
  return Object.entries(t.conditions)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}

function TrustItem({ t, onRemove }: { t: Trust; onRemove?: () => void }) {
  return (
    <li className="trust">
      <div>
        <strong className="break">{t.issuer}</strong> <span className="muted small">audience {t.audience} · {t.role}</span>
        <div className="small mono break">{conditionsText(t)}</div>
      </div>
      {onRemove ? (
        <button type="button" className="btn btn-small btn-danger-outline" onClick={onRemove} aria-label={`Stop trusting ${t.issuer} (${Object.values(t.conditions).join(', ')})`}>
          Remove
        </button>
      ) : null}
    </li>
  );
}

/** `scope.kind === 'owner'`: the owner's trusts; `'package'`: the package's own and, read-only, the inherited ones. */
export function TrustSection({ scope }: { scope: { kind: 'owner'; owner: string; api: string } | { kind: 'package'; owner: string; name: string; api: string } }) {
  const trusts = useLoad(`trusts|${scope.api}`, () => get<Trust[]>(scope.api));
  const [issuer, setIssuer] = useState('https://token.actions.githubusercontent.com');
  const [audience, setAudience] = useState(window.location.host);
  const initialConditions = `repository=${scope.kind === 'package' ? scope.name : `${scope.owner}/`}`;
  const [conditions, setConditions] = useState(initialConditions);
  const [role, setRole] = useState<'read' | 'write'>('write');
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [confirm, setConfirm] = useState<TrustBody | null>(null);
  const [busy, setBusy] = useState(false);

  const create = async (body: TrustBody): Promise<void> => {
    setBusy(true);
    try {
      await api('POST', scope.api, body);
      setConfirm(null);
      setConditions(initialConditions);
      setDone(`${body.issuer} is trusted.`);
      trusts.reload();
    } catch (err) {
      const requires = err instanceof ApiError ? (err.detail as { requires?: unknown } | null)?.requires : undefined;
      if (requires === 'confirmAnyRepository' && !body.confirmAnyRepository) setConfirm(body);
      else setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };

  const add = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setDone(null);
    const parsed: Record<string, string> = {};
    for (const line of conditions.split('\n')) {
      const t = line.trim();
      if (!t) continue;
      const eq = t.indexOf('=');
      if (eq <= 0 || eq === t.length - 1) {
        setError(`"${t}" is not claim=value`);
        return;
      }
      parsed[t.slice(0, eq).trim()] = t.slice(eq + 1).trim();
    }
    await create({ issuer: issuer.trim(), audience: audience.trim(), conditions: parsed, role });
  };
  const removal = useConfirm();
  const remove = (t: Trust) =>
    removal.ask({
      title: 'Stop trusting this issuer?',
      body: (
        <p>
          CI jobs from <span className="mono break">{t.issuer}</span> matching {Object.entries(t.conditions).map(([k, v]) => `${k}=${v}`).join(', ') || 'anything'} can no longer push or pull without another
          credential. Pipelines that rely on it fail at their next login.
        </p>
      ),
      confirmLabel: 'Remove trust',
      action: async () => {
        await api('DELETE', `/api/v1/trusts/${encodeURIComponent(t.id)}`);
        trusts.reload();
      },
    });

  const own = trusts.data?.filter((t) => (scope.kind === 'owner' ? t.repo === null : t.repo !== null)) ?? [];
  const inherited = scope.kind === 'package' ? (trusts.data?.filter((t) => t.repo === null) ?? []) : [];
  return (
    <section className="card settings-section" aria-labelledby="trust-title">
      <h2 id="trust-title">Trusted CI issuers</h2>
      <p className="muted">
        {scope.kind === 'owner'
          ? `CI jobs whose OIDC identity token comes from a trusted issuer and matches every condition can push or pull every package of ${scope.owner} — including new ones, on their first push — without a stored secret.`
          : 'CI jobs whose OIDC identity token comes from a trusted issuer and matches every condition can push or pull this package without a stored secret.'}
      </p>
      {done ? <Alert kind="success">{done}</Alert> : null}
      {error && !confirm ? <Alert>{error}</Alert> : null}
      {trusts.error ? <LoadError error={trusts.error} retry={trusts.reload} /> : null}
      {trusts.data && own.length === 0 ? <p className="muted">{scope.kind === 'owner' ? `No CI issuer is trusted for every package of ${scope.owner}.` : 'No CI issuer is trusted for this package alone.'}</p> : null}
      {own.length > 0 ? (
        <ul className="plain-list trust-list" aria-label={scope.kind === 'owner' ? 'Trusted issuers' : 'Trusted issuers of this package'}>
          {own.map((t) => (
            <TrustItem key={t.id} t={t} onRemove={() => remove(t)} />
          ))}
        </ul>
      ) : null}
      {inherited.length > 0 ? (
        <div className="inherited-trusts">
          <h3>Inherited from {scope.owner}</h3>
          <p className="muted small">
            These trusts apply to every package of {scope.owner}. They are managed in <Link to={ownerSettingsPath(scope.owner)}>{scope.owner}'s settings</Link>.
          </p>
          <ul className="plain-list trust-list" aria-label={`Trusts inherited from ${scope.owner}`}>
            {inherited.map((t) => (
              <TrustItem key={t.id} t={t} />
            ))}
          </ul>
        </div>
      ) : null}
      <form className="form" onSubmit={add} aria-label="Trust a CI issuer">
        <div className="field">
          <label htmlFor="trust-issuer">Issuer URL</label>
          <input id="trust-issuer" type="url" required value={issuer} onChange={(e) => setIssuer(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="trust-audience">Audience</label>
          <input id="trust-audience" required value={audience} onChange={(e) => setAudience(e.target.value)} placeholder={window.location.host} />
        </div>
        <div className="field">
          <label htmlFor="trust-conditions">Claim conditions (one claim=value per line, * wildcards allowed)</label>
          <textarea id="trust-conditions" rows={3} required value={conditions} onChange={(e) => setConditions(e.target.value)} spellCheck={false} />
        </div>
        <div className="field">
          <label htmlFor="trust-role">Access</label>
          <select id="trust-role" value={role} onChange={(e) => setRole(e.target.value as 'read' | 'write')}>
            <option value="read">Read (pull)</option>
            <option value="write">Write (pull and push)</option>
          </select>
        </div>
        <button type="submit" className="btn btn-primary" disabled={busy}>
          Trust this issuer
        </button>
      </form>
      <ConfirmDialog
        open={confirm !== null}
        title="Trust CI jobs of any repository?"
        confirmLabel="Trust any repository"
        danger
        busy={busy}
        error={error}
        onCancel={() => {
          setConfirm(null);
          setError(null);
        }}
        onConfirm={() => {
          if (confirm) void create({ ...confirm, confirmAnyRepository: true });
        }}
      >
        <p>
          No condition names a repository or its owner, so <strong>every repository</strong> whose CI runs at <span className="mono break">{confirm?.issuer}</span> could{' '}
          {confirm?.role === 'write' ? 'push to' : 'pull'} {scope.kind === 'owner' ? `every package of ${scope.owner}` : 'this package'} — on a public service such as github.com, anybody's.
        </p>
        <p>Add a condition such as repository=owner/name (or owner/*) unless that is what you want.</p>
      </ConfirmDialog>
      {removal.dialog}
    </section>
  );
}
