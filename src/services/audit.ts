/**
 * The audit columns every state change records about who made it (docs/adr/0016-webhooks-and-audit.md):
 * the principal's name and kind (user, ci, system, anonymous), the personal access token used,
 * the client address and User-Agent the HTTP layer attached to the principal.
 */
import type { Principal } from '../auth/principal.ts';
import type { AuditEntry } from '../metadata/audit.ts';

export type ActorFields = Pick<AuditEntry, 'actor' | 'actorKind' | 'tokenId' | 'address' | 'userAgent'>;

export function actorFields(p: Principal): ActorFields {
  return {
    actor: p.name || 'anonymous',
    actorKind: p.kind,
    tokenId: p.token?.id ?? null,
    address: p.client?.address ?? null,
    userAgent: p.client?.userAgent ?? null,
  };
}

/** The owner segment of a target that names a package or an owner (`acme/web` → `acme`). */
export function ownerOfTarget(target: string): string {
  const i = target.indexOf('/');
  return i < 0 ? target : target.slice(0, i);
}
