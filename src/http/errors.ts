import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { type ErrorCode, RegistryError } from '../errors.ts';
import { logFields } from './log-context.ts';

/** The one table from error code to HTTP status and the code clients see on the wire. */
const TABLE: Record<ErrorCode, { status: number; wire: string }> = {
  BLOB_UNKNOWN: { status: 404, wire: 'BLOB_UNKNOWN' },
  BLOB_UPLOAD_INVALID: { status: 400, wire: 'BLOB_UPLOAD_INVALID' },
  BLOB_UPLOAD_UNKNOWN: { status: 404, wire: 'BLOB_UPLOAD_UNKNOWN' },
  DIGEST_INVALID: { status: 400, wire: 'DIGEST_INVALID' },
  MANIFEST_BLOB_UNKNOWN: { status: 400, wire: 'MANIFEST_BLOB_UNKNOWN' },
  MANIFEST_INVALID: { status: 400, wire: 'MANIFEST_INVALID' },
  MANIFEST_UNKNOWN: { status: 404, wire: 'MANIFEST_UNKNOWN' },
  NAME_INVALID: { status: 400, wire: 'NAME_INVALID' },
  NAME_UNKNOWN: { status: 404, wire: 'NAME_UNKNOWN' },
  SIZE_INVALID: { status: 400, wire: 'SIZE_INVALID' },
  UNAUTHORIZED: { status: 401, wire: 'UNAUTHORIZED' },
  DENIED: { status: 403, wire: 'DENIED' },
  UNSUPPORTED: { status: 415, wire: 'UNSUPPORTED' },
  TOOMANYREQUESTS: { status: 429, wire: 'TOOMANYREQUESTS' },
  RANGE_INVALID: { status: 416, wire: 'BLOB_UPLOAD_INVALID' },
  RANGE_NOT_SATISFIABLE: { status: 416, wire: 'BLOB_UNKNOWN' },
  // Not in the OCI spec's code list; UNSUPPORTED is its code for "an invalid set of parameters".
  PAGINATION_NUMBER_INVALID: { status: 400, wire: 'UNSUPPORTED' },
  TAG_INVALID: { status: 400, wire: 'MANIFEST_INVALID' },
  MANIFEST_TOO_LARGE: { status: 413, wire: 'MANIFEST_INVALID' },
  BODY_TOO_LARGE: { status: 413, wire: 'SIZE_INVALID' },
  ROUTE_UNKNOWN: { status: 404, wire: 'UNSUPPORTED' },
  METHOD_NOT_ALLOWED: { status: 405, wire: 'UNSUPPORTED' },
  // A refusal by the registry's rules, not by access control: DENIED is the spec's code for a
  // refused operation, 409 says the resource's state is why (docs/adr/0009-garbage-collection.md).
  MANIFEST_REFERENCED: { status: 409, wire: 'DENIED' },
  NOT_FOUND: { status: 404, wire: 'NOT_FOUND' },
  CONFLICT: { status: 409, wire: 'CONFLICT' },
  BAD_REQUEST: { status: 400, wire: 'BAD_REQUEST' },
  UNAVAILABLE: { status: 503, wire: 'UNAVAILABLE' },
  INTERNAL: { status: 500, wire: 'UNKNOWN' },
};

/** Response headers an error must carry (e.g. WWW-Authenticate on UNAUTHORIZED, Retry-After). */
export class HttpHeadersError extends RegistryError {
  readonly headers: Record<string, string>;
  constructor(code: ErrorCode, message: string, headers: Record<string, string>, detail?: unknown) {
    super(code, message, detail);
    this.headers = headers;
  }
}

function fastifyToRegistry(err: FastifyError): RegistryError {
  const status = err.statusCode ?? 500;
  if (status === 413) return new RegistryError('BODY_TOO_LARGE', err.message);
  if (status === 415) return new RegistryError('UNSUPPORTED', err.message);
  if (status >= 400 && status < 500) return new RegistryError('BAD_REQUEST', err.message);
  return new RegistryError('INTERNAL', 'internal server error');
}

