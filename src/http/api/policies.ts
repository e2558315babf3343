/**
 * /api/v1 policies (docs/adr/0013-policies.md, docs/policies.md):
 *   GET|PUT /api/v1/packages/:owner/:package/policy        a package's own settings (admins)
 *   GET|PUT /api/v1/owners/:owner/policy                   an owner's defaults (owner administrators)
 *   POST    /api/v1/packages/:owner/:package/retention/preview   what retention would remove, and why
 *   POST    /api/v1/packages/:owner/:package/retention/apply     remove it (to the trash)
 *   POST    /api/v1/owners/:owner/retention/preview|apply        the same over every package of the owner
 *   POST    /api/v1/admin/retention/run                          a run of the retention.apply job (site admins)
 *   GET     /api/v1/owners/:owner/quota                          usage against quota (the owner's members)
 *   GET     /api/v1/admin/quotas                                 every owner's (site admins)
 *   PUT     /api/v1/admin/quotas/:owner                          an owner's own quota, null = site default (site admins)
 * A preview's body may carry unsaved `rules`: the UI shows what a rule would remove before it is saved.
 * One exported zod schema object per route (params, body, response), fed to the OpenAPI document.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { RegistryError } from '../../errors.ts';
import type { JobRunner } from '../../services/jobs/runner.ts';
import { policySettingsSchema, retentionSchema } from '../../services/policies/model.ts';
import type { RetentionService } from '../../services/policies/retention-service.ts';
import type { PolicyService } from '../../services/policies/settings.ts';
import type { QuotaService } from '../../services/quotas.ts';
import type { AuthGate } from '../auth-gate.ts';
import { body, packageName, signedIn } from './common.ts';

export interface PolicyRouteDeps {
  gate: AuthGate;
  policies: PolicyService;
  retention: RetentionService;
  jobs: JobRunner;
  quotas: QuotaService;
}

const owner = z.string().min(1).max(255);
const source = z.enum(['package', 'owner', 'site', 'none']);

export const effectivePolicySchema = z.object({
  tagRules: z.object({ rules: z.array(z.object({ pattern: z.string(), immutable: z.boolean() })), source }),
  chartOverwrite: z.object({ allowed: z.boolean(), source }),
  retention: z.object({ rules: retentionSchema.nullable(), source }),
});

export const policyViewSchema = z.object({
  target: z.string(),
  kind: z.enum(['owner', 'package']),
  settings: policySettingsSchema,
  ownerSettings: policySettingsSchema.nullable(),
  effective: effectivePolicySchema,
  updatedAt: z.string().nullable(),
  updatedBy: z.string().nullable(),
});

export const retentionReportSchema = z.object({
  target: z.string(),
  dryRun: z.boolean(),
  kept: z.number().int(),
  removed: z.number().int(),
  packages: z.array(
    z.object({
      package: z.string(),
      source: z.enum(['package', 'owner', 'site', 'none', 'preview']),
      rules: retentionSchema.nullable(),
      dryRun: z.boolean(),
      kept: z.number().int(),
      removed: z.number().int(),
      versions: z.array(
        z.object({
          digest: z.string(),
          tags: z.array(z.string()),
          pushedAt: z.string(),
          lastPulledAt: z.string().nullable(),
          action: z.enum(['keep', 'remove']),
          reasons: z.array(z.string()),
          manifests: z.array(z.string()),
          trash: z.string().nullable(),
        }),
      ),
    }),
  ),
});

const packageParams = z.object({ owner, package: z.string().min(1) });
const ownerParams = z.object({ owner });

export const getPackagePolicyRoute = { params: packageParams, response: policyViewSchema };
export const putPackagePolicyRoute = { params: packageParams, body: policySettingsSchema, response: policyViewSchema };
export const getOwnerPolicyRoute = { params: ownerParams, response: policyViewSchema };
export const putOwnerPolicyRoute = { params: ownerParams, body: policySettingsSchema, response: policyViewSchema };
export const previewBody = z.strictObject({ rules: retentionSchema.optional() });
export const previewRoute = { body: previewBody, response: retentionReportSchema };
export const applyRoute = { response: retentionReportSchema };
export const runRetentionRoute = {
  response: z.object({
    status: z.enum(['succeeded', 'failed', 'interrupted', 'busy']),
    runId: z.string().nullable(),
    summary: z.object({ packages: z.number().int(), removed: z.number().int(), kept: z.number().int() }).nullable(),
    error: z.string().nullable(),
  }),
};

export const quotaViewSchema = z.object({
  owner: z.string(),
  usedBytes: z.number().int(),
  limitBytes: z.number().int().nullable(),
  source: z.enum(['owner', 'site', 'none']),
});
export const ownerQuotaRoute = { params: ownerParams, response: quotaViewSchema };
export const adminQuotasRoute = { response: z.array(quotaViewSchema) };
export const putQuotaRoute = { params: ownerParams, body: z.strictObject({ bytes: z.number().int().min(0).nullable() }), response: quotaViewSchema };

function params<T extends z.ZodType>(schema: T, req: FastifyRequest): z.infer<T> {
  const r = schema.safeParse(req.params);
  if (!r.success) throw new RegistryError('BAD_REQUEST', 'invalid path parameters', { issues: r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) });
  return r.data;
}

export function registerPolicyRoutes(app: FastifyInstance, deps: PolicyRouteDeps): void {
  const { gate, policies, retention, jobs, quotas } = deps;

  app.get('/api/v1/owners/:owner/quota', async (req) => {
    const p = params(ownerParams, req);
    return quotas.ofOwner(await signedIn(gate, req), p.owner);
  });

  app.get('/api/v1/admin/quotas', async (req) => quotas.list(await signedIn(gate, req)));

  app.put('/api/v1/admin/quotas/:owner', async (req) => {
    const p = params(ownerParams, req);
    const b = body(putQuotaRoute.body, req);
    return quotas.set(await signedIn(gate, req), p.owner, b.bytes);
  });

  app.get('/api/v1/packages/:owner/:package/policy', async (req) => {
    params(packageParams, req);
    return policies.ofPackage(await signedIn(gate, req), packageName(req));
  });

  // The service validates the document (one message listing every problem), so the body is passed as is.
  app.put('/api/v1/packages/:owner/:package/policy', async (req) => {
    params(packageParams, req);
    return policies.setPackage(await signedIn(gate, req), packageName(req), req.body ?? {});
  });

  app.get('/api/v1/owners/:owner/policy', async (req) => {
    const p = params(ownerParams, req);
    return policies.ofOwner(await signedIn(gate, req), p.owner);
  });

  app.put('/api/v1/owners/:owner/policy', async (req) => {
    const p = params(ownerParams, req);
    return policies.setOwner(await signedIn(gate, req), p.owner, req.body ?? {});
  });

  app.post('/api/v1/packages/:owner/:package/retention/preview', async (req) => {
    params(packageParams, req);
    const b = body(previewBody, req);
    return retention.preview(await signedIn(gate, req), packageName(req), b.rules);
  });

  app.post('/api/v1/packages/:owner/:package/retention/apply', async (req) => {
    params(packageParams, req);
    return retention.apply(await signedIn(gate, req), packageName(req));
  });

  app.post('/api/v1/owners/:owner/retention/preview', async (req) => {
    const p = params(ownerParams, req);
    const b = body(previewBody, req);
    return retention.preview(await signedIn(gate, req), p.owner, b.rules);
  });

  app.post('/api/v1/owners/:owner/retention/apply', async (req) => {
    const p = params(ownerParams, req);
    return retention.apply(await signedIn(gate, req), p.owner);
  });

  app.post('/api/v1/admin/retention/run', async (req) => {
    const actor = await signedIn(gate, req);
    if (!actor.admin) throw new RegistryError('DENIED', 'site administrators only');
    const outcome = await jobs.run(retention.job(actor), { options: {}, trigger: 'api', actor: actor.name });
    if (outcome.status === 'busy') return { status: 'busy', runId: null, summary: null, error: `a retention run is in progress (${outcome.holder})` };
    if (outcome.status === 'succeeded') return { status: outcome.status, runId: outcome.run.id, summary: runRetentionRoute.response.shape.summary.unwrap().parse(outcome.summary), error: null };
    return { status: outcome.status, runId: outcome.run.id, summary: null, error: outcome.run.error ?? 'retention run failed' };
  });
}
