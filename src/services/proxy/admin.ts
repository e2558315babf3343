/**
 * Managing proxy organizations (site administrators): an organization bound to an upstream
 * registry — its URL, optional credentials (the password sealed with `proxy.credentialKey`),
 * allow/deny patterns over upstream repository paths, and the TTL after which a cached tag is
 * checked again. Creating one creates the organization (private by default) unless it exists.
 */
import type { Principal } from '../../auth/principal.ts';
import type { Visibility } from '../../auth/vocabulary.ts';
import { RegistryError } from '../../errors.ts';
import { seal } from '../../lib/sealed.ts';
import type { Metadata } from '../../metadata/metadata.ts';
import type { ProxyRecord, ProxySettings } from '../../metadata/proxies.ts';
import { isRepoName } from '../../oci/name.ts';
import { actorFields } from '../audit.ts';
import { validateOwnerName } from '../accounts.ts';
import type { ProxyDirectory } from './directory.ts';

export interface ProxyInput {
  url: string;
  username?: string | null | undefined;
  /** Undefined on an update: keep the stored one; null: remove it. */
  password?: string | null | undefined;
  allow?: string[] | undefined;
  deny?: string[] | undefined;
  tagTtlSeconds?: number | undefined;
  /** `path:tag` references kept fetched by the periodic `proxy.sync` job. */
  sync?: string[] | undefined;
}

/** What an administrator sees of a proxy: never the password, only whether one is stored. */
export interface ProxyView {
  name: string;
  url: string;
  username: string | null;
  hasPassword: boolean;
  allow: string[];
  deny: string[];
  tagTtlSeconds: number;
  sync: string[];
  hits: number;
  misses: number;
  lastError: string | null;
  lastErrorAt: string | null;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

export type OwnerProxyView = Pick<ProxyView, 'name' | 'url' | 'tagTtlSeconds' | 'hits' | 'misses' | 'lastError' | 'lastErrorAt'> & { packages: number };

export const DEFAULT_TAG_TTL_SECONDS = 3600;

export interface ProxyAdminDeps {
  metadata: Metadata;
  directory: ProxyDirectory;
  clock: () => number;
  credentialKey: string | undefined;
}

export function proxyView(r: ProxyRecord): ProxyView {
  return {
    name: r.owner,
    url: r.url,
    username: r.username,
    hasPassword: r.sealedPassword !== null,
    allow: r.allow,
    deny: r.deny,
    tagTtlSeconds: r.tagTtlSeconds,
    sync: r.sync,
    hits: r.hits,
    misses: r.misses,
    lastError: r.lastError,
    lastErrorAt: r.lastErrorAt === null ? null : new Date(r.lastErrorAt).toISOString(),
    createdBy: r.createdBy,
    createdAt: new Date(r.createdAt).toISOString(),
    updatedAt: new Date(r.updatedAt).toISOString(),
  };
}

function requireAdmin(actor: Principal): void {
  if (!actor.admin) throw new RegistryError('DENIED', 'only site administrators manage proxy organizations');
}

function upstreamUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new RegistryError('BAD_REQUEST', `upstream URL ${raw} is not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new RegistryError('BAD_REQUEST', 'the upstream URL must be http:// or https://');
  if (u.username || u.password) throw new RegistryError('BAD_REQUEST', 'put upstream credentials in username and password, not in the URL');
  if (u.search || u.hash) throw new RegistryError('BAD_REQUEST', 'the upstream URL takes no query or fragment');
  return `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
}

/** A `path:tag` reference of the sync list, checked here so the job never meets a bad one. */
function syncRef(ref: string): string {
  const i = ref.lastIndexOf(':');
  const path = ref.slice(0, i);
  const tag = ref.slice(i + 1);
  if (i <= 0 || !isRepoName(path) || !/^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/.test(tag)) {
    throw new RegistryError('BAD_REQUEST', `sync entry ${ref} is not an upstream repository and tag (library/alpine:3.20)`);
  }
  return ref;
}

export class ProxyAdminService {
  private readonly deps: ProxyAdminDeps;

  constructor(deps: ProxyAdminDeps) {
    this.deps = deps;
  }

  async list(actor: Principal): Promise<ProxyView[]> {
    requireAdmin(actor);
    return (await this.deps.metadata.proxies.list()).map(proxyView);
  }

  async get(actor: Principal, name: string): Promise<ProxyView> {
    requireAdmin(actor);
    return proxyView(await this.record(name));
  }

  /**
   * What an organization's page shows about the upstream it mirrors (members and site admins;
   * anybody else gets NOT_FOUND, as for an organization that is no proxy): the upstream, the tag
   * TTL, hit/miss counts, the last upstream error and how many packages are cached.
   */
  async ownerView(actor: Principal, owner: string): Promise<OwnerProxyView> {
    const r = await this.deps.metadata.proxies.get(owner);
    const member = actor.admin || (actor.kind === 'user' && (await this.deps.metadata.memberships.orgRole(owner, actor.name)) !== null);
    if (!r || !member) throw new RegistryError('NOT_FOUND', `${owner} is not a proxy organization`);
    const v = proxyView(r);
    const packages = (await this.deps.metadata.packages.listByOwner(owner)).length;
    return { name: v.name, url: v.url, tagTtlSeconds: v.tagTtlSeconds, hits: v.hits, misses: v.misses, lastError: v.lastError, lastErrorAt: v.lastErrorAt, packages };
  }

