/**
 * Named schemas shared by several /api/v1 routes. `.meta({ id })` makes each a component of
 * the OpenAPI document and a named type in ui/src/api.gen.ts (docs/adr/0019-api-route-schemas.md);
 * a schema used by one route only stays in that route's module.
 */
import { z } from 'zod';

export const visibilitySchema = z.enum(['public', 'internal', 'private']).meta({ id: 'Visibility' });
export const packageRoleSchema = z.enum(['read', 'write', 'admin']).meta({ id: 'PackageRole' });
export const packageKindSchema = z.enum(['image', 'chart', 'artifact']).meta({ id: 'PackageKind' });

export const userSchema = z
  .object({
    username: z.string(),
    email: z.string().nullable(),
    admin: z.boolean(),
    disabled: z.boolean(),
    createdAt: z.string(),
    /** Visibility of the user's new packages (their settings). */
    defaultVisibility: visibilitySchema.optional(),
  })
  .meta({ id: 'User' });

export const orgRoleSchema = z.enum(['owner', 'member']);
/** A user with the organizations they belong to (the session and GET /api/v1/user). */
export const userWithOrgsSchema = userSchema.extend({ orgs: z.array(z.object({ org: z.string(), role: orgRoleSchema })) }).meta({ id: 'UserWithOrgs' });

export const trashEntrySchema = z
  .object({
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
  })
  .meta({ id: 'TrashEntry' });

export const trustSchema = z
  .object({
    id: z.string(),
    owner: z.string(),
    /** null: every package of the owner. */
    repo: z.string().nullable(),
    issuer: z.string(),
    audience: z.string(),
    conditions: z.record(z.string(), z.string()),
    role: z.enum(['read', 'write']),
    createdAt: z.number().int(),
  })
  .meta({ id: 'Trust' });

/** Every /api/v1 error (src/http/errors.ts). */
export const errorSchema = z
  .object({ errors: z.array(z.object({ code: z.string(), message: z.string(), detail: z.unknown().optional() })) })
  .meta({ id: 'Error' });
