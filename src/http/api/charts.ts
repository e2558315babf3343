/**
 * /api/v1 chart views for the UI and CLI:
 *   GET /api/v1/owners/<owner>/charts                     the owner's charts (one per repository)
 *   GET /api/v1/charts/<repository>/versions              versions in semver order
 *   GET /api/v1/charts/<repository>/versions/<version>    metadata, README, values, commands
 * `<repository>` is the full path (`acme/charts/web`), with or without its slashes escaped;
 * `<version>` is the chart version (`1.0.0+build.1`), its Helm tag (`1.0.0_build.1`) or a
 * manifest digest.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { helmCommands } from '../../charts/commands.ts';
import { chartFileName } from '../../charts/index-yaml.ts';
import { RegistryError } from '../../errors.ts';
import { isRepoName, ownerOf, type RepoName } from '../../oci/name.ts';
import { type ChartRouteDeps, parseOwner, publicBaseUrl } from '../charts/deps.ts';

const ownerParams = z.object({ owner: z.string().min(1).max(255) });
const pathParams = z.object({ '*': z.string().min(1).max(4096) });

type ChartPath = { repo: RepoName; version: string | null };

/** Splits `acme/charts/web/versions[/<version>]` (or the bare repository path). */
export function parseChartPath(raw: string): ChartPath {
  const path = raw.replace(/\/+$/, '');
  let m = /^(.+)\/versions\/([^/]+)$/.exec(path);
  let repo = m ? (m[1] ?? '') : path;
  // Fastify has already decoded the path (escaped slashes included).
  const version: string | null = m ? (m[2] ?? null) : null;
  if (!m) {
    m = /^(.+)\/versions$/.exec(path);
    if (m) repo = m[1] ?? '';
  }
  if (!isRepoName(repo) || !repo.includes('/')) throw new RegistryError('NOT_FOUND', 'chart not found', { repository: repo });
  return { repo: repo as RepoName, version };
}

function params<T extends z.ZodType>(schema: T, req: FastifyRequest): z.infer<T> {
  const r = schema.safeParse(req.params);
  if (!r.success) throw new RegistryError('BAD_REQUEST', 'invalid path parameters', { issues: r.error.issues.map((i) => i.message) });
  return r.data;
}

export function registerChartApiRoutes(app: FastifyInstance, deps: ChartRouteDeps): void {
  const { charts, gate } = deps;

  app.get('/api/v1/owners/:owner/charts', async (req) => {
    const owner = parseOwner(params(ownerParams, req).owner);
    const principal = await deps.principal(req);
    return { owner, charts: await charts.ownerCharts(owner, (repo) => gate.canPull(principal, repo)) };
  });

  app.get('/api/v1/charts/*', async (req) => {
    const { repo, version } = parseChartPath(params(pathParams, req)['*']);
    await gate.authorize(req, { type: 'repository', name: repo, actions: ['pull'] });

    if (version === null) {
      const versions = await charts.versions(repo);
      const listed = versions.filter((v) => v.status === 'ok' && v.listed);
      const stable = listed.find((v) => !v.prerelease);
      const pre = listed.find((v) => v.prerelease);
      return {
        repository: repo,
        name: versions.find((v) => v.name)?.name ?? repo.slice(repo.lastIndexOf('/') + 1),
        latest: stable?.version ?? null,
        latestPrerelease: pre && (!stable || listed.indexOf(pre) < listed.indexOf(stable)) ? pre.version : null,
        versions,
      };
    }

    const detail = await charts.detail(repo, version);
    const owner = ownerOf(repo);
    const base = publicBaseUrl(req, deps.baseUrl);
    const ok = detail.status === 'ok' && detail.name !== null && detail.version !== null;
    return {
      ...detail,
      commands: ok ? helmCommands({ baseUrl: base, repo, owner, chartName: detail.name ?? '', version: detail.version ?? '' }) : null,
      files:
        ok && detail.listed
          ? {
              chart: `/charts/${owner}/${chartFileName(detail.name ?? '', detail.version ?? '')}`,
              provenance: detail.provenance ? `/charts/${owner}/${chartFileName(detail.name ?? '', detail.version ?? '')}.prov` : null,
            }
          : null,
    };
  });
}
