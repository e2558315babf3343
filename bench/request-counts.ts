/**
 * Where a request's time goes (issue 18): for each request kind a registry client sends, the
 * database statements and object-store (S3) calls ONE request costs, next to req/s and server CPU
 * per request, with token auth on as docker uses it (a non-admin org member holding a bearer
 * token from GET /token; admins skip the permission lookups, so they would flatter the counts).
 *
 * The counts are exact, not sampled: the server's own metrics count every statement by operation
 * (`wharf_db_query_duration_seconds_count{operation}`) and every S3 call
 * (`wharf_object_store_request_duration_seconds_count{operation}`). A scrape before and after N
 * requests, minus what two back-to-back scrapes cost with no request between (background jobs,
 * the scrape itself), divided by N, is the per-request figure. Throughput and CPU are noisy on a
 * shared machine; the counts are not.
 *
 *   node bench/request-counts.ts            # embedded profile, and one replica on S3 + PostgreSQL when reachable
 *   BENCH_ONLY_PROFILE=embedded node bench/request-counts.ts
 *
 * Used by bench/scale.ts (the "where a request's time goes" table of the scale section).
 */
import { createHash, randomBytes } from 'node:crypto';
import { expectStatus, header, HttpClient, pool, type RequestOptions } from './http.ts';
import { treeCpuSeconds } from './servers.ts';
import { currentLoad } from './report.ts';
import { s3TestOptions, scaleEnv, uniqueName } from '../test/scale/backends.ts';
import { freshBackends } from './fresh-backends.ts';
import { startWharf, type StartedServer } from '../test/helpers/server.ts';
import type { S3Options } from '../src/storage/s3/client.ts';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export interface KindCounts {
  kind: string;
  requests: number;
  /** Statements per request, total and by operation (select, insert, begin, …). */
  statements: number;
  statementsBy: Record<string, number>;
  /** Object-store calls per request, total and by operation. */
  s3: number;
  s3By: Record<string, number>;
  rps: number;
  cpuMsPerRequest: number;
}

export interface ProfileCounts {
  profile: 'embedded' | 'scale';
  label: string;
  kinds: KindCounts[];
  /** Statements and S3 calls of two scrapes with nothing between (subtracted from every row). */
  idle: { statements: number; s3: number };
  error?: string;
}

export interface RequestCountsResult {
  startedAt: string;
  load: { start: number; end: number };
  n: number;
  profiles: ProfileCounts[];
}

type Samples = Map<string, number>;

/** `name_count{operation="x"} v` lines of one metric family, summed by operation. */
function parseCounts(text: string, family: string): Samples {
  const out: Samples = new Map();
  const re = new RegExp(`^${family}_count\\{([^}]*)\\} ([0-9.e+]+)$`, 'gm');
  for (const m of text.matchAll(re)) {
    const op = /operation="([^"]*)"/.exec(m[1] ?? '')?.[1] ?? 'other';
    out.set(op, (out.get(op) ?? 0) + Number(m[2]));
  }
  return out;
}

interface Snapshot {
  db: Samples;
  s3: Samples;
  cpu: number;
  at: number;
}

function diff(a: Samples, b: Samples): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of b) {
    const d = v - (a.get(k) ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}

const sum = (r: Record<string, number>) => Object.values(r).reduce((s, v) => s + v, 0);

/** The registry as one non-admin client sees it: Basic for /token and the API, bearer for /v2. */
class Client {
  readonly http: HttpClient;
  readonly service: string;
  private readonly basic: string;
  bearer = '';

  constructor(url: string, user: { username: string; password: string }) {
    this.http = new HttpClient(url, 16);
    this.service = new URL(url).host;
    this.basic = `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`;
  }

  tokenPath(scope: string): string {
    return `/token?service=${encodeURIComponent(this.service)}&scope=${encodeURIComponent(scope)}`;
  }

  async token(scope: string): Promise<string> {
    const res = await expectStatus(this.http, 'GET', this.tokenPath(scope), [200], { headers: { authorization: this.basic } });
    return (JSON.parse(res.body.toString()) as { token: string }).token;
  }

  basicReq(method: string, path: string, expected: number[], opts: RequestOptions = {}) {
    return expectStatus(this.http, method, path, expected, { ...opts, headers: { authorization: this.basic, ...opts.headers } });
  }

  req(method: string, path: string, expected: number[], opts: RequestOptions = {}) {
    return expectStatus(this.http, method, path, expected, { ...opts, headers: { authorization: `Bearer ${this.bearer}`, ...opts.headers } });
  }
}

async function snapshot(http: HttpClient, pid: number | undefined): Promise<Snapshot> {
  const res = await expectStatus(http, 'GET', '/metrics', [200]);
  const text = res.body.toString();
  return {
    db: parseCounts(text, 'wharf_db_query_duration_seconds'),
    s3: parseCounts(text, 'wharf_object_store_request_duration_seconds'),
    cpu: pid === undefined ? 0 : treeCpuSeconds(pid),
    at: performance.now(),
  };
}

interface Image {
  config: Buffer;
  layer: Buffer;
  manifest: string;
}

function image(seed: string): Image {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Labels: { seed } }, rootfs: { type: 'layers', diff_ids: [sha256(seed)] } }));
  const layer = Buffer.concat([Buffer.from(seed), randomBytes(4096)]);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layer), size: layer.length }],
  });
  return { config, layer, manifest };
}

