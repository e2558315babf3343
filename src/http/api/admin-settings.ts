/**
 * /api/v1/admin/settings — instance settings a site admin may change at run time
 * (docs/adr/0025-runtime-settings.md):
 *   GET    every setting: description, rule, the config file's value, the override, the effective value
 *   PUT    /:key { value } overrides one (400 names the key and the rule when the value breaks it)
 *   DELETE /:key removes the override: the config file's value applies again
 * Changes are audited (settings.update, settings.reset) with the old and new value.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { RuntimeSettings } from '../../services/settings/service.ts';
import { SETTING_KEYS, type SettingValues } from '../../config/runtime-settings.ts';
import type { AuthGate } from '../auth-gate.ts';
import { signedIn } from './common.ts';
import { route, serve } from './route.ts';

const settingValue = z.union([z.number(), z.string(), z.boolean()]);

const settingSchema = z
  .object({
    key: z.enum(SETTING_KEYS as [string, ...string[]]),
    area: z.string(),
    description: z.string(),
    unit: z.string().nullable(),
    rule: z.object({
      type: z.enum(['integer', 'number', 'boolean', 'string']),
      enum: z.array(z.string()).optional(),
      minimum: z.number().optional(),
      exclusiveMinimum: z.number().optional(),
      maximum: z.number().optional(),
    }),
    ruleText: z.string(),
    fileValue: settingValue,
    override: settingValue.nullable(),
    effective: settingValue,
    updatedBy: z.string().nullable(),
    updatedAt: z.iso.datetime().nullable(),
  })
  .meta({ id: 'InstanceSetting' });

const example = {
  key: 'gc.intervalSeconds',
  area: 'Garbage collection',
  description: 'Scheduled garbage collection, every this many seconds across all replicas; 0 = only on demand',
  unit: 'seconds',
  rule: { type: 'integer' as const, minimum: 0 },
  ruleText: 'an integer ≥ 0',
  fileValue: 3600,
  override: 600,
  effective: 600,
  updatedBy: 'admin',
  updatedAt: '2026-12-02T10:00:00.000Z',
};

const keyParams = z.object({ key: z.string().min(1).max(200) });

const listSettings = route({
  method: 'GET',
  url: '/api/v1/admin/settings',
  operationId: 'listInstanceSettings',
  tags: ['admin'],
  summary: 'Instance settings that may change at run time: file value, override, effective value (site admins)',
  responses: { 200: z.array(settingSchema) },
  responseExample: [example],
  errors: [403],
});

const putSetting = route({
  method: 'PUT',
  url: '/api/v1/admin/settings/:key',
  operationId: 'setInstanceSetting',
  tags: ['admin'],
  summary: 'Override one setting; every replica applies it within a few seconds (site admins; audited as settings.update)',
  params: keyParams,
  body: z.object({ value: settingValue }).strict(),
  bodyExample: { value: 600 },
  responses: { 200: settingSchema },
  responseExample: example,
  errors: [400, 403, 404],
});

const deleteSetting = route({
  method: 'DELETE',
  url: '/api/v1/admin/settings/:key',
  operationId: 'resetInstanceSetting',
  tags: ['admin'],
  summary: "Remove a setting's override: the config file's value applies again (site admins; audited as settings.reset)",
  params: keyParams,
  responses: { 200: settingSchema },
  responseExample: { ...example, override: null, effective: 3600, updatedBy: null, updatedAt: null },
  errors: [403, 404],
});

export interface AdminSettingsDeps {
  gate: AuthGate;
  settings: RuntimeSettings<SettingValues>;
}

export function registerAdminSettingsRoutes(app: FastifyInstance, deps: AdminSettingsDeps): void {
  const { gate, settings } = deps;
  serve(app, listSettings, async ({ req }) => listSettings.responses[200].parse(await settings.list(await signedIn(gate, req))));

  serve(app, putSetting, async ({ req, params, body }) => {
    // Authorize before reading the body.
    const actor = await signedIn(gate, req);
    settings.authorize(actor);
    return putSetting.responses[200].parse(await settings.set(actor, params.key, body().value));
  });

  serve(app, deleteSetting, async ({ req, params }) => deleteSetting.responses[200].parse(await settings.reset(await signedIn(gate, req), params.key)));
}