  /**
   * Creates the proxy organization `name` (or binds an existing organization that has no packages)
   * with `visibility` as its packages' default; the creating administrator becomes its owner.
   */
  async create(actor: Principal, name: string, input: ProxyInput, visibility: Visibility = 'private', opts: { owner?: string | undefined } = {}): Promise<ProxyView> {
    requireAdmin(actor);
    validateOwnerName(name);
    const settings = this.settings(input, null);
    const now = this.deps.clock();
    await this.deps.metadata.transaction(async (m) => {
      const existing = await m.accounts.get(name);
      if (existing && existing.kind !== 'org') throw new RegistryError('CONFLICT', `${name} is a user, not an organization`);
      if (await m.proxies.get(name)) throw new RegistryError('CONFLICT', `${name} is already a proxy organization`);
      if (existing) {
        if ((await m.packages.listByOwner(name)).length > 0) throw new RegistryError('CONFLICT', `organization ${name} has packages; a proxy organization holds only cached ones`);
      } else {
        if (!(await m.accounts.create({ name, kind: 'org', now }))) throw new RegistryError('CONFLICT', `${name} is taken`);
        const owner = opts.owner ?? (actor.kind === 'user' ? actor.name : undefined);
        if (owner !== undefined) {
          if ((await m.accounts.get(owner))?.kind !== 'user') throw new RegistryError('BAD_REQUEST', `owner ${owner} is not a user`);
          await m.memberships.setOrgMember(name, owner, 'owner');
        }
      }
      await m.accounts.update(name, { defaultVisibility: visibility });
      await m.proxies.create(name, settings, actor.name || 'system', now);
      await m.audit.append({ at: now, ...actorFields(actor), action: 'proxy.create', target: name, owner: name, detail: { url: settings.url, username: settings.username, allow: settings.allow, deny: settings.deny, tagTtlSeconds: settings.tagTtlSeconds, visibility } });
    });
    this.deps.directory.forget(name);
    return proxyView(await this.record(name));
  }

  async update(actor: Principal, name: string, input: { [K in keyof ProxyInput]?: ProxyInput[K] | undefined }): Promise<ProxyView> {
    requireAdmin(actor);
    const current = await this.record(name);
    const settings = this.settings(
      {
        url: input.url ?? current.url,
        username: input.username === undefined ? current.username : input.username,
        password: input.password,
        allow: input.allow ?? current.allow,
        deny: input.deny ?? current.deny,
        tagTtlSeconds: input.tagTtlSeconds ?? current.tagTtlSeconds,
        sync: input.sync ?? current.sync,
      },
      current,
    );
    const now = this.deps.clock();
    await this.deps.metadata.transaction(async (m) => {
      if (!(await m.proxies.update(name, settings, now))) throw new RegistryError('NOT_FOUND', `${name} is not a proxy organization`);
      await m.audit.append({ at: now, ...actorFields(actor), action: 'proxy.update', target: name, owner: name, detail: { url: settings.url, username: settings.username, passwordChanged: input.password !== undefined, allow: settings.allow, deny: settings.deny, tagTtlSeconds: settings.tagTtlSeconds } });
    });
    this.deps.directory.forget(name);
    return proxyView(await this.record(name));
  }

  /** Unbinds the upstream; the organization and what it cached stay (an ordinary organization from then on). */
  async remove(actor: Principal, name: string): Promise<void> {
    requireAdmin(actor);
    const now = this.deps.clock();
    await this.deps.metadata.transaction(async (m) => {
      if (!(await m.proxies.delete(name))) throw new RegistryError('NOT_FOUND', `${name} is not a proxy organization`);
      await m.audit.append({ at: now, ...actorFields(actor), action: 'proxy.delete', target: name, owner: name, detail: {} });
    });
    this.deps.directory.forget(name);
  }

  private async record(name: string): Promise<ProxyRecord> {
    const r = await this.deps.metadata.proxies.get(name);
    if (!r) throw new RegistryError('NOT_FOUND', `${name} is not a proxy organization`);
    return r;
  }

  private settings(input: ProxyInput, current: ProxyRecord | null): ProxySettings {
    const username = input.username ?? null;
    let sealedPassword = current?.sealedPassword ?? null;
    if (input.password === null || username === null) sealedPassword = null;
    else if (input.password !== undefined) {
      const key = this.deps.credentialKey;
      if (key === undefined) throw new RegistryError('BAD_REQUEST', 'set proxy.credentialKey in the configuration before storing upstream credentials (they are kept encrypted with it)');
      sealedPassword = seal(input.password, key);
    }
    if (input.password !== undefined && input.password !== null && username === null) throw new RegistryError('BAD_REQUEST', 'a password needs a username');
    return {
      url: upstreamUrl(input.url),
      username,
      sealedPassword,
      allow: input.allow ?? [],
      deny: input.deny ?? [],
      tagTtlSeconds: input.tagTtlSeconds ?? DEFAULT_TAG_TTL_SECONDS,
      sync: (input.sync ?? []).map(syncRef),
    };
  }
}
