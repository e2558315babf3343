/**
 * A scale-out cluster for test/scale: two Wharf replicas (real processes, `wharf serve`) on the
 * ports the load balancer of ../shared/services/start-services.sh forwards to (5281, 5282), sharing
 * one S3 key prefix and one fresh PostgreSQL database, with nginx round-robin in front (5280).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { type StartedServer, startWharf } from '../helpers/server.ts';
import { dropDatabase, emptyPrefix, postgresMissing, s3Missing, s3TestOptions, scaleEnv, uniqueName } from './backends.ts';
import type { S3Options } from '../../src/storage/s3/client.ts';

export const lbUrl = process.env['REGISTRY_LB_URL'] ?? '';
export const replicaPorts = (process.env['REGISTRY_REPLICA_PORTS'] ?? '5281 5282').split(/\s+/).filter(Boolean).map(Number);
const regsvcDir = process.env['REGSVC_DIR'] ?? '/tmp/regsvc';
export const lbAccessLog = join(regsvcDir, 'lb', 'access.log');

export const clusterMissing: string | false =
  s3Missing ||
  postgresMissing ||
  (lbUrl ? false : 'REGISTRY_LB_URL is not set: start ../shared/services/start-services.sh up s3 postgres lb and export its variables');

export interface Cluster {
  lb: { url: string; host: string };
  replicas: StartedServer[];
  admin: { username: string; password: string };
  s3: S3Options;
  databaseUrl: string;
  /** Environment a replica is started with (to restart one after kill -9). */
  env: Record<string, string>;
  restart(index: number): Promise<StartedServer>;
  stop(): Promise<void>;
}

/**
 * The load balancer forwards to fixed ports, so only one cluster may run on the machine at a time
 * (several test files, or several checkouts, share it). A PostgreSQL advisory lock held on its own
 * connection for the cluster's life serializes them; it is released when the connection ends, even
 * if the test process is killed.
 */
const CLUSTER_LOCK = 0x57686172; // 'Whar'

async function lockCluster(base: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: base });
  await c.connect();
  await c.query('select pg_advisory_lock($1)', [CLUSTER_LOCK]);
  return c;
}

/** `env`: extra settings for every replica (e.g. WHARF_GC__GRACE_SECONDS). */
export async function startCluster(opts: { env?: Record<string, string> } = {}): Promise<Cluster> {
  const lock = await lockCluster(process.env['DATABASE_URL'] ?? '');
  try {
    return await startLockedCluster(lock, opts.env ?? {});
  } catch (err) {
    await lock.end();
    throw err;
  }
}

async function startLockedCluster(lock: pg.Client, extraEnv: Record<string, string>): Promise<Cluster> {
  const s3 = s3TestOptions({ prefix: `scale/${uniqueName('run')}/` });
  const base = process.env['DATABASE_URL'] ?? '';
  const dbName = uniqueName('wharf_scale');
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`create database "${dbName}"`).finally(() => admin.end());
  const u = new URL(base);
  u.pathname = `/${dbName}`;
  const databaseUrl = u.toString();
  const credentials = { username: 'admin', password: `scale-${randomBytes(12).toString('hex')}` };
  const env: Record<string, string> = {
    ...scaleEnv(s3, { url: databaseUrl }),
    WHARF_AUTH__ADMIN__USERNAME: credentials.username,
    WHARF_AUTH__ADMIN__PASSWORD: credentials.password,
    // Every replica must name the same token service and public URL (docs/deploy/scale-out.md).
    WHARF_AUTH__SERVICE: 'wharf-scale-test',
    WHARF_SERVER__BASE_URL: new URL(lbUrl).origin,
    WHARF_SERVER__TRUST_PROXY: 'true',
    WHARF_LOG__LEVEL: process.env['WHARF_E2E_LOG_LEVEL'] ?? 'info',
    ...extraEnv,
  };
  const start = (port: number) => startWharf({ port, env, readyTimeoutMs: 60_000 });
  const replicas: StartedServer[] = [];
  try {
    // One after the other: the first start creates the admin account and signing key.
    for (const port of replicaPorts) replicas.push(await start(port));
  } catch (err) {
    for (const r of replicas) await r.stop();
    throw err;
  }
  const lb = new URL(lbUrl);
  return {
    lb: { url: lb.origin, host: lb.host },
    replicas,
    admin: credentials,
    s3,
    databaseUrl,
    env,
    async restart(index: number) {
      const port = replicaPorts[index];
      if (port === undefined) throw new Error(`no replica ${index}`);
      const r = await start(port);
      replicas[index] = r;
      return r;
    },
    async stop() {
      // The lock's connection goes whatever fails before it: left open, it kept the test process
      // alive after a failed clean-up, and the run waited for it forever.
      try {
        for (const r of replicas) await r.stop();
        await emptyPrefix(s3);
        await dropDatabase(base, dbName);
      } finally {
        await lock.end();
      }
    },
  };
}

/** Upstreams nginx sent requests matching `pathPart` to (from its access log). */
export async function upstreamsFor(pathPart: string): Promise<Map<string, number>> {
  const text = await readFile(lbAccessLog, 'utf8').catch(() => '');
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.includes(pathPart)) continue;
    const m = / upstream=(\S+)/.exec(line);
    if (m?.[1]) out.set(m[1], (out.get(m[1]) ?? 0) + 1);
  }
  return out;
}

/** Bytes a process has read so far (sockets included): who is receiving the big upload. */
export async function bytesRead(pid: number | undefined): Promise<number> {
  if (pid === undefined) return 0;
  const text = await readFile(`/proc/${pid}/io`, 'utf8').catch(() => '');
  const m = /^rchar:\s*(\d+)/m.exec(text);
  return m?.[1] ? Number(m[1]) : 0;
}

/** A registry bearer token from `base` (Docker token flow, Basic auth), for `scope`. */
export async function bearer(base: string, scope: string, creds: { username: string; password: string }): Promise<string> {
  const probe = await fetch(`${base}/v2/`);
  await probe.arrayBuffer();
  const challenge = probe.headers.get('www-authenticate') ?? '';
  const realm = /realm="([^"]+)"/.exec(challenge)?.[1];
  const service = /service="([^"]+)"/.exec(challenge)?.[1];
  if (!realm || !service) throw new Error(`no bearer challenge from ${base}/v2/: ${challenge}`);
  const url = new URL(realm);
  url.searchParams.set('service', service);
  url.searchParams.set('scope', scope);
  const res = await fetch(url, { headers: { authorization: `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}` } });
  if (res.status !== 200) throw new Error(`token request failed: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { token?: string };
  if (!body.token) throw new Error('token response without token');
  return body.token;
}
