/**
 * Chart fixtures for tests and the benchmark: chart archives built in memory (ustar + gzip, the
 * layout `helm package` writes: `<name>/Chart.yaml`, `<name>/values.yaml`, …), and pushing a
 * chart the way `helm push` does (config blob = Chart.yaml as JSON, chart layer, optional
 * provenance layer, manifest without a top-level mediaType) through a Wharf's HTTP API.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';

export interface ChartSpec {
  name: string;
  version: string;
  appVersion?: string;
  description?: string;
  apiVersion?: string;
  /** Extra Chart.yaml lines (YAML), appended verbatim. */
  extraChartYaml?: string;
  /** Replaces the generated Chart.yaml entirely (null = no Chart.yaml at all). */
  chartYaml?: string | null;
  values?: string;
  readme?: string;
  /** More files, by path relative to the chart directory. */
  files?: Record<string, string | Buffer>;
  /** The archive's top directory (default: the chart name). */
  root?: string;
}

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

/** One ustar header + body, padded to 512-byte blocks. Paths over 100 bytes use the prefix field. */
export function tarEntry(path: string, body: Buffer, type: '0' | '5' | 'x' | 'L' = '0'): Buffer {
  const header = Buffer.alloc(512);
  let name = path;
  let prefix = '';
  if (Buffer.byteLength(name) > 100) {
    const cut = path.lastIndexOf('/', 155);
    if (cut <= 0 || Buffer.byteLength(path.slice(cut + 1)) > 100) throw new Error(`path too long for ustar: ${path}`);
    prefix = path.slice(0, cut);
    name = path.slice(cut + 1);
  }
  header.write(name, 0, 100, 'utf8');
  header.write(octal(type === '5' ? 0o755 : 0o644, 8), 100, 'ascii');
  header.write(octal(0, 8), 108, 'ascii');
  header.write(octal(0, 8), 116, 'ascii');
  header.write(octal(body.length, 12), 124, 'ascii');
  header.write(octal(1_700_000_000, 12), 136, 'ascii');
  header.write('        ', 148, 'ascii');
  header.write(type, 156, 'ascii');
  header.write('ustar\0', 257, 'ascii');
  header.write('00', 263, 'ascii');
  header.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const b of header) sum += b;
  header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
  const pad = (512 - (body.length % 512)) % 512;
  return Buffer.concat([header, body, Buffer.alloc(pad)]);
}

export function tarArchive(entries: { path: string; body: Buffer | string; type?: '0' | '5' | 'x' | 'L' }[]): Buffer {
  return Buffer.concat([
    ...entries.map((e) => tarEntry(e.path, typeof e.body === 'string' ? Buffer.from(e.body) : e.body, e.type ?? '0')),
    Buffer.alloc(1024),
  ]);
}

export function chartYamlOf(spec: ChartSpec): string {
  const lines = [
    `apiVersion: ${spec.apiVersion ?? 'v2'}`,
    `name: ${spec.name}`,
    `version: ${spec.version}`,
    ...(spec.appVersion !== undefined ? [`appVersion: "${spec.appVersion}"`] : []),
    `description: ${spec.description ?? `The ${spec.name} chart`}`,
    'type: application',
  ];
  return `${lines.join('\n')}\n${spec.extraChartYaml ?? ''}`;
}

/** A gzipped chart archive. */
export function chartTgz(spec: ChartSpec): Buffer {
  const root = spec.root ?? spec.name;
  const entries: { path: string; body: Buffer | string }[] = [];
  const chartYaml = spec.chartYaml === undefined ? chartYamlOf(spec) : spec.chartYaml;
  if (chartYaml !== null) entries.push({ path: `${root}/Chart.yaml`, body: chartYaml });
  entries.push({ path: `${root}/values.yaml`, body: spec.values ?? 'replicaCount: 1\n' });
  if (spec.readme !== undefined) entries.push({ path: `${root}/README.md`, body: spec.readme });
  entries.push({
    path: `${root}/templates/configmap.yaml`,
    body: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  replicas: "{{ .Values.replicaCount }}"\n',
  });
  for (const [path, body] of Object.entries(spec.files ?? {})) entries.push({ path: `${root}/${path}`, body });
  return gzipSync(tarArchive(entries));
}

