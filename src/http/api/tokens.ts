/** /api/v1/user/tokens and /api/v1/user/pull-secrets — personal access tokens and Kubernetes pull secrets. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { PersonalTokenService } from '../../services/personal-tokens.ts';
import type { AuthGate } from '../auth-gate.ts';
import { body, param, signedIn } from './common.ts';

export interface TokenApiDeps {
  gate: AuthGate;
  tokens: PersonalTokenService;
  /** The registry host clients use (e.g. registry.example.com), for pull secrets. */
  registryHost: (req: { host: string }) => string;
}

export function registerTokenApiRoutes(app: FastifyInstance, deps: TokenApiDeps): void {
  app.get('/api/v1/user/tokens', async (req) => deps.tokens.list(await signedIn(deps.gate, req)));

  app.post('/api/v1/user/tokens', async (req, reply) => {
    const b = body(
      z.object({
        name: z.string(),
        scopes: z.array(z.string()).min(1),
        expiresInDays: z.number().int().positive().nullable().optional(),
        owners: z.array(z.string()).nullable().optional(),
        packages: z.array(z.string()).nullable().optional(),
      }),
      req,
    );
    const created = await deps.tokens.create(await signedIn(deps.gate, req), {
      name: b.name,
      scopes: b.scopes,
      expiresInDays: b.expiresInDays ?? null,
      owners: b.owners ?? null,
      packages: b.packages ?? null,
    });
    return reply.code(201).header('cache-control', 'no-store').send({ ...created.token, token: created.secret });
  });

  app.delete('/api/v1/user/tokens/:id', async (req, reply) => {
    await deps.tokens.revoke(await signedIn(deps.gate, req), param(req, 'id'));
    return reply.code(204).send();
  });

  app.post('/api/v1/user/pull-secrets', async (req, reply) => {
    const b = body(
      z.object({
        packages: z.array(z.string()).min(1),
        secretName: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/).max(253).optional(),
        expiresInDays: z.number().int().positive().nullable().optional(),
      }),
      req,
    );
    const secret = await deps.tokens.pullSecret(await signedIn(deps.gate, req), {
      packages: b.packages,
      server: deps.registryHost(req),
      ...(b.secretName ? { secretName: b.secretName } : {}),
      expiresInDays: b.expiresInDays ?? null,
    });
    return reply.code(201).header('cache-control', 'no-store').send(secret);
  });
}
