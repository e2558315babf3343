/**
 * Webhook events and their JSON payload (docs/webhooks.md). A payload is built once, when the
 * change commits, and stored with the delivery: a retry or a redelivery sends the same bytes.
 */
import type { Principal } from '../../auth/principal.ts';
import { tagToVersion } from '../../charts/semver.ts';
import type { ArtifactKind } from '../../oci/kind.ts';

export const WEBHOOK_EVENTS = [
  'package.published',
  'chart.published',
  'tag.moved',
  'tag.deleted',
  'version.deleted',
  'version.restored',
  'package.deleted',
  'package.restored',
] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];
/** The test delivery; every webhook gets it when asked, whatever its events. */
export type DeliveredEvent = WebhookEvent | 'ping';

export function isWebhookEvent(s: string): s is WebhookEvent {
  return (WEBHOOK_EVENTS as readonly string[]).includes(s);
}

/** What changed, as the services that change it describe it (inside their transaction). */
export interface Change {
  event: WebhookEvent;
  actor: Principal;
  repo: string;
  owner: string;
  /** null when unknown (a whole package deleted or restored). */
  kind: ArtifactKind | null;
  tag: string | null;
  /** Every tag the change published (package.published). */
  tags?: readonly string[];
  digest: string | null;
  /** tag.moved: where the tag pointed before. */
  previousDigest?: string | null;
  mediaType: string | null;
  artifactType?: string | null;
}

export interface WebhookPayload {
  id: string;
  event: DeliveredEvent;
  /** ISO 8601, as everywhere in the API. */
  timestamp: string;
  actor: { name: string; kind: Principal['kind']; tokenId: string | null };
  owner: string;
  package: string;
  kind: ArtifactKind | null;
  tag: string | null;
  tags: string[];
  /** A chart's version (its tag with `_` turned back into `+`), else the tag. */
  version: string | null;
  digest: string | null;
  previousDigest?: string | null;
  mediaType: string | null;
  artifactType: string | null;
  /** Where the package is pulled from and the commands that pull this version (null when the registry's host is unknown). */
  pull: { reference: string; commands: string[] } | null;
}

/** `registry/owner/package:tag` (or `@digest`) and the pull commands for its kind. */
export function pullInfo(host: string | null, repo: string, kind: ArtifactKind | null, tag: string | null, digest: string | null): WebhookPayload['pull'] {
  if (!host || (!tag && !digest)) return null;
  if (kind === 'chart') {
    const version = tag ? tagToVersion(tag) : null;
    const reference = `oci://${host}/${repo}`;
    return { reference, commands: [version ? `helm pull ${reference} --version ${version}` : `helm pull ${reference}@${digest ?? ''}`] };
  }
  const reference = tag ? `${host}/${repo}:${tag}` : `${host}/${repo}@${digest ?? ''}`;
  if (kind === 'image' || kind === 'index') return { reference, commands: [`podman pull ${reference}`, `docker pull ${reference}`] };
  return { reference, commands: [`oras pull ${reference}`] };
}

export function buildPayload(id: string, event: DeliveredEvent, at: number, c: Omit<Change, 'event'>, host: string | null): WebhookPayload {
  const tags = [...(c.tags ?? (c.tag ? [c.tag] : []))];
  return {
    id,
    event,
    timestamp: new Date(at).toISOString(),
    actor: { name: c.actor.name || 'anonymous', kind: c.actor.kind, tokenId: c.actor.token?.id ?? null },
    owner: c.owner,
    package: c.repo,
    kind: c.kind,
    tag: c.tag,
    tags,
    version: c.tag ? (c.kind === 'chart' ? tagToVersion(c.tag) : c.tag) : null,
    digest: c.digest,
    ...(c.previousDigest !== undefined ? { previousDigest: c.previousDigest } : {}),
    mediaType: c.mediaType,
    artifactType: c.artifactType ?? null,
    pull: event === 'package.deleted' || event === 'version.deleted' || event === 'tag.deleted' ? null : pullInfo(host, c.repo, c.kind, c.tag, c.digest),
  };
}

/**
 * Which event a webhook subscribed to `events` receives for `change`, if any. A chart publication
 * is `package.published` for hooks that listen to it, else `chart.published`: one delivery per
 * change, never two.
 */
export function eventFor(events: readonly string[], change: WebhookEvent, kind: ArtifactKind | null): WebhookEvent | null {
  if (change === 'package.published') {
    if (events.includes('package.published')) return 'package.published';
    if (kind === 'chart' && events.includes('chart.published')) return 'chart.published';
    return null;
  }
  return events.includes(change) ? change : null;
}
