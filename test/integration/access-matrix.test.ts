/**
 * THE ACCESS MATRIX: every registry endpoint × principal × package visibility, asserting the
 * exact status of each cell and that private content never leaks (blobs through another
 * repository, cross-repository mounts, tag lists, referrers, the catalog, package listings).
 *
 * How to read it
 * --------------
 * The whole expectation comes from two reviewable tables below:
 *   ACTIONS[principal][visibility] — what each principal may do on a package (independent of
 *     the implementation: derived by hand from the issue's rules), and
 *   the conventions of Docker/OCI token auth for a refusal:
 *     - no credentials at all                    → 401 UNAUTHORIZED + Bearer challenge
 *     - a bearer token lacking the scope         → 401 UNAUTHORIZED, error="insufficient_scope"
 *     - Basic credentials that lack the access   → 403 DENIED
 *     - invalid / expired / revoked credentials  → 401 UNAUTHORIZED (invalid_token)
 *     - /api/v1 on a package the caller cannot read → 404 (never 403: names must not leak);
 *       readable but not administrable             → 403; anonymous on a signed-in endpoint → 401
 *
 * Principals (each /v2 cell is run with each way the principal can present itself):
 *   anonymous  no credentials ('none'), or the anonymous token from GET /token ('bearer')
 *   reader     rita: direct `read` grant on the three acme packages
 *   writer     will: `write` through team acme/devs
 *   admin      ada: direct `admin` grant (package admin, not site admin)
 *   other      olga: owner of org globex, no grant on acme
 *   expired    ada's credentials, expired: an expired registry token ('bearer'), an expired PAT ('basic')
 *   revoked    ada's credentials, revoked: a registry token derived from a PAT that was then revoked
 *              ('bearer'), that revoked PAT itself ('basic')
 *   lacking    ada's PAT with read:packages only (the token lacks write/delete)
 *   ci-other   a CI job whose OIDC identity only globex/app trusts (write)
 * 'bearer' = Docker token flow: GET /token with the principal's Basic credentials and the cell's
 * scope, then `Authorization: Bearer <token>`; 'basic' = Basic credentials straight to /v2.
 * /api/v1 cells use one credential each: Basic password (users), PAT as bearer (lacking, expired,
 * revoked), Basic with the OIDC ID token (ci-other), nothing (anonymous).
 * Helm chart cells (/charts, the ChartMuseum API /api/<owner>/charts, /api/v1 chart views) use
 * Basic as Helm sends it (the expired/revoked PAT as the password). Owner-wide listings
 * (index.yaml, chart lists) are filtered, never refused; a single chart goes through the registry
 * gate, so its refusals are 401 (anonymous) and 403 (Basic) like /v2. On the classic repository
 * and the ChartMuseum API, rejected credentials (expired, revoked) count as anonymous, as /token
 * treats them for public content (issue 10; docs/helm.md): they see what anonymous sees.
 *
 * Cells I changed my mind about (the lead lists these in the issue note):
 *   - /api/v1 with a registry token (JWT from /token): first expected it to act as its user; now
 *     401 — a short-lived pull grant for named repositories must not become the whole account
 *     (settings, deletions, minting PATs). Tested in access-token.test.ts.
 *   - GET /token for a rate-limited account asking for a public pull: first expected 429; now 200
 *     with an anonymous token, like wrong credentials (no lock-out from public pulls, and no oracle).
 *   - Refresh tokens for logins with a PAT: first expected one; now none (it would outlive the
 *     PAT's revocation; clients keep the PAT instead, as docker does without a refresh token).
 *   - ci-other on an `internal` package: internal means "any signed-in user"; a CI identity is not
 *     a user, so it gets nothing there (same as anonymous), not read.
 *   - Chart files and ChartMuseum versions of a private owner: I expected "missing" and
 *     "unreadable" to answer alike (no probing of names); they do not yet (401/403 vs 404) — kept
 *     as a todo test below and reported, since those routes belong to the Helm work.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { digestOf } from '../../src/oci/digest.ts';
import { MediaType } from '../../src/oci/mediatypes.ts';
import type { RepoName } from '../../src/oci/name.ts';
import { type OidcIssuer, startOidcIssuer } from '../helpers/access-oidc.ts';
import { chartTgz, injectHttp, pushChart } from '../helpers/charts.ts';
import {
  type AccessApp,
  adminAuth,
  assertStatus,
  basic,
  bearer,
  createOrg,
  createPat,
  createUser,
  ensurePackage,
  json,
  packageUrl,
  type Req,
  type Res,
  SERVICE,
  seedBlob,
  seedExtraManifest,
  seedImage,
  type SeededImage,
  seedReferrer,
  startAccessApp,
  tokenRequest,
} from './access-support.ts';

// ---- the model ------------------------------------------------------------------------------------

type Vis = 'public' | 'internal' | 'private';
type Who = 'anonymous' | 'reader' | 'writer' | 'admin' | 'other' | 'expired' | 'revoked' | 'lacking' | 'ci-other';
type Mode = 'none' | 'bearer' | 'basic';
type Action = 'pull' | 'push' | 'delete';

const VIS: readonly Vis[] = ['public', 'internal', 'private'];
const WHO: readonly Who[] = ['anonymous', 'reader', 'writer', 'admin', 'other', 'expired', 'revoked', 'lacking', 'ci-other'];
const MODES: Record<Who, Mode[]> = {
  anonymous: ['none', 'bearer'],
  reader: ['bearer', 'basic'],
  writer: ['bearer', 'basic'],
  admin: ['bearer', 'basic'],
  other: ['bearer', 'basic'],
  expired: ['bearer', 'basic'],
  revoked: ['bearer', 'basic'],
  lacking: ['bearer', 'basic'],
  'ci-other': ['bearer', 'basic'],
};
const INVALID = new Set<Who>(['expired', 'revoked']);

/** What each principal may do on the acme package of each visibility. THE table to review. */
const ACTIONS: Record<Who, Record<Vis, string>> = {
  anonymous: { public: 'pull', internal: '', private: '' },
  reader: { public: 'pull', internal: 'pull', private: 'pull' },
  writer: { public: 'pull,push', internal: 'pull,push', private: 'pull,push' },
  admin: { public: 'pull,push,delete', internal: 'pull,push,delete', private: 'pull,push,delete' },
  other: { public: 'pull', internal: 'pull', private: '' },
  expired: { public: '', internal: '', private: '' }, // credentials are refused before any role applies
  revoked: { public: '', internal: '', private: '' },
  lacking: { public: 'pull', internal: 'pull', private: 'pull' }, // admin role ∩ read:packages
  'ci-other': { public: 'pull', internal: '', private: '' }, // trusted by globex/app only
};
const may = (who: Who, vis: Vis, a: Action): boolean => ACTIONS[who][vis].split(',').includes(a);

