/**
 * Shared pieces of the UI API suites: a Wharf with authentication on (buildTestApp) and a clock
 * the test can move, a browser-like session (cookie jar + CSRF header), Basic-auth helpers, and
 * content pushed through the real /v2 API (images, multi-arch indexes, charts, referrers).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { chartTgz, type ChartSpec, HELM_CHART, HELM_CONFIG, injectHttp, pushBlob } from '../helpers/charts.ts';
import { buildTestApp, type TestApp } from '../helpers/app.ts';

export type Res = LightMyRequestResponse;

export const ADMIN = { username: 'admin', password: 'admin-password' };
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';

export interface UiApp {
  wharf: TestApp;
  clock: { now: number; advance(ms: number): void };
  req(r: Req): Promise<Res>;
  close(): Promise<void>;
}

export interface Req {
  method?: InjectOptions['method'];
  url: string;
  auth?: string | undefined;
  headers?: Record<string, string>;
  payload?: string | Buffer | Record<string, unknown> | unknown[];
  remoteAddress?: string;
}

export async function startUiApp(extraAuth: Record<string, unknown> = {}, overrides: Record<string, unknown> = {}): Promise<UiApp> {
  const clock = {
    now: Date.UTC(2030, 0, 15, 12),
    advance(ms: number) {
      this.now += ms;
    },
  };
  const wharf = await buildTestApp({ auth: { enabled: 'true', admin: { password: ADMIN.password }, ...extraAuth }, ...overrides } as never, { clock: () => clock.now });
  return {
    wharf,
    clock,
    async req(r) {
      const o: InjectOptions = { method: r.method ?? 'GET', url: r.url, headers: { ...r.headers, ...(r.auth ? { authorization: r.auth } : {}) } };
      if (r.payload !== undefined) o.payload = r.payload as NonNullable<InjectOptions['payload']>;
      if (r.remoteAddress !== undefined) o.remoteAddress = r.remoteAddress;
      const res = await wharf.app.inject(o);
      assert.ok(res.statusCode < 500, `${o.method} ${r.url} answered ${res.statusCode}: ${res.body}`);
      return res;
    },
    close: () => wharf.close(),
  };
}

export function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

export const adminAuth = (): string => basic(ADMIN.username, ADMIN.password);

export function json<T = unknown>(res: Res): T {
  return JSON.parse(res.body) as T;
}

export function errorCode(res: Res): string | undefined {
  if (!res.body) return undefined;
  return (JSON.parse(res.body) as { errors?: { code: string }[] }).errors?.[0]?.code;
}

/** Asserts the status and, for errors, the `{"errors":[…]}` code. */
export function expect(res: Res, status: number, what: string, code?: string): void {
  assert.equal(res.statusCode, status, `${what}: expected ${status}, got ${res.statusCode} ${res.body.slice(0, 400)}`);
  if (code !== undefined) assert.equal(errorCode(res), code, `${what}: error code`);
}

export async function createUser(app: UiApp, username: string, password = `${username}-password`): Promise<{ username: string; password: string; auth: string }> {
  expect(await app.req({ method: 'POST', url: '/api/v1/users', auth: adminAuth(), payload: { username, password } }), 201, `create user ${username}`);
  return { username, password, auth: basic(username, password) };
}

/** `/api/v1/packages/<owner>/<rest escaped>` + suffix. */
export function packageUrl(repo: string, suffix = ''): string {
  const i = repo.indexOf('/');
  return `/api/v1/packages/${repo.slice(0, i)}/${encodeURIComponent(repo.slice(i + 1))}${suffix}`;
}

/** A browser-like session: the cookie from sign-in is sent back, with the CSRF header on writes. */
export class Session {
  readonly app: UiApp;
  cookie: string | null = null;
  csrf: string | null = null;
  setCookie: string | null = null;

  constructor(app: UiApp) {
    this.app = app;
  }

  static async signIn(app: UiApp, username: string, password: string): Promise<Session> {
    const s = new Session(app);
    const res = await s.signIn(username, password);
    expect(res, 201, `sign in as ${username}`);
    return s;
  }

