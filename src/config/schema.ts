import { z } from 'zod';

/** Booleans from YAML or from env strings ('true'/'false'/'1'/'0'), where z.coerce would read 'false' as true. */
const boolish = z.union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])]).transform((v) => v === true || v === 'true' || v === '1' || v === 'yes');

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
      trustProxy: boolish.default(false),
    })
    .prefault({}),
  storage: z
    .object({
      driver: z.enum(['fs', 'memory']).default('fs'),
      fs: z
        .object({
          root: z.string().optional(),
          /** Turning fsync off trades crash safety for speed; only for throwaway data. */
          fsync: boolish.default(true),
        })
        .prefault({}),
    })
    .prefault({}),
  database: z
    .object({
      driver: z.enum(['sqlite']).default('sqlite'),
      sqlite: z.object({ path: z.string().optional() }).prefault({}),
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
      loginRateLimit: z
        .object({
          windowSeconds: z.coerce.number().int().positive().default(900),
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
    })
    .prefault({}),
  log: z
    .object({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    })
    .prefault({}),
});

export type Config = z.infer<typeof configSchema>;