/** The package of each visibility, and the other owner's package. */
const PKG: Record<Vis, string> = { public: 'acme/pub', internal: 'acme/int', private: 'acme/priv' };
/** A Helm chart package of each visibility, with the same grants (`helm push … oci://…/acme/charts`). */
const CHART: Record<Vis, string> = { public: 'acme/charts/c-public', internal: 'acme/charts/c-internal', private: 'acme/charts/c-private' };
const chartName = (vis: Vis) => `c-${vis}`;
const GLOBEX = 'globex/app';
/** Who can read globex/app (private): its org owner and the CI job it trusts. */
const READS_GLOBEX = new Set<Who>(['other', 'ci-other']);

/** Where each principal may push, for cross-repository mounts (null: nowhere). */
const PUSH_TARGET: Record<Who, string | null> = {
  anonymous: null,
  reader: 'rita/scratch',
  writer: 'will/scratch',
  admin: 'ada/scratch',
  other: 'olga/scratch',
  expired: null,
  revoked: null,
  lacking: null, // a read-only token pushes nowhere
  'ci-other': GLOBEX,
};

/** The status a refused /v2 request gets, by how the caller presented itself. */
function refusal(who: Who, mode: Mode): number {
  if (INVALID.has(who)) return 401;
  return mode === 'basic' ? 403 : 401;
}

function v2Expect(who: Who, mode: Mode, vis: Vis, need: Action[], success: number): number {
  if (INVALID.has(who)) return 401;
  return need.every((a) => may(who, vis, a)) ? success : refusal(who, mode);
}

function apiRead(who: Who, vis: Vis, success: number): number {
  if (INVALID.has(who)) return 401;
  return may(who, vis, 'pull') ? success : 404;
}

function apiAdmin(who: Who, vis: Vis, success: number): number {
  if (INVALID.has(who) || who === 'anonymous') return 401;
  if (!may(who, vis, 'pull')) return 404;
  return may(who, vis, 'delete') ? success : 403;
}

/** A refused chart request by one of Helm's credentials (Basic, or none) follows the registry gate. */
function chartGate(who: Who, vis: Vis, need: Action[], success: number): number {
  return v2Expect(who, who === 'anonymous' ? 'none' : 'basic', vis, need, success);
}

/** Who a principal is to the classic repository and the ChartMuseum API: rejected credentials are anonymous. */
function chartReader(who: Who): Who {
  return INVALID.has(who) ? 'anonymous' : who;
}

/** The chart names a principal can see (the principal is read back from the cell being verified). */
let currentWho: Who = 'anonymous';
function chartsReadable(_res: Res): string[] {
  return VIS.filter((v) => may(chartReader(currentWho), v, 'pull')).map(chartName).sort();
}

/** The same for the /api/v1 chart views, where rejected credentials are refused. */
function chartsReadableApi(_res: Res): string[] {
  return VIS.filter((v) => may(currentWho, v, 'pull')).map(chartName).sort();
}

/** Every package a principal can read (catalog and listings must show exactly these). */
function readable(who: Who): string[] {
  const out = VIS.filter((v) => may(who, v, 'pull')).flatMap((v) => [PKG[v], CHART[v]]);
  if (READS_GLOBEX.has(who)) out.push(GLOBEX);
  return out.sort();
}

// ---- fixtures -----------------------------------------------------------------------------------

let app: AccessApp;
let issuer: OidcIssuer;
const images = {} as Record<Vis, SeededImage>;
const referrers = {} as Record<Vis, string>;
const charts = {} as Record<Vis, { digest: string; tgz: Buffer }>;
/** Basic credentials per principal (for 'basic' mode and for getting tokens in 'bearer' mode). */
const BASIC = {} as Record<Who, string | undefined>;
/** Pre-made bearer tokens for principals whose tokens cannot be fetched now (expired, revoked). */
const FIXED_BEARER = {} as Partial<Record<Who, string>>;
/** How each principal calls /api/v1. */
const API_AUTH = {} as Record<Who, string | undefined>;
let ciIdToken = '';
let counter = 0;
const unique = (what: string) => `${what}-${++counter}`;

