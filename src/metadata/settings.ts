/** Instance settings overridden at run time (migration 0015, docs/adr/0025-runtime-settings.md). */
import type { Kysely } from 'kysely';
import type { DB } from './schema.ts';

export interface SettingsTable {
  key: string;
  /** JSON. */
  value: string;
  updated_by: string;
  updated_at: number;
}

export type SettingsTables = { settings: SettingsTable };

export interface SettingOverride {
  key: string;
  value: unknown;
  updatedBy: string;
  updatedAt: number;
}

function fromRow(r: SettingsTable): SettingOverride {
  return { key: r.key, value: JSON.parse(r.value) as unknown, updatedBy: r.updated_by, updatedAt: Number(r.updated_at) };
}

export class SettingsStore {
  private readonly db: Kysely<DB & SettingsTables>;
  constructor(db: Kysely<DB>) {
    this.db = db.withTables<SettingsTables>();
  }

  /** Every override (a dozen rows at most). */
  async all(): Promise<SettingOverride[]> {
    return (await this.db.selectFrom('settings').selectAll().orderBy('key').execute()).map(fromRow);
  }

  async get(key: string): Promise<SettingOverride | null> {
    const r = await this.db.selectFrom('settings').selectAll().where('key', '=', key).executeTakeFirst();
    return r ? fromRow(r) : null;
  }

  /** Sets (or replaces) the override of `key`. */
  async put(o: SettingOverride): Promise<void> {
    const row = { key: o.key, value: JSON.stringify(o.value), updated_by: o.updatedBy, updated_at: o.updatedAt };
    await this.db
      .insertInto('settings')
      .values(row)
      .onConflict((c) => c.column('key').doUpdateSet({ value: row.value, updated_by: row.updated_by, updated_at: row.updated_at }))
      .execute();
  }

  /** Removes the override of `key`; the removed one, or null when there was none. */
  async delete(key: string): Promise<SettingOverride | null> {
    const r = await this.db.deleteFrom('settings').where('key', '=', key).returningAll().executeTakeFirst();
    return r ? fromRow(r) : null;
  }
}
