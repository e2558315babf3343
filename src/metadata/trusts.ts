/** CI trusts: which OIDC issuers and claims may act on an owner or a package. */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { CiTrustsTable } from './accounts-schema.ts';
import type { DB } from './schema.ts';

export interface CiTrust {
  id: string;
  owner: string;
  /** null = every package of the owner. */
  repo: string | null;
  issuer: string;
  audience: string;
  /** Claim name → glob pattern (e.g. repository: 'acme/web', ref: 'refs/heads/*'). */
  conditions: Record<string, string>;
  role: 'read' | 'write';
  createdAt: number;
}

function toTrust(r: CiTrustsTable): CiTrust {
  return {
    id: r.id,
    owner: r.owner,
    repo: r.repo,
    issuer: r.issuer,
    audience: r.audience,
    conditions: JSON.parse(r.conditions) as Record<string, string>,
    role: r.role,
    createdAt: Number(r.created_at),
  };
}

export class TrustStore {
  private readonly db: Kysely<DB>;
  constructor(db: Kysely<DB>) {
    this.db = db;
  }

  async create(t: Omit<CiTrust, 'id'>): Promise<CiTrust> {
    const id = randomUUID();
    await this.db
      .insertInto('ci_trusts')
      .values({ id, owner: t.owner, repo: t.repo, issuer: t.issuer, audience: t.audience, conditions: JSON.stringify(t.conditions), role: t.role, created_at: t.createdAt })
      .execute();
    return { ...t, id };
  }

  async byIssuer(issuer: string): Promise<CiTrust[]> {
    return (await this.db.selectFrom('ci_trusts').selectAll().where('issuer', '=', issuer).execute()).map(toTrust);
  }

  async list(owner: string, repo?: string): Promise<CiTrust[]> {
    let q = this.db.selectFrom('ci_trusts').selectAll().where('owner', '=', owner).orderBy('created_at');
    if (repo !== undefined) q = q.where('repo', '=', repo);
    return (await q.execute()).map(toTrust);
  }

  async get(id: string): Promise<CiTrust | null> {
    const r = await this.db.selectFrom('ci_trusts').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toTrust(r) : null;
  }

  /** Deletes the trust; false when it is already gone (a concurrent delete counts once). */
  async delete(id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('ci_trusts').where('id', '=', id).executeTakeFirst();
    return r.numDeletedRows > 0n;
  }

  async issuers(): Promise<string[]> {
    return (await this.db.selectFrom('ci_trusts').select('issuer').distinct().execute()).map((r) => r.issuer);
  }
}
