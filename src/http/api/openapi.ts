/**
 * GET /api/v1/openapi.json — an OpenAPI 3.1 description of the JSON API (what the web UI and
 * scripts call). Hand-written next to the routes; test/integration/ui-api-openapi.test.ts
 * checks that every /api/v1 route Fastify knows is described here and vice versa.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { docsPage } from './docs-page.ts';
import { definedRoutes, route, type RouteSpec, serve, successStatus } from './route.ts';
// Every module declaring routes, so the document (and scripts/gen-api-types.ts) sees them all.
import './admin-gc.ts';
import './meta.ts';
import './package-views.ts';
import './packages.ts';
import './policies.ts';
import './trash.ts';

type Schema = Record<string, unknown>;

const str: Schema = { type: 'string' };
const int: Schema = { type: 'integer' };
const bool: Schema = { type: 'boolean' };
const time: Schema = { type: 'string', format: 'date-time' };
const nullable = (s: Schema): Schema => ({ anyOf: [s, { type: 'null' }] });
const arr = (items: Schema): Schema => ({ type: 'array', items });
const obj = (properties: Record<string, Schema>, required: string[] = Object.keys(properties)): Schema => ({ type: 'object', properties, required });
const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const visibility: Schema = { type: 'string', enum: ['public', 'internal', 'private'] };
const role: Schema = { type: 'string', enum: ['read', 'write', 'admin'] };
const kind: Schema = { type: 'string', enum: ['image', 'chart', 'artifact'] };

const schemas: Record<string, Schema> = {
  Error: obj({ errors: arr(obj({ code: str, message: str, detail: {} })) }),
  User: obj({ username: str, email: nullable(str), admin: bool, disabled: bool, createdAt: time }),
  Session: obj({ signedIn: bool, user: nullable({ allOf: [ref('User'), obj({ orgs: arr(obj({ org: str, role: str })) })] }), csrfToken: nullable(str) }, ['signedIn', 'user', 'csrfToken']),
  Token: obj({ id: str, name: str, hint: str, scopes: arr(str), owners: nullable(arr(str)), packages: nullable(arr(str)), expiresAt: nullable(time), lastUsedAt: nullable(time), createdAt: time }, ['id', 'name', 'scopes']),
  CreatedToken: { allOf: [ref('Token'), obj({ token: { type: 'string', description: 'The secret, shown only in this response.' } })] },
  PullSecret: obj({ token: str, username: str, server: str, secretName: str, kubectl: str }, ['token', 'kubectl']),
  Org: obj({
    name: str,
    defaultVisibility: visibility,
    createdAt: time,
    members: arr(obj({ username: str, role: { type: 'string', enum: ['owner', 'member'] } })),
    teams: arr(obj({ name: str, description: str, createdAt: time, members: arr(obj({ username: str, role: { type: 'string', enum: ['maintainer', 'member'] } })) })),
    viewerRole: nullable(str),
  }),
  PackageSettings: obj({ name: str, owner: str, visibility, source: nullable(str), createdBy: nullable(str), createdAt: time, updatedAt: time, viewerRole: nullable(role) }),
  Grant: obj({ subjectKind: { type: 'string', enum: ['user', 'team'] }, subject: str, role, createdAt: int }),
  Trust: obj({ id: str, owner: str, repo: nullable(str), issuer: str, audience: str, conditions: { type: 'object', additionalProperties: str }, role: { type: 'string', enum: ['read', 'write'] } }),
  TrustBody: obj(
    { issuer: str, audience: str, conditions: { type: 'object', additionalProperties: str }, role: { type: 'string', enum: ['read', 'write'] }, confirmAnyRepository: bool },
    ['issuer', 'audience', 'conditions', 'role'],
  ),
  PackageListItem: obj({ name: str, path: str, kind, visibility, latest: nullable(str), versions: int, updatedAt: time, downloads: int, description: nullable(str), source: nullable(str) }),
  OwnerPackages: obj({ owner: str, ownerKind: nullable({ type: 'string', enum: ['user', 'org'] }), total: int, packages: arr(ref('PackageListItem')) }),
  File: obj({ mediaType: str, digest: str, size: int, title: nullable(str) }),
  Version: obj({
    digest: str,
    tags: arr(str),
    version: nullable(str),
    prerelease: bool,
    mediaType: str,
    artifactType: nullable(str),
    size: int,
    createdAt: time,
    downloads: int,
    platforms: arr(obj({ os: str, architecture: str, variant: nullable(str), digest: str, size: int })),
    config: nullable(ref('File')),
    files: arr(ref('File')),
    referrers: arr(obj({ digest: str, artifactType: nullable(str), role: { type: 'string', enum: ['signature', 'sbom', 'attestation', 'other'] }, mediaType: str, size: int, createdAt: time, files: arr(ref('File')) }, ['digest', 'role'])),
    annotations: { type: 'object', additionalProperties: str },
  }),
  PackageView: obj({
    name: str,
    owner: str,
    path: str,
    kind,
    visibility,
    source: nullable(str),
    description: nullable(str),
    createdAt: time,
    updatedAt: time,
    viewerRole: nullable(role),
    canAdmin: bool,
    latest: nullable(str),
    registry: str,
    commands: nullable(obj({ docker: str, podman: str })),
    image: nullable(obj({ digest: str, description: nullable(str), labels: { type: 'object', additionalProperties: str }, created: nullable(str), os: nullable(str), architecture: nullable(str) })),
    versions: arr(ref('Version')),
    totalVersions: int,
    downloads: obj({ total: int, last30Days: arr(obj({ day: { type: 'string', format: 'date' }, count: int })) }),
    related: arr(obj({ name: str, kind, relation: { type: 'string', enum: ['chart', 'image', 'artifact'] } })),
  }),
  ChartSummary: obj({ repository: str, name: str, latestVersion: nullable(str), latestPrerelease: nullable(str), appVersion: nullable(str), description: nullable(str), deprecated: bool, versions: int, updated: time }, ['repository', 'name']),
  ChartVersion: obj({ repository: str, name: nullable(str), version: nullable(str), appVersion: nullable(str), description: nullable(str), prerelease: bool, deprecated: bool, digest: str, size: nullable(int), created: time, listed: bool, status: { type: 'string', enum: ['ok', 'failed'] }, error: nullable(str) }, ['digest', 'status']),
  ChartDetail: {
    allOf: [
      ref('ChartVersion'),
      obj({
        metadata: nullable({ type: 'object' }),
        tags: arr(str),
        readme: nullable(obj({ path: nullable(str), text: str })),
        values: nullable(str),
        valuesSchema: nullable(str),
        commands: nullable(obj({ install: str, pull: str, repoAdd: str })),
      }, ['readme', 'values', 'commands']),
    ],
  },
  AuditEntry: obj({ id: str, at: int, actor: str, action: str, target: str, detail: {}, address: nullable(str) }, ['at', 'actor', 'action', 'target']),
};

interface Op {
  summary: string;
  body?: Schema;
  query?: Record<string, Schema>;
  ok: number;
  result?: Schema;
  /** Error statuses beyond 400/401 this operation answers with. */
  errors?: number[];
}

