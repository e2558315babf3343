/**
 * One page per owner (user or organization) with tabs that are URLs, so each can be linked:
 *   /<owner>              Packages (Owner.tsx)
 *   /<owner>/-/people     People: members and their roles (organizations; members only)
 *   /<owner>/-/teams      Teams (organizations; members only)
 *   /<owner>/-/settings   Settings: default visibility, retention and quota, CI trusts, webhooks
 *                         (the user themself, organization owners, site admins)
 * `/-/orgs/<org>` (older links) redirects to People.
 */
import { useState } from 'react';
import { ApiError, api, get, messageOf } from '../api.ts';
import type { Org, User, Visibility } from '../api.gen.ts';
import { Alert, Empty, LoadError, Loading } from '../components.tsx';
import { useLoad, useTitle } from '../hooks.ts';
import { Link } from '../router.tsx';
import { useSession } from '../session.tsx';
import { Members, Teams } from './Org.tsx';

export type OwnerTab = 'packages' | 'people' | 'teams' | 'settings';

/** The organization behind an owner name, or null for a user (404). */
function useOrg(owner: string) {
  const { user } = useSession();
  return useLoad(`owner-org|${owner}|${user?.username ?? ''}`, () =>
    get<Org>(`/api/v1/orgs/${encodeURIComponent(owner)}`).catch((err: unknown) => {
      if (err instanceof ApiError && err.status === 404) return null;
      throw err;
    }),
  );
}

/** Whether the signed-in user changes the owner's settings: themself, an org owner, a site admin. */
export function useManagesOwner(owner: string): boolean {
  const { user } = useSession();
  return user !== null && user !== undefined && (user.admin || user.username === owner || user.orgs.some((o) => o.org === owner && o.role === 'owner'));
}

/** The tab bar under an owner's heading. People and Teams show for an organization's members. */
export function OwnerTabs({ owner, current }: { owner: string; current: OwnerTab }) {
  const org = useOrg(owner);
  const manages = useManagesOwner(owner);
  const base = `/${encodeURIComponent(owner)}`;
  const member = org.data !== undefined && org.data !== null && org.data.viewerRole !== null;
  // Until the owner's kind is known only Packages shows: otherwise Settings draws first and People
  // and Teams slide in before it, moving it under the pointer.
  const settled = org.data !== undefined || org.error !== undefined;
  const tabs: { id: OwnerTab; label: string; to: string; count?: number }[] = [
    { id: 'packages', label: 'Packages', to: base },
    ...(member && org.data ? [{ id: 'people' as const, label: 'People', to: `${base}/-/people`, count: org.data.members.length }, { id: 'teams' as const, label: 'Teams', to: `${base}/-/teams`, count: org.data.teams.length }] : []),
    ...(manages && settled ? [{ id: 'settings' as const, label: 'Settings', to: `${base}/-/settings` }] : []),
  ];
  return (
    <nav className="tabs owner-tabs" aria-label={`Sections of ${owner}`} aria-busy={!settled}>
      {tabs.map((t) => (
        <Link key={t.id} to={t.to} className={t.id === current ? 'tab active' : 'tab'} aria-current={t.id === current ? 'page' : undefined}>
          {t.label}
          {t.count !== undefined ? <span className="tab-count">{t.count}</span> : null}
        </Link>
      ))}
    </nav>
  );
}

/** Avatar, name and kind above the tabs. */
export function OwnerHead({ owner, kind }: { owner: string; kind: string }) {
  return (
    <div className="page-head">
      <div className="owner-avatar" aria-hidden="true">
        {owner.slice(0, 1).toUpperCase()}
      </div>
      <div>
        <h1 id="owner-title">{owner}</h1>
        <p className="muted">{kind}</p>
      </div>
    </div>
  );
}

