/** /api/v1/user/tokens and /api/v1/user/pull-secrets — personal access tokens and Kubernetes pull secrets. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { PersonalTokenService } from '../../services/personal-tokens.ts';
import type { AuthGate } from '../auth-gate.ts';
import { signedIn } from './common.ts';
import { route, serve } from './route.ts';

export interface TokenApiDeps {
  gate: AuthGate;
  tokens: PersonalTokenService;
  /** The registry host clients use (e.g. registry.example.com), for pull secrets. */
  registryHost: (req: { host: string }) => string;
}

const tokenSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    hint: z.string(),
    scopes: z.array(z.string()),
    owners: z.array(z.string()).nullable(),
    packages: z.array(z.string()).nullable(),
    expiresAt: z.string().nullable(),
    lastUsedAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
    createdAt: z.string(),
  })
  .meta({ id: 'Token' });

const listTokens = route({
  method: 'GET',
  url: '/api/v1/user/tokens',
  operationId: 'listTokens',
  tags: ['tokens'],
  summary: 'Own personal access tokens',
  responses: { 200: z.array(tokenSchema) },
});
const createToken = route({
  method: 'POST',
  url: '/api/v1/user/tokens',
  operationId: 'createToken',
  tags: ['tokens'],
  summary: 'Create a personal access token (the secret is in this response only)',
  body: z.object({
    name: z.string(),
    scopes: z.array(z.string()).min(1),
    expiresInDays: z.number().int().positive().nullable().optional(),
    owners: z.array(z.string()).nullable().optional(),
    packages: z.array(z.string()).nullable().optional(),
  }),
  bodyExample: { name: 'ci', scopes: ['read:packages', 'write:packages'], expiresInDays: 90, owners: ['acme'] },
  responses: { 201: tokenSchema.extend({ token: z.string().meta({ description: 'The secret, shown only in this response.' }) }).meta({ id: 'CreatedToken' }) },
  errors: [403],
});
const revokeToken = route({
  method: 'DELETE',
  url: '/api/v1/user/tokens/:id',
  operationId: 'revokeToken',
  tags: ['tokens'],
  summary: 'Revoke a token',
  params: z.object({ id: z.string().min(1) }),
  responses: { 204: null },
  errors: [404],
});
const createPullSecret = route({
  method: 'POST',
  url: '/api/v1/user/pull-secrets',
  operationId: 'createPullSecret',
  tags: ['tokens'],
  summary: 'A read-only token for packages and the kubectl line, Secret YAML and .dockerconfigjson',
  body: z.object({
    packages: z.array(z.string()).min(1),
    secretName: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/).max(253).optional(),
    expiresInDays: z.number().int().positive().nullable().optional(),
  }),
  bodyExample: { packages: ['acme/web'], secretName: 'wharf-pull', expiresInDays: 365 },
  responses: {
    201: z
      .object({
        token: z.string(),
        tokenId: z.string(),
        server: z.string(),
        username: z.string(),
        secretName: z.string(),
        kubectl: z.string(),
        dockerconfigjson: z.string(),
        yaml: z.string(),
      })
      .meta({ id: 'PullSecret' }),
  },
  errors: [403, 404],
});

export function registerTokenApiRoutes(app: FastifyInstance, deps: TokenApiDeps): void {
  serve(app, listTokens, async ({ req }) => deps.tokens.list(await signedIn(deps.gate, req)));

  serve(app, createToken, async ({ req, reply, body }) => {
    const b = body();
    const created = await deps.tokens.create(await signedIn(deps.gate, req), {
      name: b.name,
      scopes: b.scopes,
      expiresInDays: b.expiresInDays ?? null,
      owners: b.owners ?? null,
      packages: b.packages ?? null,
    });
    reply.header('cache-control', 'no-store');
    return { ...created.token, token: created.secret };
  });

  serve(app, revokeToken, async ({ req, params }) => {
    await deps.tokens.revoke(await signedIn(deps.gate, req), params.id);
    return undefined;
  });

  serve(app, createPullSecret, async ({ req, reply, body }) => {
    const b = body();
    const secret = await deps.tokens.pullSecret(await signedIn(deps.gate, req), {
      packages: b.packages,
      server: deps.registryHost(req),
      ...(b.secretName ? { secretName: b.secretName } : {}),
      expiresInDays: b.expiresInDays ?? null,
    });
    reply.header('cache-control', 'no-store');
    return secret;
  });
}
