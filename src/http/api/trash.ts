/**
 * /api/v1 trash and storage usage (ADR 0010):
 *   GET    /api/v1/owners/:owner/trash          the owner's entries the caller may manage
 *   GET    /api/v1/admin/trash                  every entry (site admins)
 *   GET    /api/v1/trash/:id                    one entry
 *   POST   /api/v1/trash/:id/restore            restore it (manifests and tags)
 *   DELETE /api/v1/trash/:id                    purge it now
 *   POST   /api/v1/admin/trash/purge            purge every expired entry now (the trash.purge job)
 *   GET    /api/v1/packages/:owner/:package/usage, /api/v1/owners/:owner/usage, /api/v1/admin/usage
 * One exported zod schema object per route (params, query, body, response).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { RegistryError } from '../../errors.ts';
import type { JobRunner } from '../../services/jobs/runner.ts';
import type { TrashService } from '../../services/trash.ts';
import type { UsageService } from '../../services/usage.ts';
import type { AuthGate } from '../auth-gate.ts';
import { packageName, principalOf, signedIn } from './common.ts';

export interface TrashRouteDeps {
  gate: AuthGate;
  trash: TrashService;
  usage: UsageService;
  jobs: JobRunner;
}

const owner = z.string().min(1).max(255);
const trashId = z.string().regex(/^[0-9a-f]{12}$/, 'a trash entry id is 12 hexadecimal digits');

export const trashEntrySchema = z.object({
  id: z.string(),
  kind: z.enum(['package', 'version']),
  owner: z.string(),
  package: z.string(),
  digest: z.string().nullable(),
  tags: z.array(z.string()),
  manifests: z.number().int(),
  bytes: z.number().int(),
  trashedBy: z.string(),
  trashedAt: z.string(),
  expiresAt: z.string(),
});

export const usageFiguresSchema = z.object({
  liveBytes: z.number().int(),
  trashedBytes: z.number().int(),
  blobs: z.number().int(),
  blobBytes: z.number().int(),
  manifests: z.number().int(),
  manifestBytes: z.number().int(),
});

export const ownerTrashRoute = { params: z.object({ owner }), response: z.array(trashEntrySchema) };
export const adminTrashRoute = { response: z.array(trashEntrySchema) };
export const trashEntryRoute = { params: z.object({ id: trashId }), response: trashEntrySchema };
export const restoreTrashRoute = {
  params: z.object({ id: trashId }),
  response: z.object({
    entry: trashEntrySchema,
    restoredTags: z.array(z.string()),
    keptTags: z.array(z.object({ name: z.string(), digest: z.string() })),
  }),
};
export const purgeResultSchema = z.object({ entries: z.number().int(), manifests: z.number().int(), packages: z.number().int() });
export const purgeTrashRoute = { params: z.object({ id: trashId }), response: purgeResultSchema };
export const purgeExpiredRoute = {
  response: z.object({ status: z.enum(['succeeded', 'failed', 'interrupted', 'busy']), runId: z.string().nullable(), summary: purgeResultSchema.nullable(), error: z.string().nullable() }),
};
export const packageUsageRoute = { params: z.object({ owner, package: z.string().min(1) }), response: usageFiguresSchema.extend({ package: z.string() }) };
export const ownerUsageRoute = {
  params: z.object({ owner }),
  response: usageFiguresSchema.extend({ owner: z.string(), packages: z.array(usageFiguresSchema.extend({ name: z.string(), trashed: z.boolean() })) }),
};
export const siteUsageRoute = { response: usageFiguresSchema.extend({ owners: z.array(usageFiguresSchema.extend({ owner: z.string() })) }) };

function parse<T extends z.ZodType>(schema: T, value: unknown, what: string): z.infer<T> {
  const r = schema.safeParse(value);
  if (!r.success) throw new RegistryError('BAD_REQUEST', `invalid ${what}`, { issues: r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) });
  return r.data;
}

const params = <T extends z.ZodType>(schema: T, req: FastifyRequest): z.infer<T> => parse(schema, req.params, 'path parameters');

export function registerTrashRoutes(app: FastifyInstance, deps: TrashRouteDeps): void {
  const { gate, trash, usage, jobs } = deps;

  app.get('/api/v1/owners/:owner/trash', async (req) => {
    const p = params(ownerTrashRoute.params, req);
    return trash.list(await signedIn(gate, req), p.owner);
  });

  app.get('/api/v1/admin/trash', async (req) => trash.list(await signedIn(gate, req), null));

  app.get('/api/v1/trash/:id', async (req) => {
    const p = params(trashEntryRoute.params, req);
    return trash.get(await signedIn(gate, req), p.id);
  });

  app.post('/api/v1/trash/:id/restore', async (req) => {
    const p = params(restoreTrashRoute.params, req);
    return trash.restore(await signedIn(gate, req), p.id);
  });

  app.delete('/api/v1/trash/:id', async (req) => {
    const p = params(purgeTrashRoute.params, req);
    return trash.purge(await signedIn(gate, req), p.id);
  });

  app.post('/api/v1/admin/trash/purge', async (req) => {
    const actor = await signedIn(gate, req);
    if (!actor.admin) throw new RegistryError('DENIED', 'site administrators only');
    const outcome = await jobs.run(trash.purgeJob(actor), { options: {}, trigger: 'api', actor: actor.name });
    if (outcome.status === 'busy') return { status: 'busy', runId: null, summary: null, error: `a purge is running (${outcome.holder})` };
    if (outcome.status === 'succeeded') return { status: outcome.status, runId: outcome.run.id, summary: purgeResultSchema.parse(outcome.summary), error: null };
    return { status: outcome.status, runId: outcome.run.id, summary: null, error: outcome.run.error ?? 'purge failed' };
  });

  app.get('/api/v1/packages/:owner/:package/usage', async (req) => {
    params(packageUsageRoute.params, req);
    return usage.ofPackage(await principalOf(gate, req), packageName(req));
  });

  app.get('/api/v1/owners/:owner/usage', async (req) => {
    const p = params(ownerUsageRoute.params, req);
    return usage.ofOwner(await signedIn(gate, req), p.owner);
  });

  app.get('/api/v1/admin/usage', async (req) => usage.site(await signedIn(gate, req)));
}
