import type { FastifyRequest } from 'fastify';
import type { Principal, RepoAction } from '../auth/principal.ts';
import { ANONYMOUS } from '../auth/principal.ts';
import type { RepoName } from '../oci/name.ts';
import type { TagStamp } from '../oci/tag-stamp.ts';
import { clientInfo } from './auth-gate.ts';

export type AccessRequest =
  | {
      type: 'repository';
      name: RepoName;
      actions: RepoAction[];
      /**
       * A cross-repository mount's source: not required, but named in the challenge (as
       * Distribution does) so a token-auth client asks for pull on it and can then mount.
       */
      mountFrom?: RepoName;
    }
  /** Push to some package under `prefix` (`acme/charts/`): an upload whose package only its body names. */
  | { type: 'namespace'; prefix: string; actions: ['push'] }
  | { type: 'registry'; name: 'catalog'; actions: ['*'] }
  | { type: 'base' };

/**
 * How the registry routes ask "may this request do that?". The gate authenticates the request
 * and either returns the principal or throws UNAUTHORIZED (with a challenge) / DENIED.
 */
export interface AccessGate {
  authorize(request: FastifyRequest, access: AccessRequest): Promise<Principal>;
  /** Whether `principal` may pull from `repo` (catalog filtering, chart indexes). */
  canPull(principal: Principal, repo: RepoName): Promise<boolean>;
  /** Which of `repos` `principal` may pull from, decided for all of them at once (the catalog). */
  pullable(principal: Principal, repos: readonly RepoName[]): Promise<ReadonlySet<RepoName>>;
  /**
   * Whether this request's credential may pull from `repo`: the account's rights, narrowed to
   * what a registry token grants (a cross-repository mount source must be in the token's scope,
   * as Docker clients request it).
   */
  requestMayPull(request: FastifyRequest, repo: RepoName): Promise<boolean>;
  /**
   * The tag stamp of the repository `authorize` granted this request, when it read one with the
   * access facts; null otherwise (the caller then reads the database itself).
   */
  tagStampOf(request: FastifyRequest): TagStamp | null;
}

/** No authentication: everything is allowed to everyone (tests of the core; development). */
export const openGate: AccessGate = {
  async authorize(request) {
    // Still say where the request came from (audit rows of an open registry).
    return { ...ANONYMOUS, client: clientInfo(request) };
  },
  async canPull() {
    return true;
  },
  async pullable(_principal, repos) {
    return new Set(repos);
  },
  async requestMayPull() {
    return true;
  },
  tagStampOf() {
    return null;
  },
};
