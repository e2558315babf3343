/**
 * One declaration per /api/v1 route (docs/adr/0019-api-route-schemas.md): its method, URL,
 * OpenAPI identity (operationId, tags, summary, examples) and zod schemas for the path
 * parameters, query, body and each response. `defineRoute` registers the Fastify route with the
 * request validated from those schemas (400 in the API's error format) and records the route
 * for the OpenAPI document (openapi.ts) and the UI's generated types (scripts/gen-api-types.ts).
 * The handler gets typed params/query, a body it validates when it asks for it (so it can
 * authorize first), and must return the success response's type.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { RegistryError } from '../../errors.ts';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** A response body schema, or null for a response without one (204, or a body described elsewhere). */
type ResponseSchema = z.ZodType | null;

export interface RouteSpec<
  P extends z.ZodType | undefined = z.ZodType,
  Q extends z.ZodType | undefined = z.ZodType,
  B extends z.ZodType | undefined = z.ZodType,
  R extends Record<number, ResponseSchema> = Record<number, ResponseSchema>,
> {
  method: HttpMethod;
  /** Fastify syntax (`/api/v1/users/:username`). */
  url: string;
  /** The path in the OpenAPI document when Fastify's differs (a wildcard). */
  openApiPath?: string;
  /** Unique, camelCase; also the name of the operation in ui/src/api.gen.ts. */
  operationId: string;
  tags: string[];
  summary: string;
  description?: string;
  params?: P;
  query?: Q;
  body?: B;
  /** Example request body, shown in the document. */
  bodyExample?: unknown;
  /** The success response first (its status is what the route answers with), by status. */
  responses: R;
  /** Example of the success response, shown in the document. */
  responseExample?: unknown;
  /** Error statuses beyond 400 and 401 this route answers with (all in the Error format). */
  errors?: number[];
}

type Infer<T, Fallback> = T extends z.ZodType ? z.output<T> : Fallback;
type SuccessStatus<R> = Extract<keyof R, 200 | 201 | 202 | 204>;
/** What a handler returns: the input type of its success response's schema (undefined for none). */
export type RouteResult<R> = R[SuccessStatus<R>] extends z.ZodType ? z.input<R[SuccessStatus<R>]> : undefined;

export interface RouteInput<P, Q, B> {
  params: Infer<P, Record<string, never>>;
  query: Infer<Q, Record<string, never>>;
  /** Validates the body on call: a handler authorizes before it reads the body. */
  body: () => Infer<B, undefined>;
  req: FastifyRequest;
  reply: FastifyReply;
}

/** A route of any schemas (what the document builder reads). */
export type AnyRouteSpec = RouteSpec<z.ZodType | undefined, z.ZodType | undefined, z.ZodType | undefined>;

/** Every route defined so far, in definition order: the OpenAPI document and UI types are built from it. */
const DEFINED: AnyRouteSpec[] = [];

export function definedRoutes(): readonly AnyRouteSpec[] {
  return DEFINED;
}

/**
 * Responses are checked against their schema outside production (tests and development): a
 * mismatch is a 500 naming the field, so a service that drifts from its schema fails its tests;
 * production sends what the handler returned (ADR 0019).
 */
const checkResponses = process.env['NODE_ENV'] !== 'production';

function issues(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
}

function parse<T extends z.ZodType>(schema: T, value: unknown, what: string): z.output<T> {
  const r = schema.safeParse(value);
  if (!r.success) throw new RegistryError('BAD_REQUEST', `invalid ${what}`, { issues: issues(r.error) });
  return r.data;
}

/** The success status of a spec: its first 2xx response. */
export function successStatus(spec: AnyRouteSpec): number {
  const status = Object.keys(spec.responses).map(Number).find((s) => s >= 200 && s < 300);
  if (status === undefined) throw new Error(`${spec.operationId}: no 2xx response`);
  return status;
}

/**
 * Describes a route without registering it: for a module that registers its routes inside a
 * function (the deps arrive there), `const spec = route({...})` at module level keeps the schema
 * importable by the document builder whether or not the route is enabled in this deployment.
 */
export function route<P extends z.ZodType | undefined = undefined, Q extends z.ZodType | undefined = undefined, B extends z.ZodType | undefined = undefined, R extends Record<number, ResponseSchema> = Record<number, ResponseSchema>>(
  spec: RouteSpec<P, Q, B, R>,
): RouteSpec<P, Q, B, R> {
  if (DEFINED.some((d) => d.operationId === spec.operationId)) throw new Error(`duplicate operationId ${spec.operationId}`);
  DEFINED.push(spec);
  return spec;
}

/** Registers a route declared with `route()` on the app (or the /api/v1 plugin scope). */
export function serve<P extends z.ZodType | undefined, Q extends z.ZodType | undefined, B extends z.ZodType | undefined, R extends Record<number, ResponseSchema>>(
  app: FastifyInstance,
  spec: RouteSpec<P, Q, B, R>,
  handler: (input: RouteInput<P, Q, B>) => Promise<RouteResult<R>>,
): void {
  const status = successStatus(spec);
  const ok = (spec.responses as Record<number, ResponseSchema>)[status] ?? null;
  app.route({
    method: spec.method,
    url: spec.url,
    handler: async (req, reply) => {
      const params = spec.params ? parse(spec.params, req.params ?? {}, 'path parameters') : {};
      const query = spec.query ? parse(spec.query, req.query ?? {}, 'query') : {};
      const body = () => (spec.body ? parse(spec.body, req.body ?? {}, 'request body') : undefined);
      const result = await handler({ params, query, body, req, reply } as RouteInput<P, Q, B>);
      if (reply.sent) return reply;
      reply.code(status);
      if (ok === null) return reply.send();
      if (checkResponses) {
        const r = ok.safeParse(result);
        if (!r.success) {
          req.log.error({ operationId: spec.operationId, issues: issues(r.error) }, 'response does not match its schema');
          throw new RegistryError('INTERNAL', `response of ${spec.operationId} does not match its schema`);
        }
      }
      return reply.send(result);
    },
  });
}