const GRANTS = async (repo: string) => {
  const now = app.clock.now;
  await app.wharf.metadata.packages.putGrant(repo, { subjectKind: 'user', subject: 'rita', role: 'read', now });
  await app.wharf.metadata.packages.putGrant(repo, { subjectKind: 'team', subject: 'acme/devs', role: 'write', now });
  await app.wharf.metadata.packages.putGrant(repo, { subjectKind: 'user', subject: 'ada', role: 'admin', now });
};

/** A fresh acme package of `vis` with the standard grants (for destructive cells). */
async function disposablePackage(vis: Vis): Promise<RepoName> {
  const name = await ensurePackage(app, `acme/${unique(`del-${vis}`)}`, vis);
  await GRANTS(name);
  await seedImage(app, name, 'v1');
  return name;
}

before(async () => {
  issuer = await startOidcIssuer();
  app = await startAccessApp();
  const oscar = await createUser(app, 'oscar'); // owner of org acme
  const [rita, will, ada, olga] = await Promise.all(['rita', 'will', 'ada', 'olga'].map((u) => createUser(app, u)));
  await createUser(app, 'dummy');
  if (!rita || !will || !ada || !olga) throw new Error('users');
  await createOrg(app, oscar.auth, 'acme');
  assertStatus(await app.req({ method: 'POST', url: '/api/v1/orgs/acme/teams', auth: oscar.auth, payload: { name: 'devs' } }), 201, 'team');
  assertStatus(await app.req({ method: 'PUT', url: '/api/v1/orgs/acme/teams/devs/members/will', auth: oscar.auth, payload: { role: 'member' } }), 204, 'will');
  await createOrg(app, olga.auth, 'globex');

  for (const vis of VIS) {
    const repo = await ensurePackage(app, PKG[vis], vis);
    await GRANTS(repo);
    images[vis] = await seedImage(app, repo, `release-${vis}`);
    referrers[vis] = await seedReferrer(app, images[vis], `application/vnd.example.sbom.${vis}`);
  }
  await seedImage(app, GLOBEX, 'v1');
  const adminHttp = injectHttp(app.wharf.app, adminAuth());
  for (const vis of VIS) {
    const repo = await ensurePackage(app, CHART[vis], vis);
    await GRANTS(repo);
    charts[vis] = await pushChart(adminHttp, repo, { name: chartName(vis), version: '1.0.0' });
  }
  await app.wharf.events.settled();
  const trust = await app.req({
    method: 'POST',
    url: packageUrl(GLOBEX, '/trusts'),
    auth: olga.auth,
    payload: { issuer: issuer.url, audience: 'wharf', conditions: { repository: 'globex/app' }, role: 'write' },
  });
  assertStatus(trust, 201, 'globex trust');
  ciIdToken = issuer.sign({ aud: 'wharf', repository: 'globex/app', ref: 'refs/heads/main' }, {});

  const lacking = await createPat(app, ada.auth, { name: 'read only', scopes: ['read:packages'] });
  const revoked = await createPat(app, ada.auth, { name: 'to revoke', scopes: ['write:packages', 'delete:packages'] });
  const allScopes = [...VIS.map((v) => `repository:${PKG[v]}:pull,push,delete`), 'repository:ada/scratch:pull,push,delete', 'registry:catalog:*'];
  FIXED_BEARER.revoked = json<{ token: string }>(await tokenRequest(app, basic('ada', revoked.token), allScopes)).token;
  assertStatus(await app.req({ method: 'DELETE', url: `/api/v1/user/tokens/${revoked.id}`, auth: ada.auth }), 204, 'revoke');
  // Expired credentials: made in the past on the app's clock.
  const now = app.clock.now;
  app.clock.now = now - 2 * 86_400_000;
  const expired = await createPat(app, ada.auth, { name: 'expired', scopes: ['write:packages', 'delete:packages'], expiresInDays: 1 });
  app.clock.now = now - 3_600_000;
  FIXED_BEARER.expired = json<{ token: string }>(await tokenRequest(app, ada.auth, allScopes)).token;
  app.clock.now = now;

  Object.assign(BASIC, {
    anonymous: undefined,
    reader: rita.auth,
    writer: will.auth,
    admin: ada.auth,
    other: olga.auth,
    expired: basic('ada', expired.token),
    revoked: basic('ada', revoked.token),
    lacking: basic('ada', lacking.token),
    'ci-other': basic('github-actions', ciIdToken),
  });
  Object.assign(API_AUTH, {
    ...BASIC,
    expired: bearer(expired.token),
    revoked: bearer(revoked.token),
    lacking: bearer(lacking.token),
  });
});

after(async () => {
  await app?.close();
  await issuer?.close();
});

// ---- running cells --------------------------------------------------------------------------------

const tokenCache = new Map<string, string>();

/** The Authorization header for a /v2 request by `who` in `mode` needing `scopes`. */
async function v2Auth(who: Who, mode: Mode, scopes: string[]): Promise<string | undefined> {
  if (mode === 'none') return undefined;
  if (mode === 'basic') return BASIC[who];
  const fixed = FIXED_BEARER[who];
  if (fixed) return bearer(fixed);
  const key = `${who} ${scopes.join(' ')}`;
  let token = tokenCache.get(key);
  if (!token) {
    const res = await tokenRequest(app, BASIC[who], scopes);
    assertStatus(res, 200, `token for ${key}`);
    token = json<{ token: string }>(res).token;
    tokenCache.set(key, token);
  }
  return bearer(token);
}

