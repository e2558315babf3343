/** /api/v1 — the signed-in user, users (admins), organizations, teams and the audit log. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { RegistryError } from '../../errors.ts';
import type { AccountService } from '../../services/accounts.ts';
import type { AuthGate } from '../auth-gate.ts';
import { body, param, principalOf, signedIn } from './common.ts';

export interface AccountRouteDeps {
  gate: AuthGate;
  accounts: AccountService;
}

const role = z.enum(['owner', 'member']);

export function registerAccountRoutes(app: FastifyInstance, deps: AccountRouteDeps): void {
  const { gate, accounts } = deps;

  app.get('/api/v1/user', async (req) => {
    const p = await signedIn(gate, req);
    if (p.kind !== 'user') return { username: p.name, kind: p.kind, admin: false, orgs: [] };
    return { ...(await accounts.user(p.name)), kind: 'user', orgs: await accounts.orgsOf(p) };
  });

  app.put('/api/v1/user/password', async (req, reply) => {
    const p = await signedIn(gate, req);
    const b = body(z.object({ password: z.string() }), req);
    await accounts.setPassword(p, p.name, b.password);
    return reply.code(204).send();
  });

  app.get('/api/v1/users', async (req) => accounts.listUsers(await signedIn(gate, req)));

  app.post('/api/v1/users', async (req, reply) => {
    const b = body(z.object({ username: z.string(), password: z.string(), email: z.string().email().nullable().optional(), admin: z.boolean().optional() }), req);
    const created = await accounts.createUser(await signedIn(gate, req), {
      username: b.username,
      password: b.password,
      ...(b.email !== undefined ? { email: b.email } : {}),
      ...(b.admin !== undefined ? { admin: b.admin } : {}),
    });
    return reply.code(201).send(created);
  });

  app.get('/api/v1/users/:username', async (req) => {
    const p = await signedIn(gate, req);
    const user = await accounts.user(param(req, 'username'));
    // Email addresses are private to their owner and site admins.
    return p.admin || p.name === user.username ? user : { ...user, email: null };
  });

  app.patch('/api/v1/users/:username', async (req) => {
    const b = body(z.object({ admin: z.boolean().optional(), disabled: z.boolean().optional(), email: z.string().email().nullable().optional() }), req);
    const fields: { admin?: boolean; disabled?: boolean; email?: string | null } = {};
    if (b.admin !== undefined) fields.admin = b.admin;
    if (b.disabled !== undefined) fields.disabled = b.disabled;
    if (b.email !== undefined) fields.email = b.email;
    return accounts.updateUser(await signedIn(gate, req), param(req, 'username'), fields);
  });

  app.put('/api/v1/users/:username/password', async (req, reply) => {
    const b = body(z.object({ password: z.string() }), req);
    await accounts.setPassword(await signedIn(gate, req), param(req, 'username'), b.password);
    return reply.code(204).send();
  });

  app.post('/api/v1/orgs', async (req, reply) => {
    const b = body(z.object({ name: z.string() }), req);
    const p = await signedIn(gate, req);
    await accounts.createOrg(p, b.name);
    return reply.code(201).send(await accounts.orgView(p, b.name));
  });

  app.get('/api/v1/orgs/:org', async (req) => accounts.orgView(await principalOf(gate, req), param(req, 'org')));

  app.put('/api/v1/orgs/:org/members/:username', async (req, reply) => {
    const b = body(z.object({ role }), req);
    await accounts.setOrgMember(await signedIn(gate, req), param(req, 'org'), param(req, 'username'), b.role);
    return reply.code(204).send();
  });

  app.delete('/api/v1/orgs/:org/members/:username', async (req, reply) => {
    await accounts.removeOrgMember(await signedIn(gate, req), param(req, 'org'), param(req, 'username'));
    return reply.code(204).send();
  });

  app.post('/api/v1/orgs/:org/teams', async (req, reply) => {
    const b = body(z.object({ name: z.string(), description: z.string().max(500).optional() }), req);
    await accounts.createTeam(await signedIn(gate, req), param(req, 'org'), b.name, b.description ?? '');
    return reply.code(201).send({ org: param(req, 'org'), name: b.name });
  });

  app.delete('/api/v1/orgs/:org/teams/:team', async (req, reply) => {
    await accounts.deleteTeam(await signedIn(gate, req), param(req, 'org'), param(req, 'team'));
    return reply.code(204).send();
  });

  app.put('/api/v1/orgs/:org/teams/:team/members/:username', async (req, reply) => {
    const b = body(z.object({ role: z.enum(['maintainer', 'member']) }), req);
    await accounts.setTeamMember(await signedIn(gate, req), param(req, 'org'), param(req, 'team'), param(req, 'username'), b.role);
    return reply.code(204).send();
  });

  app.delete('/api/v1/orgs/:org/teams/:team/members/:username', async (req, reply) => {
    await accounts.removeTeamMember(await signedIn(gate, req), param(req, 'org'), param(req, 'team'), param(req, 'username'));
    return reply.code(204).send();
  });

  app.put('/api/v1/owners/:owner/default-visibility', async (req, reply) => {
    const b = body(z.object({ visibility: z.enum(['public', 'internal', 'private']) }), req);
    await accounts.setDefaultVisibility(await signedIn(gate, req), param(req, 'owner'), b.visibility);
    return reply.code(204).send();
  });

  app.get('/api/v1/audit', async (req, reply) => {
    const q = auditRoute.query.safeParse(req.query ?? {});
    if (!q.success) throw new RegistryError('BAD_REQUEST', 'invalid query', { issues: q.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) });
    const { limit, before, actor, action, owner, format } = q.data;
    const target = q.data.package ?? q.data.target;
    const rows = await accounts.auditLog(await signedIn(gate, req), {
      limit: limit ?? (format === 'jsonl' ? 10_000 : 100),
      before: before === undefined ? undefined : Date.parse(before),
      actor,
      target,
      action,
      owner,
    });
    const entries = rows.map(auditView);
    if (format !== 'jsonl') return entries;
    // JSON lines: one entry per line, for `jq`, log shippers and spreadsheets.
    return reply
      .header('content-type', 'application/x-ndjson; charset=utf-8')
      .header('content-disposition', `attachment; filename="wharf-audit${owner ? `-${owner}` : ''}.jsonl"`)
      .send(entries.map((e) => JSON.stringify(e)).join('\n') + (entries.length > 0 ? '\n' : ''));
  });
}

/** GET /api/v1/audit: filters, paging (`before` an ISO time) and the JSON lines export. */
export const auditRoute = {
  query: z.object({
    limit: z.coerce.number().int().min(1, 'limit must be 1-1000').max(10_000, 'limit must be 1-10000').optional(),
    before: z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'before must be an ISO 8601 time').optional(),
    actor: z.string().min(1).max(255).optional(),
    action: z.string().min(1).max(100).optional(),
    owner: z.string().min(1).max(255).optional(),
    package: z.string().min(1).max(255).optional(),
    /** Older name of `package` (any target: a package, an owner, a user). */
    target: z.string().min(1).max(255).optional(),
    format: z.enum(['json', 'jsonl']).optional(),
  }),
  response: z.array(
    z.object({
      id: z.string(),
      at: z.string(),
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
    }),
  ),
};

/** One row of the audit log as the account service hands it out. */
type AuditEntry = Awaited<ReturnType<AccountService['auditLog']>>[number];

export function auditView(e: AuditEntry): z.infer<typeof auditRoute.response>[number] {
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
