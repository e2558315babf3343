/**
 * Shared pieces of the access-control suites: a Wharf with authentication on and a clock the
 * test can move, log capture, credentials helpers, and fixtures that seed images directly
 * through the services (the HTTP surface is what the tests exercise, not the seeding).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import pino from 'pino';
import { SYSTEM } from '../../src/auth/principal.ts';
import { loadConfig } from '../../src/config/load.ts';
import { createWharf, type Wharf } from '../../src/main.ts';
import { scaleProfile } from '../scale/backends.ts';
import type { Visibility } from '../../src/auth/vocabulary.ts';
import { type Digest, digestOf } from '../../src/oci/digest.ts';
import { MediaType } from '../../src/oci/mediatypes.ts';
import { parseReference, parseRepoName, type RepoName } from '../../src/oci/name.ts';
import { lockForPush } from '../../src/services/package-creation.ts';

export type Res = LightMyRequestResponse;

export const ADMIN = { username: 'admin', password: 'admin-password' };

/** Config overrides for access tests (buildTestApp's overrides are shallow: pass all of `auth`). */
export function authOverrides(extra: Record<string, string | Record<string, string>> = {}) {
  return {
    enabled: 'true',
    admin: { password: ADMIN.password },
    oidc: { allowInsecureIssuers: 'true' },
    ...extra,
  };
}

export interface AccessApp {
  wharf: Wharf;
  /** The app's clock: `clock.now` is what the registry sees; move it with `clock.advance`. */
  clock: { now: number; advance(ms: number): void };
  /** Everything the app logged, as text (when started with `captureLogs`). */
  logs(): string;
  req(r: Req): Promise<Res>;
  close(): Promise<void>;
}

export interface Req {
  method?: InjectOptions['method'];
  url: string;
  auth?: string | undefined;
  headers?: Record<string, string>;
  payload?: string | Buffer | Record<string, unknown>;
  remoteAddress?: string;
}

/**
 * A whole Wharf with authentication on: an in-memory database and memory blob store, or S3 and
 * PostgreSQL under WHARF_TEST_PROFILE=scale (so the access matrix runs on both profiles).
 */
