/**
 * Webhooks under a push load (issue 18): N image pushes from M concurrent clients into an
 * organization, first without a webhook, then with one subscribed to `package.published` whose
 * receiver is a local node:http server. Reported: pushes/s with and without the webhook,
 * deliveries/s, delivery lag (push completed → delivery received) p50/p99, whether every event
 * arrived exactly once (deliveries, distinct event ids, valid signatures) and the server CPU a
 * delivery adds. Embedded profile, and one replica on S3 + PostgreSQL when the services are set
 * (S3_ENDPOINT, DATABASE_URL: `source /tmp/svc.env`).
 *
 *   node bench/webhooks.ts                          # 500 pushes (150 on S3), 16 clients
 *   BENCH_QUICK=1 node bench/webhooks.ts            # 100 pushes (50 on S3), 8 clients
 *   BENCH_WEBHOOK_SCALE_PUSHES=…                     # the S3 profile's count
 *   BENCH_WEBHOOK_PUSHES=200 BENCH_WEBHOOK_CLIENTS=16 BENCH_WEBHOOK_PROFILES=embedded node bench/webhooks.ts
 *
 * Not a test: it asserts nothing. Results: docs/benchmarks.md, "Webhooks under a push load".
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expectStatus, header, HttpClient, pool } from './http.ts';
import { currentLoad } from './report.ts';
import { treeCpuSeconds } from './servers.ts';
import { verifySignature } from '../src/services/webhooks/signature.ts';
import { s3TestOptions, scaleEnv, uniqueName } from '../test/scale/backends.ts';
import { freshBackends } from './fresh-backends.ts';
import { startWharf, type StartedServer } from '../test/helpers/server.ts';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const SECRET = `bench-secret-${randomBytes(16).toString('hex')}`;
const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export interface WebhookPhase {
  pushes: number;
  seconds: number;
  pushesPerSecond: number;
  cpuMsPerPush: number;
}

export interface WebhookProfileResult {
  profile: 'embedded' | 'scale';
  label: string;
  pushes: number;
  without: WebhookPhase | null;
  with: WebhookPhase | null;
  deliveries: number;
  distinctEvents: number;
  duplicates: number;
  badSignatures: number;
  /** Events pushed but never received within the wait. */
  missing: number;
  /** Deliveries / (last delivery received − first push started), over the phase with the webhook. */
  deliveriesPerSecond: number | null;
  /** After the last push completed, until the last delivery arrived. */
  drainSeconds: number | null;
  lagP50Ms: number | null;
  lagP99Ms: number | null;
  lagMaxMs: number | null;
  /** Server CPU the webhook adds per delivery: (CPU per push with − without). */
  cpuMsPerDelivery: number | null;
  error?: string;
}

export interface WebhookBenchResult {
  startedAt: string;
  load: { start: number; end: number };
  pushes: number;
  clients: number;
  settings: Record<string, string>;
  profiles: WebhookProfileResult[];
}

interface Received {
  at: number;
  eventId: string;
  key: string;
}

/** A receiver that checks every signature and notes when each event arrived. */
async function startReceiver(): Promise<{ url: string; received: Received[]; bad: () => number; close: () => Promise<void> }> {
  const received: Received[] = [];
  let bad = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = performance.now();
      const body = Buffer.concat(chunks);
      const sig = req.headers['x-wharf-signature-256'];
      if (!verifySignature(SECRET, body, typeof sig === 'string' ? sig : undefined)) {
        bad++;
        res.writeHead(401).end();
        return;
      }
      const p = JSON.parse(body.toString()) as { id: string; event: string; package: string; tag: string | null };
      if (p.event === 'package.published') received.push({ at, eventId: p.id, key: `${p.package}:${p.tag ?? ''}` });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    bad: () => bad,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

function image(seed: string) {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Labels: { seed } }, rootfs: { type: 'layers', diff_ids: [sha256(seed)] } }));
  const layer = Buffer.concat([Buffer.from(seed), randomBytes(2048)]);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layer), size: layer.length }],
  });
  return { config, layer, manifest };
}

