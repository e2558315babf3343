import { type FormEvent, useState } from 'react';
import { api, get, messageOf } from '../api.ts';
import { Alert, Badge, CommandBlock, ConfirmDialog, CopyButton, Empty, KindBadge, LoadError, Loading, Time } from '../components.tsx';
import { useLoad, useTitle } from '../hooks.ts';
import { Link, navigate, Redirect } from '../router.tsx';
import { useSession } from '../session.tsx';
import { ChangePasswordTab } from './ChangePassword.tsx';
import type { CreatedToken, OwnerPackages, PackageListItem, PullSecret, Token } from '../api.gen.ts';

const TABS = [
  { id: 'tokens', label: 'Access tokens' },
  { id: 'pull-secrets', label: 'Kubernetes pull secrets' },
  { id: 'orgs', label: 'Organizations' },
  { id: 'password', label: 'Password' },
] as const;

export function AccountPage({ tab }: { tab: string }) {
  const { user } = useSession();
  useTitle('Settings');
  if (!user) return <Redirect to={`/-/sign-in?next=${encodeURIComponent(`/-/settings/${tab}`)}`} />;
  const current = TABS.find((t) => t.id === tab);
  return (
    <section className="account" aria-labelledby="account-title">
      <h1 id="account-title">Settings</h1>
      <div className="settings-layout">
        <nav aria-label="Settings" className="side-nav">
          {TABS.map((t) => (
            <Link key={t.id} to={`/-/settings/${t.id}`} className={t.id === tab ? 'active' : ''} aria-current={t.id === tab ? 'page' : undefined}>
              {t.label}
            </Link>
          ))}
        </nav>
        <div className="settings-main">
          {current?.id === 'tokens' ? <TokensTab /> : current?.id === 'pull-secrets' ? <PullSecretsTab /> : current?.id === 'orgs' ? <OrgsTab /> : current?.id === 'password' ? <ChangePasswordTab /> : <Redirect to="/-/settings/tokens" />}
        </div>
      </div>
    </section>
  );
}

const SCOPES = [
  { id: 'read:packages', label: 'read:packages', help: 'Pull images and charts' },
  { id: 'write:packages', label: 'write:packages', help: 'Push (includes pull)' },
  { id: 'delete:packages', label: 'delete:packages', help: 'Delete versions and change package settings' },
] as const;

