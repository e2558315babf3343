import { type RawBuilder, sql } from 'kysely';

export type DialectKind = 'sqlite' | 'postgres';

/** Column types that differ between dialects; everything else in migrations is portable SQL. */
export interface ColumnTypes {
  bytes: RawBuilder<unknown>;
  int: RawBuilder<unknown>;
  dialect: DialectKind;
}

export function columnTypes(dialect: DialectKind): ColumnTypes {
  return { bytes: dialect === 'postgres' ? sql`bytea` : sql`blob`, int: sql`bigint`, dialect };
}
