/** /api/v1 package settings: visibility, grants, trusted CI issuers, deletions. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parseDigest } from '../../oci/digest.ts';
import type { PackageService } from '../../services/packages.ts';
import type { AuthGate } from '../auth-gate.ts';
import { body, packageName, param, principalOf, query, signedIn } from './common.ts';
import { RegistryError } from '../../errors.ts';

export interface PackageRouteDeps {
  gate: AuthGate;
  packages: PackageService;
}

/** POST …/trusts: a CI issuer trusted with claim conditions. */
export const trustBody = z.object({
  issuer: z.string(),
  audience: z.string(),
  conditions: z.record(z.string(), z.string()),
  role: z.enum(['read', 'write']),
  /** Required when no condition pins a repository or owner (see pinsRepository). */
  confirmAnyRepository: z.boolean().optional(),
});

export function registerPackageRoutes(app: FastifyInstance, deps: PackageRouteDeps): void {
  const { gate, packages } = deps;

  app.get('/api/v1/owners/:owner/packages', async (req) => packages.listForOwner(await principalOf(gate, req), param(req, 'owner')));

  app.get('/api/v1/owners/:owner/trusts', async (req) => packages.ownerTrusts(await signedIn(gate, req), param(req, 'owner')));

  app.post('/api/v1/owners/:owner/trusts', async (req, reply) => {
    const b = body(trustBody, req);
    return reply.code(201).send(await packages.addTrust(await signedIn(gate, req), { owner: param(req, 'owner'), name: null }, b));
  });

  app.delete('/api/v1/trusts/:id', async (req, reply) => {
    await packages.removeTrust(await signedIn(gate, req), param(req, 'id'));
    return reply.code(204).send();
  });

  app.get('/api/v1/packages/:owner/:package', async (req) => packages.settings(await principalOf(gate, req), packageName(req)));

  app.patch('/api/v1/packages/:owner/:package', async (req) => {
    const b = body(z.object({ visibility: z.enum(['public', 'internal', 'private']) }), req);
    return packages.setVisibility(await signedIn(gate, req), packageName(req), b.visibility);
  });

  // Both move to the trash (ADR 0010) and answer with the trash entry (restore it by its id).
  app.delete('/api/v1/packages/:owner/:package', async (req) => packages.deletePackage(await signedIn(gate, req), packageName(req)));

  app.delete('/api/v1/packages/:owner/:package/versions/:digest', async (req) =>
    packages.deleteVersion(await signedIn(gate, req), packageName(req), parseDigest(param(req, 'digest'))),
  );

  app.get('/api/v1/packages/:owner/:package/grants', async (req) => packages.grants(await signedIn(gate, req), packageName(req)));

  app.put('/api/v1/packages/:owner/:package/grants', async (req, reply) => {
    const b = body(z.object({ subjectKind: z.enum(['user', 'team']), subject: z.string(), role: z.enum(['read', 'write', 'admin']) }), req);
    await packages.putGrant(await signedIn(gate, req), packageName(req), b);
    return reply.code(204).send();
  });

  app.delete('/api/v1/packages/:owner/:package/grants', async (req, reply) => {
    const subjectKind = query(req, 'subjectKind');
    const subject = query(req, 'subject');
    if (!subjectKind || !subject) throw new RegistryError('BAD_REQUEST', 'subjectKind and subject query parameters are required');
    await packages.removeGrant(await signedIn(gate, req), packageName(req), subjectKind, subject);
    return reply.code(204).send();
  });

  app.get('/api/v1/packages/:owner/:package/trusts', async (req) => packages.trusts(await signedIn(gate, req), packageName(req)));

  app.post('/api/v1/packages/:owner/:package/trusts', async (req, reply) => {
    const name = packageName(req);
    const b = body(trustBody, req);
    return reply.code(201).send(await packages.addTrust(await signedIn(gate, req), { owner: param(req, 'owner'), name }, b));
  });
}