/** `pushes` images (two blobs and a tagged manifest each) from `clients` concurrent clients; push i completes at done[i]. */
async function pushLoad(c: HttpClient, auth: string, pid: number | undefined, phase: string, pushes: number, clients: number, done: Map<string, number>): Promise<WebhookPhase> {
  const h = { authorization: auth };
  const blob = async (repo: string, data: Buffer) => {
    const post = await expectStatus(c, 'POST', `/v2/${repo}/blobs/uploads/`, [202], { headers: h });
    const loc = c.pathOf(header(post, 'location') ?? '');
    await expectStatus(c, 'PUT', `${loc}${loc.includes('?') ? '&' : '?'}digest=${encodeURIComponent(sha256(data))}`, [201], {
      headers: { ...h, 'content-type': 'application/octet-stream' },
      body: data,
    });
  };
  const images = Array.from({ length: pushes }, (_, i) => image(`${phase}-${i}-${randomBytes(4).toString('hex')}`));
  const cpu0 = pid === undefined ? 0 : treeCpuSeconds(pid);
  const t0 = performance.now();
  await pool(pushes, clients, async (i) => {
    const repo = `acme/${phase}-${i % clients}`;
    const img = images[i] as ReturnType<typeof image>;
    await blob(repo, img.config);
    await blob(repo, img.layer);
    const tag = `t${i}`;
    await expectStatus(c, 'PUT', `/v2/${repo}/manifests/${tag}`, [201], { headers: { ...h, 'content-type': OCI_MANIFEST }, body: img.manifest });
    done.set(`${repo}:${tag}`, performance.now());
  });
  const seconds = (performance.now() - t0) / 1000;
  const cpu = pid === undefined ? 0 : treeCpuSeconds(pid) - cpu0;
  return { pushes, seconds, pushesPerSecond: pushes / seconds, cpuMsPerPush: (cpu * 1000) / pushes };
}

const quantile = (sorted: number[], q: number) => (sorted.length === 0 ? null : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? null));

