import type { CompiledQuery, DatabaseConnection, Dialect, Driver, QueryResult, TransactionSettings } from 'kysely';

/** Receives the time of every statement, labelled by operation (select, insert, …), never by its text. */
export type QueryObserver = (operation: string, seconds: number, ok: boolean) => void;

const KNOWN = new Set(['select', 'insert', 'update', 'delete', 'with', 'begin', 'commit', 'rollback', 'savepoint', 'release', 'create', 'alter', 'drop', 'pragma', 'set']);

const BY_NODE: Record<string, string> = {
  SelectQueryNode: 'select',
  InsertQueryNode: 'insert',
  UpdateQueryNode: 'update',
  DeleteQueryNode: 'delete',
  MergeQueryNode: 'merge',
};

function isLetter(c: number): boolean {
  const lower = c | 32;
  return lower >= 97 && lower <= 122;
}

function firstWord(sql: string): string {
  let start = 0;
  while (start < sql.length && !isLetter(sql.charCodeAt(start))) start++;
  let end = start;
  while (end < sql.length && end - start < 10 && isLetter(sql.charCodeAt(end))) end++;
  const word = sql.slice(start, end).toLowerCase();
  return KNOWN.has(word) ? word : 'other';
}

/** Raw statements repeat (prepared hot-path queries): remember their operation by text. */
const rawOperations = new Map<string, string>();

/** The statement's operation: from Kysely's node kind, or the first word of raw SQL (a fixed set, else "other"). */
export function operationOf(query: CompiledQuery): string {
  const byNode = BY_NODE[query.query.kind];
  if (byNode) return byNode;
  let op = rawOperations.get(query.sql);
  if (op === undefined) {
    op = firstWord(query.sql);
    if (rawOperations.size >= 1000) rawOperations.clear();
    rawOperations.set(query.sql, op);
  }
  return op;
}

const PATCHED = new WeakSet<DatabaseConnection>();

/**
 * Times the connection's statements in place (the driver's own methods, which may rely on private
 * symbols of its connection class, keep receiving the very same object).
 */
function instrumentConnection(conn: DatabaseConnection, observe: QueryObserver): DatabaseConnection {
  if (PATCHED.has(conn)) return conn;
  PATCHED.add(conn);
  const execute = conn.executeQuery.bind(conn);
  // A plain .then rather than an async wrapper: one promise hop less on every statement.
  conn.executeQuery = <R>(query: CompiledQuery, options?: Parameters<DatabaseConnection['executeQuery']>[1]): Promise<QueryResult<R>> => {
    const start = performance.now();
    return execute<R>(query, options).then(
      (result) => {
        observe(operationOf(query), (performance.now() - start) / 1000, true);
        return result;
      },
      (err: unknown) => {
        observe(operationOf(query), (performance.now() - start) / 1000, false);
        throw err;
      },
    );
  };
  return conn;
}

class InstrumentedDriver implements Driver {
  private readonly inner: Driver;
  private readonly observe: QueryObserver;
  savepoint?: NonNullable<Driver['savepoint']>;
  rollbackToSavepoint?: NonNullable<Driver['rollbackToSavepoint']>;
  releaseSavepoint?: NonNullable<Driver['releaseSavepoint']>;

  constructor(inner: Driver, observe: QueryObserver) {
    this.inner = inner;
    this.observe = observe;
    if (inner.savepoint) this.savepoint = inner.savepoint.bind(inner);
    if (inner.rollbackToSavepoint) this.rollbackToSavepoint = inner.rollbackToSavepoint.bind(inner);
    if (inner.releaseSavepoint) this.releaseSavepoint = inner.releaseSavepoint.bind(inner);
  }

  init(): Promise<void> {
    return this.inner.init();
  }
  acquireConnection(): Promise<DatabaseConnection> {
    return this.inner.acquireConnection().then((conn) => instrumentConnection(conn, this.observe));
  }
  beginTransaction(conn: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return this.inner.beginTransaction(conn, settings);
  }
  commitTransaction(conn: DatabaseConnection): Promise<void> {
    return this.inner.commitTransaction(conn);
  }
  rollbackTransaction(conn: DatabaseConnection): Promise<void> {
    return this.inner.rollbackTransaction(conn);
  }
  releaseConnection(conn: DatabaseConnection): Promise<void> {
    return this.inner.releaseConnection(conn);
  }
  destroy(): Promise<void> {
    return this.inner.destroy();
  }
}

/** The same dialect, with every statement's latency reported to `observe` (one wrapper for SQLite and PostgreSQL). */
export function instrumentDialect(dialect: Dialect, observe: QueryObserver): Dialect {
  return {
    createAdapter: () => dialect.createAdapter(),
    createDriver: () => new InstrumentedDriver(dialect.createDriver(), observe),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createIntrospector: (db) => dialect.createIntrospector(db),
  };
}
