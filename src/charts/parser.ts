/**
 * Reads chart archives (gunzip, tar, Chart.yaml) in a small pool of worker threads, so one
 * upload or push of a hostile chart cannot stall every other request on the event loop, and its
 * cost is bounded three ways: the archive limits (size, expansion ratio, YAML shape), a heap cap
 * per worker (a worker that runs out is replaced), and a time limit per archive (a worker that
 * overruns is terminated). Workers start on demand and exit when idle, so an idle server keeps
 * no extra threads. See docs/adr/0011-request-limits.md.
 */
import { extname } from 'node:path';
import { Tinypool } from 'tinypool';
import { RegistryError } from '../errors.ts';
import type { ArchiveLimits, ArchiveResult } from './archive.ts';
import { ChartError, type ChartMetadata } from './metadata.ts';
import type { ParseOutcome, ParseTask } from './parse-worker.ts';

export interface ChartParserOptions {
  /** Worker threads at most. */
  workers: number;
  /** Archives waiting for a worker at most; more are refused as "busy" (429). */
  maxQueue: number;
  /** Time one archive may take. */
  timeoutMs: number;
  /** Heap of one worker. */
  heapMb: number;
  limits: ArchiveLimits;
}

export interface ParsedChart {
  archive: ArchiveResult;
  meta: ChartMetadata;
}

export class ChartParser {
  private readonly pool: Tinypool;
  private readonly opts: ChartParserOptions;

  constructor(opts: ChartParserOptions) {
    this.opts = opts;
    // src/ runs as .ts (tests), dist/ as .js (the server): the worker is this module's sibling.
    const filename = new URL(`./parse-worker${extname(new URL(import.meta.url).pathname)}`, import.meta.url).href;
    this.pool = new Tinypool({
      filename,
      minThreads: 0,
      maxThreads: opts.workers,
      maxQueue: opts.maxQueue,
      idleTimeout: 30_000,
      resourceLimits: { maxOldGenerationSizeMb: opts.heapMb, maxYoungGenerationSizeMb: 8, stackSizeMb: 4 },
    });
  }

  /** Reads the archive; ChartError when it is not a usable chart, TOOMANYREQUESTS when the pool is full. */
  async parse(tgz: Uint8Array): Promise<ParsedChart> {
    const task: ParseTask = { tgz, limits: this.opts.limits };
    let outcome: ParseOutcome;
    try {
      outcome = (await this.pool.run(task, { signal: AbortSignal.timeout(this.opts.timeoutMs) })) as ParseOutcome;
    } catch (err) {
      const e = err as { name?: unknown; code?: unknown; message?: unknown };
      if (e.name === 'AbortError' || e.name === 'TimeoutError') throw new ChartError(`chart archive took longer than ${this.opts.timeoutMs} ms to read`);
      if (e.code === 'ERR_WORKER_OUT_OF_MEMORY') throw new ChartError('chart archive needs too much memory to read');
      if (typeof e.message === 'string' && /queue is at limit/i.test(e.message)) {
        throw new RegistryError('TOOMANYREQUESTS', 'too many charts are being read right now; retry shortly', { retryAfterSeconds: 2 });
      }
      throw err;
    }
    if (!outcome.ok) throw new ChartError(outcome.error);
    return { archive: outcome.archive, meta: outcome.meta };
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