  async signIn(username: string, password: string, remoteAddress?: string): Promise<Res> {
    const res = await this.app.req({ method: 'POST', url: '/api/v1/session', payload: { username, password }, ...(remoteAddress ? { remoteAddress } : {}) });
    if (res.statusCode === 201) {
      const header = res.headers['set-cookie'];
      this.setCookie = Array.isArray(header) ? (header[0] ?? null) : (header ?? null);
      this.cookie = this.setCookie?.split(';')[0] ?? null;
      this.csrf = json<{ csrfToken: string }>(res).csrfToken;
    }
    return res;
  }

  /** A request with the cookie; writes carry X-Wharf-CSRF unless `csrf: false` (or a given value). */
  async req(r: Req & { csrf?: boolean | string }): Promise<Res> {
    const headers: Record<string, string> = { ...r.headers };
    if (this.cookie) headers['cookie'] = this.cookie;
    const write = (r.method ?? 'GET') !== 'GET' && r.method !== 'HEAD';
    if (typeof r.csrf === 'string') headers['x-wharf-csrf'] = r.csrf;
    else if (write && r.csrf !== false && this.csrf) headers['x-wharf-csrf'] = this.csrf;
    return this.app.req({ ...r, headers });
  }

  get(url: string): Promise<Res> {
    return this.req({ url });
  }
}

// ---- content, pushed through /v2 as a client would ------------------------------------------------

function sha256(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export interface PushedImage {
  repo: string;
  digest: string;
  configDigest: string;
  size: number;
  manifest: Buffer;
}

/** An image (config with labels + one layer) tagged `tag`, pushed with `auth`. */
export async function pushImage(
  app: UiApp,
  auth: string,
  repo: string,
  tag: string,
  opts: { labels?: Record<string, string>; annotations?: Record<string, string>; architecture?: string; layerBytes?: number } = {},
): Promise<PushedImage> {
  const http = injectHttp(app.wharf.app, auth);
  const config = Buffer.from(
    JSON.stringify({
      architecture: opts.architecture ?? 'amd64',
      os: 'linux',
      created: '2030-01-01T00:00:00Z',
      rootfs: { type: 'layers', diff_ids: [] },
      config: { Labels: opts.labels ?? {} },
    }),
  );
  const layer = Buffer.alloc(opts.layerBytes ?? 1000, `${repo}:${tag}:${opts.architecture ?? ''}`);
  const c = await pushBlob(http, repo, config);
  const l = await pushBlob(http, repo, layer);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, ...c },
      layers: [{ mediaType: LAYER, ...l }],
      ...(opts.annotations ? { annotations: opts.annotations } : {}),
    }),
  );
  const res = await app.req({ method: 'PUT', url: `/v2/${repo}/manifests/${tag}`, auth, headers: { 'content-type': OCI_MANIFEST }, payload: manifest });
  expect(res, 201, `push ${repo}:${tag}`);
  await app.wharf.events.settled();
  return { repo, digest: sha256(manifest), configDigest: c.digest, size: manifest.length + c.size + l.size, manifest };
}

/** A two-platform image index tagged `tag`. */
export async function pushIndex(app: UiApp, auth: string, repo: string, tag: string): Promise<{ digest: string; children: PushedImage[] }> {
  const amd = await pushImage(app, auth, repo, `${tag}-amd64`, { architecture: 'amd64' });
  const arm = await pushImage(app, auth, repo, `${tag}-arm64`, { architecture: 'arm64', layerBytes: 3000 });
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        { mediaType: OCI_MANIFEST, digest: amd.digest, size: amd.manifest.length, platform: { os: 'linux', architecture: 'amd64' } },
        { mediaType: OCI_MANIFEST, digest: arm.digest, size: arm.manifest.length, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      ],
    }),
  );
  expect(await app.req({ method: 'PUT', url: `/v2/${repo}/manifests/${tag}`, auth, headers: { 'content-type': OCI_INDEX }, payload: index }), 201, 'push index');
  // The per-platform tags were scaffolding: a multi-arch image is pushed by digest.
  for (const t of [`${tag}-amd64`, `${tag}-arm64`]) expect(await app.req({ method: 'DELETE', url: `/v2/${repo}/manifests/${t}`, auth }), 202, `untag ${t}`);
  await app.wharf.events.settled();
  return { digest: sha256(index), children: [amd, arm] };
}