interface Cell {
  who: Who;
  mode: Mode;
  vis: Vis | null;
  expected: number;
  run(): Promise<{ req: Req; res: Res; verify?: (res: Res) => Promise<void> | void }>;
}

interface Row {
  name: string;
  cells(): Cell[];
}

/** Strings of a package that a refused caller must never see. */
function secretsOf(vis: Vis): string[] {
  const img = images[vis];
  return [`release-${vis}`, img.digest, img.layerDigest, img.configDigest, referrers[vis], charts[vis].digest];
}

async function runRow(row: Row): Promise<void> {
  const problems: string[] = [];
  for (const cell of row.cells()) {
    const label = `${cell.who}/${cell.mode}${cell.vis ? `/${cell.vis}` : ''}`;
    currentWho = cell.who;
    const { req, res, verify } = await cell.run();
    if (res.statusCode !== cell.expected) {
      problems.push(`${label}: expected ${cell.expected}, got ${res.statusCode} ${res.body.slice(0, 200)}`);
      continue;
    }
    if (res.statusCode === 401) {
      const challenge = String(res.headers['www-authenticate'] ?? '');
      if (!challenge) problems.push(`${label}: 401 without WWW-Authenticate`);
      if (req.url.startsWith('/v2/') && !/^Bearer realm="http:\/\/localhost:80\/token",service="localhost:80"/.test(challenge)) {
        problems.push(`${label}: challenge ${challenge}`);
      }
      if (cell.mode === 'bearer' && !INVALID.has(cell.who) && req.url.startsWith('/v2/') && req.url !== '/v2/' && !challenge.includes('error="insufficient_scope"')) {
        problems.push(`${label}: bearer refusal without insufficient_scope: ${challenge}`);
      }
    }
    if (res.statusCode >= 400) {
      // Nothing of a package may leak in a refusal, except what the request itself named.
      const seen = `${res.body} ${JSON.stringify(res.headers)}`;
      for (const vis of VIS) {
        for (const s of secretsOf(vis)) {
          if (!req.url.includes(s) && seen.includes(s)) problems.push(`${label}: refusal leaks ${s} of ${PKG[vis]}`);
        }
      }
      continue;
    }
    try {
      await verify?.(res);
    } catch (err) {
      problems.push(`${label}: ${(err as Error).message}`);
    }
  }
  assert.deepEqual(problems, [], `${row.name}:\n  ${problems.join('\n  ')}`);
}

// ---- the rows -------------------------------------------------------------------------------------

/** /v2 cells over every principal × mode × visibility. */
function v2Row(
  name: string,
  need: Action[],
  success: number,
  build: (vis: Vis, repo: string) => Promise<{ req: Omit<Req, 'auth'>; verify?: (res: Res) => Promise<void> | void }>,
  expect: (who: Who, mode: Mode, vis: Vis) => number = (who, mode, vis) => v2Expect(who, mode, vis, need, success),
  scopes: (vis: Vis, who: Who) => string[] = (vis) => [`repository:${PKG[vis]}:${need.join(',')}`],
): Row {
  return {
    name,
    cells: () =>
      WHO.flatMap((who) =>
        MODES[who].flatMap((mode) =>
          VIS.map((vis) => ({
            who,
            mode,
            vis,
            expected: expect(who, mode, vis),
            async run() {
              const built = await build(vis, PKG[vis]);
              const req: Req = { ...built.req, auth: await v2Auth(who, mode, scopes(vis, who)) };
              const res = await app.req(req);
              return built.verify ? { req, res, verify: built.verify } : { req, res };
            },
          })),
        ),
      ),
  };
}

/** /api/v1 cells over every principal × visibility (one credential each). */
function apiRow(
  name: string,
  expect: (who: Who, vis: Vis) => number,
  build: (vis: Vis) => Promise<{ req: Omit<Req, 'auth'>; verify?: (res: Res) => Promise<void> | void }>,
  auth: Record<Who, string | undefined> = API_AUTH,
): Row {
  return {
    name,
    cells: () =>
      WHO.flatMap((who) =>
        VIS.map((vis) => ({
          who,
          mode: (who === 'anonymous' ? 'none' : 'basic') as Mode,
          vis,
          expected: expect(who, vis),
          async run() {
            const built = await build(vis);
            const req: Req = { ...built.req, auth: auth[who] };
            const res = await app.req(req);
            return built.verify ? { req, res, verify: built.verify } : { req, res };
          },
        })),
      ),
  };
}

/** Cells over every principal for an owner-wide endpoint (no package visibility of its own). */
function whoRow(name: string, expect: (who: Who) => number, build: () => Promise<{ req: Omit<Req, 'auth'>; verify?: (res: Res) => Promise<void> | void }>, auth: Record<Who, string | undefined>): Row {
  return {
    name,
    cells: () =>
      WHO.map((who) => ({
        who,
        mode: (who === 'anonymous' ? 'none' : 'basic') as Mode,
        vis: null,
        expected: expect(who),
        async run() {
          const built = await build();
          const req: Req = { ...built.req, auth: auth[who] };
          const res = await app.req(req);
          return built.verify ? { req, res, verify: built.verify } : { req, res };
        },
      })),
  };
}

