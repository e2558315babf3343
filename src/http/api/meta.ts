/**
 * GET /api/v1/version — which Wharf answers (as `wharf --version`). Public, like /v2/: the
 * version is not a secret worth hiding (fingerprinting works without it), and upgrade checks,
 * support requests and deployment scripts need it without credentials. Not repeated in a /v2
 * response header, which every blob and manifest response would carry for nothing.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { type VersionInfo, versionInfo } from '../../lib/version.ts';

export const versionResponse = z.object({
  name: z.literal('wharf'),
  version: z.string(),
  revision: z.string().nullable(),
  node: z.string(),
});

export function registerMetaRoutes(app: FastifyInstance): void {
  let cached: VersionInfo | undefined;
  app.get('/api/v1/version', async (_req, reply) => {
    // Read on first request (it may run git once), then kept for the process's life.
    cached ??= versionResponse.parse(versionInfo());
    return reply.header('cache-control', 'no-cache').send(cached);
  });
}
