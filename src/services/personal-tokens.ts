import { randomUUID } from 'node:crypto';
import { isTokenScope } from '../auth/policy.ts';
import type { Principal } from '../auth/principal.ts';
import { hashSecret, newSecret, PAT_PREFIX, secretHint } from '../auth/secrets.ts';
import { RegistryError } from '../errors.ts';
import type { TokenRecord } from '../metadata/tokens.ts';
import type { Metadata } from '../metadata/metadata.ts';
import { isRepoName, type RepoName } from '../oci/name.ts';
import type { AuthzService } from './authz.ts';
import { actorFields } from './audit.ts';

export interface TokenView {
  id: string;
  name: string;
  hint: string;
  scopes: string[];
  owners: string[] | null;
  packages: string[] | null;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
  createdAt: string;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function tokenView(t: TokenRecord): TokenView {
  return {
    id: t.id,
    name: t.name,
    hint: t.hint,
    scopes: t.scopes,
    owners: t.owners,
    packages: t.packages,
    expiresAt: iso(t.expiresAt),
    lastUsedAt: iso(t.lastUsedAt),
    revokedAt: iso(t.revokedAt),
    createdAt: new Date(t.createdAt).toISOString(),
  };
}

export interface NewToken {
  name: string;
  scopes: string[];
  expiresInDays?: number | null;
  owners?: string[] | null;
  packages?: string[] | null;
}

export interface PullSecret {
  token: string;
  tokenId: string;
  server: string;
  username: string;
  secretName: string;
  kubectl: string;
  dockerconfigjson: string;
  yaml: string;
}

/** Personal access tokens: created (secret shown once), listed, revoked; and pull secrets. */
export class PersonalTokenService {
  private readonly deps: { metadata: Metadata; clock: () => number; authz: AuthzService };

  constructor(deps: { metadata: Metadata; clock: () => number; authz: AuthzService }) {
    this.deps = deps;
  }

  private requireUser(actor: Principal): void {
    if (actor.kind !== 'user') throw new RegistryError('UNAUTHORIZED', 'sign in required');
    if (actor.token) throw new RegistryError('DENIED', 'personal access tokens cannot create or revoke tokens');
  }

  async create(actor: Principal, t: NewToken): Promise<{ token: TokenView; secret: string }> {
    this.requireUser(actor);
    const name = t.name.trim();
    if (name.length === 0 || name.length > 100) throw new RegistryError('BAD_REQUEST', 'token name must be 1-100 characters');
    if (t.scopes.length === 0 || !t.scopes.every(isTokenScope)) {
      throw new RegistryError('BAD_REQUEST', 'scopes must be among read:packages, write:packages, delete:packages', { scopes: t.scopes });
    }
    if (t.expiresInDays !== undefined && t.expiresInDays !== null && !(t.expiresInDays > 0 && t.expiresInDays <= 3650)) {
      throw new RegistryError('BAD_REQUEST', 'expiresInDays must be between 1 and 3650');
    }
    for (const p of t.packages ?? []) if (!isRepoName(p)) throw new RegistryError('BAD_REQUEST', 'invalid package name', { package: p });
    const secret = newSecret(PAT_PREFIX);
    const now = this.deps.clock();
    const record = {
      id: randomUUID(),
      kind: 'pat' as const,
      username: actor.name,
      name,
      hint: secretHint(secret),
      scopes: [...new Set(t.scopes)],
      owners: t.owners && t.owners.length > 0 ? t.owners : null,
      packages: t.packages && t.packages.length > 0 ? t.packages : null,
      expiresAt: t.expiresInDays ? now + t.expiresInDays * 86_400_000 : null,
      createdAt: now,
    };
    await this.deps.metadata.tokens.create({ ...record, hash: hashSecret(secret) });
    await this.deps.metadata.audit.append({ at: now, ...actorFields(actor), action: 'token.create', target: actor.name, owner: actor.name, detail: { id: record.id, name, scopes: record.scopes } });
    return { token: tokenView({ ...record, lastUsedAt: null, revokedAt: null }), secret };
  }

  async list(actor: Principal): Promise<TokenView[]> {
    this.requireUser(actor);
    return (await this.deps.metadata.tokens.listFor(actor.name)).map(tokenView);
  }

  async revoke(actor: Principal, id: string): Promise<void> {
    this.requireUser(actor);
    const t = await this.deps.metadata.tokens.get(id);
    if (!t || t.kind !== 'pat' || (t.username !== actor.name && !actor.admin)) throw new RegistryError('NOT_FOUND', 'no such token', { id });
    await this.deps.metadata.tokens.revoke(id, this.deps.clock());
    await this.deps.metadata.audit.append({ at: this.deps.clock(), ...actorFields(actor), action: 'token.revoke', target: t.username, owner: t.username, detail: { id, name: t.name } });
  }

  /**
   * A read-only token limited to `packages`, plus what Kubernetes needs to pull with it: the
   * `kubectl create secret docker-registry` line and the equivalent Secret manifest.
   */
  async pullSecret(actor: Principal, opts: { packages: string[]; server: string; secretName?: string; expiresInDays?: number | null }): Promise<PullSecret> {
    this.requireUser(actor);
    if (opts.packages.length === 0) throw new RegistryError('BAD_REQUEST', 'choose at least one package');
    for (const p of opts.packages) {
      if (!isRepoName(p) || !(await this.deps.authz.canPull(actor, p as RepoName))) throw new RegistryError('NOT_FOUND', 'no such package', { package: p });
    }
    const secretName = opts.secretName ?? `${opts.packages[0]?.split('/').pop() ?? 'wharf'}-pull`.replace(/[^a-z0-9-]/g, '-');
    const { token, secret } = await this.create(actor, {
      name: `pull secret ${secretName}`,
      scopes: ['read:packages'],
      packages: opts.packages,
      expiresInDays: opts.expiresInDays ?? null,
    });
    const auth = Buffer.from(`${actor.name}:${secret}`).toString('base64');
    const dockerconfigjson = JSON.stringify({ auths: { [opts.server]: { username: actor.name, password: secret, auth } } });
    return {
      token: secret,
      tokenId: token.id,
      server: opts.server,
      username: actor.name,
      secretName,
      kubectl: `kubectl create secret docker-registry ${secretName} --docker-server=${opts.server} --docker-username=${actor.name} --docker-password=${secret}`,
      dockerconfigjson,
      yaml: [
        'apiVersion: v1',
        'kind: Secret',
        'metadata:',
        `  name: ${secretName}`,
        'type: kubernetes.io/dockerconfigjson',
        'data:',
        `  .dockerconfigjson: ${Buffer.from(dockerconfigjson).toString('base64')}`,
        '',
      ].join('\n'),
    };
  }
}
