/**
 * The one place that recognises a violated unique constraint, on both dialects, and turns it
 * into a `UniqueViolation` (a CONFLICT): every query runs through `withConstraintErrors`, so a
 * check-then-insert that loses a race answers 409 instead of leaking a driver error as a 500.
 * Stores still prefer `ON CONFLICT DO NOTHING` where a duplicate is an expected outcome (it
 * reports "not inserted" without aborting a PostgreSQL transaction); this is the safety net.
 */
import type { AbortableOperationOptions, CompiledQuery, DatabaseConnection, Dialect, Driver, QueryResult } from 'kysely';
import { RegistryError } from '../errors.ts';

/** A row with the same key already exists (often: a concurrent request inserted it first). */
export class UniqueViolation extends RegistryError {
  readonly table: string | null;
  constructor(table: string | null, cause: unknown) {
    super('CONFLICT', 'already exists (created by a concurrent request)', table ? { table } : undefined);
    this.name = 'UniqueViolation';
    this.table = table;
    this.cause = cause;
  }
}

// SQLITE_CONSTRAINT_UNIQUE and SQLITE_CONSTRAINT_PRIMARYKEY (extended result codes).
const SQLITE_UNIQUE_CODES = new Set([2067, 1555]);

/** The table of a unique violation raised by node:sqlite or pg, or undefined when `err` is something else. */
export function uniqueViolationTable(err: unknown): string | null | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; errcode?: unknown; message?: unknown; table?: unknown };
  // PostgreSQL: SQLSTATE 23505 unique_violation; pg puts the table on the error.
  if (e.code === '23505') return typeof e.table === 'string' ? e.table : null;
  // node:sqlite: "UNIQUE constraint failed: accounts.name".
  if (e.code === 'ERR_SQLITE_ERROR' && typeof e.errcode === 'number' && SQLITE_UNIQUE_CODES.has(e.errcode)) {
    const m = typeof e.message === 'string' ? /constraint failed: ([A-Za-z0-9_]+)\./.exec(e.message) : null;
    return m?.[1] ?? null;
  }
  return undefined;
}

function mapped(err: unknown): unknown {
  const table = uniqueViolationTable(err);
  return table === undefined ? err : new UniqueViolation(table, err);
}

class MappedConnection implements DatabaseConnection {
  readonly inner: DatabaseConnection;
  constructor(inner: DatabaseConnection) {
    this.inner = inner;
  }

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    try {
      return await this.inner.executeQuery<R>(query);
    } catch (err) {
      throw mapped(err);
    }
  }

  async *streamQuery<R>(query: CompiledQuery, chunkSize: number, options?: AbortableOperationOptions): AsyncIterableIterator<QueryResult<R>> {
    try {
      yield* this.inner.streamQuery<R>(query, chunkSize, options);
    } catch (err) {
      throw mapped(err);
    }
  }
}

const unwrap = (conn: DatabaseConnection): DatabaseConnection => (conn instanceof MappedConnection ? conn.inner : conn);

/**
 * The dialect's driver with its connections wrapped; transaction control is forwarded with the
 * driver's own connection object, which is what it recognises.
 */
function mappedDriver(inner: Driver): Driver {
  const wrapped = new WeakMap<DatabaseConnection, MappedConnection>();
  const driver: Driver = {
    init: (opts) => inner.init(opts),
    async acquireConnection(opts) {
      const conn = await inner.acquireConnection(opts);
      let w = wrapped.get(conn);
      if (!w) {
        w = new MappedConnection(conn);
        wrapped.set(conn, w);
      }
      return w;
    },
    beginTransaction: (conn, settings) => inner.beginTransaction(unwrap(conn), settings),
    async commitTransaction(conn) {
      try {
        await inner.commitTransaction(unwrap(conn));
      } catch (err) {
        throw mapped(err);
      }
    },
    rollbackTransaction: (conn) => inner.rollbackTransaction(unwrap(conn)),
    releaseConnection: (conn, opts) => inner.releaseConnection(unwrap(conn), opts),
    destroy: (opts) => inner.destroy(opts),
  };
  const { savepoint, rollbackToSavepoint, releaseSavepoint } = inner;
  if (savepoint) driver.savepoint = (conn, name, compile) => savepoint.call(inner, unwrap(conn), name, compile);
  if (rollbackToSavepoint) driver.rollbackToSavepoint = (conn, name, compile) => rollbackToSavepoint.call(inner, unwrap(conn), name, compile);
  if (releaseSavepoint) driver.releaseSavepoint = (conn, name, compile) => releaseSavepoint.call(inner, unwrap(conn), name, compile);
  return driver;
}

/** `dialect` with every query's unique violations turned into `UniqueViolation`. */
export function withConstraintErrors(dialect: Dialect): Dialect {
  return {
    createAdapter: () => dialect.createAdapter(),
    createDriver: () => mappedDriver(dialect.createDriver()),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createIntrospector: (db) => dialect.createIntrospector(db),
  };
}
