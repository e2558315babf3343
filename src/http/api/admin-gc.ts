/**
 * /api/v1/admin/gc — garbage collection for site administrators:
 *   GET  recent runs (when, how long, what was freed, errors), the running run's progress and
 *        the next scheduled run
 *   POST start a run or a dry run; answers at once with the run id, 409 when one is running
 * Each route is declared with route() (src/http/api/route.ts): the OpenAPI entry and the UI's
 * types are generated from its schemas.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { GcAdminService } from '../../services/gc/admin.ts';
import type { AuthGate } from '../auth-gate.ts';
import { signedIn } from './common.ts';
import { route, serve } from './route.ts';

const phase = z.object({ ms: z.number(), scanned: z.number(), removed: z.number(), bytes: z.number() });

const gcSummarySchema = z.object({
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
  // Absent from runs recorded before pacing existed.
  pausedMs: z.number().optional(),
  phases: z.object({ uploads: phase, referrers: phase, links: phase, blobs: phase }),
  errors: z.array(z.string()),
}).meta({ id: 'GcSummary' });

const gcProgressSchema = z.object({
  phase: z.string(),
  dryRun: z.boolean(),
  scanned: z.number(),
  found: z.number(),
  bytes: z.number(),
});

const gcRunSchema = z.object({
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
}).meta({ id: 'GcRun' });

const getGc = route({
  method: 'GET',
  url: '/api/v1/admin/gc',
  operationId: 'getGcStatus',
  tags: ['admin'],
  summary: 'Garbage collection: recent runs, the running run and the next scheduled one (site admins)',
  query: z.object({ limit: z.coerce.number().int().min(1).max(100).default(20) }),
  responses: {
    200: z
      .object({
        graceSeconds: z.number(),
        intervalSeconds: z.number(),
        nextRunAt: z.iso.datetime().nullable(),
        running: gcRunSchema.nullable(),
        runs: z.array(gcRunSchema),
      })
      .meta({ id: 'GcStatus' }),
  },
  errors: [403],
});

const postGc = route({
  method: 'POST',
  url: '/api/v1/admin/gc',
  operationId: 'startGc',
  tags: ['admin'],
  summary: 'Start a garbage collection run or dry run; answers at once with its id (site admins, signed in)',
  body: z.object({ dryRun: z.boolean().default(false) }).strict(),
  bodyExample: { dryRun: true },
  responses: { 202: z.object({ id: z.string(), dryRun: z.boolean(), status: z.literal('running') }) },
  responseExample: { id: '01J9Z3K6Q8W2', dryRun: true, status: 'running' },
  errors: [403, 409],
});

export interface AdminGcDeps {
  gate: AuthGate;
  gc: GcAdminService;
}

export function registerAdminGcRoutes(app: FastifyInstance, deps: AdminGcDeps): void {
  // The run records' trigger is a string column; the schema narrows it to the known ones.
  serve(app, getGc, async ({ req, query }) => getGc.responses[200].parse(await deps.gc.status(await signedIn(deps.gate, req), query.limit)));

  serve(app, postGc, async ({ req, body }) => {
    // Authorize before reading the body.
    const actor = await signedIn(deps.gate, req);
    deps.gc.authorizeStart(actor);
    const b = body();
    const { id } = await deps.gc.start(actor, b.dryRun);
    return { id, dryRun: b.dryRun, status: 'running' as const };
  });
}
