/**
 * `server.workers` > 1: one primary process that owns no registry state, and N workers that each
 * run the whole server on the shared port (node:cluster hands them the connections). Everything a
 * worker keeps is either in the database and the store (sessions, uploads, rate limits, leases,
 * download counts once flushed) or safe per process (caches validated against the database),
 * as for replicas behind a load balancer (docs/adr/0023-workers.md).
 *
 * The primary applies migrations before the first fork, restarts a worker that dies, drains all
 * of them on SIGTERM/SIGINT, passes SIGHUP on (TLS reload), and answers /metrics for whichever worker was asked, summed over
 * all workers (prom-client's AggregatorRegistry).
 */
import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { Logger } from 'pino';

const SCRAPE = 'wharf:metrics-scrape';
const SCRAPED = 'wharf:metrics-scraped';
/** A worker that dies sooner than this after its start is restarted only after a pause. */
const EARLY_DEATH_MS = 5000;

interface ScrapeRequest {
  type: typeof SCRAPE;
  id: number;
}
interface ScrapeResponse {
  type: typeof SCRAPED;
  id: number;
  body?: string;
  error?: string;
}

/** How many server processes `server.workers` asks for (0 = one per core). */
export function workerCount(configured: number): number {
  return configured > 0 ? configured : availableParallelism();
}

export const isWorker = (): boolean => cluster.isWorker;

/**
 * Runs the primary until every worker has stopped after a signal. `prepare` runs first (the
 * migrations), so workers never race each other through them.
 */
export async function runPrimary(opts: { workers: number; logger: Logger; shutdownTimeoutMs: number; prepare: () => Promise<void> }): Promise<number> {
  const { logger } = opts;
  await opts.prepare();
  const metrics = new AggregatorRegistry();
  let stopping = false;
  const started = new Map<number, number>();
  /** Workers that listen: they have their signal handlers (a starting one would die of a SIGHUP). */
  const listening = new Set<number>();
  cluster.on('listening', (worker) => listening.add(worker.id));

  const fork = (): void => {
    const w = cluster.fork();
    started.set(w.id, Date.now());
  };
  cluster.on('message', (worker: Worker, message: unknown) => {
    if (!isScrapeRequest(message)) return;
    metrics.clusterMetrics().then(
      (body) => worker.send({ type: SCRAPED, id: message.id, body } satisfies ScrapeResponse),
      (err: unknown) => worker.send({ type: SCRAPED, id: message.id, error: err instanceof Error ? err.message : String(err) } satisfies ScrapeResponse),
    );
  });
  cluster.on('exit', (worker, code, signal) => {
    const lived = Date.now() - (started.get(worker.id) ?? 0);
    started.delete(worker.id);
    listening.delete(worker.id);
    if (stopping) return;
    logger.error({ worker: worker.id, pid: worker.process.pid, code, signal }, 'worker died; starting another');
    // A worker that cannot even start (a bad port, a database gone) would otherwise spin.
    setTimeout(fork, lived < EARLY_DEATH_MS ? 1000 : 0).unref();
  });

  for (let i = 0; i < opts.workers; i++) fork();
  logger.info({ workers: opts.workers, pid: process.pid }, 'wharf primary started its workers');

  return new Promise<number>((resolve) => {
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'shutting down the workers');
      // Each worker drains its own requests within server.shutdownTimeoutSeconds.
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
      const force = setTimeout(() => {
        logger.warn('workers did not stop in time, exiting');
        for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
        resolve(1);
      }, opts.shutdownTimeoutMs + 2000);
      force.unref();
      const check = () => {
        if (Object.keys(cluster.workers ?? {}).length > 0) return;
        clearTimeout(force);
        logger.info('stopped');
        resolve(0);
      };
      cluster.on('exit', check);
      check();
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    // SIGHUP re-reads the TLS certificate in each worker; unhandled it would end the primary. A
    // worker still starting reads the files anyway, and has no handler yet.
    process.on('SIGHUP', () => {
      for (const w of Object.values(cluster.workers ?? {})) if (w && listening.has(w.id)) w.process.kill('SIGHUP');
    });
  });
}

function isScrapeRequest(m: unknown): m is ScrapeRequest {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === SCRAPE;
}

function isScrapeResponse(m: unknown): m is ScrapeResponse {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === SCRAPED;
}

/**
 * In a worker: offers `registry` to the primary's aggregation, and returns the scrape to use for
 * /metrics (every worker's figures, from the primary).
 */
export function clusterScrape(registry: Registry): () => Promise<{ contentType: string; body: string }> {
  // Constructing it installs prom-client's worker-side listener.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([registry]);
  let next = 0;
  const waiting = new Map<number, { resolve: (body: string) => void; reject: (err: Error) => void }>();
  process.on('message', (m: unknown) => {
    if (!isScrapeResponse(m)) return;
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    if (m.body !== undefined) w?.resolve(m.body);
    else w?.reject(new Error(`metrics from the workers: ${m.error ?? 'no answer'}`));
  });
  return async () => {
    const id = next++;
    const body = await new Promise<string>((resolve, reject) => {
      waiting.set(id, { resolve, reject });
      process.send?.({ type: SCRAPE, id } satisfies ScrapeRequest);
    });
    return { contentType: registry.contentType, body };
  };
}

/** In a worker: `stop` when the primary is gone (killed with -9), so no worker is orphaned. */
export function stopWithPrimary(stop: () => void): void {
  process.on('disconnect', stop);
}