/** Measures `n` requests of one kind (at most `concurrency` in flight). */
async function measure(
  c: Client,
  pid: number | undefined,
  idle: { db: Record<string, number>; s3: Record<string, number> },
  kind: string,
  n: number,
  concurrency: number,
  task: (i: number) => Promise<unknown>,
): Promise<KindCounts> {
  const before = await snapshot(c.http, pid);
  await pool(n, concurrency, async (i) => {
    await task(i);
  });
  const after = await snapshot(c.http, pid);
  // (after - before - idle) / n, per operation
  const per = (a: Samples, b: Samples, base: Record<string, number>) => {
    const d = diff(a, b);
    const out: Record<string, number> = {};
    for (const k of new Set([...Object.keys(d), ...Object.keys(base)])) {
      const v = ((d[k] ?? 0) - (base[k] ?? 0)) / n;
      if (Math.abs(v) >= 0.005) out[k] = Math.round(v * 100) / 100;
    }
    return out;
  };
  const statementsBy = per(before.db, after.db, idle.db);
  const s3By = per(before.s3, after.s3, idle.s3);
  const seconds = (after.at - before.at) / 1000;
  return {
    kind,
    requests: n,
    statements: Math.round(sum(statementsBy) * 100) / 100,
    statementsBy,
    s3: Math.round(sum(s3By) * 100) / 100,
    s3By,
    rps: n / seconds,
    cpuMsPerRequest: ((after.cpu - before.cpu) * 1000) / n,
  };
}