/** People or Teams of an organization, under the owner's tabs. */
export function OwnerOrgTab({ owner, tab }: { owner: string; tab: 'people' | 'teams' }) {
  useTitle(`${owner} · ${tab === 'people' ? 'People' : 'Teams'}`);
  const org = useOrg(owner);
  if (org.error) return <LoadError error={org.error} what="organization" retry={org.reload} />;
  if (org.data === undefined) return <Loading />;
  const o = org.data;
  const run = async (fn: () => Promise<unknown>) => {
    await fn();
    org.reload();
  };
  return (
    <section aria-labelledby="owner-title">
      <OwnerHead owner={owner} kind={o ? 'Organization' : 'User'} />
      <OwnerTabs owner={owner} current={tab} />
      {o === null ? (
        <Empty title="Only organizations have people and teams">
          <p>
            {owner} is a user. <Link to={`/${encodeURIComponent(owner)}`}>See their packages</Link>.
          </p>
        </Empty>
      ) : o.viewerRole === null ? (
        <Empty title="Members are visible to members only">
          <p>You are not a member of {o.name}.</p>
        </Empty>
      ) : (
        <>
          {tab === 'people' ? <Members o={o} owner={o.viewerRole === 'owner'} run={run} /> : <Teams o={o} owner={o.viewerRole === 'owner'} run={run} />}
        </>
      )}
    </section>
  );
}

const VISIBILITIES: { id: Visibility; label: string; help: string }[] = [
  { id: 'private', label: 'Private', help: 'Only people and teams granted access (and the owners) see new packages.' },
  { id: 'internal', label: 'Internal', help: 'Every signed-in user can pull new packages.' },
  { id: 'public', label: 'Public', help: 'Anyone, signed in or not, can pull new packages.' },
];

/** Settings → the visibility a new package of this owner gets on its first push. */
export function DefaultVisibilitySection({ owner, current }: { owner: string; current: Visibility | null }) {
  const [value, setValue] = useState<Visibility | null>(current);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  const save = async (v: Visibility) => {
    const before = value;
    // Shown at once, put back if the server refuses.
    setValue(v);
    setBusy(true);
    setError(null);
    setSaved(false);
    try {
      await api('PUT', `/api/v1/owners/${encodeURIComponent(owner)}/default-visibility`, { visibility: v });
      setSaved(true);
    } catch (err) {
      setValue(before);
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="card settings-section" aria-labelledby="default-visibility-title">
      <h2 id="default-visibility-title">Visibility of new packages</h2>
      <p className="muted">Applies to packages created from now on; existing packages keep theirs (change it in each package's settings).</p>
      <fieldset className="radio-list" disabled={busy} aria-describedby={error ? 'default-visibility-error' : undefined}>
        <legend className="sr-only">Visibility of new packages of {owner}</legend>
        {VISIBILITIES.map((v) => (
          <label key={v.id} className="radio">
            <input type="radio" name="default-visibility" value={v.id} checked={value === v.id} onChange={() => void save(v.id)} />
            <span>
              <strong>{v.label}</strong> <span className="muted small">{v.help}</span>
            </span>
          </label>
        ))}
      </fieldset>
      {error ? (
        <div id="default-visibility-error">
          <Alert>{error}</Alert>
        </div>
      ) : null}
      {saved ? <Alert kind="success">New packages of {owner} will be {value}.</Alert> : null}
    </section>
  );
}

/** The owner's current default visibility (undefined while loading). */
export function useDefaultVisibility(owner: string): Visibility | null | undefined {
  const org = useOrg(owner);
  const user = useLoad(`owner-user|${owner}|${org.data === null ? 'user' : 'org'}`, () =>
    org.data === null ? get<User>(`/api/v1/users/${encodeURIComponent(owner)}`) : Promise.resolve(null),
  );
  if (org.data === undefined) return undefined;
  if (org.data) return org.data.defaultVisibility;
  if (user.data === undefined) return undefined;
  return user.data?.defaultVisibility ?? null;
}
