import { type Compilable, CompiledQuery, type Kysely } from 'kysely';

/**
 * Hot-path queries (every pull runs one) compiled once per store: Kysely's builder and compiler
 * cost more than the indexed lookup itself, and the SQL of a fixed-shape query never changes.
 * On first use the query is built with the real parameters, and those must be exactly the
 * parameters passed, in order — so the cached SQL is known to bind them the same way.
 */
export class PreparedQueries {
  private readonly sqlByKey = new Map<string, string>();
  private readonly db: Kysely<never>;

  constructor(db: Kysely<never>) {
    this.db = db;
  }

  async rows<R>(key: string, params: readonly unknown[], build: () => Compilable<R>): Promise<R[]> {
    let text = this.sqlByKey.get(key);
    if (text === undefined) {
      const compiled = build().compile();
      const same = compiled.parameters.length === params.length && compiled.parameters.every((p, i) => p === params[i]);
      if (!same) throw new Error(`prepared query ${key}: parameters do not match the builder's`);
      text = compiled.sql;
      this.sqlByKey.set(key, text);
    }
    return (await this.db.executeQuery<R>(CompiledQuery.raw(text, [...params]))).rows;
  }
}