async function measureProfile(server: StartedServer, profile: WebhookProfileResult['profile'], label: string, pushes: number, clients: number, log: (m: string) => void): Promise<WebhookProfileResult> {
  const out: WebhookProfileResult = {
    profile, label, pushes, without: null, with: null, deliveries: 0, distinctEvents: 0, duplicates: 0, badSignatures: 0, missing: 0,
    deliveriesPerSecond: null, drainSeconds: null, lagP50Ms: null, lagP99Ms: null, lagMaxMs: null, cpuMsPerDelivery: null,
  };
  const admin = server.admin;
  if (!admin) throw new Error('the server runs without auth');
  const auth = `Basic ${Buffer.from(`${admin.username}:${admin.password}`).toString('base64')}`;
  const c = new HttpClient(server.url, clients * 2);
  const rx = await startReceiver();
  try {
    const json = { authorization: auth, 'content-type': 'application/json' };
    await expectStatus(c, 'POST', '/api/v1/orgs', [201], { headers: json, body: JSON.stringify({ name: 'acme' }) });
    // Warm-up: every repository exists and the code paths are compiled before either phase is timed.
    await pushLoad(c, auth, server.pid, 'warm', clients, clients, new Map());
    out.without = await pushLoad(c, auth, server.pid, 'plain', pushes, clients, new Map());
    log(`  webhooks ${label}: without a webhook ${out.without.pushesPerSecond.toFixed(1)} pushes/s, ${out.without.cpuMsPerPush.toFixed(1)} ms CPU/push`);

    await expectStatus(c, 'POST', '/api/v1/owners/acme/webhooks', [201], { headers: json, body: JSON.stringify({ url: rx.url, secret: SECRET, events: ['package.published'] }) });
    const done = new Map<string, number>();
    const t0 = performance.now();
    const cpu0 = server.pid === undefined ? 0 : treeCpuSeconds(server.pid);
    out.with = await pushLoad(c, auth, server.pid, 'hooked', pushes, clients, done);
    const pushedAt = performance.now();
    // Wait for the deliveries (at most 60 s after the last push).
    while (rx.received.length < pushes && performance.now() - pushedAt < 60_000) await new Promise((r) => setTimeout(r, 50));
    const cpuAll = server.pid === undefined ? 0 : treeCpuSeconds(server.pid) - cpu0;
    await new Promise((r) => setTimeout(r, 1500)); // late duplicates, if any
    const ours = rx.received.filter((r) => done.has(r.key));
    out.deliveries = ours.length;
    out.distinctEvents = new Set(ours.map((r) => r.eventId)).size;
    out.duplicates = ours.length - new Set(ours.map((r) => r.key)).size;
    out.badSignatures = rx.bad();
    out.missing = [...done.keys()].filter((k) => !ours.some((r) => r.key === k)).length;
    const first = new Map<string, number>();
    for (const r of ours) if (!first.has(r.key)) first.set(r.key, r.at);
    const lags = [...first].map(([k, at]) => at - (done.get(k) ?? at)).sort((a, b) => a - b);
    out.lagP50Ms = quantile(lags, 0.5);
    out.lagP99Ms = quantile(lags, 0.99);
    out.lagMaxMs = lags.length > 0 ? (lags[lags.length - 1] ?? null) : null;
    const last = Math.max(...ours.map((r) => r.at));
    if (ours.length > 0) {
      out.deliveriesPerSecond = ours.length / ((last - t0) / 1000);
      out.drainSeconds = Math.max(0, (last - pushedAt) / 1000);
    }
    // Everything the server did during the hooked phase and its drain, less what the pushes cost without.
    out.cpuMsPerDelivery = ours.length > 0 ? ((cpuAll * 1000) - out.without.cpuMsPerPush * pushes) / ours.length : null;
    log(
      `  webhooks ${label}: with a webhook ${out.with.pushesPerSecond.toFixed(1)} pushes/s; ${out.deliveries} deliveries (${out.distinctEvents} events, ${out.duplicates} duplicates, ${out.missing} missing, ${out.badSignatures} bad signatures), ` +
        `${out.deliveriesPerSecond?.toFixed(1)} deliveries/s, lag p50 ${out.lagP50Ms?.toFixed(0)} ms p99 ${out.lagP99Ms?.toFixed(0)} ms, drain ${out.drainSeconds?.toFixed(2)} s, ${out.cpuMsPerDelivery?.toFixed(2)} ms CPU/delivery`,
    );
  } finally {
    c.close();
    await rx.close();
  }
  return out;
}

