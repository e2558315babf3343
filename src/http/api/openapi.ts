/**
 * GET /api/v1/openapi.json — an OpenAPI 3.1 description of the JSON API (what the web UI and
 * scripts call). Hand-written next to the routes; test/integration/ui-api-openapi.test.ts
 * checks that every /api/v1 route Fastify knows is described here and vice versa.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import * as trash from './trash.ts';
import * as policies from './policies.ts';
import * as hooks from './webhooks.ts';
import { auditRoute } from './accounts.ts';
import { getGcRoute, postGcRoute } from './admin-gc.ts';

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

/** A route's exported zod schema as JSON Schema (the routes written that way describe themselves). */
const json = (schema: z.ZodType): Schema => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema) as Schema;
  return rest;
};

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

/** JSON Schema of a route's zod schema (routes that export one; see admin-gc.ts). */
function fromZod(schema: z.ZodType, io: 'input' | 'output' = 'output'): Schema {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Schema;
  return rest;
}

function queryFromZod(schema: z.ZodType): Record<string, Schema> {
  return (fromZod(schema, 'input')['properties'] ?? {}) as Record<string, Schema>;
}

/** Route table: `METHOD /path/{param}` → operation. */
const ROUTES: Record<string, Op> = {
  'GET /api/v1/session': { summary: 'The signed-in user of the session cookie and its CSRF token', ok: 200, result: ref('Session') },
  'POST /api/v1/session': { summary: 'Sign in: sets the HttpOnly session cookie', body: obj({ username: str, password: str }), ok: 201, result: ref('Session'), errors: [429] },
  'DELETE /api/v1/session': { summary: 'Sign out (needs X-Wharf-CSRF)', ok: 204, errors: [403] },
  'GET /api/v1/openapi.json': { summary: 'This document', ok: 200, result: { type: 'object' } },
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
  'GET /api/v1/version': { summary: 'The version of this Wharf (public)', ok: 200, result: obj({ name: str, version: str, revision: nullable(str), node: str }) },
  'POST /api/v1/orgs': { summary: 'Create an organization (caller becomes owner)', body: obj({ name: str }), ok: 201, result: ref('Org'), errors: [409] },
  'GET /api/v1/orgs/{org}': { summary: 'An organization; members and teams for members', ok: 200, result: ref('Org'), errors: [404] },
  'PUT /api/v1/orgs/{org}/members/{username}': { summary: 'Add or change a member (org owners)', body: obj({ role: { type: 'string', enum: ['owner', 'member'] } }), ok: 204, errors: [403, 404] },
  'DELETE /api/v1/orgs/{org}/members/{username}': { summary: 'Remove a member (org owners)', ok: 204, errors: [403, 404, 409] },
  'POST /api/v1/orgs/{org}/teams': { summary: 'Create a team (org owners)', body: obj({ name: str, description: str }, ['name']), ok: 201, result: obj({ org: str, name: str }), errors: [403, 409] },
  'DELETE /api/v1/orgs/{org}/teams/{team}': { summary: 'Delete a team', ok: 204, errors: [403, 404] },
  'PUT /api/v1/orgs/{org}/teams/{team}/members/{username}': { summary: 'Add a team member', body: obj({ role: { type: 'string', enum: ['maintainer', 'member'] } }), ok: 204, errors: [403, 404] },
  'DELETE /api/v1/orgs/{org}/teams/{team}/members/{username}': { summary: 'Remove a team member', ok: 204, errors: [403, 404] },
  'PUT /api/v1/owners/{owner}/default-visibility': { summary: "Visibility of the owner's new packages", body: obj({ visibility }), ok: 204, errors: [403, 404] },
  'GET /api/v1/owners/{owner}/packages': { summary: "The owner's readable packages (settings view)", ok: 200, result: arr(ref('PackageSettings')) },
  'GET /api/v1/owners/{owner}/package-views': { summary: "The owner's readable packages with kind, latest version and downloads", query: { kind, q: str }, ok: 200, result: ref('OwnerPackages'), errors: [404] },
  'GET /api/v1/owners/{owner}/charts': { summary: "The owner's charts", ok: 200, result: obj({ owner: str, charts: arr(ref('ChartSummary')) }) },
  'GET /api/v1/owners/{owner}/trusts': { summary: 'CI issuers trusted for every package of the owner', ok: 200, result: arr(ref('Trust')), errors: [403] },
  'POST /api/v1/owners/{owner}/trusts': { summary: 'Trust a CI issuer for every package of the owner; conditions that pin no repository need confirmAnyRepository: true', body: ref('TrustBody'), ok: 201, result: ref('Trust'), errors: [400, 403] },
  'DELETE /api/v1/trusts/{id}': { summary: 'Remove a CI trust', ok: 204, errors: [403, 404] },
  'GET /api/v1/packages/{owner}/{package}': { summary: 'Package settings summary and the caller role', ok: 200, result: ref('PackageSettings'), errors: [404] },
  'PATCH /api/v1/packages/{owner}/{package}': { summary: 'Change visibility (admins)', body: obj({ visibility }), ok: 200, result: ref('PackageSettings'), errors: [403, 404] },
  'DELETE /api/v1/packages/{owner}/{package}': { summary: 'Move the package to the trash (admins); answers with the trash entry', ok: 200, result: json(trash.trashEntrySchema), errors: [403, 404] },
  'GET /api/v1/packages/{owner}/{package}/view': { summary: 'The package page', ok: 200, result: ref('PackageView'), errors: [404] },
  'DELETE /api/v1/packages/{owner}/{package}/versions/{digest}': { summary: 'Move a version (with its platform manifests and referrers) to the trash (admins)', ok: 200, result: json(trash.trashEntrySchema), errors: [403, 404, 409] },
  'GET /api/v1/packages/{owner}/{package}/usage': { summary: 'Bytes the package stores (live and trashed)', ok: 200, result: json(trash.packageUsageRoute.response), errors: [404] },
  'GET /api/v1/owners/{owner}/usage': { summary: "Bytes the owner stores, deduplicated across its packages, and per package (owner's members)", ok: 200, result: json(trash.ownerUsageRoute.response), errors: [403] },
  'GET /api/v1/admin/usage': { summary: 'Bytes stored site-wide (deduplicated) and per owner (site admins)', ok: 200, result: json(trash.siteUsageRoute.response), errors: [403] },
  'GET /api/v1/owners/{owner}/trash': { summary: "The owner's trash entries the caller may restore or purge", ok: 200, result: json(trash.ownerTrashRoute.response) },
  'GET /api/v1/admin/trash': { summary: 'Every trash entry (site admins)', ok: 200, result: json(trash.adminTrashRoute.response), errors: [403] },
  'GET /api/v1/trash/{id}': { summary: 'One trash entry', ok: 200, result: json(trash.trashEntryRoute.response), errors: [404] },
  'POST /api/v1/trash/{id}/restore': { summary: 'Restore an entry with its tags (a tag re-used meanwhile stays where it is)', ok: 200, result: json(trash.restoreTrashRoute.response), errors: [404, 409] },
  'DELETE /api/v1/trash/{id}': { summary: 'Purge an entry now (GC frees its bytes on its next run)', ok: 200, result: json(trash.purgeTrashRoute.response), errors: [404] },
  'POST /api/v1/admin/trash/purge': { summary: 'Purge every expired entry now: a run of the trash.purge job (site admins)', ok: 200, result: json(trash.purgeExpiredRoute.response), errors: [403] },
  'GET /api/v1/packages/{owner}/{package}/grants': { summary: 'Access grants (admins)', ok: 200, result: arr(ref('Grant')), errors: [403, 404] },
  'PUT /api/v1/packages/{owner}/{package}/grants': { summary: 'Grant a user or team a role (admins)', body: obj({ subjectKind: { type: 'string', enum: ['user', 'team'] }, subject: str, role }), ok: 204, errors: [403, 404] },
  'DELETE /api/v1/packages/{owner}/{package}/grants': { summary: 'Remove a grant (admins)', query: { subjectKind: str, subject: str }, ok: 204, errors: [403, 404] },
  'GET /api/v1/packages/{owner}/{package}/trusts': { summary: "CI issuers trusted for this package (admins): its own, then the owner's it inherits (repo null)", ok: 200, result: arr(ref('Trust')), errors: [403, 404] },
  'POST /api/v1/packages/{owner}/{package}/trusts': { summary: 'Trust a CI issuer for this package (admins); conditions that pin no repository need confirmAnyRepository: true', body: ref('TrustBody'), ok: 201, result: ref('Trust'), errors: [400, 403, 404] },
  'GET /api/v1/charts/{repository}': { summary: 'Chart versions in semver order (`{repository}/versions`) or one version with README, values and helm commands (`{repository}/versions/{version}`)', ok: 200, result: { oneOf: [obj({ repository: str, name: str, latest: nullable(str), versions: arr(ref('ChartVersion')) }), ref('ChartDetail')] }, errors: [403, 404] },
  'GET /api/v1/admin/gc': {
    summary: 'Garbage collection: recent runs, the running run and the next scheduled one (site admins)',
    query: queryFromZod(getGcRoute.query),
    ok: 200,
    result: fromZod(getGcRoute.response),
    errors: [403],
  },
  'POST /api/v1/admin/gc': {
    summary: 'Start a garbage collection run or dry run; answers at once with its id (site admins, signed in)',
    body: fromZod(postGcRoute.body, 'input'),
    ok: 202,
    result: fromZod(postGcRoute.response),
    errors: [403, 409],
  },
  'GET /api/v1/packages/{owner}/{package}/policy': { summary: "The package's own policy (tag rules, chart overwrite, retention), its owner's defaults and what is in force (admins)", ok: 200, result: json(policies.getPackagePolicyRoute.response), errors: [403, 404] },
  'PUT /api/v1/packages/{owner}/{package}/policy': { summary: "Replace the package's own policy; {} removes it (admins; audited)", body: fromZod(policies.putPackagePolicyRoute.body, 'input'), ok: 200, result: json(policies.putPackagePolicyRoute.response), errors: [400, 403, 404] },
  'GET /api/v1/owners/{owner}/policy': { summary: "The owner's default policy for its packages (owner administrators)", ok: 200, result: json(policies.getOwnerPolicyRoute.response), errors: [403, 404] },
  'PUT /api/v1/owners/{owner}/policy': { summary: "Replace the owner's default policy; {} removes it (owner administrators; audited)", body: fromZod(policies.putOwnerPolicyRoute.body, 'input'), ok: 200, result: json(policies.putOwnerPolicyRoute.response), errors: [400, 403, 404] },
  'POST /api/v1/packages/{owner}/{package}/retention/preview': { summary: 'Dry run: every version, kept or removed, with the rules that decided (optional unsaved rules replace the saved ones)', body: fromZod(policies.previewRoute.body, 'input'), ok: 200, result: json(policies.previewRoute.response), errors: [400, 403, 404] },
  'POST /api/v1/packages/{owner}/{package}/retention/apply': { summary: 'Move what the retention rules remove to the trash now (admins)', ok: 200, result: json(policies.applyRoute.response), errors: [403, 404] },
  'POST /api/v1/owners/{owner}/retention/preview': { summary: 'Dry run over every package of the owner (optional unsaved owner-level rules)', body: fromZod(policies.previewRoute.body, 'input'), ok: 200, result: json(policies.previewRoute.response), errors: [400, 403] },
  'POST /api/v1/owners/{owner}/retention/apply': { summary: 'Apply retention to every package of the owner now (owner administrators)', ok: 200, result: json(policies.applyRoute.response), errors: [403] },
  'POST /api/v1/admin/retention/run': { summary: 'A run of the retention.apply job over every package under a rule (site admins)', ok: 200, result: json(policies.runRetentionRoute.response), errors: [403] },
  'GET /api/v1/owners/{owner}/quota': { summary: "The owner's storage usage (deduplicated, live and in the trash) against its quota (the owner's members)", ok: 200, result: json(policies.ownerQuotaRoute.response), errors: [403] },
  'GET /api/v1/admin/quotas': { summary: "Every owner's usage and quota (site admins)", ok: 200, result: json(policies.adminQuotasRoute.response), errors: [403] },
  'PUT /api/v1/admin/quotas/{owner}': { summary: "Set an owner's quota in bytes; null returns it to the site default quotas.defaultBytes (site admins; audited)", body: fromZod(policies.putQuotaRoute.body, 'input'), ok: 200, result: json(policies.putQuotaRoute.response), errors: [400, 403] },
  'GET /api/v1/audit': {
    summary: 'Audit log, newest first: everything for site admins; `owner=` an organization for its owners (or a user for themself). `format=jsonl` exports JSON lines',
    query: queryFromZod(auditRoute.query),
    ok: 200,
    result: fromZod(auditRoute.response),
    errors: [400, 403],
  },
  'GET /api/v1/owners/{owner}/webhooks': { summary: "The owner's webhooks, for every package (owner administrators)", ok: 200, result: fromZod(hooks.ownerWebhooksRoute.response), errors: [403] },
  'POST /api/v1/owners/{owner}/webhooks': { summary: 'Register a webhook for every package of the owner; the secret is in this answer only', body: fromZod(hooks.createWebhookRoute.body, 'input'), ok: 201, result: fromZod(hooks.createWebhookRoute.response), errors: [400, 403] },
  'GET /api/v1/packages/{owner}/{package}/webhooks': { summary: "The package's own webhooks (package admins)", ok: 200, result: fromZod(hooks.packageWebhooksRoute.response), errors: [403, 404] },
  'POST /api/v1/packages/{owner}/{package}/webhooks': { summary: 'Register a webhook for this package; the secret is in this answer only', body: fromZod(hooks.createWebhookRoute.body, 'input'), ok: 201, result: fromZod(hooks.createWebhookRoute.response), errors: [400, 403, 404] },
  'GET /api/v1/webhooks/{id}': { summary: 'One webhook (never its secret)', ok: 200, result: fromZod(hooks.webhookRoute.response), errors: [404] },
  'PATCH /api/v1/webhooks/{id}': { summary: 'Change the URL, secret, events or active flag', body: fromZod(hooks.updateWebhookRoute.body, 'input'), ok: 200, result: fromZod(hooks.updateWebhookRoute.response), errors: [400, 403, 404] },
  'DELETE /api/v1/webhooks/{id}': { summary: 'Remove a webhook and its delivery log', ok: 204, errors: [403, 404] },
  'POST /api/v1/webhooks/{id}/test': { summary: 'Queue a `ping` delivery (sent within a second); answers with the delivery', ok: 202, result: fromZod(hooks.testWebhookRoute.response), errors: [403, 404] },
  'GET /api/v1/webhooks/{id}/deliveries': { summary: 'The delivery log: status, attempts, latency, response excerpt; newest first', query: queryFromZod(hooks.deliveriesRoute.query), ok: 200, result: fromZod(hooks.deliveriesRoute.response), errors: [403, 404] },
  'GET /api/v1/webhooks/{id}/deliveries/{delivery}': { summary: 'One delivery with the payload it sends', ok: 200, result: fromZod(hooks.deliveryRoute.response), errors: [403, 404] },
  'POST /api/v1/webhooks/{id}/deliveries/{delivery}/redeliver': { summary: 'Send the same payload again as a new delivery', ok: 202, result: fromZod(hooks.redeliverRoute.response), errors: [403, 404] },
};

export function openApiDocument(): Schema {
  const paths: Record<string, Record<string, Schema>> = {};
  for (const [key, op] of Object.entries(ROUTES)) {
    const [method, path] = key.split(' ') as [string, string];
    const params = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] ?? '');
    paths[path] ??= {};
    paths[path][method.toLowerCase()] = operation(op, params);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Wharf API',
      version: 'v1',
      description:
        'JSON API of Wharf. Authenticate with a personal access token (`Authorization: Bearer wharf_pat_…`), Basic credentials, or the web UI session cookie; cookie-authenticated state-changing calls need the `X-Wharf-CSRF` header with the session CSRF token. Errors are `{"errors":[{code,message,detail}]}`; packages the caller cannot read answer 404.',
    },
    components: {
      schemas,
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
  return Object.keys(ROUTES);
}

export function registerOpenApi(app: FastifyInstance): void {
  const doc = JSON.stringify(openApiDocument());
  app.get('/api/v1/openapi.json', async (_req, reply) => reply.header('content-type', 'application/json; charset=utf-8').send(doc));
}
