/** The audit log. */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DB } from './schema.ts';

export interface AuditEntry {
  id: string;
  at: number;
  actor: string;
  action: string;
  target: string;
  detail: Record<string, unknown> | null;
  address: string | null;
  /** Migration 0011; null on older rows and where unknown. */
  actorKind?: string | null;
  tokenId?: string | null;
  userAgent?: string | null;
  /** The owner (user or organization) the change concerns, for owners reading their own audit. */
  owner?: string | null;
  outcome?: 'success' | 'failure' | null;
}

export interface AuditFilter {
  limit: number;
  before?: number | undefined;
  actor?: string | undefined;
  target?: string | undefined;
  action?: string | undefined;
  owner?: string | undefined;
}

export class AuditStore {
  private readonly db: Kysely<DB>;
  constructor(db: Kysely<DB>) {
    this.db = db;
  }

  async append(e: Omit<AuditEntry, 'id'>): Promise<void> {
    await this.db
      .insertInto('audit_log')
      .values({
        id: randomUUID(),
        at: e.at,
        actor: e.actor,
        action: e.action,
        target: e.target,
        detail: e.detail ? JSON.stringify(e.detail) : null,
        address: e.address,
        actor_kind: e.actorKind ?? null,
        token_id: e.tokenId ?? null,
        user_agent: e.userAgent ?? null,
        owner: e.owner ?? null,
        outcome: e.outcome ?? 'success',
      })
      .execute();
  }

  async list(opts: AuditFilter): Promise<AuditEntry[]> {
    let q = this.db.selectFrom('audit_log').selectAll().orderBy('at', 'desc').orderBy('id').limit(opts.limit);
    if (opts.before !== undefined) q = q.where('at', '<', opts.before);
    if (opts.actor !== undefined) q = q.where('actor', '=', opts.actor);
    if (opts.target !== undefined) q = q.where('target', '=', opts.target);
    // An action filter ending in '.' or '*' matches the family (`package.` → package.push, package.trash, …).
    if (opts.action !== undefined) q = /[.*]$/.test(opts.action) ? q.where('action', 'like', `${opts.action.replace(/\*$/, '')}%`) : q.where('action', '=', opts.action);
    if (opts.owner !== undefined) q = q.where('owner', '=', opts.owner);
    return (await q.execute()).map((r) => ({
      id: r.id,
      at: Number(r.at),
      actor: r.actor,
      action: r.action,
      target: r.target,
      detail: r.detail ? (JSON.parse(r.detail) as Record<string, unknown>) : null,
      address: r.address,
      actorKind: r.actor_kind ?? null,
      tokenId: r.token_id ?? null,
      userAgent: r.user_agent ?? null,
      owner: r.owner ?? null,
      outcome: r.outcome === 'failure' ? 'failure' : r.outcome === 'success' ? 'success' : null,
    }));
  }
}
