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
 * Each route is declared with route() (route.ts); the OpenAPI entry and UI types come from it.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { RegistryError } from '../../errors.ts';
import type { JobRunner } from '../../services/jobs/runner.ts';
import { policySettingsSchema, retentionSchema } from '../../services/policies/model.ts';
import type { RetentionService } from '../../services/policies/retention-service.ts';
import type { PolicyService } from '../../services/policies/settings.ts';
import type { QuotaService } from '../../services/quotas.ts';
import type { AuthGate } from '../auth-gate.ts';
import { ownerParams, packageName, packageParams, signedIn } from './common.ts';
import { route, serve } from './route.ts';

export interface PolicyRouteDeps {
  gate: AuthGate;
  policies: PolicyService;
  retention: RetentionService;
  jobs: JobRunner;
  quotas: QuotaService;
}

const source = z.enum(['package', 'owner', 'site', 'none']);

const effectivePolicySchema = z.object({
  tagRules: z.object({ rules: z.array(z.object({ pattern: z.string(), immutable: z.boolean() })), source }),
  chartOverwrite: z.object({ allowed: z.boolean(), source }),
  retention: z.object({ rules: retentionSchema.nullable(), source }),
});

const policyViewSchema = z
  .object({
  target: z.string(),
  kind: z.enum(['owner', 'package']),
  settings: policySettingsSchema,
  ownerSettings: policySettingsSchema.nullable(),
  effective: effectivePolicySchema,
  updatedAt: z.string().nullable(),
  updatedBy: z.string().nullable(),
  })
  .meta({ id: 'PolicyView' });

const retentionReportSchema = z
  .object({
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
  })
  .meta({ id: 'RetentionReport' });

const quotaViewSchema = z
  .object({
    owner: z.string(),
    usedBytes: z.number().int(),
    limitBytes: z.number().int().nullable(),
    source: z.enum(['owner', 'site', 'none']),
  })
  .meta({ id: 'QuotaView' });
const previewBody = z.strictObject({ rules: retentionSchema.optional() });
const policyExample = { tagRules: [{ pattern: 'v*', immutable: true }], allowChartOverwrite: false, retention: { keepMostRecent: 10, keepTags: ['latest'] } };

const getPackagePolicy = route({
  method: 'GET',
  url: '/api/v1/packages/:owner/:package/policy',
  operationId: 'getPackagePolicy',
  tags: ['policies'],
  summary: "The package's own policy (tag rules, chart overwrite, retention), its owner's defaults and what is in force (admins)",
  params: packageParams,
  responses: { 200: policyViewSchema },
  errors: [403, 404],
});
// The service validates the document (one message listing every problem): the body schema
// documents it, the handler passes the raw body on.
const putPackagePolicy = route({
  method: 'PUT',
  url: '/api/v1/packages/:owner/:package/policy',
  operationId: 'putPackagePolicy',
  tags: ['policies'],
  summary: "Replace the package's own policy; {} removes it (admins; audited)",
  params: packageParams,
  body: policySettingsSchema,
  bodyExample: policyExample,
  responses: { 200: policyViewSchema },
  errors: [403, 404],
});
const getOwnerPolicy = route({
  method: 'GET',
  url: '/api/v1/owners/:owner/policy',
  operationId: 'getOwnerPolicy',
  tags: ['policies'],
  summary: "The owner's default policy for its packages (owner administrators)",
  params: ownerParams,
  responses: { 200: policyViewSchema },
  errors: [403, 404],
});
const putOwnerPolicy = route({
  method: 'PUT',
  url: '/api/v1/owners/:owner/policy',
  operationId: 'putOwnerPolicy',
  tags: ['policies'],
  summary: "Replace the owner's default policy; {} removes it (owner administrators; audited)",
  params: ownerParams,
  body: policySettingsSchema,
  bodyExample: policyExample,
  responses: { 200: policyViewSchema },
  errors: [403, 404],
});
const previewPackage = route({
  method: 'POST',
  url: '/api/v1/packages/:owner/:package/retention/preview',
  operationId: 'previewPackageRetention',
  tags: ['policies'],
  summary: 'Dry run: every version, kept or removed, with the rules that decided (optional unsaved rules replace the saved ones)',
  params: packageParams,
  body: previewBody,
  responses: { 200: retentionReportSchema },
  errors: [403, 404],
});
const applyPackage = route({
  method: 'POST',
  url: '/api/v1/packages/:owner/:package/retention/apply',
  operationId: 'applyPackageRetention',
  tags: ['policies'],
  summary: 'Move what the retention rules remove to the trash now (admins)',
  params: packageParams,
  responses: { 200: retentionReportSchema },
  errors: [403, 404],
});
const previewOwner = route({
  method: 'POST',
  url: '/api/v1/owners/:owner/retention/preview',
  operationId: 'previewOwnerRetention',
  tags: ['policies'],
  summary: 'Dry run over every package of the owner (optional unsaved owner-level rules)',
  params: ownerParams,
  body: previewBody,
  responses: { 200: retentionReportSchema },
  errors: [403],
});
const applyOwner = route({
  method: 'POST',
  url: '/api/v1/owners/:owner/retention/apply',
  operationId: 'applyOwnerRetention',
  tags: ['policies'],
  summary: 'Apply retention to every package of the owner now (owner administrators)',
  params: ownerParams,
  responses: { 200: retentionReportSchema },
  errors: [403],
});
const runRetention = route({
  method: 'POST',
  url: '/api/v1/admin/retention/run',
  operationId: 'runRetention',
  tags: ['policies', 'admin'],
  summary: 'A run of the retention.apply job over every package under a rule (site admins)',
  responses: {
    200: z.object({
      status: z.enum(['succeeded', 'failed', 'interrupted', 'busy']),
      runId: z.string().nullable(),
      summary: z.object({ packages: z.number().int(), removed: z.number().int(), kept: z.number().int() }).nullable(),
      error: z.string().nullable(),
    }),
  },
  errors: [403],
});
const ownerQuota = route({
  method: 'GET',
  url: '/api/v1/owners/:owner/quota',
  operationId: 'getOwnerQuota',
  tags: ['quotas'],
  summary: "The owner's storage usage (deduplicated, live and in the trash) against its quota (the owner's members)",
  params: ownerParams,
  responses: { 200: quotaViewSchema },
  responseExample: { owner: 'acme', usedBytes: 734003200, limitBytes: 10737418240, source: 'owner' },
  errors: [403],
});
const adminQuotas = route({
  method: 'GET',
  url: '/api/v1/admin/quotas',
  operationId: 'listQuotas',
  tags: ['quotas', 'admin'],
  summary: "Every owner's usage and quota (site admins)",
  responses: { 200: z.array(quotaViewSchema) },
  errors: [403],
});
const putQuota = route({
  method: 'PUT',
  url: '/api/v1/admin/quotas/:owner',
  operationId: 'putQuota',
  tags: ['quotas', 'admin'],
  summary: "Set an owner's quota in bytes; null returns it to the site default quotas.defaultBytes (site admins; audited)",
  params: ownerParams,
  body: z.strictObject({ bytes: z.number().int().min(0).nullable() }),
  bodyExample: { bytes: 10737418240 },
  responses: { 200: quotaViewSchema },
  errors: [403],
});

