/** /api/v1 — the signed-in user, users (admins), organizations, teams and the audit log. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { RegistryError } from '../../errors.ts';
import type { AccountService } from '../../services/accounts.ts';
import type { AuthGate } from '../auth-gate.ts';
import { body, param, principalOf, query, signedIn } from './common.ts';

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

  app.get('/api/v1/audit', async (req) => {
    const limit = Number(query(req, 'limit') ?? 100);
    const before = query(req, 'before');
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new RegistryError('BAD_REQUEST', 'limit must be 1-1000');
    return accounts.auditLog(await signedIn(gate, req), {
      limit,
      before: before === undefined ? undefined : Date.parse(before),
      actor: query(req, 'actor'),
      target: query(req, 'target'),
    });
  });
}
