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
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { RegistryError } from '../../errors.ts';
import { isDigest, parseDigest } from '../../oci/digest.ts';
import type { PackageViewService } from '../../services/package-views.ts';
import type { AuthGate } from '../auth-gate.ts';
import { ownerParams, packageName, packageParams, principalOf } from './common.ts';
import { route, serve } from './route.ts';
import { packageKindSchema, packageRoleSchema, visibilitySchema } from './schemas.ts';

export interface PackageViewRouteDeps {
  gate: AuthGate;
  views: PackageViewService;
  baseUrl: string | undefined;
}

const packageListItemSchema = z
  .object({
    /** Full repository path (`acme/charts/web`). */
    name: z.string(),
    /** The path below the owner (`charts/web`). */
    path: z.string(),
    kind: packageKindSchema,
    visibility: visibilitySchema,
    latest: z.string().nullable(),
    versions: z.number().int(),
    updatedAt: z.string(),
    downloads: z.number().int(),
    description: z.string().nullable(),
    source: z.string().nullable(),
  })
  .meta({ id: 'PackageListItem' });

const ownerPackagesSchema = z
  .object({
    owner: z.string(),
    ownerKind: z.enum(['user', 'org']).nullable(),
    /** Readable packages before the kind and name filters. */
    total: z.number().int(),
    packages: z.array(packageListItemSchema),
  })
  .meta({ id: 'OwnerPackages' });

const fileViewSchema = z
  .object({ mediaType: z.string(), digest: z.string(), size: z.number().int(), title: z.string().nullable() })
  .meta({ id: 'FileView' });

const referrerViewSchema = z
  .object({
    digest: z.string(),
    artifactType: z.string().nullable(),
    role: z.enum(['signature', 'sbom', 'attestation', 'other']),
    mediaType: z.string(),
    size: z.number().int(),
    createdAt: z.string(),
    annotations: z.record(z.string(), z.string()),
    files: z.array(fileViewSchema),
  })
  .meta({ id: 'ReferrerView' });

const versionViewSchema = z
  .object({
    digest: z.string(),
    tags: z.array(z.string()),
    /** For charts: the chart version of the tag (`1.0.0+build.1`). */
    version: z.string().nullable(),
    prerelease: z.boolean(),
    mediaType: z.string(),
    artifactType: z.string().nullable(),
    /** Manifest plus everything it references (for an index: every platform's image). */
    size: z.number().int(),
    createdAt: z.string(),
    downloads: z.number().int(),
    platforms: z.array(
      z.object({
        os: z.string(),
        architecture: z.string(),
        variant: z.string().nullable(),
        digest: z.string(),
        size: z.number().int(),
        /** Tags that point at this platform's manifest itself. */
        tags: z.array(z.string()),
        files: z.array(fileViewSchema),
      }),
    ),
    config: fileViewSchema.nullable(),
    files: z.array(fileViewSchema),
    referrers: z.array(referrerViewSchema),
    annotations: z.record(z.string(), z.string()),
    /** Who pushed this version first (audit log); null when unknown. */
    pushedBy: z.string().nullable(),
  })
  .meta({ id: 'VersionView' });

const imageViewSchema = z
  .object({
    digest: z.string(),
    mediaType: z.string(),
    labels: z.record(z.string(), z.string()),
    created: z.string().nullable(),
    os: z.string().nullable(),
    architecture: z.string().nullable(),
    config: fileViewSchema.nullable(),
    layers: z.array(fileViewSchema),
    size: z.number().int(),
  })
  .meta({ id: 'ImageView' });

