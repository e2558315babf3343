/** Who is calling, and what the credential they used limits them to. */
export type RepoAction = 'pull' | 'push' | 'delete';

export interface CiGrant {
  owner: string;
  /** null = every package of `owner`. */
  repo: string | null;
  role: 'read' | 'write';
}

export interface Principal {
  kind: 'anonymous' | 'user' | 'ci' | 'system';
  /** Username for users, `ci:<issuer>#<subject>` for CI jobs, '' for anonymous. */
  name: string;
  admin: boolean;
  /** Present when the credential was a personal access token. */
  token?: {
    id: string;
    actions: ReadonlySet<RepoAction>;
    owners: readonly string[] | null;
    packages: readonly string[] | null;
  };
  /** What trusting owners/packages granted a CI job. */
  ci?: readonly CiGrant[];
  /**
   * Where the request came from, attached by the HTTP layer for audit rows and webhook payloads:
   * the client address (X-Forwarded-For believed only from server.trustedProxies), its User-Agent
   * and the host it addressed (pull commands in webhook payloads).
   */
  client?: ClientInfo;
}

export interface ClientInfo {
  address: string | null;
  userAgent: string | null;
  host: string | null;
}

export const ANONYMOUS: Principal = Object.freeze({ kind: 'anonymous', name: '', admin: false });
export const SYSTEM: Principal = Object.freeze({ kind: 'system', name: 'system', admin: true });