export function sha256Digest(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export const HELM_CONFIG = 'application/vnd.cncf.helm.config.v1+json';
export const HELM_CHART = 'application/vnd.cncf.helm.chart.content.v1.tar+gzip';
export const HELM_PROV = 'application/vnd.cncf.helm.chart.provenance.v1.prov';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/** Something that answers HTTP like `app.inject` (in-process) or fetch against a server. */
export interface Http {
  request(method: string, path: string, body?: Buffer, headers?: Record<string, string>): Promise<{ status: number; headers: Record<string, string>; body: Buffer }>;
}

export function injectHttp(app: FastifyInstance, auth?: string): Http {
  return {
    async request(method, path, body, headers = {}) {
      const res = await app.inject({
        method: method as 'GET',
        url: path,
        ...(body ? { payload: body } : {}),
        headers: { ...(auth ? { authorization: auth } : {}), ...headers },
      });
      const h: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h[k] = String(v);
      return { status: res.statusCode, headers: h, body: res.rawPayload };
    },
  };
}

export function fetchHttp(base: string, auth?: string): Http {
  return {
    async request(method, path, body, headers = {}) {
      const res = await fetch(base + path, {
        method,
        ...(body ? { body } : {}),
        headers: { ...(auth ? { authorization: auth } : {}), ...headers },
      });
      const h: Record<string, string> = {};
      res.headers.forEach((v, k) => (h[k] = v));
      return { status: res.status, headers: h, body: Buffer.from(await res.arrayBuffer()) };
    },
  };
}

async function expectStatus(p: ReturnType<Http['request']>, want: number, what: string): Promise<{ headers: Record<string, string>; body: Buffer }> {
  const res = await p;
  if (res.status !== want) throw new Error(`${what}: HTTP ${res.status} ${res.body.toString('utf8').slice(0, 300)}`);
  return res;
}

/** Monolithic blob upload (POST ?digest=). */
export async function pushBlob(http: Http, repo: string, data: Buffer): Promise<{ digest: string; size: number }> {
  const digest = sha256Digest(data);
  await expectStatus(
    http.request('POST', `/v2/${repo}/blobs/uploads/?digest=${digest}`, data, { 'content-type': 'application/octet-stream' }),
    201,
    `upload ${digest}`,
  );
  return { digest, size: data.length };
}

export interface PushedChart {
  digest: string;
  tgz: Buffer;
  manifest: Buffer;
  configDigest: string;
  chartDigest: string;
}

/**
 * Pushes a chart like `helm push` does: config = Chart.yaml as JSON (or `config` verbatim),
 * layers [prov?, chart], no top-level mediaType, tag = version with '+' → '_'.
 * `byDigestFirst` mimics Helm 4 (PUT by digest, then by tag).
 */
export async function pushChart(
  http: Http,
  repo: string,
  spec: ChartSpec,
  opts: { tgz?: Buffer; config?: string; prov?: Buffer; tag?: string; byDigestFirst?: boolean } = {},
): Promise<PushedChart> {
  const tgz = opts.tgz ?? chartTgz(spec);
  const configJson =
    opts.config ??
    JSON.stringify({
      name: spec.name,
      version: spec.version,
      description: spec.description ?? `The ${spec.name} chart`,
      apiVersion: spec.apiVersion ?? 'v2',
      ...(spec.appVersion !== undefined ? { appVersion: spec.appVersion } : {}),
      type: 'application',
    });
  const config = await pushBlob(http, repo, Buffer.from(configJson));
  const layers = [];
  if (opts.prov) layers.push({ mediaType: HELM_PROV, ...(await pushBlob(http, repo, opts.prov)) });
  const chart = await pushBlob(http, repo, tgz);
  layers.push({ mediaType: HELM_CHART, ...chart });
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      config: { mediaType: HELM_CONFIG, ...config },
      layers,
      annotations: { 'org.opencontainers.image.title': spec.name, 'org.opencontainers.image.version': spec.version },
    }),
  );
  const digest = sha256Digest(manifest);
  const tag = opts.tag ?? spec.version.replaceAll('+', '_');
  const headers = { 'content-type': OCI_MANIFEST };
  if (opts.byDigestFirst) await expectStatus(http.request('PUT', `/v2/${repo}/manifests/${digest}`, manifest, headers), 201, 'put manifest by digest');
  await expectStatus(http.request('PUT', `/v2/${repo}/manifests/${tag}`, manifest, headers), 201, 'put manifest by tag');
  return { digest, tgz, manifest, configDigest: config.digest, chartDigest: chart.digest };
}
