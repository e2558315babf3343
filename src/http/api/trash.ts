/**
 * /api/v1 trash and storage usage (ADR 0010):
 *   GET    /api/v1/owners/:owner/trash          the owner's entries the caller may manage
 *   GET    /api/v1/admin/trash                  every entry (site admins)
 *   GET    /api/v1/trash/:id                    one entry
 *   POST   /api/v1/trash/:id/restore            restore it (manifests and tags)
 *   DELETE /api/v1/trash/:id                    purge it now
 *   POST   /api/v1/admin/trash/purge            purge every expired entry now (the trash.purge job)
 *   GET    /api/v1/packages/:owner/:package/usage, /api/v1/owners/:owner/usage, /api/v1/admin/usage
 * Each route is declared with route() (route.ts); the OpenAPI entry and UI types come from it.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { RegistryError } from '../../errors.ts';
import type { JobRunner } from '../../services/jobs/runner.ts';
import type { TrashService } from '../../services/trash.ts';
import type { UsageService } from '../../services/usage.ts';
import type { AuthGate } from '../auth-gate.ts';
import { packageName, principalOf, signedIn } from './common.ts';
import { route, serve } from './route.ts';
import { trashEntrySchema } from './schemas.ts';

export interface TrashRouteDeps {
  gate: AuthGate;
  trash: TrashService;
  usage: UsageService;
  jobs: JobRunner;
}

const owner = z.string().min(1).max(255);
const trashId = z.string().regex(/^[0-9a-f]{12}$/, 'a trash entry id is 12 hexadecimal digits');


const usageFiguresSchema = z.object({
  liveBytes: z.number().int(),
  trashedBytes: z.number().int(),
  blobs: z.number().int(),
  blobBytes: z.number().int(),
  manifests: z.number().int(),
  manifestBytes: z.number().int(),
});

const ownerParams = z.object({ owner });
const idParams = z.object({ id: trashId });
const purgeResultSchema = z.object({ entries: z.number().int(), manifests: z.number().int(), packages: z.number().int() }).meta({ id: 'PurgeResult' });
const entryExample = {
  id: '3f9a0c1b2d4e',
  kind: 'version',
  owner: 'acme',
  package: 'acme/web',
  digest: 'sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b',
  tags: ['1.2.0'],
  manifests: 1,
  bytes: 31457280,
  trashedBy: 'alice',
  trashedAt: '2026-11-30T09:12:00.000Z',
  expiresAt: '2026-12-07T09:12:00.000Z',
};

const ownerTrash = route({
  method: 'GET',
  url: '/api/v1/owners/:owner/trash',
  operationId: 'listOwnerTrash',
  tags: ['trash'],
  summary: "The owner's trash entries the caller may manage",
  params: ownerParams,
  responses: { 200: z.array(trashEntrySchema) },
  responseExample: [entryExample],
  errors: [403],
});
const adminTrash = route({
  method: 'GET',
  url: '/api/v1/admin/trash',
  operationId: 'listAllTrash',
  tags: ['trash', 'admin'],
  summary: 'Every trash entry (site admins)',
  responses: { 200: z.array(trashEntrySchema) },
  errors: [403],
});
const trashEntry = route({
  method: 'GET',
  url: '/api/v1/trash/:id',
  operationId: 'getTrashEntry',
  tags: ['trash'],
  summary: 'One trash entry',
  params: idParams,
  responses: { 200: trashEntrySchema },
  responseExample: entryExample,
  errors: [403, 404],
});
const restoreTrash = route({
  method: 'POST',
  url: '/api/v1/trash/:id/restore',
  operationId: 'restoreTrashEntry',
  tags: ['trash'],
  summary: 'Restore a trash entry (its manifests and the tags no other manifest took meanwhile)',
  params: idParams,
  responses: {
    200: z
      .object({
        entry: trashEntrySchema,
        restoredTags: z.array(z.string()),
        keptTags: z.array(z.object({ name: z.string(), digest: z.string() })),
      })
      .meta({ id: 'RestoreResult' }),
  },
  errors: [403, 404, 409],
});
const purgeTrash = route({
  method: 'DELETE',
  url: '/api/v1/trash/:id',
  operationId: 'purgeTrashEntry',
  tags: ['trash'],
  summary: 'Purge a trash entry now',
  params: idParams,
  responses: { 200: purgeResultSchema },
  errors: [403, 404],
});
const purgeExpired = route({
  method: 'POST',
  url: '/api/v1/admin/trash/purge',
  operationId: 'purgeExpiredTrash',
  tags: ['trash', 'admin'],
  summary: 'Purge every expired entry now (the trash.purge job; site admins)',
  responses: {
    200: z.object({ status: z.enum(['succeeded', 'failed', 'interrupted', 'busy']), runId: z.string().nullable(), summary: purgeResultSchema.nullable(), error: z.string().nullable() }),
  },
  errors: [403],
});
const packageUsage = route({
  method: 'GET',
  url: '/api/v1/packages/:owner/:package/usage',
  operationId: 'getPackageUsage',
  tags: ['usage'],
  summary: "A package's storage: live and trashed bytes, blobs and manifests",
  params: z.object({ owner, package: z.string().min(1) }),
  responses: { 200: usageFiguresSchema.extend({ package: z.string() }).meta({ id: 'PackageUsage' }) },
  errors: [404],
});
const ownerUsage = route({
  method: 'GET',
  url: '/api/v1/owners/:owner/usage',
  operationId: 'getOwnerUsage',
  tags: ['usage'],
  summary: "An owner's storage, per package",
  params: ownerParams,
  responses: {
    200: usageFiguresSchema.extend({ owner: z.string(), packages: z.array(usageFiguresSchema.extend({ name: z.string(), trashed: z.boolean() })) }).meta({ id: 'OwnerUsage' }),
  },
  errors: [403],
});
const siteUsage = route({
  method: 'GET',
  url: '/api/v1/admin/usage',
  operationId: 'getSiteUsage',
  tags: ['usage', 'admin'],
  summary: 'Storage of the whole registry, per owner (site admins)',
  responses: { 200: usageFiguresSchema.extend({ owners: z.array(usageFiguresSchema.extend({ owner: z.string() })) }).meta({ id: 'SiteUsage' }) },
  errors: [403],
});

export function registerTrashRoutes(app: FastifyInstance, deps: TrashRouteDeps): void {
  const { gate, trash, usage, jobs } = deps;

  serve(app, ownerTrash, async ({ req, params }) => trash.list(await signedIn(gate, req), params.owner));

  serve(app, adminTrash, async ({ req }) => trash.list(await signedIn(gate, req), null));

  serve(app, trashEntry, async ({ req, params }) => trash.get(await signedIn(gate, req), params.id));

  serve(app, restoreTrash, async ({ req, params }) => trash.restore(await signedIn(gate, req), params.id));

  serve(app, purgeTrash, async ({ req, params }) => trash.purge(await signedIn(gate, req), params.id));

  serve(app, purgeExpired, async ({ req }) => {
    const actor = await signedIn(gate, req);
    if (!actor.admin) throw new RegistryError('DENIED', 'site administrators only');
    const outcome = await jobs.run(trash.purgeJob(actor), { options: {}, trigger: 'api', actor: actor.name });
    if (outcome.status === 'busy') return { status: 'busy' as const, runId: null, summary: null, error: `a purge is running (${outcome.holder})` };
    if (outcome.status === 'succeeded') return { status: outcome.status, runId: outcome.run.id, summary: purgeResultSchema.parse(outcome.summary), error: null };
    return { status: outcome.status, runId: outcome.run.id, summary: null, error: outcome.run.error ?? 'purge failed' };
  });

  serve(app, packageUsage, async ({ req, params }) => usage.ofPackage(await principalOf(gate, req), packageName(params)));

  serve(app, ownerUsage, async ({ req, params }) => usage.ofOwner(await signedIn(gate, req), params.owner));

  serve(app, siteUsage, async ({ req }) => usage.site(await signedIn(gate, req)));
}
