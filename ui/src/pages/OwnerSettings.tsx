import { Link } from '../router.tsx';
import { useTitle } from '../hooks.ts';
import { useSession } from '../session.tsx';
import { NoAccess } from '../components.tsx';
import { TrustSection } from '../trusts.tsx';
import { WebhookSection } from '../webhooks.tsx';

/** `/<owner>/-/settings`: what applies to every package of a user or organization. */
export function OwnerSettingsPage({ owner }: { owner: string }) {
  useTitle(`Settings · ${owner}`);
  const { user } = useSession();
  const manages = user !== null && user !== undefined && (user.admin || user.username === owner || user.orgs.some((o) => o.org === owner && o.role === 'owner'));
  if (!manages) return <NoAccess message={`Only ${owner} and the owners of ${owner} can change these settings.`} />;
  return (
    <article className="settings-page" aria-labelledby="owner-settings-title">
      <p className="crumbs">
        <Link to={`/${encodeURIComponent(owner)}`}>{owner}</Link>
      </p>
      <h1 id="owner-settings-title">Settings for all packages of {owner}</h1>
      <TrustSection scope={{ kind: 'owner', owner, api: `/api/v1/owners/${encodeURIComponent(owner)}/trusts` }} />
      <WebhookSection scope={{ kind: 'owner', owner, api: `/api/v1/owners/${encodeURIComponent(owner)}/webhooks` }} />
    </article>
  );
}