function operation(op: Op, pathParams: string[]): Schema {
  const parameters = [
    ...pathParams.map((name) => ({ name, in: 'path', required: true, schema: str, ...(name === 'package' ? { description: 'The repository path below the owner, slashes escaped as %2F' } : {}) })),
    ...Object.entries(op.query ?? {}).map(([name, schema]) => ({ name, in: 'query', required: false, schema })),
  ];
  const responses: Record<string, Schema> = {
    [String(op.ok)]: op.result ? { description: 'OK', content: { 'application/json': { schema: op.result } } } : { description: 'Done' },
  };
  for (const status of [400, 401, ...(op.errors ?? [])]) {
    responses[String(status)] = { description: 'Error', content: { 'application/json': { schema: ref('Error') } } };
  }
  return {
    summary: op.summary,
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(op.body ? { requestBody: { required: true, content: { 'application/json': { schema: op.body } } } } : {}),
    responses,
  };
}

/** Route table: `METHOD /path/{param}` → operation. */
const ROUTES: Record<string, Op> = {
  'GET /api/v1/session': { summary: 'The signed-in user of the session cookie and its CSRF token', ok: 200, result: ref('Session') },
  'POST /api/v1/session': { summary: 'Sign in: sets the HttpOnly session cookie', body: obj({ username: str, password: str }), ok: 201, result: ref('Session'), errors: [429] },
  'DELETE /api/v1/session': { summary: 'Sign out (needs X-Wharf-CSRF)', ok: 204, errors: [403] },
  'GET /api/v1/user': { summary: 'The caller', ok: 200, result: ref('User') },
  'PUT /api/v1/user/password': { summary: 'Change own password', body: obj({ password: str }), ok: 204 },
  'GET /api/v1/users': { summary: 'All users (site admins)', ok: 200, result: arr(ref('User')), errors: [403] },
  'POST /api/v1/users': { summary: 'Create a user (site admins)', body: obj({ username: str, password: str, email: nullable(str), admin: bool }, ['username', 'password']), ok: 201, result: ref('User'), errors: [403, 409] },
  'GET /api/v1/users/{username}': { summary: 'One user', ok: 200, result: ref('User'), errors: [404] },
  'PATCH /api/v1/users/{username}': { summary: 'Update a user (site admins)', body: obj({ admin: bool, disabled: bool, email: nullable(str) }, []), ok: 200, result: ref('User'), errors: [403, 404] },
  'PUT /api/v1/users/{username}/password': { summary: "Set a user's password", body: obj({ password: str }), ok: 204, errors: [403, 404] },
  'GET /api/v1/user/tokens': { summary: 'Own personal access tokens', ok: 200, result: arr(ref('Token')) },
  'POST /api/v1/user/tokens': {
    summary: 'Create a personal access token (the secret is in this response only)',
    body: obj({ name: str, scopes: arr({ type: 'string', enum: ['read:packages', 'write:packages', 'delete:packages'] }), expiresInDays: nullable(int), owners: nullable(arr(str)), packages: nullable(arr(str)) }, ['name', 'scopes']),
    ok: 201,
    result: ref('CreatedToken'),
    errors: [403],
  },
  'DELETE /api/v1/user/tokens/{id}': { summary: 'Revoke a token', ok: 204, errors: [404] },
  'POST /api/v1/user/pull-secrets': { summary: 'A read-only token for packages and the kubectl line', body: obj({ packages: arr(str), secretName: str, expiresInDays: nullable(int) }, ['packages']), ok: 201, result: ref('PullSecret'), errors: [403, 404] },
  'POST /api/v1/orgs': { summary: 'Create an organization (caller becomes owner)', body: obj({ name: str }), ok: 201, result: ref('Org'), errors: [409] },
  'GET /api/v1/orgs/{org}': { summary: 'An organization; members and teams for members', ok: 200, result: ref('Org'), errors: [404] },
  'PUT /api/v1/orgs/{org}/members/{username}': { summary: 'Add or change a member (org owners)', body: obj({ role: { type: 'string', enum: ['owner', 'member'] } }), ok: 204, errors: [403, 404] },
  'DELETE /api/v1/orgs/{org}/members/{username}': { summary: 'Remove a member (org owners)', ok: 204, errors: [403, 404, 409] },
  'POST /api/v1/orgs/{org}/teams': { summary: 'Create a team (org owners)', body: obj({ name: str, description: str }, ['name']), ok: 201, result: obj({ org: str, name: str }), errors: [403, 409] },
  'DELETE /api/v1/orgs/{org}/teams/{team}': { summary: 'Delete a team', ok: 204, errors: [403, 404] },
  'PUT /api/v1/orgs/{org}/teams/{team}/members/{username}': { summary: 'Add a team member', body: obj({ role: { type: 'string', enum: ['maintainer', 'member'] } }), ok: 204, errors: [403, 404] },
  'DELETE /api/v1/orgs/{org}/teams/{team}/members/{username}': { summary: 'Remove a team member', ok: 204, errors: [403, 404] },
  'PUT /api/v1/owners/{owner}/default-visibility': { summary: "Visibility of the owner's new packages", body: obj({ visibility }), ok: 204, errors: [403, 404] },
  'GET /api/v1/owners/{owner}/charts': { summary: "The owner's charts", ok: 200, result: obj({ owner: str, charts: arr(ref('ChartSummary')) }) },
  'GET /api/v1/charts/{repository}': { summary: 'Chart versions in semver order (`{repository}/versions`) or one version with README, values and helm commands (`{repository}/versions/{version}`)', ok: 200, result: { oneOf: [obj({ repository: str, name: str, latest: nullable(str), versions: arr(ref('ChartVersion')) }), ref('ChartDetail')] }, errors: [403, 404] },
  'GET /api/v1/audit': { summary: 'Audit log (site admins)', query: { limit: int, before: time, actor: str, target: str }, ok: 200, result: arr(ref('AuditEntry')), errors: [403] },
};

