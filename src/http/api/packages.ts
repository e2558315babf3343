/** /api/v1 package settings: visibility, grants, trusted CI issuers, deletions. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { RegistryError } from '../../errors.ts';
import { parseDigest } from '../../oci/digest.ts';
import { parseTag, type Tag } from '../../oci/name.ts';
import type { PackageService } from '../../services/packages.ts';
import type { AuthGate } from '../auth-gate.ts';
import { ownerParams, packageName, packageParams, principalOf, signedIn } from './common.ts';
import { route, serve } from './route.ts';
import { packageRoleSchema, trashEntrySchema, trustSchema, visibilitySchema } from './schemas.ts';

export interface PackageRouteDeps {
  gate: AuthGate;
  packages: PackageService;
}

const packageSettingsSchema = z
  .object({
    name: z.string(),
    owner: z.string(),
    visibility: visibilitySchema,
    source: z.string().nullable(),
    createdBy: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
    viewerRole: packageRoleSchema.nullable(),
  })
  .meta({ id: 'PackageSettings' });

const grantSchema = z
  .object({ subjectKind: z.enum(['user', 'team']), subject: z.string(), role: packageRoleSchema, createdAt: z.number().int() })
  .meta({ id: 'Grant' });

/** POST …/trusts: a CI issuer trusted with claim conditions. */
const trustBody = z
  .object({
    issuer: z.string(),
    audience: z.string(),
    conditions: z.record(z.string(), z.string()),
    role: z.enum(['read', 'write']),
    /** Required when no condition pins a repository or owner (see pinsRepository). */
    confirmAnyRepository: z.boolean().optional(),
  })
  .meta({ id: 'TrustBody' });
const trustExample = {
  issuer: 'https://token.actions.githubusercontent.com',
  audience: 'wharf',
  conditions: { repository: 'acme/web', ref: 'refs/heads/main' },
  role: 'write',
};

const listOwnerPackages = route({
  method: 'GET',
  url: '/api/v1/owners/:owner/packages',
  operationId: 'listOwnerPackageSettings',
  tags: ['packages'],
  summary: "The owner's packages the caller can read, with their settings",
  params: ownerParams,
  responses: { 200: z.array(packageSettingsSchema) },
});
const listOwnerTrusts = route({
  method: 'GET',
  url: '/api/v1/owners/:owner/trusts',
  operationId: 'listOwnerTrusts',
  tags: ['trusts'],
  summary: 'CI issuers trusted for every package of the owner (owner administrators)',
  params: ownerParams,
  responses: { 200: z.array(trustSchema) },
  errors: [403, 404],
});
const addOwnerTrust = route({
  method: 'POST',
  url: '/api/v1/owners/:owner/trusts',
  operationId: 'addOwnerTrust',
  tags: ['trusts'],
  summary: 'Trust a CI issuer for every package of the owner (owner administrators); conditions that pin no repository need confirmAnyRepository: true',
  params: ownerParams,
  body: trustBody,
  bodyExample: trustExample,
  responses: { 201: trustSchema },
  errors: [403, 404],
});
const removeTrust = route({
  method: 'DELETE',
  url: '/api/v1/trusts/:id',
  operationId: 'removeTrust',
  tags: ['trusts'],
  summary: 'Remove a trusted CI issuer (administrators of its package or owner)',
  params: z.object({ id: z.string().min(1) }),
  responses: { 204: null },
  errors: [403, 404],
});
const getPackageSettings = route({
  method: 'GET',
  url: '/api/v1/packages/:owner/:package',
  operationId: 'getPackageSettings',
  tags: ['packages'],
  summary: "A package's settings",
  params: packageParams,
  responses: { 200: packageSettingsSchema },
  errors: [404],
});
const patchPackage = route({
  method: 'PATCH',
  url: '/api/v1/packages/:owner/:package',
  operationId: 'setPackageVisibility',
  tags: ['packages'],
  summary: "Change a package's visibility (admins)",
  params: packageParams,
  body: z.object({ visibility: visibilitySchema }),
  bodyExample: { visibility: 'internal' },
  responses: { 200: packageSettingsSchema },
  errors: [403, 404],
});
// Both deletions move to the trash (ADR 0010) and answer with the trash entry (restore it by its id).
const deletePackage = route({
  method: 'DELETE',
  url: '/api/v1/packages/:owner/:package',
  operationId: 'deletePackage',
  tags: ['packages'],
  summary: 'Move a package to the trash (admins)',
  params: packageParams,
  responses: { 200: trashEntrySchema },
  errors: [403, 404],
});
const deleteVersion = route({
  method: 'DELETE',
  url: '/api/v1/packages/:owner/:package/versions/:digest',
  operationId: 'deletePackageVersion',
  tags: ['packages'],
  summary: 'Move a version (manifest and its tags) to the trash (admins)',
  params: packageParams.extend({ digest: z.string().min(1) }),
  responses: { 200: trashEntrySchema },
  errors: [403, 404],
});
const deleteTag = route({
  method: 'DELETE',
  url: '/api/v1/packages/:owner/:package/tags/:tag',
  operationId: 'deletePackageTag',
  tags: ['packages'],
  summary: 'Remove one tag (the version stays, by digest and its other tags); needs the delete permission',
  params: packageParams.extend({ tag: z.string().min(1).max(128) }),
  responses: { 204: null },
  errors: [403, 404],
});
const listGrants = route({
  method: 'GET',
  url: '/api/v1/packages/:owner/:package/grants',
  operationId: 'listGrants',
  tags: ['packages'],
  summary: 'Users and teams granted a role on the package (admins)',
  params: packageParams,
  responses: { 200: z.array(grantSchema) },
  errors: [403, 404],
});
const putGrant = route({
  method: 'PUT',
  url: '/api/v1/packages/:owner/:package/grants',
  operationId: 'putGrant',
  tags: ['packages'],
  summary: 'Grant a user or team a role (admins)',
  params: packageParams,
  body: z.object({ subjectKind: z.enum(['user', 'team']), subject: z.string(), role: packageRoleSchema }),
  bodyExample: { subjectKind: 'team', subject: 'acme/deployers', role: 'read' },
  responses: { 204: null },
  errors: [403, 404],
});
const removeGrant = route({
  method: 'DELETE',
  url: '/api/v1/packages/:owner/:package/grants',
  operationId: 'removeGrant',
  tags: ['packages'],
  summary: 'Remove a grant (admins)',
  params: packageParams,
  query: z.object({ subjectKind: z.enum(['user', 'team']), subject: z.string().min(1) }),
  responses: { 204: null },
  errors: [403, 404],
});
const listTrusts = route({
  method: 'GET',
  url: '/api/v1/packages/:owner/:package/trusts',
  operationId: 'listPackageTrusts',
  tags: ['trusts'],
  summary: "CI issuers trusted for this package (admins): its own, then the owner's it inherits (repo null)",
  params: packageParams,
  responses: { 200: z.array(trustSchema) },
  errors: [403, 404],
});
const addTrust = route({
  method: 'POST',
  url: '/api/v1/packages/:owner/:package/trusts',
  operationId: 'addPackageTrust',
  tags: ['trusts'],
  summary: 'Trust a CI issuer for this package (admins); conditions that pin no repository need confirmAnyRepository: true',
  params: packageParams,
  body: trustBody,
  bodyExample: trustExample,
  responses: { 201: trustSchema },
  errors: [403, 404],
});

