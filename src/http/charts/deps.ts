import type { FastifyRequest } from 'fastify';
import type { Principal } from '../../auth/principal.ts';
import { RegistryError } from '../../errors.ts';
import { isRepoName } from '../../oci/name.ts';
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