/** `/api/v1/users/:username` → `/api/v1/users/{username}`. */
export function openApiPath(spec: RouteSpec): string {
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

function generatedOperation(spec: RouteSpec, components: Record<string, Schema>): Schema {
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
    responses[String(status)] ??= { description: 'Error', content: { 'application/json': { schema: ref('Error') } } };
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

/** Legacy hand-written operations (routes not yet declared with route(); none should remain). */
function legacyPaths(paths: Record<string, Record<string, Schema>>): void {
  for (const [key, op] of Object.entries(ROUTES)) {
    const [method, path] = key.split(' ') as [string, string];
    const params = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] ?? '');
    paths[path] ??= {};
    paths[path][method.toLowerCase()] = operation(op, params);
  }
}

export function openApiDocument(): Schema {
  const paths: Record<string, Record<string, Schema>> = {};
  const components: Record<string, Schema> = {};
  generatedPaths(paths, components);
  for (const [name, schema] of Object.entries(schemas)) components[name] ??= schema;
  legacyPaths(paths);
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
  return [...definedRoutes().map((r) => `${r.method} ${openApiPath(r)}`), ...Object.keys(ROUTES)];
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
  const doc = openApiDocument();
  serve(app, getOpenApi, async ({ reply }) => {
    reply.header('content-type', 'application/json; charset=utf-8');
    return doc;
  });
  serve(app, getApiDocs, async ({ reply }) => reply.header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-cache').send(docsPage()));
}
