/** /api/v1 — site administration of accounts: deleting users, listing every organization. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AccountService } from '../../services/accounts.ts';
import type { AuthGate } from '../auth-gate.ts';
import { signedIn } from './common.ts';
import { route, serve } from './route.ts';
import { visibilitySchema } from './schemas.ts';

export interface AdminAccountRouteDeps {
  gate: AuthGate;
  accounts: AccountService;
}

const deleteUser = route({
  method: 'DELETE',
  url: '/api/v1/users/:username',
  operationId: 'deleteUser',
  tags: ['users', 'admin'],
  summary:
    'Delete a user (site admins). Refused (409) while they own packages, the trash included, or are the last owner of an organization; their sessions, tokens, memberships and grants go with them',
  params: z.object({ username: z.string().min(1).max(255) }),
  responses: { 204: null },
  errors: [403, 404, 409],
});

const orgSummarySchema = z
  .object({ name: z.string(), owners: z.array(z.string()), members: z.number().int(), defaultVisibility: visibilitySchema, createdAt: z.string() })
  .meta({ id: 'OrgSummary' });

const listOrgs = route({
  method: 'GET',
  url: '/api/v1/orgs',
  operationId: 'listOrgs',
  tags: ['orgs', 'admin'],
  summary: 'Every organization with its owners and member count (site admins)',
  responses: { 200: z.array(orgSummarySchema) },
  responseExample: [{ name: 'acme', owners: ['alice'], members: 4, defaultVisibility: 'private', createdAt: '2026-12-01T10:00:00.000Z' }],
  errors: [403],
});

export function registerAdminAccountRoutes(app: FastifyInstance, deps: AdminAccountRouteDeps): void {
  const { gate, accounts } = deps;
  serve(app, deleteUser, async ({ req, params }) => {
    await accounts.deleteUser(await signedIn(gate, req), params.username);
    return undefined;
  });
  serve(app, listOrgs, async ({ req }) => {
    const orgs = await accounts.listOrgs(await signedIn(gate, req));
    return orgs.map((o) => ({ ...o, defaultVisibility: visibilitySchema.parse(o.defaultVisibility) }));
  });
}