const packageViewSchema = z
  .object({
    name: z.string(),
    owner: z.string(),
    path: z.string(),
    kind: packageKindSchema,
    visibility: visibilitySchema,
    source: z.string().nullable(),
    description: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
    viewerRole: packageRoleSchema.nullable(),
    /** May open package settings (admin role, and a credential allowed to delete). */
    canAdmin: z.boolean(),
    latest: z.string().nullable(),
    registry: z.string(),
    commands: z.object({ docker: z.string(), podman: z.string() }).nullable(),
    image: z
      .object({
        digest: z.string(),
        description: z.string().nullable(),
        labels: z.record(z.string(), z.string()),
        created: z.string().nullable(),
        os: z.string().nullable(),
        architecture: z.string().nullable(),
      })
      .nullable(),
    /** One page of versions, after the tag filter. */
    versions: z.array(versionViewSchema),
    totalVersions: z.number().int(),
    matchingVersions: z.number().int(),
    page: z.number().int(),
    perPage: z.number().int(),
    plainHttp: z.boolean(),
    downloads: z.object({ total: z.number().int(), last30Days: z.array(z.object({ day: z.string(), count: z.number().int() })) }),
    related: z.array(z.object({ name: z.string(), kind: packageKindSchema, relation: z.enum(['chart', 'image', 'artifact']) })),
  })
  .meta({ id: 'PackageView' });

const listPackageViews = route({
  method: 'GET',
  url: '/api/v1/owners/:owner/package-views',
  operationId: 'listOwnerPackages',
  tags: ['packages'],
  summary: "The owner's readable packages for the package list (filter by kind and name)",
  params: ownerParams,
  query: z.object({
    kind: z.union([packageKindSchema, z.literal('')]).optional(),
    q: z.string().max(200).optional(),
  }),
  responses: { 200: ownerPackagesSchema },
  responseExample: {
    owner: 'acme',
    ownerKind: 'org',
    total: 1,
    packages: [
      {
        name: 'acme/web',
        path: 'web',
        kind: 'image',
        visibility: 'public',
        latest: '1.2.0',
        versions: 4,
        updatedAt: '2026-11-30T09:12:00.000Z',
        downloads: 120,
        description: 'The web front end',
        source: 'https://github.com/acme/web',
      },
    ],
  },
  errors: [404],
});

const getPackageView = route({
  method: 'GET',
  url: '/api/v1/packages/:owner/:package/view',
  operationId: 'getPackageView',
  tags: ['packages'],
  summary: 'The package page: versions, image details, pull commands, downloads, related packages',
  description: 'Versions come a page at a time (`page`, `perPage` up to 100); `tag` keeps the versions with a tag (their own or a platform\'s) containing it, or a digest starting with it.',
  params: packageParams,
  query: z.object({
    page: z.coerce.number().int().min(1).max(100_000).optional(),
    perPage: z.coerce.number().int().min(1).max(100).optional(),
    tag: z.string().max(200).optional(),
  }),
  responses: { 200: packageViewSchema },
  errors: [404],
});

const getImageView = route({
  method: 'GET',
  url: '/api/v1/packages/:owner/:package/images/:digest',
  operationId: 'getImageView',
  tags: ['packages'],
  summary: 'One image manifest of a package (a version or a platform of an index): labels, config, layers with sizes',
  params: packageParams.extend({ digest: z.string().regex(/^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/) }),
  responses: { 200: imageViewSchema },
  errors: [404],
});

const appImageSchema = z
  .object({
    path: z.string(),
    registry: z.string().nullable(),
    repository: z.string(),
    tag: z.string().nullable(),
    digest: z.string().nullable(),
    effectiveTag: z.string(),
    package: z.string().nullable(),
    anonymousPull: z.boolean().nullable(),
    tagExists: z.boolean().nullable(),
    signed: z.boolean().nullable(),
    warnings: z.array(z.object({ code: z.enum(['private-image', 'missing-tag', 'unsigned', 'not-available']), message: z.string() })),
  })
  .meta({ id: 'AppImage' });

const getAppImages = route({
  method: 'GET',
  url: '/api/v1/packages/:owner/:package/app-images',
  operationId: 'getAppImages',
  tags: ['charts'],
  summary: "The images a chart version's values.yaml deploys, resolved on this registry, with install warnings",
  description:
    'Warnings: `private-image` (the chart is public, the image is not: anonymous installs fail to pull), `missing-tag`, `unsigned` (others are signed), `not-available` (not here, or not readable by the caller: the two are not told apart).',
  params: packageParams,
  query: z.object({ version: z.string().min(1).max(256) }),
  responses: {
    200: z
      .object({ chart: z.string(), version: z.string(), publicChart: z.boolean(), images: z.array(appImageSchema) })
      .meta({ id: 'AppImages' }),
  },
  errors: [404],
});

