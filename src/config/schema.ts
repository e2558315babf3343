import { isIP } from 'node:net';
import { z } from 'zod';

/** Booleans from YAML or from env strings ('true'/'false'/'1'/'0'), where z.coerce would read 'false' as true. */
const boolish = z.union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])]).transform((v) => v === true || v === 'true' || v === '1' || v === 'yes');

/** proxy-addr's names for address ranges, accepted beside addresses and CIDRs. */
const PROXY_RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** `10.0.0.1`, `10.0.0.0/8`, `::1`, `fd00::/8` or a range name. */
export function isProxyAddress(entry: string): boolean {
  if (PROXY_RANGE_NAMES.has(entry)) return true;
  const [addr = '', prefix, extra] = entry.split('/');
  const family = isIP(addr);
  if (family === 0 || extra !== undefined) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}

/** A list from YAML, or a comma-separated string from an environment variable. */
const addressList = z
  .union([z.array(z.string()), z.string().transform((s) => s.split(',').map((x) => x.trim()).filter((x) => x !== ''))])
  .pipe(z.array(z.string().refine(isProxyAddress, { message: 'expected an IP address, a CIDR (10.0.0.0/8) or loopback/linklocal/uniquelocal' })));

/**
 * The whole configuration as one schema. Defaults run a single node: filesystem blobs and
 * SQLite under ./data, listening on :5000. Paths left empty are derived from `dataDir`.
 */
