/**
 * /api/v1/admin/gc — garbage collection for site administrators:
 *   GET  recent runs (when, how long, what was freed, errors), the running run's progress and
 *        the next scheduled run
 *   POST start a run or a dry run; answers at once with the run id, 409 when one is running
 * Each route's params/query/body/response is one exported zod schema (the OpenAPI entry is
 * generated from them).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { RegistryError } from '../../errors.ts';
import type { GcAdminService } from '../../services/gc/admin.ts';
import type { AuthGate } from '../auth-gate.ts';
import { signedIn } from './common.ts';

const phase = z.object({ ms: z.number(), scanned: z.number(), removed: z.number(), bytes: z.number() });

export const gcSummarySchema = z.object({
  dryRun: z.boolean(),
  exact: z.boolean(),
  graceSeconds: z.number(),
  manifestsDeleted: z.number(),
  linksRemoved: z.number(),
  blobsScanned: z.number(),
  blobsDeleted: z.number(),
  bytesFreed: z.number(),
  uploadsRemoved: z.number(),
  multipartAborted: z.number(),
  durationMs: z.number(),
  phases: z.object({ uploads: phase, referrers: phase, links: phase, blobs: phase }),
  errors: z.array(z.string()),
});

export const gcProgressSchema = z.object({
  phase: z.string(),
  dryRun: z.boolean(),
  scanned: z.number(),
  found: z.number(),
  bytes: z.number(),
});

export const gcRunSchema = z.object({
  id: z.string(),
  trigger: z.enum(['schedule', 'api', 'cli', 'startup']),
  actor: z.string().nullable(),
  dryRun: z.boolean(),
  status: z.enum(['running', 'succeeded', 'failed', 'interrupted']),
  startedAt: z.iso.datetime(),
  finishedAt: z.iso.datetime().nullable(),
  durationMs: z.number().nullable(),
  progress: gcProgressSchema.partial().nullable(),
  summary: gcSummarySchema.partial().nullable(),
  error: z.string().nullable(),
});

/** GET /api/v1/admin/gc */
export const getGcRoute = {
  query: z.object({ limit: z.coerce.number().int().min(1).max(100).default(20) }),
  response: z.object({
    graceSeconds: z.number(),
    intervalSeconds: z.number(),
    nextRunAt: z.iso.datetime().nullable(),
    running: gcRunSchema.nullable(),
    runs: z.array(gcRunSchema),
  }),
};

/** POST /api/v1/admin/gc */
export const postGcRoute = {
  body: z.object({ dryRun: z.boolean().default(false) }).strict(),
  response: z.object({ id: z.string(), dryRun: z.boolean(), status: z.literal('running') }),
};

function parse<T extends z.ZodType>(schema: T, value: unknown, what: string): z.infer<T> {
  const r = schema.safeParse(value ?? {});
  if (!r.success) throw new RegistryError('BAD_REQUEST', `invalid ${what}`, { issues: r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) });
  return r.data;
}

export interface AdminGcDeps {
  gate: AuthGate;
  gc: GcAdminService;
}

export function registerAdminGcRoutes(app: FastifyInstance, deps: AdminGcDeps): void {
  app.get('/api/v1/admin/gc', async (req) => {
    const actor = await signedIn(deps.gate, req);
    const q = parse(getGcRoute.query, req.query, 'query');
    return getGcRoute.response.parse(await deps.gc.status(actor, q.limit));
  });

  app.post('/api/v1/admin/gc', async (req, reply) => {
    // Authorize before reading the body.
    const actor = await signedIn(deps.gate, req);
    deps.gc.authorizeStart(actor);
    const b = parse(postGcRoute.body, req.body, 'request body');
    const { id } = await deps.gc.start(actor, b.dryRun);
    return reply.code(202).send(postGcRoute.response.parse({ id, dryRun: b.dryRun, status: 'running' }));
  });
}