const getDeployedBy = route({
  method: 'GET',
  url: '/api/v1/packages/:owner/:package/deployed-by',
  operationId: 'getDeployedBy',
  tags: ['packages'],
  summary: "The owner's charts (latest versions the caller can read) whose values.yaml deploys this image",
  params: packageParams,
  responses: { 200: z.object({ charts: z.array(z.object({ chart: z.string(), version: z.string(), path: z.string() })) }).meta({ id: 'DeployedBy' }) },
  errors: [404],
});

const explorePackages = route({
  method: 'GET',
  url: '/api/v1/explore',
  operationId: 'explorePackages',
  tags: ['packages'],
  summary: 'Packages the caller may see across owners (public; internal ones too when signed in), most recently updated first',
  description: '`q` matches every word against the name, description, latest image labels and latest chart keywords.',
  query: z.object({
    q: z.string().max(200).optional(),
    kind: z.union([packageKindSchema, z.literal('')]).optional(),
    limit: z.coerce.number().int().min(1).max(100).optional(),
  }),
  responses: {
    200: z
      .object({
        total: z.number().int(),
        packages: z.array(packageListItemSchema.extend({ terms: z.array(z.string()) }).meta({ id: 'ExploreItem' })),
      })
      .meta({ id: 'ExploreResult' }),
  },
});

const getChartFiles = route({
  method: 'GET',
  url: '/api/v1/packages/:owner/:package/chart-files',
  operationId: 'getChartFiles',
  tags: ['charts'],
  summary: "The files in a chart version's archive (paths relative to the chart, sizes)",
  params: packageParams,
  query: z.object({ version: z.string().min(1).max(256) }),
  responses: { 200: z.object({ version: z.string(), files: z.array(z.object({ path: z.string(), size: z.number().int() })) }).meta({ id: 'ChartFiles' }) },
  errors: [404],
});

export function registerPackageViewRoutes(app: FastifyInstance, deps: PackageViewRouteDeps): void {
  const { gate, views } = deps;

  serve(app, listPackageViews, async ({ req, params, query }) =>
    views.ownerPackages(await principalOf(gate, req), params.owner, { kind: query.kind === '' ? undefined : query.kind, q: query.q }),
  );

  const hostOf = (req: FastifyRequest) => (deps.baseUrl ? new URL(deps.baseUrl).host : req.host);

  serve(app, explorePackages, async ({ req, query }) =>
    views.explore.explore(await principalOf(gate, req), { q: query.q, kind: query.kind === '' ? undefined : query.kind, limit: query.limit ?? 30 }),
  );

  serve(app, getChartFiles, async ({ req, params, query }) => views.chartFiles(await principalOf(gate, req), packageName(params), query.version));

  serve(app, getAppImages, async ({ req, params, query }) => views.apps.chartImages(await principalOf(gate, req), packageName(params), query.version, hostOf(req)));

  serve(app, getDeployedBy, async ({ req, params }) => {
    const actor = await principalOf(gate, req);
    const name = packageName(params);
    // The image itself must be readable: an unreadable one is 404, like on its own page.
    await views.packageView(actor, name, { host: hostOf(req), plainHttp: false }, { perPage: 1 });
    return { charts: await views.apps.chartsUsing(actor, name, hostOf(req)) };
  });

  serve(app, getImageView, async ({ req, params }) => {
    if (!isDigest(params.digest)) throw new RegistryError('NOT_FOUND', 'manifest not found', { digest: params.digest });
    return views.imageView(await principalOf(gate, req), packageName(params), parseDigest(params.digest));
  });

  serve(app, getPackageView, async ({ req, params, query }) => {
    // The host exactly as clients reach it (as the pull-secret generator writes it), port included.
    const host = deps.baseUrl ? new URL(deps.baseUrl).host : req.host;
    const plainHttp = deps.baseUrl ? deps.baseUrl.startsWith('http:') : req.protocol === 'http';
    return views.packageView(await principalOf(gate, req), packageName(params), { host, plainHttp }, query);
  });
}