export function registerPolicyRoutes(app: FastifyInstance, deps: PolicyRouteDeps): void {
  const { gate, policies, retention, jobs, quotas } = deps;

  serve(app, ownerQuota, async ({ req, params }) => quotas.ofOwner(await signedIn(gate, req), params.owner));

  serve(app, adminQuotas, async ({ req }) => quotas.list(await signedIn(gate, req)));

  serve(app, putQuota, async ({ req, params, body }) => {
    const actor = await signedIn(gate, req);
    return quotas.set(actor, params.owner, body().bytes);
  });

  serve(app, getPackagePolicy, async ({ req, params }) => policies.ofPackage(await signedIn(gate, req), packageName(params)));

  serve(app, putPackagePolicy, async ({ req, params }) => policies.setPackage(await signedIn(gate, req), packageName(params), req.body ?? {}));

  serve(app, getOwnerPolicy, async ({ req, params }) => policies.ofOwner(await signedIn(gate, req), params.owner));

  serve(app, putOwnerPolicy, async ({ req, params }) => policies.setOwner(await signedIn(gate, req), params.owner, req.body ?? {}));

  serve(app, previewPackage, async ({ req, params, body }) => {
    const actor = await signedIn(gate, req);
    return retention.preview(actor, packageName(params), body().rules);
  });

  serve(app, applyPackage, async ({ req, params }) => retention.apply(await signedIn(gate, req), packageName(params)));

  serve(app, previewOwner, async ({ req, params, body }) => {
    const actor = await signedIn(gate, req);
    return retention.preview(actor, params.owner, body().rules);
  });

  serve(app, applyOwner, async ({ req, params }) => retention.apply(await signedIn(gate, req), params.owner));

  serve(app, runRetention, async ({ req }) => {
    const actor = await signedIn(gate, req);
    if (!actor.admin) throw new RegistryError('DENIED', 'site administrators only');
    const outcome = await jobs.run(retention.job(actor), { options: {}, trigger: 'api', actor: actor.name });
    if (outcome.status === 'busy') return { status: 'busy' as const, runId: null, summary: null, error: `a retention run is in progress (${outcome.holder})` };
    if (outcome.status === 'succeeded') return { status: outcome.status, runId: outcome.run.id, summary: runRetention.responses[200].shape.summary.unwrap().parse(outcome.summary), error: null };
    return { status: outcome.status, runId: outcome.run.id, summary: null, error: outcome.run.error ?? 'retention run failed' };
  });
}
