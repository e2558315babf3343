/**
 * GET /api/v1/version — which Wharf answers (as `wharf --version`). Public, like /v2/: the
 * version is not a secret worth hiding (fingerprinting works without it), and upgrade checks,
 * support requests and deployment scripts need it without credentials. Not repeated in a /v2
 * response header, which every blob and manifest response would carry for nothing.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { type VersionInfo, versionInfo } from '../../lib/version.ts';
import { route, serve } from './route.ts';

const versionResponse = z
  .object({
    name: z.literal('wharf'),
    version: z.string(),
    revision: z.string().nullable(),
    node: z.string(),
  })
  .meta({ id: 'VersionInfo' });

const getVersion = route({
  method: 'GET',
  url: '/api/v1/version',
  operationId: 'getVersion',
  tags: ['meta'],
  summary: 'The version of this Wharf (public)',
  responses: { 200: versionResponse },
  responseExample: { name: 'wharf', version: '0.1.0', revision: 'a65735e', node: 'v24.21.0' },
});

export function registerMetaRoutes(app: FastifyInstance): void {
  let cached: VersionInfo | undefined;
  serve(app, getVersion, async ({ reply }) => {
    // Read on first request (it may run git once), then kept for the process's life.
    cached ??= versionResponse.parse(versionInfo());
    reply.header('cache-control', 'no-cache');
    return cached;
  });
}
