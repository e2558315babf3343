/**
 * Prometheus metrics: every family Wharf exports, behind small typed methods, registered into one
 * prom-client Registry that main.ts creates and passes in (no default registry, so two Wharfs in
 * one process keep separate counts). Families, labels and meanings: docs/operations.md.
 *
 * Labels are bounded by construction: route templates (never raw paths), methods, status classes,
 * artifact kinds, job names and summary fields (from code), reasons and operations from fixed
 * lists, and at most `storageTopOwners` owners plus "other". No digest, tag or repository label.
 */
import { performance } from 'node:perf_hooks';
import { collectDefaultMetrics, Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { type CounterCell, CounterFamily, type HistogramCell, HistogramFamily } from './metric-cells.ts';

/** What a manifest or blob belongs to (see oci/kind.ts); `unknown` for blobs no manifest references. */
export type TransferKind = 'image' | 'index' | 'chart' | 'artifact' | 'unknown';
export const TRANSFER_KINDS: readonly TransferKind[] = ['image', 'index', 'chart', 'artifact', 'unknown'];

/** Why a credential or request was refused. */
export type AuthFailureReason =
  | 'bad_password'
  | 'bad_token'
  | 'bad_ci_token'
  | 'bad_registry_token'
  | 'bad_refresh_token'
  | 'rate_limited'
  | 'missing_credentials'
  | 'insufficient_scope'
  | 'denied';
export const AUTH_FAILURE_REASONS: readonly AuthFailureReason[] = [
  'bad_password',
  'bad_token',
  'bad_ci_token',
  'bad_registry_token',
  'bad_refresh_token',
  'rate_limited',
  'missing_credentials',
  'insufficient_scope',
  'denied',
];

/** Who a registry token was issued to. */
export type TokenPrincipal = 'anonymous' | 'user' | 'pat' | 'ci';

/** One webhook delivery attempt's result. */
export type WebhookOutcome = 'success' | 'http_error' | 'timeout' | 'network_error' | 'refused';
export const WEBHOOK_OUTCOMES: readonly WebhookOutcome[] = ['success', 'http_error', 'timeout', 'network_error', 'refused'];

export interface OwnerUsage {
  owner: string;
  bytes: number;
}

export interface MetricsOptions {
  /** Owners with their own storage series; the rest are summed under owner="other". */
  storageTopOwners?: number;
  /** Least time between two computations of storage per owner. */
  storageRefreshMs?: number;
  clock?: () => number;
  /** Where a failed scrape-time query is reported. */
  onCollectError?: (what: string, err: unknown) => void;
}

/** Scrape-time sources that need the database; set by main.ts once the stores exist. */
export interface MetricsSources {
  /** Open upload sessions in the whole deployment (one cheap count query). */
  uploadSessions?: () => Promise<number>;
  /** Bytes per owner (every blob link counted, as quotas will count them). */
  storageByOwner?: () => Promise<OwnerUsage[]>;
}

const STATUS_CLASSES = ['1xx', '1xx', '2xx', '3xx', '4xx', '5xx'] as const;

/** Latency buckets for HTTP requests and backend calls (seconds): 1 ms … 60 s. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Job runs take seconds to hours. */
const JOB_BUCKETS = [0.1, 1, 5, 15, 60, 300, 900, 1800, 3600, 7200, 21600];

interface CounterChild {
  inc(value?: number): void;
}

/** The cells of one (route, method, status class): resolved once, then reused by every request. */
interface HttpSeries {
  requests: CounterCell;
  duration: HistogramCell;
  received: CounterCell;
  sent: CounterCell;
}

interface BackendSeries {
  duration: HistogramCell;
  errors: CounterCell;
}

/** A cell behind the `inc` of a prom-client child. */
function counting(cell: CounterCell): CounterChild {
  return {
    inc(value = 1) {
      cell.value += value;
    },
  };
}

/** The largest `n` owners by bytes, and the sum of the rest as "other" (present only when there is a rest). */
export function topOwners(rows: readonly OwnerUsage[], n: number): OwnerUsage[] {
  const sorted = [...rows].sort((a, b) => b.bytes - a.bytes || (a.owner < b.owner ? -1 : 1));
  const top = sorted.slice(0, n);
  if (sorted.length > n) top.push({ owner: 'other', bytes: sorted.slice(n).reduce((s, r) => s + r.bytes, 0) });
  return top;
}

export class WharfMetrics {
  readonly registry: Registry;
  private readonly clock: () => number;
  private readonly onCollectError: (what: string, err: unknown) => void;
  private sources: MetricsSources = {};
  private scraper: (() => Promise<{ contentType: string; body: string }>) | null = null;

  private readonly httpRequests: CounterFamily<'route' | 'method' | 'status_class'>;
  private readonly httpDuration: HistogramFamily<'route' | 'method' | 'status_class'>;
  private readonly httpReceived: CounterFamily<'route' | 'method' | 'status_class'>;
  private readonly httpSent: CounterFamily<'route' | 'method' | 'status_class'>;
  /** route → method → series by status class (1..5); nested maps so a request allocates no key. */
  private readonly httpSeries = new Map<string, Map<string, (HttpSeries | undefined)[]>>();

  private readonly manifestPushes: Record<TransferKind, CounterChild>;
  private readonly manifestPulls: Record<TransferKind, CounterChild>;
  private readonly blobPushes: Record<TransferKind, CounterChild>;
  private readonly blobPushedBytes: Record<TransferKind, CounterChild>;
  private readonly blobPulls: Record<TransferKind, CounterChild>;
  private readonly blobPulledBytes: Record<TransferKind, CounterChild>;

  private readonly tokensIssued: Counter<'type' | 'principal'>;
  private readonly authFailures: Record<AuthFailureReason, CounterChild>;

  private readonly jobRuns: Counter<'job' | 'status'>;
  private readonly jobDuration: Histogram<'job' | 'status'>;
  private readonly jobSummary: Counter<'job' | 'field'>;
  private readonly jobLastSuccess: Gauge<'job'>;

  private readonly webhookDeliveries: Record<WebhookOutcome, CounterChild>;
  private readonly webhookDuration: Histogram;
  private readonly webhookAbandoned: Counter;
  private readonly proxyRequests: Counter<'kind' | 'outcome'>;
  private readonly proxyBytes: Counter;

  private readonly dbDuration: HistogramFamily<'operation'>;
  private readonly dbErrors: CounterFamily<'operation'>;
  private readonly dbByOperation = new Map<string, BackendSeries>();
  private readonly storeDuration: HistogramFamily<'operation'>;
  private readonly storeErrors: CounterFamily<'operation'>;
  private readonly storeByOperation = new Map<string, BackendSeries>();

  private readonly storageTopOwners: number;
  private readonly storageRefreshMs: number;
  private storage: { at: number; rows: OwnerUsage[] } | null = null;
  private storageRefresh: Promise<void> | null = null;

  constructor(registry: Registry, opts: MetricsOptions = {}) {
    this.registry = registry;
    this.clock = opts.clock ?? Date.now;
    this.onCollectError = opts.onCollectError ?? (() => undefined);
    this.storageTopOwners = opts.storageTopOwners ?? 20;
    this.storageRefreshMs = opts.storageRefreshMs ?? 300_000;
    const registers = [registry];

    // ---- HTTP ----
    const httpLabels = ['route', 'method', 'status_class'] as const;
    this.httpRequests = new CounterFamily({ name: 'wharf_http_requests_total', help: 'HTTP requests by route template, method and status class', labelNames: httpLabels, registers });
    this.httpDuration = new HistogramFamily({
      name: 'wharf_http_request_duration_seconds',
      help: 'Time from receiving a request to the end of its response',
      labelNames: httpLabels,
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.httpReceived = new CounterFamily({ name: 'wharf_http_received_bytes_total', help: 'Bytes received on HTTP connections (request lines, headers and bodies)', labelNames: httpLabels, registers });
    this.httpSent = new CounterFamily({ name: 'wharf_http_sent_bytes_total', help: 'Bytes sent on HTTP connections (status lines, headers and bodies)', labelNames: httpLabels, registers });

    // ---- registry traffic ----
    const byKind = (name: string, help: string) => {
      const c = new CounterFamily({ name, help, labelNames: ['kind'] as const, registers });
      return Object.fromEntries(TRANSFER_KINDS.map((k) => [k, counting(c.cell(k))])) as Record<TransferKind, CounterChild>;
    };
    this.manifestPushes = byKind('wharf_manifest_pushes_total', 'Manifests stored by push, by kind (image, index, chart, artifact)');
    this.manifestPulls = byKind('wharf_manifest_pulls_total', 'Manifests sent by GET, by kind');
    this.blobPushes = byKind('wharf_blob_pushes_total', 'Blobs published into a repository by a manifest push, by the kind of that manifest');
    this.blobPushedBytes = byKind('wharf_blob_pushed_bytes_total', 'Bytes of the blobs counted by wharf_blob_pushes_total');
    this.blobPulls = byKind('wharf_blob_pulls_total', 'Blob GETs answered (200, 206 or redirect), by the kind of a manifest referencing the blob');
    this.blobPulledBytes = byKind('wharf_blob_pulled_bytes_total', 'Blob bytes sent or redirected by blob GETs, by kind');

    // ---- auth ----
    this.tokensIssued = new Counter({
      name: 'wharf_tokens_issued_total',
      help: 'Registry tokens issued by the token endpoint: type access or refresh, principal anonymous, user, pat or ci',
      labelNames: ['type', 'principal'] as const,
      registers,
    });
    const failures = new CounterFamily({ name: 'wharf_auth_failures_total', help: 'Refused credentials and requests, by reason', labelNames: ['reason'] as const, registers });
    this.authFailures = Object.fromEntries(AUTH_FAILURE_REASONS.map((r) => [r, counting(failures.cell(r))])) as Record<AuthFailureReason, CounterChild>;

    // ---- background jobs (GC, trash purge, …) ----
    this.jobRuns = new Counter({ name: 'wharf_job_runs_total', help: 'Background job runs in this process, by job and final status', labelNames: ['job', 'status'] as const, registers });
    this.jobDuration = new Histogram({ name: 'wharf_job_duration_seconds', help: 'Background job run time', labelNames: ['job', 'status'] as const, buckets: JOB_BUCKETS, registers });
    this.jobSummary = new Counter({
      name: 'wharf_job_summary_total',
      help: "Sums of the numbers in succeeded jobs' summaries (e.g. job=gc field=bytesFreed); dry runs excluded",
      labelNames: ['job', 'field'] as const,
      registers,
    });
    this.jobLastSuccess = new Gauge({ name: 'wharf_job_last_success_timestamp_seconds', help: 'When a job last succeeded in this process (Unix time)', labelNames: ['job'] as const, registers, aggregator: 'max' });

    // ---- webhooks ----
    const deliveries = new Counter({ name: 'wharf_webhook_deliveries_total', help: 'Webhook delivery attempts by outcome (success, http_error, timeout, network_error, refused)', labelNames: ['outcome'] as const, registers });
    this.webhookDeliveries = Object.fromEntries(WEBHOOK_OUTCOMES.map((o) => [o, deliveries.labels(o)])) as Record<WebhookOutcome, CounterChild>;
    this.webhookDuration = new Histogram({ name: 'wharf_webhook_delivery_duration_seconds', help: 'Webhook delivery attempt time, until the response or the failure', buckets: LATENCY_BUCKETS, registers });
    this.webhookAbandoned = new Counter({ name: 'wharf_webhook_deliveries_abandoned_total', help: 'Webhook deliveries given up after their last retry', registers });

    // ---- pull-through cache ----
    this.proxyRequests = new Counter({
      name: 'wharf_proxy_requests_total',
      help: 'Pulls through proxy organizations by kind (manifest, blob) and outcome (hit, miss, stale: upstream down or rate-limiting and the cached copy served, error)',
      labelNames: ['kind', 'outcome'] as const,
      registers,
    });
    this.proxyBytes = new Counter({ name: 'wharf_proxy_upstream_bytes_total', help: 'Bytes fetched from proxy upstreams (manifests and blobs that were stored)', registers });

    // ---- backends ----
    this.dbDuration = new HistogramFamily({ name: 'wharf_db_query_duration_seconds', help: 'Metadata database statements by operation (select, insert, update, delete, begin, commit, …)', labelNames: ['operation'] as const, buckets: LATENCY_BUCKETS, registers });
    this.dbErrors = new CounterFamily({ name: 'wharf_db_query_errors_total', help: 'Metadata database statements that failed, by operation', labelNames: ['operation'] as const, registers });
    this.storeDuration = new HistogramFamily({
      name: 'wharf_object_store_request_duration_seconds',
      help: 'Object store (S3) requests by operation, until the response headers',
      labelNames: ['operation'] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.storeErrors = new CounterFamily({ name: 'wharf_object_store_request_errors_total', help: 'Object store (S3) requests that failed, by operation', labelNames: ['operation'] as const, registers });

    // ---- scrape-time gauges ----
    // prom-client calls collect() with the gauge as `this`; these reach back to Wharf's side.
    const uploadSessions = () => this.sources.uploadSessions?.();
    const storageRows = () => this.storageUsage();
    const storageAt = () => this.storage?.at;
    const collectFailed = (what: string, err: unknown) => this.onCollectError(what, err);
    new Gauge({
      name: 'wharf_upload_sessions_active',
      help: 'Open upload sessions in the whole deployment (from the database: the same on every replica)',
      registers,
      // Across workers (server.workers): every one reads the same database figure.
      aggregator: 'max',
      async collect() {
        try {
          const open = await uploadSessions();
          if (open !== undefined) this.set(open);
        } catch (err) {
          collectFailed('upload sessions', err);
        }
      },
    });
    const usageAt = new Gauge({ name: 'wharf_storage_usage_computed_timestamp_seconds', help: 'When storage per owner was last computed (Unix time)', registers, aggregator: 'max' });
    new Gauge({
      name: 'wharf_storage_owner_bytes',
      help: 'Bytes of blobs linked to repositories of each owner (largest owners; the rest as owner="other"), recomputed every few minutes',
      labelNames: ['owner'] as const,
      registers,
      aggregator: 'max',
      async collect() {
        const rows = await storageRows();
        if (!rows) return;
        this.reset();
        for (const r of rows) this.labels(r.owner).set(r.bytes);
        const at = storageAt();
        if (at !== undefined) usageAt.set(at / 1000);
      },
    });

    // ---- process ----
    collectDefaultMetrics({ register: registry });
    let last = performance.eventLoopUtilization();
    new Gauge({
      name: 'wharf_event_loop_utilization_ratio',
      help: 'Share of time the event loop was busy since the previous scrape (0–1)',
      registers,
      aggregator: 'average',
      collect() {
        const now = performance.eventLoopUtilization();
        this.set(performance.eventLoopUtilization(now, last).utilization);
        last = now;
      },
    });
  }

  setSources(sources: MetricsSources): void {
    this.sources = { ...this.sources, ...sources };
  }

  /** The Prometheus text exposition of every family (of every worker, under `scrapeWith`). */
  async scrape(): Promise<{ contentType: string; body: string }> {
    if (this.scraper) return this.scraper();
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /** With server.workers > 1, /metrics answers for all workers: the primary gathers them. */
  scrapeWith(scraper: () => Promise<{ contentType: string; body: string }>): void {
    this.scraper = scraper;
  }

  // ---- HTTP ----

  /** One finished request. `route` is a template (`/v2/<name>/manifests/<reference>`), never a raw path. */
  request(route: string, method: string, status: number, seconds: number, bytesIn: number, bytesOut: number): void {
    let byMethod = this.httpSeries.get(route);
    if (!byMethod) this.httpSeries.set(route, (byMethod = new Map<string, (HttpSeries | undefined)[]>()));
    let byClass = byMethod.get(method);
    if (!byClass) byMethod.set(method, (byClass = []));
    const cls = status >= 100 && status < 600 ? Math.floor(status / 100) : 5;
    let s = byClass[cls];
    if (!s) {
      const labels = [route, method, STATUS_CLASSES[cls] ?? '5xx'] as const;
      s = byClass[cls] = {
        requests: this.httpRequests.cell(...labels),
        duration: this.httpDuration.cell(...labels),
        received: this.httpReceived.cell(...labels),
        sent: this.httpSent.cell(...labels),
      };
    }
    s.requests.value++;
    s.duration.observe(seconds);
    s.received.value += bytesIn;
    s.sent.value += bytesOut;
  }

  // ---- registry traffic ----

  manifestPushed(kind: TransferKind): void {
    this.manifestPushes[kind].inc();
  }

  manifestPulled(kind: TransferKind): void {
    this.manifestPulls[kind].inc();
  }

  blobPushed(kind: TransferKind, bytes: number): void {
    this.blobPushes[kind].inc();
    if (bytes > 0) this.blobPushedBytes[kind].inc(bytes);
  }

  blobPulled(kind: TransferKind, bytes: number): void {
    this.blobPulls[kind].inc();
    if (bytes > 0) this.blobPulledBytes[kind].inc(bytes);
  }

  // ---- auth ----

  tokenIssued(type: 'access' | 'refresh', principal: TokenPrincipal): void {
    this.tokensIssued.labels(type, principal).inc();
  }

  authFailure(reason: AuthFailureReason): void {
    this.authFailures[reason].inc();
  }

  // ---- jobs: the runner's observer (services/jobs/runner.ts JobObserver) ----

  jobFinished(job: string, status: string, seconds: number, summary: Record<string, unknown> | null): void {
    this.jobRuns.labels(job, status).inc();
    this.jobDuration.labels(job, status).observe(seconds);
    if (status !== 'succeeded') return;
    this.jobLastSuccess.labels(job).set(this.clock() / 1000);
    if (!summary || summary['dryRun'] === true) return;
    for (const [field, value] of Object.entries(summary)) {
      // Top-level counts only; the run's duration already has its histogram.
      if (field === 'durationMs' || typeof value !== 'number' || !Number.isFinite(value) || value < 0) continue;
      this.jobSummary.labels(job, field).inc(value);
    }
  }

  // ---- webhooks: the facade the delivery worker calls ----

  /** One delivery attempt ended; `seconds` until the receiver's response or the failure. */
  webhookDelivery(outcome: WebhookOutcome, seconds: number): void {
    this.webhookDeliveries[outcome].inc();
    this.webhookDuration.observe(seconds);
  }

  /** A delivery failed its last retry and will not be tried again. */
  webhookGaveUp(): void {
    this.webhookAbandoned.inc();
  }

  // ---- pull-through cache: the facade of services/proxy/pull.ts ----

  proxyRequest(kind: 'manifest' | 'blob', outcome: 'hit' | 'miss' | 'stale' | 'error'): void {
    this.proxyRequests.labels(kind, outcome).inc();
  }

  proxyUpstreamBytes(bytes: number): void {
    if (bytes > 0) this.proxyBytes.inc(bytes);
  }

  // ---- backends: observers for the database dialect and the S3 client ----

  dbQuery(operation: string, seconds: number, ok: boolean): void {
    let s = this.dbByOperation.get(operation);
    if (!s) this.dbByOperation.set(operation, (s = { duration: this.dbDuration.cell(operation), errors: this.dbErrors.cell(operation) }));
    s.duration.observe(seconds);
    if (!ok) s.errors.value++;
  }

  objectStoreRequest(operation: string, seconds: number, ok: boolean): void {
    let s = this.storeByOperation.get(operation);
    if (!s) this.storeByOperation.set(operation, (s = { duration: this.storeDuration.cell(operation), errors: this.storeErrors.cell(operation) }));
    s.duration.observe(seconds);
    if (!ok) s.errors.value++;
  }

  // ---- storage per owner ----

  /**
   * The cached top owners; recomputed in the background once older than the refresh interval
   * (the first scrape waits for it), so a scrape never runs the query more than that often.
   */
  private async storageUsage(): Promise<OwnerUsage[] | null> {
    const source = this.sources.storageByOwner;
    if (!source) return null;
    const now = this.clock();
    if (!this.storage || now - this.storage.at >= this.storageRefreshMs) {
      this.storageRefresh ??= source()
        .then((rows) => {
          this.storage = { at: this.clock(), rows: topOwners(rows, this.storageTopOwners) };
        })
        .catch((err: unknown) => {
          // Keep the last figures and wait a whole interval: a failing query is not retried per scrape.
          this.storage = { at: this.clock(), rows: this.storage?.rows ?? [] };
          this.onCollectError('storage per owner', err);
        })
        .finally(() => (this.storageRefresh = null));
      if (!this.storage) await this.storageRefresh;
    }
    return this.storage?.rows ?? null;
  }
}
