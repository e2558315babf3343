import type { FastifyRequest } from 'fastify';
import { ANONYMOUS, type Principal } from '../../auth/principal.ts';
import { RegistryError } from '../../errors.ts';
import { isRepoName, type RepoName } from '../../oci/name.ts';
import type { ChartCatalog } from '../../services/charts/catalog.ts';
import type { ClassicIndex } from '../../services/charts/classic-index.ts';
import type { ChartMuseum } from '../../services/charts/museum.ts';
import type { AccessGate } from '../access.ts';
import type { FileSender } from '../send-file.ts';

/** What the chart routes (classic repository, ChartMuseum API, /api/v1 charts) need. */
export interface ChartRouteDeps {
  /** Which charts and versions an owner has (the /api/v1 chart views read it as `charts`). */
  charts: ChartCatalog;
  /** The classic repository: index.yaml and the archives it lists. */
  index: ClassicIndex;
  /** ChartMuseum listings, deletes and uploads. */
  museum: ChartMuseum;
  gate: AccessGate;
  /** The caller, anonymous allowed (owner-wide listings are filtered, not refused). */
  principal: (req: FastifyRequest) => Promise<Principal>;
  /** Public URL of Wharf; derived from the request when unset. */
  baseUrl: string | undefined;
  /** Cap on an upload request body (chart plus provenance). */
  maxUploadBytes: number;
  /** Sends index.yaml and archives kept on local disk (the app's buffer pool). */
  files: FileSender;
}

/** An owner is a single repository-name component (`acme`). */
export function parseOwner(raw: string): string {
  if (!isRepoName(raw) || raw.includes('/')) throw new RegistryError('NOT_FOUND', 'owner not found', { owner: raw });
  return raw;
}

export function publicBaseUrl(req: FastifyRequest, baseUrl: string | undefined): string {
  return (baseUrl ?? `${req.protocol}://${req.host}`).replace(/\/$/, '');
}

function rejected(err: unknown): boolean {
  return err instanceof RegistryError && (err.code === 'UNAUTHORIZED' || err.code === 'TOOMANYREQUESTS');
}

/**
 * The caller of a chart repository read (index.yaml, ChartMuseum listings): a rejected
 * credential counts as anonymous, as the token endpoint treats it for public content.
 */
export async function readerOf(deps: ChartRouteDeps, req: FastifyRequest): Promise<Principal> {
  try {
    return await deps.principal(req);
  } catch (err) {
    if (rejected(err)) return ANONYMOUS;
    throw err;
  }
}

/**
 * Authorizes a read of `repo` where a rejected credential falls back to anonymous, as the token
 * endpoint does for public content (docs/helm.md): stale or wrong credentials do not lock a
 * client out of public charts, and a private chart still answers 401 with the reason.
 */
export async function authorizePull(gate: AccessGate, req: FastifyRequest, repo: RepoName): Promise<void> {
  try {
    await gate.authorize(req, { type: 'repository', name: repo, actions: ['pull'] });
  } catch (err) {
    if (rejected(err) && (await gate.canPull(ANONYMOUS, repo))) return;
    throw err;
  }
}

/**
 * Looks a chart up without revealing whether it exists: when it is missing, the caller is first
 * authorized against the repository it would live in (`<owner>/charts/<name>`, the upload
 * layout), so a stranger gets the same 401/403 for a missing private chart as for an existing
 * one, and only callers who could see it learn that it is absent.
 */
export async function lookupWithoutLeak<T>(
  authorize: (repo: RepoName) => Promise<void>,
  probe: { owner: string; chart: string | null },
  lookup: () => Promise<T>,
): Promise<T> {
  try {
    return await lookup();
  } catch (err) {
    if (err instanceof RegistryError && err.code === 'NOT_FOUND') {
      const candidate = probe.chart ? `${probe.owner}/charts/${probe.chart}` : `${probe.owner}/charts`;
      const name = isRepoName(candidate) ? candidate : `${probe.owner}/charts`;
      if (isRepoName(name)) await authorize(name as RepoName);
    }
    throw err;
  }
}

/** The chart name of `<name>-<version>.tgz[.prov]`; versions start with a digit (semver). */
export function chartNameOfFile(file: string): string | null {
  return /^(.+?)-v?\d[^/]*\.tgz(?:\.prov)?$/.exec(file)?.[1] ?? null;
}