function TokensTab() {
  const tokens = useLoad('tokens', () => get<Token[]>('/api/v1/user/tokens'));
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<Set<string>>(new Set(['read:packages']));
  const [expiry, setExpiry] = useState('30');
  const [packages, setPackages] = useState('');
  const [created, setCreated] = useState<CreatedToken | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [revoke, setRevoke] = useState<Token | null>(null);
  const [revokeError, setRevokeError] = useState<string | null>(null);

  const create = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    if (scopes.size === 0) {
      setError('Choose at least one scope.');
      return;
    }
    setBusy(true);
    try {
      const list = packages
        .split(/[\s,]+/)
        .map((s) => s.trim())
        .filter(Boolean);
      const token = await api<CreatedToken>('POST', '/api/v1/user/tokens', {
        name: name.trim(),
        scopes: [...scopes],
        expiresInDays: expiry === 'never' ? null : Number(expiry),
        packages: list.length > 0 ? list : null,
      });
      setCreated(token);
      setName('');
      setPackages('');
      tokens.reload();
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };

  const doRevoke = async () => {
    if (!revoke) return;
    try {
      await api('DELETE', `/api/v1/user/tokens/${encodeURIComponent(revoke.id)}`);
      setRevoke(null);
      tokens.reload();
    } catch (err) {
      setRevokeError(messageOf(err));
    }
  };

  const active = tokens.data?.filter((t) => !t.revokedAt) ?? [];
  return (
    <>
      <section className="card" aria-labelledby="new-token-title">
        <h2 id="new-token-title">New personal access token</h2>
        <p className="muted">Use a token as the password of <code>docker login</code>, <code>podman login</code> or <code>helm registry login</code>, and in CI.</p>
        {created ? (
          <div className="secret-once" role="status">
            <Alert kind="success">
              <strong>Token “{created.name}” created.</strong> Copy it now — it will not be shown again.
            </Alert>
            <div className="command-row">
              <code className="command-text secret" data-testid="new-token">
                {created.token}
              </code>
              <CopyButton text={created.token} label="Copy token" />
            </div>
            <button type="button" className="btn btn-small" onClick={() => setCreated(null)}>
              Done
            </button>
          </div>
        ) : null}
        <form className="form" onSubmit={create}>
          {error ? <Alert>{error}</Alert> : null}
          <div className="field">
            <label htmlFor="token-name">Name</label>
            <input id="token-name" required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. laptop, github-actions" />
          </div>
          <fieldset className="checkbox-group">
            <legend>Scopes</legend>
            {SCOPES.map((s) => (
              <label key={s.id} className="checkbox">
                <input
                  type="checkbox"
                  name="scope"
                  value={s.id}
                  checked={scopes.has(s.id)}
                  onChange={(e) => {
                    const next = new Set(scopes);
                    if (e.target.checked) next.add(s.id);
                    else next.delete(s.id);
                    setScopes(next);
                  }}
                />
                <span>
                  <code>{s.label}</code> <span className="muted">— {s.help}</span>
                </span>
              </label>
            ))}
          </fieldset>
          <div className="field">
            <label htmlFor="token-expiry">Expires</label>
            <select id="token-expiry" value={expiry} onChange={(e) => setExpiry(e.target.value)}>
              <option value="7">in 7 days</option>
              <option value="30">in 30 days</option>
              <option value="90">in 90 days</option>
              <option value="365">in a year</option>
              <option value="never">never</option>
            </select>
          </div>
          <div className="field">
            <label htmlFor="token-packages">Only these packages (optional)</label>
            <input id="token-packages" value={packages} onChange={(e) => setPackages(e.target.value)} placeholder="acme/web acme/charts/web" spellCheck={false} />
            <p className="hint">Separate with spaces or commas. Empty = every package you can access.</p>
          </div>
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? 'Creating…' : 'Generate token'}
          </button>
        </form>
      </section>
      <section className="card" aria-labelledby="tokens-title">
        <h2 id="tokens-title">Your tokens</h2>
        {tokens.error ? <LoadError error={tokens.error} retry={tokens.reload} /> : null}
        {tokens.loading && !tokens.data ? <Loading /> : null}
        {tokens.data && active.length === 0 ? (
          <Empty title="No tokens yet">
            <p>Tokens you create appear here. You can revoke them at any time.</p>
          </Empty>
        ) : null}
        {active.length > 0 ? (
          <ul className="plain-list token-list">
            {active.map((t) => {
              const expired = t.expiresAt !== null && Date.parse(t.expiresAt) < Date.now();
              return (
                <li key={t.id} className="token">
                  <div className="token-main">
                    <strong>{t.name}</strong> <code className="small muted">{t.hint}</code> {expired ? <Badge tone="warn">expired</Badge> : null}
                    <div className="small">
                      {t.scopes.map((s) => (
                        <code key={s} className="scope">
                          {s}
                        </code>
                      ))}
                      {t.packages ? <span className="muted"> · only {t.packages.join(', ')}</span> : null}
                    </div>
                    <div className="small muted">
                      Created <Time iso={t.createdAt} /> · last used <Time iso={t.lastUsedAt} /> · {t.expiresAt ? (
                        <>
                          expires <Time iso={t.expiresAt} />
                        </>
                      ) : (
                        'never expires'
                      )}
                    </div>
                  </div>
                  <button
                    type="button"
                    className="btn btn-small btn-danger-outline"
                    onClick={() => {
                      setRevokeError(null);
                      setRevoke(t);
                    }}
                    aria-label={`Revoke token ${t.name}`}
                  >
                    Revoke
                  </button>
                </li>
              );
            })}
          </ul>
        ) : null}
      </section>
      <ConfirmDialog open={revoke !== null} title={`Revoke “${revoke?.name ?? ''}”?`} confirmLabel="Revoke token" danger error={revokeError} onCancel={() => setRevoke(null)} onConfirm={doRevoke}>
        <p>Anything still using this token stops working immediately.</p>
      </ConfirmDialog>
    </>
  );
}

/** Every package the user can read under their own name and their organizations. */
async function readablePackages(owners: string[]): Promise<PackageListItem[]> {
  const lists = await Promise.all(owners.map((o) => get<OwnerPackages>(`/api/v1/owners/${encodeURIComponent(o)}/package-views`).catch(() => null)));
  return lists.flatMap((l) => l?.packages ?? []);
}