/** Pushes, pulls and lists as alice (member of org acme) against a started server. */
async function countRequests(server: StartedServer, n: number, log: (m: string) => void): Promise<{ kinds: KindCounts[]; idle: { statements: number; s3: number } }> {
  const admin = server.admin;
  if (!admin) throw new Error('the server runs without auth');
  const adminClient = new Client(server.url, admin);
  const alice = { username: 'alice', password: `alice-${randomBytes(8).toString('hex')}` };
  const json = { 'content-type': 'application/json' };
  await adminClient.basicReq('POST', '/api/v1/users', [201], { headers: json, body: JSON.stringify({ username: alice.username, password: alice.password }) });
  await adminClient.basicReq('POST', '/api/v1/orgs', [201], { headers: json, body: JSON.stringify({ name: 'acme' }) });
  await adminClient.basicReq('PUT', '/api/v1/orgs/acme/members/alice', [204], { headers: json, body: JSON.stringify({ role: 'member' }) });
  adminClient.http.close();

  const c = new Client(server.url, alice);
  const repo = 'acme/app';
  try {
    c.bearer = await c.token(`repository:${repo}:pull,push`);
    // The repository exists with one tagged image before anything is counted.
    const base = image('base');
    const pushBlob = async (data: Buffer) => {
      const post = await c.req('POST', `/v2/${repo}/blobs/uploads/`, [202]);
      const loc = c.http.pathOf(header(post, 'location') ?? '');
      await c.req('PUT', `${loc}${loc.includes('?') ? '&' : '?'}digest=${encodeURIComponent(sha256(data))}`, [201], { headers: { 'content-type': 'application/octet-stream' }, body: data });
    };
    await pushBlob(base.config);
    await pushBlob(base.layer);
    await c.req('PUT', `/v2/${repo}/manifests/latest`, [201], { headers: { 'content-type': OCI_MANIFEST }, body: base.manifest });
    for (const other of ['acme/web', 'acme/db']) {
      const img = image(other);
      const saved = c.bearer;
      c.bearer = await c.token(`repository:${other}:pull,push`);
      const post = async (data: Buffer) => {
        const p = await c.req('POST', `/v2/${other}/blobs/uploads/`, [202]);
        const loc = c.http.pathOf(header(p, 'location') ?? '');
        await c.req('PUT', `${loc}${loc.includes('?') ? '&' : '?'}digest=${encodeURIComponent(sha256(data))}`, [201], { body: data, headers: { 'content-type': 'application/octet-stream' } });
      };
      await post(img.config);
      await post(img.layer);
      await c.req('PUT', `/v2/${other}/manifests/latest`, [201], { headers: { 'content-type': OCI_MANIFEST }, body: img.manifest });
      c.bearer = saved;
    }
    const digest = sha256(base.manifest);
    const layer = sha256(base.layer);

    // Warm-up (first scrape computes storage usage, first requests load caches), then the idle cost.
    await snapshot(c.http, server.pid);
    await c.req('GET', `/v2/${repo}/manifests/latest`, [200], { headers: { accept: OCI_MANIFEST } });
    const i0 = await snapshot(c.http, server.pid);
    const i1 = await snapshot(c.http, server.pid);
    const idle = { db: diff(i0.db, i1.db), s3: diff(i0.s3, i1.s3) };
    log(`  counts: idle scrape-to-scrape ${sum(idle.db)} statements, ${sum(idle.s3)} S3 calls`);

    const kinds: KindCounts[] = [];
    const run = async (kind: string, count: number, concurrency: number, task: (i: number) => Promise<unknown>) => {
      const k = await measure(c, server.pid, idle, kind, count, concurrency, task);
      kinds.push(k);
      log(`  counts: ${kind}: ${k.statements} statements ${JSON.stringify(k.statementsBy)}, ${k.s3} S3 ${JSON.stringify(k.s3By)}, ${k.rps.toFixed(0)} req/s, ${k.cpuMsPerRequest.toFixed(2)} ms CPU`);
    };
    const accept = { accept: OCI_MANIFEST };
    await run('token GET (Basic, pull+push scope)', Math.ceil(n / 4), 4, () => c.basicReq('GET', c.tokenPath(`repository:${repo}:pull,push`), [200]));
    await run('manifest GET by tag', n, 8, () => c.req('GET', `/v2/${repo}/manifests/latest`, [200], { headers: accept }));
    await run('manifest HEAD by tag', n, 8, () => c.req('HEAD', `/v2/${repo}/manifests/latest`, [200], { headers: accept }));
    await run('manifest GET by digest', n, 8, () => c.req('GET', `/v2/${repo}/manifests/${digest}`, [200], { headers: accept }));
    await run('blob HEAD', n, 8, () => c.req('HEAD', `/v2/${repo}/blobs/${layer}`, [200]));
    await run('blob GET (4 KiB)', n, 8, () => c.req('GET', `/v2/${repo}/blobs/${layer}`, [200, 307], { discard: true }));
    await run('tag list', n, 8, () => c.req('GET', `/v2/${repo}/tags/list`, [200]));
    const saved = c.bearer;
    c.bearer = await c.token('registry:catalog:*');
    await run('catalog (3 repositories)', Math.ceil(n / 2), 8, () => c.req('GET', '/v2/_catalog', [200]));
    c.bearer = saved;
    // A push, request by request: start the uploads, finish them, then the manifests.
    const pushes = Math.max(4, Math.ceil(n / 8));
    const images = Array.from({ length: pushes }, (_, i) => image(`push-${i}-${randomBytes(4).toString('hex')}`));
    const locations: string[] = [];
    await run('blob upload POST', pushes * 2, 4, async (i) => {
      const post = await c.req('POST', `/v2/${repo}/blobs/uploads/`, [202]);
      locations[i] = c.http.pathOf(header(post, 'location') ?? '');
    });
    await run('blob upload PUT (monolithic, 4 KiB)', pushes * 2, 4, async (i) => {
      const img = images[Math.floor(i / 2)] as Image;
      const data = i % 2 === 0 ? img.config : img.layer;
      const loc = locations[i] ?? '';
      await c.req('PUT', `${loc}${loc.includes('?') ? '&' : '?'}digest=${encodeURIComponent(sha256(data))}`, [201], { headers: { 'content-type': 'application/octet-stream' }, body: data });
    });
    await run('manifest PUT (new tag)', pushes, 4, (i) => c.req('PUT', `/v2/${repo}/manifests/t${i}`, [201], { headers: { 'content-type': OCI_MANIFEST }, body: (images[i] as Image).manifest }));
    return { kinds, idle: { statements: sum(idle.db), s3: sum(idle.s3) } };
  } finally {
    c.http.close();
  }
}

