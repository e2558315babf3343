/**
 * GET /api/v1/openapi.json — an OpenAPI 3.1 description of the JSON API (what the web UI and
 * scripts call), generated from the routes declared with route() (route.ts) and their zod
 * schemas; GET /api/v1/docs renders it. test/integration/ui-api-openapi.test.ts checks that
 * every /api/v1 route Fastify knows is described here and vice versa.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { DOCS_CSP, docsPage } from './docs-page.ts';
import { errorSchema } from './schemas.ts';
import { definedRoutes, route, type AnyRouteSpec, serve, successStatus } from './route.ts';
// Every module declaring routes, so the document (and scripts/gen-api-types.ts) sees them all.
import './accounts.ts';
import './admin-accounts.ts';
import './admin-gc.ts';
import './admin-settings.ts';
import './charts.ts';
import './meta.ts';
import './package-views.ts';
import './packages.ts';
import './policies.ts';
import './proxies.ts';
import './session.ts';
import './oidc.ts';
import './tokens.ts';
import './trash.ts';
import './webhooks.ts';

type Schema = Record<string, unknown>;

const str: Schema = { type: 'string' };
const errorRef: Schema = { $ref: '#/components/schemas/Error' };

/** `/api/v1/users/:username` → `/api/v1/users/{username}`. */
export function openApiPath(spec: AnyRouteSpec): string {
  return spec.openApiPath ?? spec.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/**
 * JSON Schema of a zod schema, its named parts (`.meta({ id })`) moved to the document's
 * components and referenced from there. A named schema whose input shape differs from its
 * output shape (defaults, coercions) is filed as `<Name>Input` for request bodies and queries.
 */
function convert(schema: z.ZodType, io: 'input' | 'output', components: Record<string, Schema>): Schema {
  const { $schema: _drop, $defs, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Schema & { $defs?: Record<string, Schema> };
  const defs = Object.entries($defs ?? {});
  // Where each definition is filed: its name, or `<Name>Input` when the input shape differs.
  const rename = new Map<string, string>();
  const relink = (value: Schema): Schema =>
    JSON.parse(JSON.stringify(value).replace(/"#\/\$defs\/([^"]+)"/g, (_m, name: string) => `"#/components/schemas/${rename.get(name) ?? name}"`)) as Schema;
  for (const [name] of defs) rename.set(name, name);
  if (io === 'input') {
    // A pass to a fixed point: a definition differs when its text differs once its links are resolved.
    for (let changed = true; changed; ) {
      changed = false;
      for (const [name, def] of defs) {
        const existing = components[name];
        if (rename.get(name) === name && existing !== undefined && JSON.stringify(existing) !== JSON.stringify(relink(def))) {
          rename.set(name, `${name}Input`);
          changed = true;
        }
      }
    }
  }
  for (const [name, def] of defs) {
    const target = rename.get(name) ?? name;
    const linked = relink(def);
    const existing = components[target];
    if (existing !== undefined && JSON.stringify(existing) !== JSON.stringify(linked)) throw new Error(`two different schemas are named ${target}`);
    components[target] = linked;
  }
  return relink(rest);
}

const pathDescriptions: Record<string, string> = {
  package: 'The repository path below the owner, slashes escaped as %2F',
  repository: 'The full repository path, then `/versions` or `/versions/<version>`',
};

function generatedOperation(spec: AnyRouteSpec, components: Record<string, Schema>): Schema {
  const parameters: Schema[] = [];
  const pathNames = [...openApiPath(spec).matchAll(/\{([^}]+)\}/g)].map((m) => m[1] ?? '');
  const paramProps = (spec.params ? convert(spec.params, 'input', components)['properties'] : undefined) as Record<string, Schema> | undefined;
  for (const name of pathNames) {
    const description = pathDescriptions[name];
    parameters.push({ name, in: 'path', required: true, schema: paramProps?.[name] ?? str, ...(description ? { description } : {}) });
  }
  if (spec.query) {
    const q = convert(spec.query, 'input', components);
    const required = new Set((q['required'] ?? []) as string[]);
    for (const [name, schema] of Object.entries((q['properties'] ?? {}) as Record<string, Schema>)) {
      parameters.push({ name, in: 'query', required: required.has(name), schema });
    }
  }
  const responses: Record<string, Schema> = {};
  const ok = successStatus(spec);
  for (const [status, schema] of Object.entries(spec.responses)) {
    const example = Number(status) === ok && spec.responseExample !== undefined ? { example: spec.responseExample } : {};
    responses[status] = schema
      ? { description: Number(status) < 300 ? 'OK' : 'Error', content: { 'application/json': { schema: convert(schema, 'output', components), ...example } } }
      : { description: 'Done' };
  }
  for (const status of [400, 401, ...(spec.errors ?? [])]) {
    responses[String(status)] ??= { description: 'Error', content: { 'application/json': { schema: errorRef } } };
  }
  return {
    operationId: spec.operationId,
    tags: spec.tags,
    summary: spec.summary,
    ...(spec.description ? { description: spec.description } : {}),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(spec.body
      ? {
          requestBody: {
            required: true,
            content: { 'application/json': { schema: convert(spec.body, 'input', components), ...(spec.bodyExample !== undefined ? { example: spec.bodyExample } : {}) } },
          },
        }
      : {}),
    responses,
  };
}

function generatedPaths(paths: Record<string, Record<string, Schema>>, components: Record<string, Schema>): void {
  // Named schemas are filed under their name in their response (output) shape first, so a
  // request that uses one in a different input shape gets `<Name>Input`, whatever the route order.
  for (const spec of definedRoutes()) for (const schema of Object.values(spec.responses)) if (schema) convert(schema, 'output', components);
  for (const spec of definedRoutes()) {
    const path = openApiPath(spec);
    paths[path] ??= {};
    paths[path][spec.method.toLowerCase()] = generatedOperation(spec, components);
  }
}

export function openApiDocument(): Schema {
  const paths: Record<string, Record<string, Schema>> = {};
  const components: Record<string, Schema> = {};
  convert(errorSchema, 'output', components);
  generatedPaths(paths, components);
  return {
    openapi: '3.1.0',
    info: {
      title: 'Wharf API',
      version: 'v1',
      description:
        'JSON API of Wharf. Authenticate with a personal access token (`Authorization: Bearer wharf_pat_…`), Basic credentials, or the web UI session cookie; cookie-authenticated state-changing calls need the `X-Wharf-CSRF` header with the session CSRF token. Errors are `{"errors":[{code,message,detail}]}`; packages the caller cannot read answer 404.',
    },
    components: {
      schemas: components,
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer' },
        basic: { type: 'http', scheme: 'basic' },
        session: { type: 'apiKey', in: 'cookie', name: 'wharf_session' },
      },
    },
    security: [{ bearer: [] }, { basic: [] }, { session: [] }, {}],
    paths,
  };
}

