import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { instrumentDialect, type QueryObserver } from './instrumented-dialect.ts';
import { withConstraintErrors } from './constraints.ts';
import { Metadata } from './metadata.ts';
import type { DB } from './schema.ts';

export interface PostgresOptions {
  url: string;
  poolSize: number;
  /** Schema holding Wharf's tables, created when missing; unset = the role's search_path. */
  schema?: string | undefined;
  /** Errors of idle pooled connections (server restart, network); they must not crash the process. */
  onIdleError?: (err: Error) => void;
  /** Receives every statement's latency by operation (metrics). */
  observe?: QueryObserver | undefined;
}

const NUMERIC_OID = 1700;

/**
 * Column values as the stores expect them on every dialect: bigint (sizes, ms timestamps) and
 * numeric (SUM over bigint) as JS numbers — exact up to 2^53, far beyond any size or date we
 * store — and bytea as Buffer (pg's default). Set on this pool only, never globally, so other
 * pg users in the process keep their own parsing.
 */
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if ((oid === Number(pg.types.builtins.INT8) || oid === NUMERIC_OID) && format !== 'binary') return (v: string) => Number(v);
    // pg types its parser table as `any`; every entry is a text (or binary) parser.
    const parser = (format === undefined ? pg.types.getTypeParser(oid) : pg.types.getTypeParser(oid, format)) as (value: string) => unknown;
    return parser;
  }) as pg.CustomTypesConfig['getTypeParser'],
};

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export function createPgPool(opts: PostgresOptions): pg.Pool {
  if (opts.schema !== undefined && !SCHEMA_NAME.test(opts.schema)) throw new Error(`invalid postgres schema name: ${opts.schema}`);
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.poolSize,
    types,
    ...(opts.schema ? { options: `-c search_path=${opts.schema}` } : {}),
  });
  pool.on('error', (err) => opts.onIdleError?.(err));
  return pool;
}

/**
 * PostgreSQL metadata over Kysely's PostgresDialect: the same stores and the same migrations as
 * SQLite. Replicas share it; Kysely's Migrator takes an advisory lock so concurrent start-ups
 * migrate once.
 */
export async function openPostgres(opts: PostgresOptions): Promise<Metadata> {
  const pool = createPgPool(opts);
  if (opts.schema) {
    try {
      await pool.query(`create schema if not exists "${opts.schema}"`);
    } catch (err) {
      // Two replicas creating it at once: one loses the race on the catalog's unique index.
      const code = (err as { code?: unknown }).code;
      if (code !== '23505' && code !== '42P06') {
        await pool.end();
        throw err;
      }
    }
  }
  // Timing wraps the driver's own connections, under the constraint mapping, so transaction
  // control (which the mapping forwards to the unwrapped connection) is timed too.
  const base = new PostgresDialect({ pool });
  const dialect = withConstraintErrors(opts.observe ? instrumentDialect(base, opts.observe) : base);
  return new Metadata(new Kysely<DB>({ dialect }), 'postgres');
}
