/** /api/v1 — the signed-in user, users (admins), organizations, teams and the audit log. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AccountService } from '../../services/accounts.ts';
import type { AuthGate } from '../auth-gate.ts';
import { clientAddress } from '../auth-gate.ts';
import type { AuthnService } from '../../services/authn.ts';
import { RegistryError } from '../../errors.ts';
import { ownerParams, principalOf, signedIn } from './common.ts';
import { route, serve } from './route.ts';
import { orgRoleSchema, userSchema, userWithOrgsSchema, visibilitySchema } from './schemas.ts';

export interface AccountRouteDeps {
  gate: AuthGate;
  accounts: AccountService;
  /** Checks the current password of a password change (throttled like every sign-in). */
  authn: Pick<AuthnService, 'password'>;
}

const name = z.string().min(1).max(255);
const usernameParams = z.object({ username: name });
const orgParams = z.object({ org: name });
const memberParams = orgParams.extend({ username: name });
const teamParams = orgParams.extend({ team: name });
const teamMemberParams = teamParams.extend({ username: name });
const passwordBody = z.object({ password: z.string() });

const orgSchema = z
  .object({
    name: z.string(),
    defaultVisibility: visibilitySchema,
    createdAt: z.string(),
    /** Members and teams are visible to the organization's members only (empty otherwise). */
    members: z.array(z.object({ username: z.string(), role: orgRoleSchema })),
    teams: z.array(
      z.object({
        name: z.string(),
        description: z.string(),
        createdAt: z.string(),
        members: z.array(z.object({ username: z.string(), role: z.enum(['maintainer', 'member']) })),
      }),
    ),
    viewerRole: orgRoleSchema.nullable(),
  })
  .meta({ id: 'Org' });

const auditEntrySchema = z
  .object({
    id: z.string(),
    at: z.iso.datetime({ offset: true }),
    actor: z.string(),
    actorKind: z.string().nullable(),
    tokenId: z.string().nullable(),
    action: z.string(),
    target: z.string(),
    owner: z.string().nullable(),
    outcome: z.enum(['success', 'failure']).nullable(),
    address: z.string().nullable(),
    userAgent: z.string().nullable(),
    detail: z.record(z.string(), z.unknown()).nullable(),
  })
  .meta({ id: 'AuditEntry' });

