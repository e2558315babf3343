import type { FastifyRequest } from 'fastify';
import type { Principal, RepoAction } from '../../auth/principal.ts';
import { RegistryError } from '../../errors.ts';
import { isRepoName, type RepoName } from '../../oci/name.ts';
import type { ChartService } from '../../services/charts.ts';
import type { AccessGate } from '../access.ts';

/** What the chart routes (classic repository, ChartMuseum API, /api/v1 charts) need. */
export interface ChartRouteDeps {
  charts: ChartService;
  gate: AccessGate;
  /** The caller, anonymous allowed (owner-wide listings are filtered, not refused). */
  principal: (req: FastifyRequest) => Promise<Principal>;
  /** Public URL of Wharf; derived from the request when unset. */
  baseUrl: string | undefined;
  /** Cap on an upload request body (chart plus provenance). */
  maxUploadBytes: number;
}

/** An owner is a single repository-name component (`acme`). */
export function parseOwner(raw: string): string {
  if (!isRepoName(raw) || raw.includes('/')) throw new RegistryError('NOT_FOUND', 'owner not found', { owner: raw });
  return raw;
}

export function publicBaseUrl(req: FastifyRequest, baseUrl: string | undefined): string {
  return (baseUrl ?? `${req.protocol}://${req.host}`).replace(/\/$/, '');
}

/**
 * Looks a chart up without revealing whether it exists: when it is missing, the caller is first
 * authorized against the repository it would live in (`<owner>/charts/<name>`, the upload
 * layout), so a stranger gets the same 401/403 for a missing private chart as for an existing
 * one, and only callers who could see it learn that it is absent.
 */
export async function lookupWithoutLeak<T>(
  gate: AccessGate,
  req: FastifyRequest,
  probe: { owner: string; chart: string | null },
  actions: RepoAction[],
  lookup: () => Promise<T>,
): Promise<T> {
  try {
    return await lookup();
  } catch (err) {
    if (err instanceof RegistryError && err.code === 'NOT_FOUND') {
      const candidate = probe.chart ? `${probe.owner}/charts/${probe.chart}` : `${probe.owner}/charts`;
      const name = isRepoName(candidate) ? candidate : `${probe.owner}/charts`;
      if (isRepoName(name)) await gate.authorize(req, { type: 'repository', name: name as RepoName, actions });
    }
    throw err;
  }
}

/** The chart name of `<name>-<version>.tgz[.prov]`; versions start with a digit (semver). */
export function chartNameOfFile(file: string): string | null {
  return /^(.+?)-v?\d[^/]*\.tgz(?:\.prov)?$/.exec(file)?.[1] ?? null;
}