/** The routes described (`METHOD /path/{param}`), for the test that keeps this file honest. */
export function describedRoutes(): string[] {
  return definedRoutes().map((r) => `${r.method} ${openApiPath(r)}`);
}

const getOpenApi = route({
  method: 'GET',
  url: '/api/v1/openapi.json',
  operationId: 'getOpenApi',
  tags: ['meta'],
  summary: 'This document (generated from the routes\' zod schemas)',
  responses: { 200: z.record(z.string(), z.unknown()) },
});

const getApiDocs = route({
  method: 'GET',
  url: '/api/v1/docs',
  operationId: 'getApiDocs',
  tags: ['meta'],
  summary: 'This document rendered as an HTML page (text/html)',
  responses: { 200: null },
});

export function registerOpenApi(app: FastifyInstance): void {
  // Made on first request: the document and its page are a few MiB of heap that a registry
  // serving pulls never needs (docs/benchmarks.md, memory).
  let doc: Schema | null = null;
  let page: string | null = null;
  const documentOnce = (): Schema => (doc ??= openApiDocument());
  serve(app, getOpenApi, async ({ reply }) => {
    reply.header('content-type', 'application/json; charset=utf-8');
    return documentOnce();
  });
  serve(app, getApiDocs, async ({ reply }) => {
    page ??= docsPage(documentOnce());
    return reply.header('content-type', 'text/html; charset=utf-8').header('content-security-policy', DOCS_CSP).header('cache-control', 'no-cache').send(page);
  });
}