const getCaller = route({
  method: 'GET',
  url: '/api/v1/user',
  operationId: 'getCaller',
  tags: ['users'],
  summary: 'The caller (a token-only principal has kind other than user and no account fields)',
  responses: {
    200: z.union([
      userWithOrgsSchema.extend({ kind: z.literal('user') }),
      z.object({ username: z.string(), kind: z.string(), admin: z.literal(false), orgs: z.array(z.never()) }),
    ]),
  },
});
const setOwnPassword = route({
  method: 'PUT',
  url: '/api/v1/user/password',
  operationId: 'setOwnPassword',
  tags: ['users'],
  summary: 'Change own password; every web session and refresh token of the user ends (sign in again)',
  description: 'With `currentPassword` (the UI always sends it) the current password is checked first, throttled like a sign-in: a wrong one is 403.',
  body: passwordBody.extend({ currentPassword: z.string().max(1024).optional() }),
  bodyExample: { currentPassword: 'the old passphrase', password: 'a new long passphrase' },
  responses: { 204: null },
  errors: [403, 429],
});
const listUsers = route({
  method: 'GET',
  url: '/api/v1/users',
  operationId: 'listUsers',
  tags: ['users', 'admin'],
  summary: 'All users (site admins)',
  responses: { 200: z.array(userSchema) },
  errors: [403],
});
const createUser = route({
  method: 'POST',
  url: '/api/v1/users',
  operationId: 'createUser',
  tags: ['users', 'admin'],
  summary: 'Create a user (site admins)',
  body: z.object({ username: z.string(), password: z.string(), email: z.email().nullable().optional(), admin: z.boolean().optional() }),
  bodyExample: { username: 'bob', password: 'a long passphrase', email: 'bob@example.com', admin: false },
  responses: { 201: userSchema },
  responseExample: { username: 'bob', email: 'bob@example.com', admin: false, disabled: false, createdAt: '2026-12-01T10:00:00.000Z' },
  errors: [403, 409],
});
const getUser = route({
  method: 'GET',
  url: '/api/v1/users/:username',
  operationId: 'getUser',
  tags: ['users'],
  summary: 'One user (the email only for the user and site admins)',
  params: usernameParams,
  responses: { 200: userSchema },
  errors: [404],
});
const updateUser = route({
  method: 'PATCH',
  url: '/api/v1/users/:username',
  operationId: 'updateUser',
  tags: ['users', 'admin'],
  summary: 'Update a user (site admins)',
  params: usernameParams,
  body: z.object({ admin: z.boolean().optional(), disabled: z.boolean().optional(), email: z.email().nullable().optional() }),
  bodyExample: { disabled: true },
  responses: { 200: userSchema },
  errors: [403, 404],
});
const setUserPassword = route({
  method: 'PUT',
  url: '/api/v1/users/:username/password',
  operationId: 'setUserPassword',
  tags: ['users', 'admin'],
  summary: "Set a user's password",
  params: usernameParams,
  body: passwordBody,
  responses: { 204: null },
  errors: [403, 404],
});
const createOrg = route({
  method: 'POST',
  url: '/api/v1/orgs',
  operationId: 'createOrg',
  tags: ['orgs'],
  summary: 'Create an organization (the caller becomes its owner)',
  body: z.object({ name: z.string() }),
  bodyExample: { name: 'acme' },
  responses: { 201: orgSchema },
  errors: [403, 409],
});
const getOrg = route({
  method: 'GET',
  url: '/api/v1/orgs/:org',
  operationId: 'getOrg',
  tags: ['orgs'],
  summary: 'An organization; members and teams for its members',
  params: orgParams,
  responses: { 200: orgSchema },
  errors: [404],
});
const setOrgMember = route({
  method: 'PUT',
  url: '/api/v1/orgs/:org/members/:username',
  operationId: 'setOrgMember',
  tags: ['orgs'],
  summary: 'Add or change a member (org owners)',
  params: memberParams,
  body: z.object({ role: orgRoleSchema }),
  bodyExample: { role: 'member' },
  responses: { 204: null },
  errors: [403, 404, 409],
});
const removeOrgMember = route({
  method: 'DELETE',
  url: '/api/v1/orgs/:org/members/:username',
  operationId: 'removeOrgMember',
  tags: ['orgs'],
  summary: 'Remove a member (org owners; the last owner stays)',
  params: memberParams,
  responses: { 204: null },
  errors: [403, 404, 409],
});
const createTeam = route({
  method: 'POST',
  url: '/api/v1/orgs/:org/teams',
  operationId: 'createTeam',
  tags: ['orgs'],
  summary: 'Create a team (org owners)',
  params: orgParams,
  body: z.object({ name: z.string(), description: z.string().max(500).optional() }),
  bodyExample: { name: 'deployers', description: 'Pull access for the clusters' },
  responses: { 201: z.object({ org: z.string(), name: z.string() }) },
  errors: [403, 404, 409],
});
const deleteTeam = route({
  method: 'DELETE',
  url: '/api/v1/orgs/:org/teams/:team',
  operationId: 'deleteTeam',
  tags: ['orgs'],
  summary: 'Delete a team (org owners)',
  params: teamParams,
  responses: { 204: null },
  errors: [403, 404],
});
const setTeamMember = route({
  method: 'PUT',
  url: '/api/v1/orgs/:org/teams/:team/members/:username',
  operationId: 'setTeamMember',
  tags: ['orgs'],
  summary: 'Add or change a team member',
  params: teamMemberParams,
  body: z.object({ role: z.enum(['maintainer', 'member']) }),
  bodyExample: { role: 'member' },
  responses: { 204: null },
  errors: [403, 404],
});
const removeTeamMember = route({
  method: 'DELETE',
  url: '/api/v1/orgs/:org/teams/:team/members/:username',
  operationId: 'removeTeamMember',
  tags: ['orgs'],
  summary: 'Remove a team member',
  params: teamMemberParams,
  responses: { 204: null },
  errors: [403, 404],
});
const setDefaultVisibility = route({
  method: 'PUT',
  url: '/api/v1/owners/:owner/default-visibility',
  operationId: 'setDefaultVisibility',
  tags: ['orgs'],
  summary: "Visibility of the owner's new packages",
  params: ownerParams,
  body: z.object({ visibility: visibilitySchema }),
  bodyExample: { visibility: 'private' },
  responses: { 204: null },
  errors: [403, 404],
});
const auditLog = route({
  method: 'GET',
  url: '/api/v1/audit',
  operationId: 'listAudit',
  tags: ['admin'],
  summary:
    'Audit log, newest first: everything for site admins; `owner=` an organization for its owners (or a user for themself). `format=jsonl` exports JSON lines',
  query: z.object({
    limit: z.coerce.number().int().min(1, 'limit must be 1-10000').max(10_000, 'limit must be 1-10000').optional(),
    before: z.iso.datetime({ offset: true }).optional(),
    actor: z.string().min(1).max(255).optional(),
    action: z.string().min(1).max(100).optional(),
    owner: z.string().min(1).max(255).optional(),
    package: z.string().min(1).max(255).optional(),
    /** Older name of `package` (any target: a package, an owner, a user). */
    target: z.string().min(1).max(255).optional(),
    format: z.enum(['json', 'jsonl']).optional(),
  }),
  responses: { 200: z.array(auditEntrySchema) },
  errors: [400, 403],
});