export function registerPackageRoutes(app: FastifyInstance, deps: PackageRouteDeps): void {
  const { gate, packages } = deps;

  serve(app, listOwnerPackages, async ({ req, params }) => packages.listForOwner(await principalOf(gate, req), params.owner));

  serve(app, listOwnerTrusts, async ({ req, params }) => packages.ownerTrusts(await signedIn(gate, req), params.owner));

  serve(app, addOwnerTrust, async ({ req, params, body }) => {
    const b = body();
    return packages.addTrust(await signedIn(gate, req), { owner: params.owner, name: null }, b);
  });

  serve(app, removeTrust, async ({ req, params }) => {
    await packages.removeTrust(await signedIn(gate, req), params.id);
    return undefined;
  });

  serve(app, getPackageSettings, async ({ req, params }) => packages.settings(await principalOf(gate, req), packageName(params)));

  serve(app, patchPackage, async ({ req, params, body }) => {
    const b = body();
    return packages.setVisibility(await signedIn(gate, req), packageName(params), b.visibility);
  });

  serve(app, deletePackage, async ({ req, params }) => packages.deletePackage(await signedIn(gate, req), packageName(params)));

  serve(app, deleteVersion, async ({ req, params }) => packages.deleteVersion(await signedIn(gate, req), packageName(params), parseDigest(params.digest)));

  serve(app, deleteTag, async ({ req, params }) => {
    let tag: Tag;
    try {
      tag = parseTag(params.tag);
    } catch {
      throw new RegistryError('NOT_FOUND', 'tag not found', { tag: params.tag });
    }
    await packages.deleteTag(await signedIn(gate, req), packageName(params), tag);
    return undefined;
  });

  serve(app, listGrants, async ({ req, params }) => packages.grants(await signedIn(gate, req), packageName(params)));

  serve(app, putGrant, async ({ req, params, body }) => {
    const b = body();
    await packages.putGrant(await signedIn(gate, req), packageName(params), b);
    return undefined;
  });

  serve(app, removeGrant, async ({ req, params, query }) => {
    await packages.removeGrant(await signedIn(gate, req), packageName(params), query.subjectKind, query.subject);
    return undefined;
  });

  serve(app, listTrusts, async ({ req, params }) => packages.trusts(await signedIn(gate, req), packageName(params)));

  serve(app, addTrust, async ({ req, params, body }) => {
    const name = packageName(params);
    const b = body();
    return packages.addTrust(await signedIn(gate, req), { owner: params.owner, name }, b);
  });
}