function PullSecretsTab() {
  const { user } = useSession();
  const owners = user ? [user.username, ...user.orgs.map((o) => o.org)] : [];
  const pkgs = useLoad(`pull-pkgs|${owners.join(',')}`, () => readablePackages(owners));
  const [chosen, setChosen] = useState<Set<string>>(new Set());
  const [secretName, setSecretName] = useState('wharf-pull');
  const [expiry, setExpiry] = useState('365');
  const [result, setResult] = useState<PullSecret | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    if (chosen.size === 0) {
      setError('Choose at least one package.');
      return;
    }
    setBusy(true);
    try {
      setResult(await api<PullSecret>('POST', '/api/v1/user/pull-secrets', { packages: [...chosen], secretName, expiresInDays: expiry === 'never' ? null : Number(expiry) }));
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="card" aria-labelledby="ps-title">
      <h2 id="ps-title">Kubernetes pull secret</h2>
      <p className="muted">
        Creates a read-only token limited to the packages you choose, and the <code>kubectl</code> command that stores it as an image pull secret. Reference it from a pod with <code>imagePullSecrets</code>.
      </p>
      {result ? (
        <div className="secret-once">
          <Alert kind="success">Token created. Run this where your cluster is configured — the token is not shown again.</Alert>
          <CommandBlock label="Create the secret" command={result.kubectl} testId="kubectl-line" />
          <CommandBlock label="Token (password)" command={result.token} />
          <details>
            <summary>Secret as YAML</summary>
            <pre className="code">
              <code>{result.yaml}</code>
            </pre>
          </details>
          <button type="button" className="btn btn-small" onClick={() => setResult(null)}>
            Create another
          </button>
        </div>
      ) : (
        <form className="form" onSubmit={submit}>
          {error ? <Alert>{error}</Alert> : null}
          <fieldset className="checkbox-group package-choice">
            <legend>Packages</legend>
            {pkgs.loading && !pkgs.data ? <Loading what="Loading your packages" /> : null}
            {pkgs.data && pkgs.data.length === 0 ? <p className="muted">You have no packages yet.</p> : null}
            {pkgs.data?.map((p) => (
              <label key={p.name} className="checkbox">
                <input
                  type="checkbox"
                  value={p.name}
                  checked={chosen.has(p.name)}
                  onChange={(e) => {
                    const next = new Set(chosen);
                    if (e.target.checked) next.add(p.name);
                    else next.delete(p.name);
                    setChosen(next);
                  }}
                />
                <span>
                  {p.name} <KindBadge kind={p.kind} />
                </span>
              </label>
            ))}
          </fieldset>
          <div className="field">
            <label htmlFor="secret-name">Secret name</label>
            <input id="secret-name" required pattern="[a-z0-9]([\-a-z0-9]*[a-z0-9])?" value={secretName} onChange={(e) => setSecretName(e.target.value)} spellCheck={false} />
            <p className="hint">Lower-case letters, digits and dashes.</p>
          </div>
          <div className="field">
            <label htmlFor="secret-expiry">Token expires</label>
            <select id="secret-expiry" value={expiry} onChange={(e) => setExpiry(e.target.value)}>
              <option value="30">in 30 days</option>
              <option value="90">in 90 days</option>
              <option value="365">in a year</option>
              <option value="never">never</option>
            </select>
          </div>
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? 'Creating…' : 'Create pull secret'}
          </button>
        </form>
      )}
    </section>
  );
}

function OrgsTab() {
  const { user, refresh } = useSession();
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const create = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      await api('POST', '/api/v1/orgs', { name: name.trim() });
      await refresh();
      // A new organization has only its creator: teams are what it needs next.
      navigate(`/${encodeURIComponent(name.trim())}/-/teams`);
    } catch (err) {
      setError(messageOf(err));
    }
  };
  const orgs = user?.orgs ?? [];
  return (
    <>
      <section className="card" aria-labelledby="orgs-title">
        <h2 id="orgs-title">Your organizations</h2>
        {orgs.length === 0 ? (
          <Empty title="You are not in any organization">
            <p>Organizations own packages together and grant access through teams.</p>
          </Empty>
        ) : (
          <ul className="plain-list">
            {orgs.map((o) => (
              <li key={o.org} className="org-row">
                <Link to={`/${encodeURIComponent(o.org)}`}>
                  <strong>{o.org}</strong>
                </Link>{' '}
                <Badge>{o.role}</Badge>{' '}
                <Link to={`/${encodeURIComponent(o.org)}/-/people`} className="small">
                  Members &amp; teams
                </Link>
              </li>
            ))}
          </ul>
        )}
      </section>
      <section className="card" aria-labelledby="new-org-title">
        <h2 id="new-org-title">New organization</h2>
        <form className="inline-form" onSubmit={create}>
          <div className="field grow">
            <label htmlFor="org-name">Name</label>
            <input id="org-name" required value={name} onChange={(e) => setName(e.target.value)} placeholder="acme" spellCheck={false} autoCapitalize="none" />
          </div>
          <button type="submit" className="btn btn-primary">
            Create
          </button>
        </form>
        {error ? <Alert>{error}</Alert> : null}
      </section>
    </>
  );
}