export function registerAccountRoutes(app: FastifyInstance, deps: AccountRouteDeps): void {
  const { gate, accounts } = deps;

  serve(app, getCaller, async ({ req }) => {
    const p = await signedIn(gate, req);
    if (p.kind !== 'user') return { username: p.name, kind: p.kind, admin: false as const, orgs: [] };
    return { ...(await accounts.user(p.name)), kind: 'user' as const, orgs: await accounts.orgsOf(p) };
  });

  serve(app, setOwnPassword, async ({ req, body }) => {
    const p = await signedIn(gate, req);
    const b = body();
    if (b.currentPassword !== undefined && p.kind === 'user') {
      await deps.authn.password(p.name, b.currentPassword, clientAddress(req)).catch((err: unknown) => {
        throw err instanceof RegistryError && err.code === 'UNAUTHORIZED' ? new RegistryError('DENIED', 'the current password is not correct') : err;
      });
    }
    await accounts.setPassword(p, p.name, b.password);
    return undefined;
  });

  serve(app, listUsers, async ({ req }) => accounts.listUsers(await signedIn(gate, req)));

  serve(app, createUser, async ({ req, body }) => {
    const b = body();
    return accounts.createUser(await signedIn(gate, req), {
      username: b.username,
      password: b.password,
      ...(b.email !== undefined ? { email: b.email } : {}),
      ...(b.admin !== undefined ? { admin: b.admin } : {}),
    });
  });

  serve(app, getUser, async ({ req, params }) => {
    const p = await signedIn(gate, req);
    const user = await accounts.user(params.username);
    // Email addresses are private to their owner and site admins.
    return p.admin || p.name === user.username ? user : { ...user, email: null };
  });

  serve(app, updateUser, async ({ req, params, body }) => {
    const b = body();
    const fields: { admin?: boolean; disabled?: boolean; email?: string | null } = {};
    if (b.admin !== undefined) fields.admin = b.admin;
    if (b.disabled !== undefined) fields.disabled = b.disabled;
    if (b.email !== undefined) fields.email = b.email;
    return accounts.updateUser(await signedIn(gate, req), params.username, fields);
  });

  serve(app, setUserPassword, async ({ req, params, body }) => {
    const b = body();
    await accounts.setPassword(await signedIn(gate, req), params.username, b.password);
    return undefined;
  });

  serve(app, createOrg, async ({ req, body }) => {
    const b = body();
    const p = await signedIn(gate, req);
    await accounts.createOrg(p, b.name);
    return accounts.orgView(p, b.name);
  });

  serve(app, getOrg, async ({ req, params }) => accounts.orgView(await principalOf(gate, req), params.org));

  serve(app, setOrgMember, async ({ req, params, body }) => {
    const b = body();
    await accounts.setOrgMember(await signedIn(gate, req), params.org, params.username, b.role);
    return undefined;
  });

  serve(app, removeOrgMember, async ({ req, params }) => {
    await accounts.removeOrgMember(await signedIn(gate, req), params.org, params.username);
    return undefined;
  });

  serve(app, createTeam, async ({ req, params, body }) => {
    const b = body();
    await accounts.createTeam(await signedIn(gate, req), params.org, b.name, b.description ?? '');
    return { org: params.org, name: b.name };
  });

  serve(app, deleteTeam, async ({ req, params }) => {
    await accounts.deleteTeam(await signedIn(gate, req), params.org, params.team);
    return undefined;
  });

  serve(app, setTeamMember, async ({ req, params, body }) => {
    const b = body();
    await accounts.setTeamMember(await signedIn(gate, req), params.org, params.team, params.username, b.role);
    return undefined;
  });

  serve(app, removeTeamMember, async ({ req, params }) => {
    await accounts.removeTeamMember(await signedIn(gate, req), params.org, params.team, params.username);
    return undefined;
  });

  serve(app, setDefaultVisibility, async ({ req, params, body }) => {
    const b = body();
    await accounts.setDefaultVisibility(await signedIn(gate, req), params.owner, b.visibility);
    return undefined;
  });

  serve(app, auditLog, async ({ req, reply, query }) => {
    const { limit, before, actor, action, owner, format } = query;
    const rows = await accounts.auditLog(await signedIn(gate, req), {
      limit: limit ?? (format === 'jsonl' ? 10_000 : 100),
      before: before === undefined ? undefined : Date.parse(before),
      actor,
      target: query.package ?? query.target,
      action,
      owner,
    });
    const entries = rows.map(auditView);
    if (format === 'jsonl') {
      // JSON lines: one entry per line, for `jq`, log shippers and spreadsheets.
      await reply
        .header('content-type', 'application/x-ndjson; charset=utf-8')
        .header('content-disposition', `attachment; filename="wharf-audit${owner ? `-${owner}` : ''}.jsonl"`)
        .send(entries.map((e) => JSON.stringify(e)).join('\n') + (entries.length > 0 ? '\n' : ''));
    }
    return entries;
  });
}

/** One row of the audit log as the account service hands it out. */
type AuditEntry = Awaited<ReturnType<AccountService['auditLog']>>[number];

function auditView(e: AuditEntry): z.input<typeof auditEntrySchema> {
  return {
    id: e.id,
    at: new Date(e.at).toISOString(),
    actor: e.actor,
    actorKind: e.actorKind ?? null,
    tokenId: e.tokenId ?? null,
    action: e.action,
    target: e.target,
    owner: e.owner ?? null,
    outcome: e.outcome ?? null,
    address: e.address,
    userAgent: e.userAgent ?? null,
    detail: e.detail,
  };
}