/**
 * Everything of an error response but its body: the status, the wire code, and the headers it
 * must carry (a challenge, Retry-After, Content-Range); logs 5xx with the request's context.
 */
function prepareError(err: unknown, request: FastifyRequest, reply: FastifyReply): { re: RegistryError; status: number; wire: string } {
  let re: RegistryError;
  if (err instanceof RegistryError) re = err;
  else if (err instanceof Error && 'statusCode' in err) re = fastifyToRegistry(err as FastifyError);
  else re = new RegistryError('INTERNAL', 'internal server error');

  const { status, wire } = TABLE[re.code];
  if (status >= 500) request.log.error({ err, ...logFields(request) }, 'request failed');
  else request.log.debug({ code: re.code, reason: re.message, ...logFields(request) }, 'request rejected');
  if (err instanceof HttpHeadersError) reply.headers(err.headers);
  // Refused before its body was read (unauthorized, too large): close the connection after the
  // answer rather than read and discard whatever the client still sends.
  if (!request.raw.complete) reply.header('connection', 'close');
  // A refusal's reason also in the status line: Helm 3 (containerd's pusher) prints only the
  // status line of a failed manifest PUT, never the body, so this is how it shows which rule
  // refused (docs/adr/0013-policies.md). Printable ASCII only, as HTTP/1.1 requires.
  if (re.code === 'DENIED' && request.url.startsWith('/v2/')) reply.raw.statusMessage = `Forbidden: ${re.message.replace(/[^\x20-\x7e]/g, '?').slice(0, 512)}`;
  const retryAfter = (re.detail as { retryAfterSeconds?: unknown } | null | undefined)?.retryAfterSeconds;
  if (re.code === 'TOOMANYREQUESTS' && typeof retryAfter === 'number') reply.header('retry-after', String(retryAfter));
  if (re.code === 'RANGE_NOT_SATISFIABLE' && typeof re.detail === 'object' && re.detail && 'size' in re.detail) {
    reply.header('content-range', `bytes */${String(re.detail.size)}`);
  }
  return { re, status, wire };
}

function sendJson(request: FastifyRequest, reply: FastifyReply, status: number, body: unknown): FastifyReply {
  reply.code(status).header('content-type', 'application/json; charset=utf-8');
  return request.method === 'HEAD' ? reply.header('content-length', '0').send() : reply.send(JSON.stringify(body));
}

/** The one serializer: `{"errors":[{code,message,detail}]}` for every failure. */
export function sendError(err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { re, status, wire } = prepareError(err, request, reply);
  return sendJson(request, reply, status, { errors: [{ code: wire, message: re.message, detail: status >= 500 ? null : (re.detail ?? null) }] });
}

/**
 * ChartMuseum's error format, `{"error": "<message>"}` (what `helm cm-push` and ChartMuseum
 * clients read), with the same statuses and headers as everywhere else. A challenge is Basic:
 * these routes are used with Basic credentials (or a token as the password).
 */
export function sendMuseumError(err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { re, status } = prepareError(err, request, reply);
  if (status === 401) reply.header('www-authenticate', 'Basic realm="wharf"');
  return sendJson(request, reply, status, { error: status >= 500 ? 'internal server error' : re.message });
}

/**
 * For Fastify's `frameworkErrors` server option: errors raised before routing (a malformed
 * percent-escape in the URL) otherwise bypass the error handler and hooks, answering in
 * Fastify's own format without the API version header.
 */
export function frameworkErrorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  reply.header('docker-distribution-api-version', 'registry/2.0');
  const onV2 = request.url === '/v2' || request.url.startsWith('/v2/');
  const re =
    err.code === 'FST_ERR_BAD_URL'
      ? new RegistryError(onV2 ? 'NAME_INVALID' : 'BAD_REQUEST', 'malformed URL', { url: request.url })
      : err;
  sendError(re, request, reply);
}
