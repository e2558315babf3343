/**
 * Which organizations are proxies, and a client for each one's upstream. Read on every /v2
 * request into any repository, so the rows are cached per replica for a few seconds: a change
 * made on another replica is seen within `CACHE_MS` (this replica's own changes at once).
 */
import { matchesGlob } from 'node:path';
import { RegistryError } from '../../errors.ts';
import { unseal } from '../../lib/sealed.ts';
import type { Metadata } from '../../metadata/metadata.ts';
import type { ProxyRecord } from '../../metadata/proxies.ts';
import { ownerOf, type RepoName } from '../../oci/name.ts';
import { UpstreamClient } from './upstream.ts';

const CACHE_MS = 5_000;

export interface Upstream {
  record: ProxyRecord;
  client: UpstreamClient;
}

export interface DirectoryDeps {
  metadata: Metadata;
  clock: () => number;
  credentialKey: string | undefined;
  timeoutMs: number;
}

export class ProxyDirectory {
  private readonly deps: DirectoryDeps;
  private readonly cache = new Map<string, { upstream: Upstream | null; at: number }>();

  constructor(deps: DirectoryDeps) {
    this.deps = deps;
  }

  /** The upstream of `owner` when it is a proxy organization, else null. */
  async of(owner: string): Promise<Upstream | null> {
    const now = this.deps.clock();
    const hit = this.cache.get(owner);
    if (hit && now - hit.at < CACHE_MS) return hit.upstream;
    const record = await this.deps.metadata.proxies.get(owner);
    let upstream: Upstream | null = null;
    if (record) {
      // Settings unchanged: keep the client, and with it the upstream tokens it holds.
      const same = hit?.upstream && hit.upstream.record.updatedAt === record.updatedAt ? hit.upstream : null;
      upstream = same ? { record, client: same.client } : { record, client: this.client(record) };
    }
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(owner, { upstream, at: now });
    return upstream;
  }

  async forRepo(repo: RepoName): Promise<Upstream | null> {
    return this.of(ownerOf(repo));
  }

  forget(owner: string): void {
    this.cache.delete(owner);
  }

  private client(record: ProxyRecord): UpstreamClient {
    let password: string | null = null;
    if (record.sealedPassword !== null) {
      const key = this.deps.credentialKey;
      password = key === undefined ? null : unseal(record.sealedPassword, key);
      if (password === null) {
        throw new RegistryError('UNAVAILABLE', `the upstream password of proxy ${record.owner} cannot be read: proxy.credentialKey is ${key === undefined ? 'not set' : 'not the key it was stored with'}; set the password again`);
      }
    }
    return new UpstreamClient({ url: record.url, username: record.username, password, timeoutMs: this.deps.timeoutMs });
  }
}

/** The repository's path upstream: the name below the organization (`dockerhub/library/alpine` → `library/alpine`). */
export function upstreamRepo(upstream: Upstream, repo: RepoName): string {
  const path = repo.slice(upstream.record.owner.length + 1);
  // Docker Hub keeps official images under library/ and answers for them only by that name.
  if (!path.includes('/') && /(^|\.)docker\.io$/.test(new URL(upstream.record.url).hostname)) return `library/${path}`;
  return path;
}

/** Refuses a repository the proxy's allow/deny patterns exclude, naming the pattern. */
export function refuseExcluded(upstream: Upstream, repo: RepoName): void {
  const path = upstreamRepo(upstream, repo);
  const { allow, deny, owner } = upstream.record;
  const denied = deny.find((p) => matchesGlob(path, p));
  if (denied !== undefined) throw new RegistryError('DENIED', `proxy ${owner} does not mirror ${path}: it matches the deny pattern ${denied}`, { repository: repo });
  if (allow.length > 0 && !allow.some((p) => matchesGlob(path, p))) {
    throw new RegistryError('DENIED', `proxy ${owner} does not mirror ${path}: it matches none of the allow patterns (${allow.join(', ')})`, { repository: repo });
  }
}