/** Runs the counts on the embedded profile, and on one replica on S3 + PostgreSQL when the services are set. */
export async function runRequestCounts(
  opts: {
    n?: number;
    profiles?: ('embedded' | 'scale')[];
    log?: (m: string) => void;
    /** The S3 + PostgreSQL services (bench/scale.ts passes what it discovered); else S3_ENDPOINT, DATABASE_URL, … */
    services?: { s3: S3Options; databaseUrl: string };
  } = {},
): Promise<RequestCountsResult> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const n = opts.n ?? 200;
  const result: RequestCountsResult = { startedAt: new Date().toISOString(), load: { start: currentLoad(), end: 0 }, n, profiles: [] };
  for (const profile of opts.profiles ?? ['embedded', 'scale']) {
    const label = profile === 'embedded' ? 'embedded (fs + SQLite)' : 'one replica (S3 + PostgreSQL)';
    log(`counts: ${label}`);
    let server: StartedServer | null = null;
    let cleanup = async () => {};
    try {
      if (profile === 'embedded') {
        server = await startWharf({ env: { WHARF_AUTH__ENABLED: 'true' } });
      } else {
        const dbUrl = opts.services?.databaseUrl ?? process.env['DATABASE_URL'];
        if ((!opts.services && !process.env['S3_ENDPOINT']) || !dbUrl) {
          result.profiles.push({ profile, label, kinds: [], idle: { statements: 0, s3: 0 }, error: 'S3_ENDPOINT / DATABASE_URL not set (source /tmp/svc.env)' });
          continue;
        }
        const s3 = opts.services ? { ...opts.services.s3, prefix: `${opts.services.s3.prefix}counts/` } : s3TestOptions({ prefix: `bench/counts/${uniqueName('run')}/` });
        const fresh = await freshBackends(dbUrl, 'wharf_bench_counts', s3);
        cleanup = fresh.cleanup;
        server = await startWharf({ env: { ...scaleEnv(s3, { url: fresh.databaseUrl }), WHARF_AUTH__ENABLED: 'true' }, readyTimeoutMs: 60_000 });
      }
      const { kinds, idle } = await countRequests(server, n, log);
      result.profiles.push({ profile, label, kinds, idle });
    } catch (err) {
      const msg = (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? 'error';
      log(`counts: ${label} FAILED ${msg}`);
      result.profiles.push({ profile, label, kinds: [], idle: { statements: 0, s3: 0 }, error: msg });
    } finally {
      await server?.stop().catch(() => undefined);
      await cleanup();
    }
  }
  result.load.end = currentLoad();
  return result;
}

const by = (r: Record<string, number>) =>
  Object.entries(r)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');

/** The counts as a Markdown table, one row per request kind, both profiles side by side. */
export function requestCountsMarkdown(r: RequestCountsResult): string {
  const lines = [
    "### Where a request's time goes: statements and S3 calls per request (auth on)",
    '',
    `Run ${r.startedAt}; 1-min load average ${r.load.start.toFixed(2)} at start, ${r.load.end.toFixed(2)} at end. A non-admin member of org acme with a bearer token pulls acme/app; the counts are exact (metrics before/after, idle scrape cost subtracted), req/s and CPU are noisy on this shared machine.`,
    '',
  ];
  for (const p of r.profiles) {
    lines.push(`**${p.label}**${p.error ? `: not measured (${p.error})` : ''}`, '');
    if (p.kinds.length === 0) continue;
    lines.push('| request | statements/req | by operation | S3 calls/req | by operation | req/s | server CPU ms/req |', '| --- | ---: | --- | ---: | --- | ---: | ---: |');
    for (const k of p.kinds) {
      lines.push(`| ${k.kind} (${k.requests}) | ${k.statements} | ${by(k.statementsBy)} | ${k.s3} | ${by(k.s3By)} | ${k.rps.toFixed(0)} | ${k.cpuMsPerRequest.toFixed(2)} |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}

if (import.meta.filename === process.argv[1]) {
  const only = process.env['BENCH_ONLY_PROFILE'];
  const r = await runRequestCounts({
    n: Number(process.env['BENCH_COUNTS_N'] ?? 200),
    ...(only === 'embedded' || only === 'scale' ? { profiles: [only] } : {}),
  });
  process.stdout.write(`${requestCountsMarkdown(r)}\n`);
}
