/**
 * /api/v1 chart views for the UI and CLI:
 *   GET /api/v1/owners/<owner>/charts                     the owner's charts (one per repository)
 *   GET /api/v1/charts/<repository>/versions              versions in semver order
 *   GET /api/v1/charts/<repository>/versions/<version>    metadata, README, values, commands
 * `<repository>` is the full path (`acme/charts/web`), with or without its slashes escaped;
 * `<version>` is the chart version (`1.0.0+build.1`), its Helm tag (`1.0.0_build.1`) or a
 * manifest digest.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { helmCommands } from '../../charts/commands.ts';
import { chartFileName } from '../../charts/index-yaml.ts';
import { RegistryError } from '../../errors.ts';
import { isRepoName, ownerOf, type RepoName } from '../../oci/name.ts';
import { type ChartRouteDeps, parseOwner, publicBaseUrl } from '../charts/deps.ts';
import { route, serve } from './route.ts';

const ownerParams = z.object({ owner: z.string().min(1).max(255) });
const pathParams = z.object({ '*': z.string().min(1).max(4096) });
const opt = z.string().optional();

const chartSummarySchema = z
  .object({
    repository: z.string(),
    name: z.string(),
    latestVersion: z.string().nullable(),
    latestPrerelease: z.string().nullable(),
    appVersion: z.string().nullable(),
    description: z.string().nullable(),
    deprecated: z.boolean(),
    versions: z.number().int(),
    prereleases: z.number().int(),
    failed: z.number().int(),
    updated: z.string(),
  })
  .meta({ id: 'ChartSummary' });

const chartVersionSchema = z
  .object({
    repository: z.string(),
    name: z.string().nullable(),
    version: z.string().nullable(),
    appVersion: z.string().nullable(),
    description: z.string().nullable(),
    prerelease: z.boolean(),
    deprecated: z.boolean(),
    /** The manifest digest. */
    digest: z.string(),
    /** The chart archive's digest. */
    chartDigest: z.string().nullable(),
    size: z.number().int().nullable(),
    created: z.string(),
    listed: z.boolean(),
    status: z.enum(['ok', 'failed']),
    error: z.string().nullable(),
  })
  .meta({ id: 'ChartVersion' });

const chartMetadataSchema = z
  .object({
    apiVersion: z.string(),
    name: z.string(),
    version: z.string(),
    appVersion: opt,
    description: opt,
    type: opt,
    keywords: z.array(z.string()).optional(),
    home: opt,
    sources: z.array(z.string()).optional(),
    icon: opt,
    deprecated: z.boolean().optional(),
    kubeVersion: opt,
    annotations: z.record(z.string(), z.string()).optional(),
    maintainers: z.array(z.object({ name: z.string(), email: opt, url: opt })).optional(),
    dependencies: z.array(z.object({ name: z.string(), version: opt, repository: opt, condition: opt, alias: opt })).optional(),
  })
  .meta({ id: 'ChartMetadata' });

const chartVersionsSchema = z
  .object({
    repository: z.string(),
    name: z.string(),
    latest: z.string().nullable(),
    latestPrerelease: z.string().nullable(),
    versions: z.array(chartVersionSchema),
  })
  .meta({ id: 'ChartVersions' });

const chartDetailSchema = chartVersionSchema
  .extend({
    metadata: chartMetadataSchema.nullable(),
    tags: z.array(z.string()),
    readme: z.object({ path: z.string().nullable(), text: z.string() }).nullable(),
    values: z.string().nullable(),
    valuesSchema: z.string().nullable(),
    provenance: z.object({ digest: z.string(), size: z.number().int().nullable() }).nullable(),
    /** Parts of the chart left out of the view (too large), by name. */
    omitted: z.array(z.string()),
    /** The `artifacthub.io/changes` annotation, read. */
    changelog: z.array(z.object({ kind: z.string().nullable(), description: z.string() })),
    commands: z.object({ install: z.string(), pull: z.string(), repoAdd: z.string(), showValues: z.string(), dependency: z.string() }).nullable(),
    files: z.object({ chart: z.string(), provenance: z.string().nullable() }).nullable(),
  })
  .meta({ id: 'ChartDetail' });

const ownerCharts = route({
  method: 'GET',
  url: '/api/v1/owners/:owner/charts',
  operationId: 'listOwnerCharts',
  tags: ['charts'],
  summary: "The owner's charts the caller can pull, one per repository",
  params: ownerParams,
  responses: { 200: z.object({ owner: z.string(), charts: z.array(chartSummarySchema) }) },
  errors: [404],
});

const chartPath = route({
  method: 'GET',
  url: '/api/v1/charts/*',
  openApiPath: '/api/v1/charts/{repository}',
  operationId: 'getChart',
  tags: ['charts'],
  summary: 'Chart versions in semver order (`{repository}/versions`) or one version with README, values and helm commands (`{repository}/versions/{version}`)',
  description: '`{version}` is the chart version (`1.0.0+build.1`), its Helm tag (`1.0.0_build.1`) or a manifest digest.',
  params: pathParams,
  responses: { 200: z.union([chartVersionsSchema, chartDetailSchema]) },
  errors: [403, 404],
});

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

export function registerChartApiRoutes(app: FastifyInstance, deps: ChartRouteDeps): void {
  const { charts, gate } = deps;

  serve(app, ownerCharts, async ({ req, params }) => {
    const owner = parseOwner(params.owner);
    const principal = await deps.principal(req);
    return { owner, charts: await charts.ownerCharts(owner, (repo) => gate.canPull(principal, repo)) };
  });

  serve(app, chartPath, async ({ req, params }) => {
    const { repo, version } = parseChartPath(params['*']);
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