export async function runWebhookBench(opts: { pushes?: number; clients?: number; profiles?: ('embedded' | 'scale')[]; env?: Record<string, string>; log?: (m: string) => void } = {}): Promise<WebhookBenchResult> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const quick = ['1', 'true', 'yes'].includes(process.env['BENCH_QUICK'] ?? '');
  const pushes = opts.pushes ?? Number(process.env['BENCH_WEBHOOK_PUSHES'] ?? (quick ? 100 : 500));
  // The S3 profile pushes about ten times slower (each blob PUT is 11 S3 calls): fewer pushes keep it to about a minute per phase.
  const scalePushes = Number(process.env['BENCH_WEBHOOK_SCALE_PUSHES'] ?? Math.min(pushes, quick ? 50 : 150));
  const clients = opts.clients ?? Number(process.env['BENCH_WEBHOOK_CLIENTS'] ?? (quick ? 8 : 16));
  const profiles = opts.profiles ?? ((process.env['BENCH_WEBHOOK_PROFILES'] ?? 'embedded,scale').split(',') as ('embedded' | 'scale')[]);
  // Receivers on 127.0.0.1 need allowPrivateTargets; the rest is the server's webhook config as set.
  const settings: Record<string, string> = { WHARF_WEBHOOKS__ALLOW_PRIVATE_TARGETS: 'true', ...opts.env };
  for (const [k, v] of Object.entries(process.env)) if (k.startsWith('WHARF_WEBHOOKS__') && v !== undefined) settings[k] = v;
  const result: WebhookBenchResult = { startedAt: new Date().toISOString(), load: { start: currentLoad(), end: 0 }, pushes, clients, settings, profiles: [] };
  for (const profile of profiles) {
    const label = profile === 'embedded' ? 'embedded (fs + SQLite)' : 'one replica (S3 + PostgreSQL)';
    log(`webhooks: ${label}, ${pushes} pushes from ${clients} clients`);
    let server: StartedServer | null = null;
    let cleanup = async () => {};
    try {
      if (profile === 'embedded') {
        server = await startWharf({ env: { ...settings, WHARF_AUTH__ENABLED: 'true' } });
      } else {
        const dbUrl = process.env['DATABASE_URL'];
        if (!process.env['S3_ENDPOINT'] || !dbUrl) throw new Error('S3_ENDPOINT / DATABASE_URL not set (source /tmp/svc.env)');
        const s3 = s3TestOptions({ prefix: `bench/webhooks/${uniqueName('run')}/` });
        const fresh = await freshBackends(dbUrl, 'wharf_bench_webhooks', s3);
        cleanup = fresh.cleanup;
        server = await startWharf({ env: { ...scaleEnv(s3, { url: fresh.databaseUrl }), ...settings, WHARF_AUTH__ENABLED: 'true' }, readyTimeoutMs: 60_000 });
      }
      result.profiles.push(await measureProfile(server, profile, label, profile === 'scale' ? scalePushes : pushes, clients, log));
    } catch (err) {
      const msg = (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? 'error';
      log(`webhooks: ${label} FAILED ${msg}`);
      result.profiles.push({
        profile, label, pushes: 0, without: null, with: null, deliveries: 0, distinctEvents: 0, duplicates: 0, badSignatures: 0, missing: 0,
        deliveriesPerSecond: null, drainSeconds: null, lagP50Ms: null, lagP99Ms: null, lagMaxMs: null, cpuMsPerDelivery: null, error: msg,
      });
    } finally {
      await server?.stop().catch(() => undefined);
      await cleanup();
    }
  }
  result.load.end = currentLoad();
  return result;
}

const f = (n: number | null | undefined, d = 1) => (n === null || n === undefined ? 'n/a' : n.toFixed(d));

export function webhookBenchMarkdown(r: WebhookBenchResult): string {
  const settings = Object.entries(r.settings).map(([k, v]) => `${k}=${v}`).join(' ');
  const lines = [
    `Run ${r.startedAt}; 1-min load average ${r.load.start.toFixed(2)} at start, ${r.load.end.toFixed(2)} at end. Image pushes (2 blobs + a tagged manifest; how many per profile in the first column) from ${r.clients} clients into org acme, per phase; the webhook is subscribed to package.published on the org. ${settings}`,
    '',
    '| profile | pushes/s without | pushes/s with | deliveries/s | lag p50 ms | lag p99 ms | lag max ms | drain after last push s | delivered / events / duplicates / missing / bad signatures | CPU ms/push without | CPU ms/delivery |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |',
  ];
  for (const p of r.profiles) {
    if (p.error) {
      lines.push(`| ${p.label} | not measured: ${p.error} |||||||||| |`);
      continue;
    }
    lines.push(
      `| ${p.label}, ${p.pushes} pushes | ${f(p.without?.pushesPerSecond)} | ${f(p.with?.pushesPerSecond)} | ${f(p.deliveriesPerSecond)} | ${f(p.lagP50Ms, 0)} | ${f(p.lagP99Ms, 0)} | ${f(p.lagMaxMs, 0)} | ${f(p.drainSeconds, 2)} | ${p.deliveries} / ${p.distinctEvents} / ${p.duplicates} / ${p.missing} / ${p.badSignatures} | ${f(p.without?.cpuMsPerPush)} | ${f(p.cpuMsPerDelivery, 2)} |`,
    );
  }
  lines.push('');
  return lines.join('\n');
}

if (import.meta.filename === process.argv[1]) {
  const r = await runWebhookBench();
  process.stdout.write(`${webhookBenchMarkdown(r)}\n`);
}