const manifestCheck = (vis: Vis) => (res: Res) => {
  assert.equal(res.headers['docker-content-digest'], images[vis].digest);
};

const ROWS: Row[] = [
  // -- /token ----------------------------------------------------------------------------------
  {
    name: 'GET /token?scope=repository:<pkg>:pull,push,delete (Basic credentials)',
    cells: () =>
      WHO.flatMap((who) =>
        VIS.map((vis) => ({
          who,
          mode: (who === 'anonymous' ? 'none' : 'basic') as Mode,
          vis,
          // Refused credentials still get an anonymous token for a public pull.
          expected: INVALID.has(who) ? (vis === 'public' ? 200 : 401) : 200,
          async run() {
            const res = await tokenRequest(app, BASIC[who], [`repository:${PKG[vis]}:pull,push,delete`]);
            const req: Req = { url: '/token', auth: BASIC[who] };
            return {
              req,
              res,
              verify: (r: Res) => {
                const token = json<{ token: string }>(r).token;
                const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { access: { name: string; actions: string[] }[] };
                const granted = [...(claims.access.find((a) => a.name === PKG[vis])?.actions ?? [])].sort().join(',');
                const want = INVALID.has(who) ? 'pull' : ACTIONS[who][vis].split(',').filter(Boolean).sort().join(',');
                assert.equal(granted, want, 'granted actions');
              },
            };
          },
        })),
      ),
  },
  {
    name: 'POST /token grant_type=password (Helm 3 form)',
    cells: () =>
      WHO.filter((w) => w !== 'anonymous').flatMap((who) =>
        VIS.map((vis) => ({
          who,
          mode: 'basic' as Mode,
          vis,
          expected: INVALID.has(who) ? (vis === 'public' ? 200 : 401) : 200,
          async run() {
            const [user, pass] = Buffer.from((BASIC[who] ?? '').slice(6), 'base64').toString().split(/:(.*)/s);
            const payload = new URLSearchParams({ grant_type: 'password', username: user ?? '', password: pass ?? '', service: SERVICE, scope: `repository:${PKG[vis]}:pull,push,delete` }).toString();
            const req: Req = { method: 'POST', url: '/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload };
            const res = await app.req(req);
            return {
              req,
              res,
              verify: (r: Res) => {
                const token = json<{ token: string }>(r).token;
                const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { access: { name: string; actions: string[] }[] };
                const granted = [...(claims.access.find((a) => a.name === PKG[vis])?.actions ?? [])].sort().join(',');
                assert.equal(granted, INVALID.has(who) ? 'pull' : ACTIONS[who][vis].split(',').filter(Boolean).sort().join(','), 'granted actions');
              },
            };
          },
        })),
      ),
  },

  // -- /v2 without a package -----------------------------------------------------------------------
  {
    name: 'GET /v2/',
    cells: () =>
      WHO.flatMap((who) =>
        MODES[who].map((mode) => ({
          who,
          mode,
          vis: null,
          expected: INVALID.has(who) || mode === 'none' ? 401 : 200,
          async run() {
            const req: Req = { url: '/v2/', auth: await v2Auth(who, mode, []) };
            return { req, res: await app.req(req) };
          },
        })),
      ),
  },
  {
    name: 'GET /v2/_catalog (filtered to what the caller can read)',
    cells: () =>
      WHO.flatMap((who) =>
        MODES[who].map((mode) => ({
          who,
          mode,
          vis: null,
          expected: INVALID.has(who) || mode === 'none' ? 401 : 200,
          async run() {
            const req: Req = { url: '/v2/_catalog', auth: await v2Auth(who, mode, ['registry:catalog:*']) };
            return {
              req,
              res: await app.req(req),
              verify: (res: Res) => assert.deepEqual(json<{ repositories: string[] }>(res).repositories, readable(who), 'catalog'),
            };
          },
        })),
      ),
  },
  {
    name: 'GET /api/v1/owners/<owner>/packages (listing filtered to what the caller can read)',
    cells: () =>
      WHO.map((who) => ({
        who,
        mode: (who === 'anonymous' ? 'none' : 'basic') as Mode,
        vis: null,
        expected: INVALID.has(who) ? 401 : 200,
        async run() {
          const req: Req = { url: '/api/v1/owners/acme/packages', auth: API_AUTH[who] };
          return {
            req,
            res: await app.req(req),
            verify: async (res: Res) => {
              const names = (owner: Res) => json<{ name: string }[]>(owner).map((p) => p.name);
              const globex = await app.req({ url: '/api/v1/owners/globex/packages', auth: API_AUTH[who] });
              assert.deepEqual([...names(res), ...names(globex)].sort(), readable(who), 'listing');
            },
          };
        },
      })),
  },

  // -- /v2 reads ---------------------------------------------------------------------------------------
  v2Row('GET /v2/<pkg>/manifests/<tag>', ['pull'], 200, async (vis, repo) => ({ req: { url: `/v2/${repo}/manifests/release-${vis}` }, verify: manifestCheck(vis) })),
  v2Row('HEAD /v2/<pkg>/manifests/<digest>', ['pull'], 200, async (vis, repo) => ({ req: { method: 'HEAD', url: `/v2/${repo}/manifests/${images[vis].digest}` }, verify: manifestCheck(vis) })),
  v2Row('GET /v2/<pkg>/blobs/<digest>', ['pull'], 200, async (vis, repo) => ({
    req: { url: `/v2/${repo}/blobs/${images[vis].layerDigest}` },
    verify: (res) => assert.ok(res.rawPayload.equals(images[vis].layer), 'blob bytes'),
  })),
  v2Row('HEAD /v2/<pkg>/blobs/<digest>', ['pull'], 200, async (vis, repo) => ({ req: { method: 'HEAD', url: `/v2/${repo}/blobs/${images[vis].layerDigest}` } })),
  // The layer of each package, asked for through the public package: linked only where it was pushed.
  v2Row(
    'GET /v2/acme/pub/blobs/<digest of another package> (blob through another repository)',
    ['pull'],
    200,
    async (vis) => ({ req: { url: `/v2/${PKG.public}/blobs/${images[vis].layerDigest}` } }),
    (who, mode, vis) => {
      const viaPublic = v2Expect(who, mode, 'public', ['pull'], 200);
      return viaPublic === 200 && vis !== 'public' ? 404 : viaPublic;
    },
    () => [`repository:${PKG.public}:pull`],
  ),
  v2Row('GET /v2/<pkg>/tags/list', ['pull'], 200, async (vis, repo) => ({
    req: { url: `/v2/${repo}/tags/list` },
    verify: (res) => assert.deepEqual(json<{ tags: string[] }>(res).tags, [`release-${vis}`]),
  })),
  v2Row('GET /v2/<pkg>/referrers/<digest>', ['pull'], 200, async (vis, repo) => ({
    req: { url: `/v2/${repo}/referrers/${images[vis].digest}` },
    verify: (res) => assert.deepEqual(json<{ manifests: { digest: string }[] }>(res).manifests.map((m) => m.digest), [referrers[vis]]),
  })),

  // -- /api/v1 reads -----------------------------------------------------------------------------------
  apiRow('GET /api/v1/packages/<pkg>', (who, vis) => apiRead(who, vis, 200), async (vis) => ({
    req: { url: packageUrl(PKG[vis]) },
    verify: (res) => assert.equal(json<{ visibility: string }>(res).visibility, vis),
  })),
  apiRow('GET /api/v1/packages/<pkg>/grants', (who, vis) => apiAdmin(who, vis, 200), async (vis) => ({ req: { url: packageUrl(PKG[vis], '/grants') } })),
  apiRow('GET /api/v1/packages/<pkg>/trusts', (who, vis) => apiAdmin(who, vis, 200), async (vis) => ({ req: { url: packageUrl(PKG[vis], '/trusts') } })),

  // -- Helm: the classic repository, the ChartMuseum API and /api/v1 chart views (Basic, as Helm sends) --
  // Listings are filtered; single charts go through the registry gate (401 anonymous, 403 Basic).
  whoRow(
    'GET /charts/acme/index.yaml (filtered to what the caller can read)',
    () => 200,
    async () => ({
      req: { url: '/charts/acme/index.yaml' },
      verify: (res) => {
        const index = parseYaml(res.body) as { entries: Record<string, unknown[]> };
        assert.deepEqual(Object.keys(index.entries).sort(), chartsReadable(res), 'index.yaml entries');
      },
    }),
    BASIC,
  ),
  whoRow(
    'GET /api/v1/owners/acme/charts (filtered)',
    (who) => (INVALID.has(who) ? 401 : 200),
    async () => ({
      req: { url: '/api/v1/owners/acme/charts' },
      verify: (res) => assert.deepEqual(json<{ charts: { repository: string }[] }>(res).charts.map((c) => c.repository).sort(), chartsReadableApi(res).map((n) => `acme/charts/${n}`)),
    }),
    BASIC,
  ),
  whoRow(
    'GET /api/acme/charts (ChartMuseum list, filtered)',
    () => 200,
    async () => ({ req: { url: '/api/acme/charts' }, verify: (res) => assert.deepEqual(Object.keys(json<object>(res)).sort(), chartsReadable(res)) }),
    BASIC,
  ),
  apiRow('GET /api/acme/charts/<name> (ChartMuseum versions)', (who, vis) => apiRead(chartReader(who), vis, 200), async (vis) => ({ req: { url: `/api/acme/charts/${chartName(vis)}` } }), BASIC),
  apiRow('GET /api/acme/charts/<name>/<version> (ChartMuseum version)', (who, vis) => chartGate(chartReader(who), vis, ['pull'], 200), async (vis) => ({ req: { url: `/api/acme/charts/${chartName(vis)}/1.0.0` } }), BASIC),
  apiRow('GET /charts/acme/<name>-1.0.0.tgz', (who, vis) => chartGate(chartReader(who), vis, ['pull'], 200), async (vis) => ({
    req: { url: `/charts/acme/${chartName(vis)}-1.0.0.tgz` },
    verify: (res) => assert.ok(res.rawPayload.equals(charts[vis].tgz), 'chart bytes'),
  }), BASIC),
  apiRow('GET /api/v1/charts/<chart package>/versions', (who, vis) => chartGate(who, vis, ['pull'], 200), async (vis) => ({ req: { url: `/api/v1/charts/${CHART[vis]}/versions` } }), BASIC),

  // -- /v2 writes --------------------------------------------------------------------------------------
  v2Row('PUT /v2/<pkg>/manifests/<tag>', ['pull', 'push'], 201, async (vis, repo) => ({
    req: { method: 'PUT', url: `/v2/${repo}/manifests/release-${vis}`, headers: { 'content-type': MediaType.OciManifest }, payload: images[vis].manifest },
  })),
  v2Row('POST /v2/<pkg>/blobs/uploads/', ['pull', 'push'], 202, async (_vis, repo) => ({ req: { method: 'POST', url: `/v2/${repo}/blobs/uploads/` } })),
  v2Row('PATCH /v2/<pkg>/blobs/uploads/<id>', ['pull', 'push'], 202, async (_vis, repo) => {
    const id = await app.wharf.uploads.start(repo as RepoName);
    return { req: { method: 'PATCH', url: `/v2/${repo}/blobs/uploads/${id}`, headers: { 'content-type': 'application/octet-stream', 'content-range': '0-2' }, payload: Buffer.from('abc') } };
  }),
  v2Row('PUT /v2/<pkg>/blobs/uploads/<id>?digest=', ['pull', 'push'], 201, async (_vis, repo) => {
    const id = await app.wharf.uploads.start(repo as RepoName);
    const bytes = Buffer.from(unique('put-body'));
    return { req: { method: 'PUT', url: `/v2/${repo}/blobs/uploads/${id}?digest=${digestOf(bytes)}`, headers: { 'content-type': 'application/octet-stream' }, payload: bytes } };
  }),
  v2Row('GET /v2/<pkg>/blobs/uploads/<id>', ['pull', 'push'], 204, async (_vis, repo) => ({ req: { url: `/v2/${repo}/blobs/uploads/${await app.wharf.uploads.start(repo as RepoName)}` } })),
  v2Row('DELETE /v2/<pkg>/blobs/uploads/<id>', ['pull', 'push'], 204, async (_vis, repo) => ({
    req: { method: 'DELETE', url: `/v2/${repo}/blobs/uploads/${await app.wharf.uploads.start(repo as RepoName)}` },
  })),
  // Cross-repository mount into the caller's own push target, from each acme package: 201 only
  // when the caller can read the source; otherwise 202 with a new session (never the blob).
  {
    name: 'POST /v2/<own>/blobs/uploads/?mount=<digest>&from=<pkg> (cross-repository mount)',
    cells: () =>
      WHO.flatMap((who) =>
        MODES[who].flatMap((mode) =>
          VIS.map((vis) => {
            const target = PUSH_TARGET[who];
            const expected = target === null ? refusal(who, mode) : may(who, vis, 'pull') ? 201 : 202;
            return {
              who,
              mode,
              vis,
              expected,
              async run() {
                const into = target ?? 'acme/mount-target';
                const digest = images[vis].layerDigest;
                const auth = await v2Auth(who, mode, [`repository:${into}:pull,push`, `repository:${PKG[vis]}:pull`]);
                const req: Req = { method: 'POST', url: `/v2/${into}/blobs/uploads/?mount=${digest}&from=${PKG[vis]}`, auth };
                const res = await app.req(req);
                return {
                  req,
                  res,
                  verify: async (r: Res) => {
                    if (r.statusCode === 202) {
                      assert.match(String(r.headers.location), new RegExp(`^/v2/${into}/blobs/uploads/[0-9a-f-]{36}$`), 'a new session in the target');
                      assert.equal(r.headers['docker-content-digest'], undefined);
                    }
                    const blob = await app.req({ method: 'HEAD', url: `/v2/${into}/blobs/${digest}`, auth });
                    assert.equal(blob.statusCode, r.statusCode === 201 ? 200 : 404, 'the blob is readable in the target only after a real mount');
                  },
                };
              },
            };
          }),
        ),
      ),
  },
  v2Row('DELETE /v2/<pkg>/blobs/<digest>', ['delete'], 202, async (_vis, repo) => {
    const digest = await seedBlob(app, repo as RepoName, Buffer.from(unique('deletable blob')));
    return { req: { method: 'DELETE', url: `/v2/${repo}/blobs/${digest}` } };
  }),
  v2Row('DELETE /v2/<pkg>/manifests/<digest>', ['delete'], 202, async (vis, repo) => {
    const digest = await seedExtraManifest(app, images[vis], unique('delete-manifest'));
    return {
      req: { method: 'DELETE', url: `/v2/${repo}/manifests/${digest}` },
      verify: async () => assert.equal(await app.wharf.metadata.manifests.get(repo as RepoName, digest), null, 'deleted'),
    };
  }),

  // -- /api/v1 writes -----------------------------------------------------------------------------------
  apiRow('PATCH /api/v1/packages/<pkg> {visibility}', (who, vis) => apiAdmin(who, vis, 200), async (vis) => ({
    // Set to its current value, so the fixture stays as it is.
    req: { method: 'PATCH', url: packageUrl(PKG[vis]), payload: { visibility: vis } },
  })),
  apiRow('PUT /api/v1/packages/<pkg>/grants', (who, vis) => apiAdmin(who, vis, 204), async (vis) => ({
    req: { method: 'PUT', url: packageUrl(PKG[vis], '/grants'), payload: { subjectKind: 'user', subject: 'dummy', role: 'read' } },
  })),
  apiRow('DELETE /api/v1/packages/<pkg>/grants?subjectKind=&subject=', (who, vis) => apiAdmin(who, vis, 204), async (vis) => {
    await app.wharf.metadata.packages.putGrant(PKG[vis], { subjectKind: 'user', subject: 'dummy', role: 'read', now: app.clock.now });
    return { req: { method: 'DELETE', url: `${packageUrl(PKG[vis], '/grants')}?subjectKind=user&subject=dummy` } };
  }),
  apiRow('POST /api/v1/packages/<pkg>/trusts', (who, vis) => apiAdmin(who, vis, 201), async (vis) => ({
    req: {
      method: 'POST',
      url: packageUrl(PKG[vis], '/trusts'),
      payload: { issuer: 'https://ci.example.com', audience: 'wharf', conditions: { repository: unique('acme/repo') }, role: 'read' },
    },
  })),
  apiRow('DELETE /api/v1/packages/<pkg>/versions/<digest>', (who, vis) => apiAdmin(who, vis, 200), async (vis) => {
    const digest = await seedExtraManifest(app, images[vis], unique('delete-version'));
    return { req: { method: 'DELETE', url: packageUrl(PKG[vis], `/versions/${digest}`) } };
  }),
  apiRow('DELETE /api/v1/packages/<pkg> (a fresh package of that visibility and the same grants)', (who, vis) => apiAdmin(who, vis, 200), async (vis) => {
    const repo = await disposablePackage(vis);
    return {
      req: { method: 'DELETE', url: packageUrl(repo) },
      verify: async () => assert.notEqual((await app.wharf.metadata.packages.get(repo))?.trashedAt ?? null, null, 'moved to the trash'),
    };
  }),

  // -- Helm writes -----------------------------------------------------------------------------------------
  apiRow('POST /api/acme/charts (ChartMuseum upload of a new version)', (who, vis) => chartGate(who, vis, ['pull', 'push'], 201), async (vis) => ({
    req: { method: 'POST', url: '/api/acme/charts', headers: { 'content-type': 'application/gzip' }, payload: chartTgz({ name: chartName(vis), version: `2.0.${++counter}` }) },
  }), BASIC),
  apiRow('DELETE /api/acme/charts/<name>/<version> (ChartMuseum)', (who, vis) => chartGate(who, vis, ['delete'], 200), async (vis) => {
    const version = `3.0.${++counter}`;
    await app.wharf.charts.museum.commitUpload(await app.wharf.charts.museum.prepareUpload('acme', chartTgz({ name: chartName(vis), version }), null));
    return { req: { method: 'DELETE', url: `/api/acme/charts/${chartName(vis)}/${version}` } };
  }, BASIC),
];

// The matrix size is known before the app starts: count the cells of every row.
const SIZE = ROWS.reduce((n, r) => n + r.cells().length, 0);

describe(`access matrix: ${SIZE} cells (${WHO.length} principals × ${VIS.length} visibilities × ${ROWS.length} endpoint rows)`, () => {
  for (const row of ROWS) {
    test(`${row.name} — ${row.cells().length} cells`, async () => {
      await runRow(row);
    });
  }

});

/**
 * Existence leaks on the chart routes (owned by the Helm work, src/http/charts and
 * src/http/api/charts.ts): a private chart version that exists answers differently from one that
 * does not (401/403 vs 404), so anyone can probe chart names and versions of a private owner.
 * The /v2 gate answers 401/403 for existing and missing repositories alike; these should too
 * (fixed by authorizing against the would-be repository before answering 404).
 */
describe('chart routes do not reveal whether a private chart version exists', () => {
  const probes: [string, string, string][] = [
    ['GET', '/charts/acme/c-private-1.0.0.tgz', '/charts/acme/c-ghost-1.0.0.tgz'],
    ['GET', '/api/acme/charts/c-private/1.0.0', '/api/acme/charts/c-ghost/1.0.0'],
    ['DELETE', '/api/acme/charts/c-private/1.0.0', '/api/acme/charts/c-ghost/1.0.0'],
  ];
  test('anonymous and a signed-in stranger get the same answer for an existing private version as for a missing one', async () => {
    const leaks: string[] = [];
    for (const who of ['anonymous', 'other'] as const) {
      for (const [method, existing, missing] of probes) {
        const a = await app.req({ method: method as 'GET', url: existing, auth: BASIC[who] });
        const b = await app.req({ method: method as 'GET', url: missing, auth: BASIC[who] });
        if (a.statusCode !== b.statusCode) leaks.push(`${who}: ${method} ${existing} → ${a.statusCode}, ${missing} → ${b.statusCode}`);
      }
    }
    assert.deepEqual(leaks, []);
  });
});

// Sanity: the model itself is what the issue says.
test('the model: anonymous reads public only; internal needs a signed-in user; refused basic callers get 403', () => {
  assert.deepEqual(readable('anonymous'), [CHART.public, PKG.public]);
  assert.deepEqual(readable('other'), [PKG.internal, PKG.public, CHART.internal, CHART.public, GLOBEX].sort());
  assert.deepEqual(readable('ci-other'), [PKG.public, CHART.public, GLOBEX].sort());
  assert.equal(v2Expect('other', 'basic', 'private', ['pull'], 200), 403);
  assert.equal(v2Expect('other', 'bearer', 'private', ['pull'], 200), 401);
  assert.equal(apiAdmin('reader', 'private', 200), 403);
  assert.equal(apiAdmin('other', 'private', 200), 404);
});
