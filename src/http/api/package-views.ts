/**
 * /api/v1 package views for the web UI:
 *   GET /api/v1/owners/<owner>/package-views?kind=image|chart|artifact&q=<name>
 *       the owner's readable packages: kind, visibility, latest version, updated, downloads
 *   GET /api/v1/packages/<owner>/<package>/view
 *       the package page: versions (sizes, platforms, files, referrers), image labels and
 *       description, pull commands, downloads over 30 days, packages sharing the source repository
 * `<package>` is the rest of the repository path with its slashes escaped (`charts%2Fweb`).
 * Unreadable packages are 404, like absent ones.
 */
import type { FastifyInstance } from 'fastify';
import { RegistryError } from '../../errors.ts';
import { PACKAGE_KINDS, type PackageKind, type PackageViewService } from '../../services/package-views.ts';
import type { AuthGate } from '../auth-gate.ts';
import { packageName, param, principalOf, query } from './common.ts';

export interface PackageViewRouteDeps {
  gate: AuthGate;
  views: PackageViewService;
  baseUrl: string | undefined;
}

export function registerPackageViewRoutes(app: FastifyInstance, deps: PackageViewRouteDeps): void {
  const { gate, views } = deps;

  app.get('/api/v1/owners/:owner/package-views', async (req) => {
    const kind = query(req, 'kind');
    if (kind !== undefined && kind !== '' && !(PACKAGE_KINDS as readonly string[]).includes(kind)) {
      throw new RegistryError('BAD_REQUEST', 'kind must be image, chart or artifact', { kind });
    }
    const q = query(req, 'q');
    if (q !== undefined && q.length > 200) throw new RegistryError('BAD_REQUEST', 'q is too long');
    return views.ownerPackages(await principalOf(gate, req), param(req, 'owner'), {
      kind: kind ? (kind as PackageKind) : undefined,
      q,
    });
  });

  app.get('/api/v1/packages/:owner/:package/view', async (req) => {
    // The host exactly as clients reach it (as the pull-secret generator writes it), port included.
    const host = deps.baseUrl ? new URL(deps.baseUrl).host : req.host;
    const plainHttp = deps.baseUrl ? deps.baseUrl.startsWith('http:') : req.protocol === 'http';
    return views.packageView(await principalOf(gate, req), packageName(req), { host, plainHttp });
  });
}
