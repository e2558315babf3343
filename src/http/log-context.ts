import type { FastifyRequest } from 'fastify';

/**
 * Fields a request's log lines carry (repository, digest, principal), bound by handlers as they
 * learn them. Kept beside the request rather than in a pino child logger per request: a child
 * costs more than the rest of a manifest GET.
 */
const contexts = new WeakMap<FastifyRequest, Record<string, string>>();

export function bindLog(req: FastifyRequest, fields: Record<string, string>): void {
  const current = contexts.get(req);
  if (current) Object.assign(current, fields);
  else contexts.set(req, { ...fields });
}

export function logFields(req: FastifyRequest): Record<string, string> {
  return contexts.get(req) ?? {};
}
