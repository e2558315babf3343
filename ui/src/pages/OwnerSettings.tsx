import { Link } from '../router.tsx';
import { useTitle } from '../hooks.ts';
import { useSession } from '../session.tsx';
import { NoAccess } from '../components.tsx';
import { TrustSection } from '../trusts.tsx';
import { PolicySection } from '../policies.tsx';
import { WebhookSection } from '../webhooks.tsx';
import { AuditLog } from '../audit.tsx';
import { DefaultVisibilitySection, OwnerHead, OwnerTabs, useDefaultVisibility } from './OwnerTabs.tsx';

/** `/<owner>/-/settings`: what applies to every package of a user or organization. */
function useManages(owner: string): boolean {
  const { user } = useSession();
  return user !== null && user !== undefined && (user.admin || user.username === owner || user.orgs.some((o) => o.org === owner && o.role === 'owner'));
}

/** `/<owner>/-/audit`: the owner's audit log, for the user themself, org owners and site admins. */
export function OwnerAuditPage({ owner }: { owner: string }) {
  useTitle(`Audit log · ${owner}`);
  if (!useManages(owner)) return <NoAccess message={`Only ${owner} and the owners of ${owner} can read its audit log.`} />;
  return (
    <article className="settings-page wide" aria-label={`Audit log of ${owner}`}>
      <p className="crumbs">
        <Link to={`/${encodeURIComponent(owner)}`}>{owner}</Link>
      </p>
      <AuditLog owner={owner} />
    </article>
  );
}

export function OwnerSettingsPage({ owner }: { owner: string }) {
  useTitle(`Settings · ${owner}`);
  const manages = useManages(owner);
  const visibility = useDefaultVisibility(owner);
  if (!manages) return <NoAccess message={`Only ${owner} and the owners of ${owner} can change these settings.`} />;
  return (
    <article className="settings-page" aria-labelledby="owner-settings-title">
      <OwnerHead owner={owner} kind="Settings" />
      <OwnerTabs owner={owner} current="settings" />
      <h2 id="owner-settings-title">Settings for all packages of {owner}</h2>
      {visibility !== undefined ? <DefaultVisibilitySection owner={owner} current={visibility} /> : null}
      <PolicySection kind="owner" api={`/api/v1/owners/${encodeURIComponent(owner)}/policy`} previewApi={`/api/v1/owners/${encodeURIComponent(owner)}/retention/preview`} />
      <TrustSection scope={{ kind: 'owner', owner, api: `/api/v1/owners/${encodeURIComponent(owner)}/trusts` }} />
      <WebhookSection scope={{ kind: 'owner', owner, api: `/api/v1/owners/${encodeURIComponent(owner)}/webhooks` }} />
    </article>
  );
}