/** A referrer (signature, SBOM…) of `subject` with one file. */
export async function pushReferrer(app: UiApp, auth: string, repo: string, subject: PushedImage, artifactType: string, file: string): Promise<string> {
  const http = injectHttp(app.wharf.app, auth);
  const empty = await pushBlob(http, repo, Buffer.from('{}'));
  const body = await pushBlob(http, repo, Buffer.from(file));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType,
      config: { mediaType: 'application/vnd.oci.empty.v1+json', ...empty },
      layers: [{ mediaType: 'application/json', ...body, annotations: { 'org.opencontainers.image.title': 'payload.json' } }],
      subject: { mediaType: OCI_MANIFEST, digest: subject.digest, size: subject.manifest.length },
    }),
  );
  const digest = sha256(manifest);
  expect(await app.req({ method: 'PUT', url: `/v2/${repo}/manifests/${digest}`, auth, headers: { 'content-type': OCI_MANIFEST }, payload: manifest }), 201, 'push referrer');
  await app.wharf.events.settled();
  return digest;
}

/** A generic artifact (not an image, not a chart) with two files, tagged `tag`. */
export async function pushArtifact(app: UiApp, auth: string, repo: string, tag: string): Promise<string> {
  const http = injectHttp(app.wharf.app, auth);
  const empty = await pushBlob(http, repo, Buffer.from('{}'));
  const a = await pushBlob(http, repo, Buffer.from('(module)'));
  const b = await pushBlob(http, repo, Buffer.from('readme text'));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: 'application/vnd.wasm.component.v1+wasm',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', ...empty },
      layers: [
        { mediaType: 'application/wasm', ...a, annotations: { 'org.opencontainers.image.title': 'app.wasm' } },
        { mediaType: 'text/plain', ...b, annotations: { 'org.opencontainers.image.title': 'README.txt' } },
      ],
      annotations: { 'org.opencontainers.image.description': 'A WebAssembly component' },
    }),
  );
  expect(await app.req({ method: 'PUT', url: `/v2/${repo}/manifests/${tag}`, auth, headers: { 'content-type': OCI_MANIFEST }, payload: manifest }), 201, 'push artifact');
  await app.wharf.events.settled();
  return sha256(manifest);
}

/** A chart pushed like `helm push` (manifest annotations from Chart.yaml, source from `sources[0]`). */
export async function pushTestChart(app: UiApp, auth: string, repo: string, spec: ChartSpec, source?: string): Promise<string> {
  const http = injectHttp(app.wharf.app, auth);
  const description = spec.description ?? `The ${spec.name} chart`;
  const tgz = chartTgz({ ...spec, ...(source ? { extraChartYaml: `sources:\n  - ${source}\n` } : {}) });
  const config = await pushBlob(
    http,
    repo,
    Buffer.from(JSON.stringify({ name: spec.name, version: spec.version, apiVersion: 'v2', description, ...(spec.appVersion ? { appVersion: spec.appVersion } : {}), ...(source ? { sources: [source] } : {}) })),
  );
  const chart = await pushBlob(http, repo, tgz);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      config: { mediaType: HELM_CONFIG, ...config },
      layers: [{ mediaType: HELM_CHART, ...chart }],
      annotations: {
        'org.opencontainers.image.title': spec.name,
        'org.opencontainers.image.version': spec.version,
        'org.opencontainers.image.description': description,
        ...(source ? { 'org.opencontainers.image.source': source } : {}),
      },
    }),
  );
  const tag = spec.version.replaceAll('+', '_');
  expect(await app.req({ method: 'PUT', url: `/v2/${repo}/manifests/${tag}`, auth, headers: { 'content-type': OCI_MANIFEST }, payload: manifest }), 201, 'push chart');
  await app.wharf.events.settled();
  return sha256(manifest);
}

/** Pulls a manifest by tag or digest (counts as a download). */
export async function pull(app: UiApp, auth: string | undefined, repo: string, ref: string): Promise<void> {
  const res = await app.req({ url: `/v2/${repo}/manifests/${ref}`, auth, headers: { accept: `${OCI_MANIFEST}, ${OCI_INDEX}` } });
  expect(res, 200, `pull ${repo}:${ref}`);
  await app.wharf.events.settled();
}