export async function startAccessApp(
  opts: { auth?: Record<string, string | Record<string, string>>; captureLogs?: boolean; /** Other config sections (e.g. `webhooks`). */ overrides?: Record<string, unknown> } = {},
): Promise<AccessApp> {
  const dataDir = mkdtempSync(join(tmpdir(), 'wharf-access-'));
  const profile = await scaleProfile();
  const config = loadConfig({
    env: {},
    overrides: {
      dataDir,
      storage: { driver: 'memory' },
      database: { sqlite: { path: ':memory:' } },
      log: { level: 'silent' },
      ...profile?.overrides,
      auth: authOverrides(opts.auth),
      ...opts.overrides,
    },
  });
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  // Everything down to trace, so a secret logged at any level is caught.
  const logger = opts.captureLogs ? pino({ level: 'trace' }, sink) : pino({ level: process.env['WHARF_TEST_LOG'] ?? 'silent' });
  const clock = {
    now: Date.now(),
    advance(ms: number) {
      this.now += ms;
    },
  };
  const wharf = await createWharf(config, { logger, clock: () => clock.now });
  return {
    wharf,
    clock,
    logs: () => chunks.join(''),
    async req(r) {
      const o: InjectOptions = { method: r.method ?? 'GET', url: r.url };
      const headers: Record<string, string> = { ...r.headers };
      if (r.auth !== undefined) headers['authorization'] = r.auth;
      o.headers = headers;
      if (r.payload !== undefined) o.payload = r.payload as NonNullable<InjectOptions['payload']>;
      if (r.remoteAddress !== undefined) o.remoteAddress = r.remoteAddress;
      const res = await wharf.app.inject(o);
      assert.ok(res.statusCode < 500, `${o.method} ${r.url} answered ${res.statusCode}: ${res.body}`);
      return res;
    },
    async close() {
      await wharf.close();
      await profile?.cleanup();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

export function bearer(token: string): string {
  return `Bearer ${token}`;
}

export function json<T = unknown>(res: Res): T {
  return JSON.parse(res.body) as T;
}

/** The first error code of a `{"errors":[…]}` body. */
export function errorCode(res: Res): string | undefined {
  if (!res.body) return undefined;
  return (JSON.parse(res.body) as { errors?: { code: string }[] }).errors?.[0]?.code;
}

export function assertStatus(res: Res, status: number, what: string): void {
  assert.equal(res.statusCode, status, `${what}: expected ${status}, got ${res.statusCode} ${res.body}`);
}

/** The claims of a registry token (unverified; the tests check the server's verification separately). */
export function claimsOf(token: string): { sub: string; aud: string; exp: number; iat: number; kind: string; access: { type: string; name: string; actions: string[] }[] } {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as ReturnType<typeof claimsOf>;
}

export function kidOf(token: string): string {
  return (JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8')) as { kid: string }).kid;
}

/** The service the in-process app advertises (`inject` sends Host: localhost:80). */
export const SERVICE = 'localhost:80';

/** GET /token with optional credentials; returns the response. */
export async function tokenRequest(app: AccessApp, auth: string | undefined, scopes: string[], extra: Record<string, string> = {}): Promise<Res> {
  const q = new URLSearchParams({ service: SERVICE, ...extra });
  for (const s of scopes) q.append('scope', s);
  return app.req({ url: `/token?${q.toString()}`, auth });
}

/** A registry token for `scopes`, asserting the endpoint answered 200. */
export async function registryToken(app: AccessApp, auth: string | undefined, scopes: string[]): Promise<string> {
  const res = await tokenRequest(app, auth, scopes);
  assertStatus(res, 200, `token for ${scopes.join(' ')}`);
  return json<{ token: string }>(res).token;
}

/** The actions granted for `repo` in a token response (sorted). */
export function grantedActions(res: Res, repo: string): string[] {
  const token = json<{ token: string }>(res).token;
  return [...(claimsOf(token).access.find((a) => a.type === 'repository' && a.name === repo)?.actions ?? [])].sort();
}

// ---- accounts (through the API, as the site admin) ---------------------------------------------

export const adminAuth = (): string => basic(ADMIN.username, ADMIN.password);

export async function createUser(app: AccessApp, username: string, password = `${username}-password`): Promise<{ username: string; password: string; auth: string }> {
  const res = await app.req({ method: 'POST', url: '/api/v1/users', auth: adminAuth(), payload: { username, password } });
  assertStatus(res, 201, `create user ${username}`);
  return { username, password, auth: basic(username, password) };
}

export async function createOrg(app: AccessApp, ownerAuth: string, name: string): Promise<void> {
  assertStatus(await app.req({ method: 'POST', url: '/api/v1/orgs', auth: ownerAuth, payload: { name } }), 201, `create org ${name}`);
}

export async function createPat(
  app: AccessApp,
  userAuth: string,
  body: { name?: string; scopes: string[]; expiresInDays?: number; owners?: string[]; packages?: string[] },
): Promise<{ id: string; token: string }> {
  const res = await app.req({ method: 'POST', url: '/api/v1/user/tokens', auth: userAuth, payload: { name: 'test token', ...body } });
  assertStatus(res, 201, 'create token');
  return json<{ id: string; token: string }>(res);
}

/** `/api/v1/packages/:owner/:package` for `owner/a/b` names (the rest of the path is one encoded segment). */
export function packageUrl(repo: string, suffix = ''): string {
  const i = repo.indexOf('/');
  return `/api/v1/packages/${repo.slice(0, i)}/${encodeURIComponent(repo.slice(i + 1))}${suffix}`;
}

// ---- registry content, seeded through the services ------------------------------------------------

export interface SeededImage {
  repo: RepoName;
  tag: string;
  digest: Digest;
  configDigest: Digest;
  layerDigest: Digest;
  layer: Buffer;
  manifest: Buffer;
}

/** Creates the package (if needed) with `visibility`, without any HTTP or grants. */
export async function ensurePackage(app: AccessApp, repo: string, visibility?: Visibility): Promise<RepoName> {
  const name = parseRepoName(repo);
  const { wharf } = app;
  await wharf.metadata.transaction((m) => lockForPush(m, name, SYSTEM, Date.now(), wharf.config.auth.defaultVisibility));
  if (visibility) await app.wharf.metadata.packages.setVisibility(name, visibility);
  return name;
}

export async function seedBlob(app: AccessApp, repo: RepoName, bytes: Buffer): Promise<Digest> {
  const digest = digestOf(bytes);
  const id = await app.wharf.uploads.start(repo);
  await app.wharf.uploads.complete(repo, id, digest, { stream: (async function* () { yield bytes; })(), length: bytes.length });
  return digest;
}

/** An image (config + one unique layer + OCI manifest) tagged `tag`. */
export async function seedImage(app: AccessApp, repo: string, tag: string, opts: { annotations?: Record<string, string>; labels?: Record<string, string> } = {}): Promise<SeededImage> {
  const name = await ensurePackage(app, repo);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, config: { Labels: opts.labels ?? {} } }));
  const layer = Buffer.from(`layer of ${repo}:${tag} ${Math.random()}`);
  const configDigest = await seedBlob(app, name, config);
  const layerDigest = await seedBlob(app, name, layer);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: MediaType.OciConfig, digest: configDigest, size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerDigest, size: layer.length }],
      ...(opts.annotations ? { annotations: opts.annotations } : {}),
    }),
  );
  const result = await app.wharf.registry.putManifest(name, parseReference(tag), manifest, MediaType.OciManifest);
  await app.wharf.events.settled();
  return { repo: name, tag, digest: result.digest, configDigest, layerDigest, layer, manifest };
}

/** An artifact manifest whose subject is `subject` (a referrer, like a signature or SBOM). */
export async function seedReferrer(app: AccessApp, image: SeededImage, artifactType: string): Promise<Digest> {
  const empty = Buffer.from('{}');
  const emptyDigest = await seedBlob(app, image.repo, empty);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      artifactType,
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: emptyDigest, size: 2 },
      layers: [{ mediaType: 'application/vnd.oci.empty.v1+json', digest: emptyDigest, size: 2 }],
      subject: { mediaType: MediaType.OciManifest, digest: image.digest, size: image.manifest.length },
    }),
  );
  const digest = digestOf(manifest);
  await app.wharf.registry.putManifest(image.repo, parseReference(digest), manifest, MediaType.OciManifest);
  return digest;
}

/** A throwaway manifest in `image.repo` (reusing its blobs), for deletion cells. */
export async function seedExtraManifest(app: AccessApp, image: SeededImage, label: string): Promise<Digest> {
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: MediaType.OciConfig, digest: image.configDigest, size: JSON.parse(image.manifest.toString()).config.size as number },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: image.layerDigest, size: image.layer.length }],
      annotations: { 'org.example.cell': label },
    }),
  );
  const digest = digestOf(manifest);
  await app.wharf.registry.putManifest(image.repo, parseReference(digest), manifest, MediaType.OciManifest);
  return digest;
}