export const configSchema = z.object({
  dataDir: z.string().default('./data'),
  server: z
    .object({
      host: z.string().default('0.0.0.0'),
      port: z.coerce.number().int().min(0).max(65535).default(5000),
      /** Public URL clients use (token realm, Location headers); derived from the request when empty. */
      baseUrl: z.string().url().optional(),
      shutdownTimeoutSeconds: z.coerce.number().positive().default(30),
      /**
       * Server processes sharing the port (node:cluster), each a whole server; 0 = one per core.
       * Everything they share lives in the database and the store, as for replicas.
       */
      workers: z.coerce.number().int().min(0).max(256).default(0),
      /** A request's headers must arrive within this time of its first byte (slow-header clients are cut). */
      headersTimeoutSeconds: z.coerce.number().positive().default(30),
      /**
       * A request body must make progress: at least 1 KiB every this many seconds while it is
       * being received, or the connection is closed. A slow but moving push is never cut.
       */
      bodyTimeoutSeconds: z.coerce.number().positive().default(30),
      /**
       * Proxies (addresses, CIDRs) whose X-Forwarded-For/-Proto/-Host are believed: the client
       * address is the first hop not in this list. Empty = the socket's peer is the client.
       */
      trustedProxies: addressList.default([]),
      /** Older spelling: true believes X-Forwarded-* from any peer. Prefer trustedProxies. */
      trustProxy: boolish.default(false),
      /**
       * HTTPS: with certFile and keyFile the server listens with TLS only. The files are read
       * again when they change (checked every watchIntervalSeconds) and on SIGHUP; connections
       * already open keep their session. See docs/deploy/single-node.md.
       */
      tls: z
        .object({
          /** PEM certificate chain (server certificate first, then intermediates). */
          certFile: z.string().min(1).optional(),
          /** PEM private key of that certificate. */
          keyFile: z.string().min(1).optional(),
          /** PEM CA certificates: when set, clients must present a certificate they signed (mutual TLS). */
          clientCaFile: z.string().min(1).optional(),
          /** How often to look for changed files; 0 = only on SIGHUP. */
          watchIntervalSeconds: z.coerce.number().min(0).default(10),
        })
        .prefault({})
        .refine((t) => (t.certFile === undefined) === (t.keyFile === undefined), {
          message: 'server.tls.certFile and server.tls.keyFile must be set together',
        })
        .refine((t) => t.clientCaFile === undefined || t.certFile !== undefined, {
          message: 'server.tls.clientCaFile needs server.tls.certFile and server.tls.keyFile',
        }),
    })
    .prefault({}),
  storage: z
    .object({
      driver: z.enum(['fs', 'memory', 's3']).default('fs'),
      fs: z
        .object({
          root: z.string().optional(),
          /** Turning fsync off trades crash safety for speed; only for throwaway data. */
          fsync: boolish.default(true),
          /**
           * Write upload bytes with O_DIRECT (whole 4 KiB blocks; the rest through the page cache):
           * large pushes then neither pay for page-cache allocation nor evict what pulls need.
           * Filesystems without O_DIRECT are detected and written normally.
           */
          directIo: boolish.default(true),
        })
        .prefault({}),
      /** S3-compatible object storage; unset fields fall back to the standard AWS_* env vars. */
      s3: z
        .object({
          bucket: z.string().default(''),
          region: z.string().optional(),
          /** Custom endpoint (Ceph RGW, MinIO, …); empty = AWS. */
          endpoint: z.string().url().optional(),
          forcePathStyle: boolish.default(false),
          accessKeyId: z.string().optional(),
          secretAccessKey: z.string().optional(),
          sessionToken: z.string().optional(),
          /** Key prefix inside the bucket. */
          prefix: z.string().default(''),
          /** Redirect blob GETs to presigned URLs (clients must reach the endpoint). */
          redirect: boolish.default(false),
          redirectTtlSeconds: z.coerce.number().int().positive().max(7 * 24 * 3600).default(900),
          /** Multipart part size; S3 requires at least 5 MiB for all parts but the last. */
          partSizeBytes: z.coerce
            .number()
            .int()
            .min(5 * 1024 * 1024)
            .max(5 * 1024 * 1024 * 1024)
            .default(8 * 1024 * 1024),
          createBucket: boolish.default(false),
          /** How to send If-Match on overwrites; 'auto' probes the server once at start-up. */
          conditionalWrites: z.enum(['auto', 'quoted', 'bare', 'none']).default('auto'),
        })
        .prefault({}),
    })
    .prefault({}),
  database: z
    .object({
      driver: z.enum(['sqlite', 'postgres']).default('sqlite'),
      sqlite: z.object({ path: z.string().optional() }).prefault({}),
      postgres: z
        .object({
          /** postgres://user:password@host:port/db; falls back to DATABASE_URL. */
          url: z.string().optional(),
          poolSize: z.coerce.number().int().positive().default(10),
          /** Schema for Wharf's tables (created if missing); empty = the server's search_path. */
          schema: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/).optional(),
        })
        .prefault({}),
    })
    .prefault({}),
  limits: z
    .object({
      manifestMaxBytes: z.coerce.number().int().positive().default(4 * 1024 * 1024),
      /** 0 = unlimited. */
      blobMaxBytes: z.coerce.number().int().min(0).default(0),
    })
    .prefault({}),
  uploads: z
    .object({
      staleAfterSeconds: z.coerce.number().positive().default(24 * 3600),
      purgeIntervalSeconds: z.coerce.number().positive().default(600),
    })
    .prefault({}),
  trash: z
    .object({
      /** Days a package or version deleted from the UI/API stays restorable before it is purged. */
      days: z.coerce.number().positive().default(30),
      /** How often expired entries are purged (the `trash.purge` job); 0 = only on demand. */
      purgeIntervalSeconds: z.coerce.number().min(0).default(3600),
    })
    .prefault({}),
  /** Storage quotas per owner (docs/adr/0013-policies.md, docs/policies.md). */
  quotas: z
    .object({
      /** Every owner's quota in bytes unless a site admin sets its own; 0 = no quota. */
      defaultBytes: z.coerce.number().int().min(0).default(0),
    })
    .prefault({}),
  /** Retention rules (docs/adr/0013-policies.md, docs/policies.md). */
  retention: z
    .object({
      /** How often every package under a retention rule is evaluated (the `retention.apply` job); 0 = only on demand. */
      intervalSeconds: z.coerce.number().min(0).default(86_400),
    })
    .prefault({}),
  /** Garbage collection (docs/adr/0009-garbage-collection.md). */
  gc: z
    .object({
      /**
       * A blob uploaded, mounted or checked (HEAD/GET) in a repository within this many seconds
       * counts as in use there by a push in progress. 0 protects nothing: only for tests, or
       * when no push can be running.
       */
      graceSeconds: z.coerce.number().int().min(0).default(3600),
      /** Referrers whose subject is gone are removed once this old; empty = the grace. */
      referrersGraceSeconds: z.coerce.number().int().min(0).optional(),
      /** Scheduled runs, every this many seconds across all replicas; 0 = only on demand. */
      intervalSeconds: z.coerce.number().int().min(0).default(3600),
      /**
       * While this replica is serving requests, a run takes at most this share of the time and
       * pauses between batches for the rest; an idle server collects flat out. 1 = never pause.
       */
      loadShare: z.coerce.number().gt(0).max(1).default(0.2),
    })
    .prefault({}),
  auth: z
    .object({
      /** Off only for throwaway local use: everyone may do everything. */
      enabled: boolish.default(true),
      /** Token `service`/audience; defaults to the request's host. */
      service: z.string().optional(),
      tokenTtlSeconds: z.coerce.number().int().positive().default(300),
      ciTokenTtlSeconds: z.coerce.number().int().positive().default(900),
      refreshTokenTtlDays: z.coerce.number().int().positive().default(90),
      /** Visibility of new packages of owners that did not choose one. */
      defaultVisibility: z.enum(['public', 'internal', 'private']).default('private'),
      admin: z
        .object({
          username: z.string().default('admin'),
          /** When unset on first start, a password is generated and printed once. */
          password: z.string().optional(),
          email: z.string().optional(),
        })
        .prefault({}),
      /**
       * Failed password sign-ins (docs/adr/0011-request-limits.md), counted in fixed windows:
       * per account and address, `perAccountAddress` free failures, then each further attempt waits
       * twice as long as the last (at most `knownAddressMaxDelaySeconds` from an address the account
       * signed in from before, at most the window otherwise); per account, `perAccount` failures from
       * addresses it never signed in from stop further attempts from such addresses for the window
       * (its known addresses, tokens and sessions keep working); per address, `perAddress` failures
       * across all accounts stop that address.
       */
      loginRateLimit: z
        .object({
          windowSeconds: z.coerce.number().int().positive().default(900),
          perAccountAddress: z.coerce.number().int().positive().default(5),
          knownAddressMaxDelaySeconds: z.coerce.number().int().positive().default(30),
          perAccount: z.coerce.number().int().positive().default(10),
          perAddress: z.coerce.number().int().positive().default(100),
        })
        .prefault({}),
      /** Seconds a verified password stays cached per replica (scrypt is deliberately slow). */
      credentialCacheSeconds: z.coerce.number().int().min(0).default(60),
      oidc: z
        .object({
          /** Allow http:// issuers (tests, air-gapped setups); https only otherwise. */
          allowInsecureIssuers: boolish.default(false),
        })
        .prefault({}),
      /**
       * Web UI sign-in with an OpenID provider (authorization code + PKCE; docs/adr/0021-oidc-sign-in.md).
       * Registry clients (docker, podman, helm) keep using passwords or personal access tokens.
       */
      oidcSignIn: z
        .object({
          /** The provider's issuer URL (its /.well-known/openid-configuration is read); https unless auth.oidc.allowInsecureIssuers. */
          issuer: z.string().url(),
          clientId: z.string().min(1),
          /** Empty for a public client (PKCE only). */
          clientSecret: z.string().min(1).optional(),
          /** The button reads "Sign in with <displayName>". */
          displayName: z.string().min(1).max(60).default('OpenID Connect'),
          scopes: z
            .union([z.array(z.string()), z.string().transform((s) => s.split(/[ ,]+/).filter((x) => x !== ''))])
            .default(['openid', 'email', 'profile']),
          /** Where the provider sends the browser back; default `<server.baseUrl or the request's origin>/-/sign-in/oidc`. */
          redirectUri: z.string().url().optional(),
          /** Create a Wharf user on the first sign-in of somebody who matches no account (otherwise they are refused). */
          createAccounts: boolish.default(false),
          /** Claim proposed as the new user's name (then `email`'s local part, then `sub`). */
          usernameClaim: z.string().min(1).default('preferred_username'),
          /** Claim holding the user's groups, for teamMappings. */
          groupsClaim: z.string().min(1).default('groups'),
          /**
           * A provider group → a team of an organization: at each sign-in the user is added to the
           * team (joining the organization as a member) when in the group, and removed when not.
           */
          teamMappings: z.array(z.object({ group: z.string().min(1), org: z.string().min(1), team: z.string().min(1), role: z.enum(['maintainer', 'member']).default('member') })).default([]),
        })
        .optional(),
    })
    .refine((a) => !a.oidcSignIn || a.oidcSignIn.issuer.startsWith('https://') || a.oidc.allowInsecureIssuers, {
      message: 'auth.oidcSignIn.issuer must use https (or set auth.oidc.allowInsecureIssuers for tests and air-gapped setups)',
      path: ['oidcSignIn', 'issuer'],
    })
    .prefault({}),
  log: z
    .object({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      /** `json`: one JSON object per line (for collectors); `pretty`: coloured, human-readable lines for a terminal. */
      format: z.enum(['json', 'pretty']).default('json'),
    })
    .prefault({}),
  metrics: z
    .object({
      /** Serve Prometheus metrics at GET /metrics. */
      enabled: boolish.default(true),
      /** When set, scrapes must send `Authorization: Bearer <token>`. */
      token: z.string().min(1).optional(),
      /** Serve /metrics on this port (its own listener) instead of the registry's port. */
      port: z.coerce.number().int().min(0).max(65535).optional(),
      /** Address of the metrics listener; defaults to server.host. */
      host: z.string().optional(),
      /** Owners with their own storage series (largest first); the rest are summed as "other". */
      storageTopOwners: z.coerce.number().int().min(0).max(1000).default(20),
      /** Least time between two computations of storage per owner (a query over every blob link). */
      storageRefreshSeconds: z.coerce.number().int().min(10).default(300),
    })
    .prefault({}),
  /** Webhook deliveries (docs/webhooks.md, docs/adr/0016-webhooks-and-audit.md). */
  webhooks: z
    .object({
      /**
       * Deliver to loopback, private, link-local (cloud metadata) and other internal addresses.
       * Off by default so a webhook cannot probe the registry's own network; on for receivers
       * inside it (and tests on 127.0.0.1).
       */
      allowPrivateTargets: boolish.default(false),
      /** Longest time one attempt may take, connection to the end of the answer. */
      timeoutSeconds: z.coerce.number().positive().max(120).default(10),
      /** Attempts before a delivery is given up (the first one included). */
      maxAttempts: z.coerce.number().int().min(1).max(50).default(8),
      /** Wait before the first retry; doubled for each further one (with jitter), up to retryMaxSeconds. */
      retryBaseSeconds: z.coerce.number().positive().default(10),
      retryMaxSeconds: z.coerce.number().positive().default(3600),
      /** How often each process looks for deliveries queued elsewhere or due for a retry. */
      pollIntervalSeconds: z.coerce.number().positive().max(60).default(1),
      /** Deliveries one process sends at the same time. */
      concurrency: z.coerce.number().int().min(1).max(64).default(4),
      /** Finished deliveries stay in the log this long (the hourly `webhooks.prune` job removes older ones). */
      deliveryLogDays: z.coerce.number().positive().default(30),
    })
    .prefault({}),
  /** Pull-through cache: proxy organizations mirroring upstream registries (docs/adr/0017-pull-through-cache.md). */
  proxy: z
    .object({
      /**
       * Key that seals upstream passwords in the database (AES-256-GCM; any string of at least 16
       * characters, stretched with SHA-256). Required before a proxy with credentials can be
       * created; changing it makes stored upstream passwords unreadable (set them again).
       * Use WHARF_PROXY__CREDENTIAL_KEY_FILE for a secret file.
       */
      credentialKey: z.string().min(16).optional(),
      /** Longest wait for an upstream's answer headers (a body then streams as long as it moves). */
      timeoutSeconds: z.coerce.number().positive().max(600).default(30),
      /**
       * Lifetime of the database lease a replica holds while fetching a blob from an upstream
       * (renewed while bytes flow); a replica killed mid-fetch lets another take over after this.
       */
      fetchLeaseSeconds: z.coerce.number().int().min(5).max(3600).default(30),
      /** How often the `proxy.sync` job fetches each proxy's `sync` references ahead of pulls (once across replicas); 0 = never. */
      syncIntervalSeconds: z.coerce.number().int().min(0).default(3600),
    })
    .prefault({}),
  charts: z
    .object({
      /** ChartMuseum-style uploads may replace an existing version (otherwise 409). */
      allowOverwrite: boolish.default(false),
      /** Largest chart .tgz (plus .prov) accepted by the upload API, and largest chart layer of an OCI push that is indexed. */
      maxUploadBytes: z.coerce.number().int().positive().default(20 * 1024 * 1024),
      /** Keep each owner's rendered index.yaml on local disk per generation (validated against the database on every request). */
      indexCache: boolish.default(true),
      /** Worker threads that read chart archives (uploads and pushed chart layers), off the event loop. */
      parseWorkers: z.coerce.number().int().min(1).max(16).default(2),
      /** Longest time reading one chart archive may take before its worker is stopped. */
      parseTimeoutSeconds: z.coerce.number().positive().default(30),
      /** Largest decompressed chart archive (Helm's own limit is 100 MiB). */
      maxDecompressedBytes: z.coerce.number().int().positive().default(100 * 1024 * 1024),
      /**
       * How often a replica checks the chart index against the registry and repairs what a crash
       * left behind (`charts.reindex`; it also runs at every start and with `wharf reindex`).
       */
      reindexIntervalSeconds: z.coerce.number().int().positive().default(3600),
    })
    .prefault({}),
});

export type Config = z.infer<typeof configSchema>;
