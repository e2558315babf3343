import { DatabaseSync, type StatementSync } from 'node:sqlite';
import {
  CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  type QueryResult,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
} from 'kysely';
import { KeyedMutex } from '../lib/keyed-mutex.ts';

type SqlValue = null | number | bigint | string | Uint8Array;

function toSqlValue(v: unknown): SqlValue {
  if (v === undefined || v === null) return null;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'string' || v instanceof Uint8Array) return v;
  if (v instanceof Date) return v.getTime();
  return JSON.stringify(v);
}

/**
 * One connection over Node's built-in `node:sqlite` (no native addon to compile, see
 * docs/adr/0003-node-sqlite.md). Prepared statements are cached by SQL text because the same
 * few queries serve every registry request.
 */
class NodeSqliteConnection implements DatabaseConnection {
  private readonly cache = new Map<string, { stmt: StatementSync; reader: boolean }>();
  private readonly db: DatabaseSync;

  constructor(db: DatabaseSync) {
    this.db = db;
  }

  private prepare(sql: string): { stmt: StatementSync; reader: boolean } {
    let entry = this.cache.get(sql);
    if (!entry) {
      const stmt = this.db.prepare(sql);
      entry = { stmt, reader: stmt.columns().length > 0 };
      if (this.cache.size > 500) this.cache.clear();
      this.cache.set(sql, entry);
    }
    return entry;
  }

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const { stmt, reader } = this.prepare(query.sql);
    const params = query.parameters.map(toSqlValue);
    if (reader) return { rows: stmt.all(...params) as R[] };
    const { changes, lastInsertRowid } = stmt.run(...params);
    return { rows: [], numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid) };
  }

  async *streamQuery<R>(query: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    const { stmt } = this.prepare(query.sql);
    for (const row of stmt.iterate(...query.parameters.map(toSqlValue))) yield { rows: [row as R] };
  }
}

class NodeSqliteDriver implements Driver {
  private db: DatabaseSync | null = null;
  private connection: NodeSqliteConnection | null = null;
  // node:sqlite is synchronous, so single queries never interleave; the mutex keeps a
  // transaction's statements from interleaving with other requests' statements.
  private readonly mutex = new KeyedMutex();
  private release: (() => void) | null = null;
  private readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  async init(): Promise<void> {
    this.db = new DatabaseSync(this.path);
    this.db.exec('PRAGMA journal_mode = WAL');
    this.db.exec('PRAGMA synchronous = NORMAL');
    this.db.exec('PRAGMA foreign_keys = ON');
    this.db.exec('PRAGMA busy_timeout = 5000');
    this.connection = new NodeSqliteConnection(this.db);
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    if (!this.connection) throw new Error('sqlite driver not initialised');
    const conn = this.connection;
    await new Promise<void>((acquired) => {
      void this.mutex.run('conn', () => {
        acquired();
        return new Promise<void>((release) => (this.release = release));
      });
    });
    return conn;
  }

  async releaseConnection(): Promise<void> {
    const release = this.release;
    this.release = null;
    release?.();
  }

  async beginTransaction(conn: DatabaseConnection): Promise<void> {
    await conn.executeQuery(CompiledQuery.raw('begin immediate'));
  }

  async commitTransaction(conn: DatabaseConnection): Promise<void> {
    await conn.executeQuery(CompiledQuery.raw('commit'));
  }

  async rollbackTransaction(conn: DatabaseConnection): Promise<void> {
    await conn.executeQuery(CompiledQuery.raw('rollback'));
  }

  async destroy(): Promise<void> {
    this.db?.close();
    this.db = null;
  }
}

export class NodeSqliteDialect implements Dialect {
  private readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  createAdapter() {
    return new SqliteAdapter();
  }
  createDriver(): Driver {
    return new NodeSqliteDriver(this.path);
  }
  createQueryCompiler() {
    return new SqliteQueryCompiler();
  }
  createIntrospector(db: Kysely<unknown>) {
    return new SqliteIntrospector(db);
  }
}
