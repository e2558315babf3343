/**
 * Instance settings changed at run time (docs/adr/0025-runtime-settings.md). The config file gives
 * each key's default; an override in the `settings` table wins; removing it returns to the file.
 *
 * Consumers call get() when they use a value (never a copy taken at start-up). get() is
 * synchronous and reads memory: every replica re-reads the whole table (a dozen rows at most)
 * every `refreshMs` on a timer, so no request waits for the database and a change made on one
 * replica takes effect on the others within refreshMs (3 s by default). The replica that made the
 * change applies it at once.
 */
import type { Logger } from 'pino';
import type { Principal } from '../../auth/principal.ts';
import { RegistryError } from '../../errors.ts';
import type { Metadata } from '../../metadata/metadata.ts';
import { actorFields } from '../audit.ts';
import type { SettingRule } from '../../lib/setting-rule.ts';

/** How often each replica re-reads the overrides: the longest a change takes to reach another replica. */
export const DEFAULT_REFRESH_MS = 3000;


/**
 * The keys that may change at run time, their config file values and rules. Built from the config
 * in the composition root (src/config/runtime-settings.ts: settingsCatalog), since services do not
 * read the config themselves. `V` maps each key to its value type.
 */
export interface SettingsCatalog<V> {
  keys: readonly (keyof V & string)[];
  has(key: string): key is keyof V & string;
  fileValue<K extends keyof V & string>(key: K): V[K];
  validate<K extends keyof V & string>(key: K, value: unknown): { ok: true; value: V[K] } | { ok: false; message: string };
  describe(key: keyof V & string): { area: string; description: string; unit: string | null; rule: SettingRule; ruleText: string };
}

export interface SettingView {
  key: string;
  area: string;
  description: string;
  unit: string | null;
  rule: SettingRule;
  /** The rule in words ("an integer ≥ 1 and ≤ 50"). */
  ruleText: string;
  fileValue: unknown;
  /** Null: not overridden (the file's value applies). */
  override: unknown;
  effective: unknown;
  updatedBy: string | null;
  updatedAt: string | null;
}

interface Override {
  value: unknown;
  updatedBy: string;
  updatedAt: number;
}

export interface RuntimeSettingsDeps<V> {
  catalog: SettingsCatalog<V>;
  metadata: Metadata;
  clock: () => number;
  log?: Logger;
  refreshMs?: number;
}

export class RuntimeSettings<V> {
  private readonly deps: RuntimeSettingsDeps<V>;
  private overrides = new Map<keyof V & string, Override>();
  private timer: NodeJS.Timeout | null = null;
  readonly refreshMs: number;

  constructor(deps: RuntimeSettingsDeps<V>) {
    this.deps = deps;
    this.refreshMs = deps.refreshMs ?? DEFAULT_REFRESH_MS;
  }

  /** The effective value of `key`: the override when there is one, else the config file's. */
  get<K extends keyof V & string>(key: K): V[K] {
    const o = this.overrides.get(key);
    return o ? (o.value as V[K]) : this.deps.catalog.fileValue(key);
  }

  /** Re-reads every override. A row no longer valid (the config schema tightened) is ignored, with a warning. */
  async refresh(): Promise<void> {
    const rows = await this.deps.metadata.settings.all();
    const { catalog } = this.deps;
    const next = new Map<keyof V & string, Override>();
    for (const r of rows) {
      if (!catalog.has(r.key)) continue; // a key a newer or older version knows
      const v = catalog.validate(r.key, r.value);
      if (!v.ok) {
        this.deps.log?.warn({ key: r.key, reason: v.message }, 'ignoring an invalid settings override; the config file value applies');
        continue;
      }
      next.set(r.key, { value: v.value, updatedBy: r.updatedBy, updatedAt: r.updatedAt });
    }
    this.overrides = next;
  }

  /** Starts the periodic re-read (the first read is done by the caller, before serving). */
  start(): void {
    if (this.timer) return;
    const tick = () => {
      this.refresh()
        .catch((err: unknown) => this.deps.log?.warn({ err }, 'reading settings overrides failed; keeping the last ones'))
        .finally(() => {
          if (this.timer) this.arm(tick);
        });
    };
    this.arm(tick);
  }

  private arm(tick: () => void): void {
    this.timer = setTimeout(tick, this.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Throws unless `actor` may read and change instance settings (before a request body is read). */
  authorize(actor: Principal): void {
    if (actor.kind !== 'user' && actor.kind !== 'system') throw new RegistryError('UNAUTHORIZED', 'sign in required');
    // Personal access tokens never carry the site-admin flag (services/authn.ts).
    if (!actor.admin) throw new RegistryError('DENIED', 'changing instance settings requires a site admin (personal access tokens never carry site-admin rights)');
  }

  view(key: keyof V & string): SettingView {
    const o = this.overrides.get(key);
    return {
      key,
      ...this.deps.catalog.describe(key),
      fileValue: this.deps.catalog.fileValue(key),
      override: o ? o.value : null,
      effective: this.get(key),
      updatedBy: o?.updatedBy ?? null,
      updatedAt: o ? new Date(o.updatedAt).toISOString() : null,
    };
  }

  /** Every setting, read fresh from the database (an admin page shows what other replicas changed too). */
  async list(actor: Principal): Promise<SettingView[]> {
    this.authorize(actor);
    await this.refresh();
    return this.deps.catalog.keys.map((k) => this.view(k));
  }

  private keyOf(key: string): keyof V & string {
    if (!this.deps.catalog.has(key)) throw new RegistryError('NOT_FOUND', `${key} is not a setting that can be changed at run time (wharf settings list shows those that can)`, { key });
    return key;
  }

  /** Overrides `key`; one row write and its audit row in one transaction. */
  async set(actor: Principal, key: string, value: unknown): Promise<SettingView> {
    this.authorize(actor);
    const k = this.keyOf(key);
    const v = this.deps.catalog.validate(k, value);
    if (!v.ok) throw new RegistryError('BAD_REQUEST', v.message, { key: k, rule: this.deps.catalog.describe(k).ruleText });
    const now = this.deps.clock();
    const by = actor.name || actor.kind;
    await this.deps.metadata.transaction(async (m) => {
      const before = await m.settings.get(k);
      await m.settings.put({ key: k, value: v.value, updatedBy: by, updatedAt: now });
      await m.audit.append({
        at: now,
        ...actorFields(actor),
        action: 'settings.update',
        target: k,
        detail: { key: k, old: before ? before.value : this.deps.catalog.fileValue(k), new: v.value, oldSource: before ? 'override' : 'file' },
        outcome: 'success',
      });
    });
    this.overrides.set(k, { value: v.value, updatedBy: by, updatedAt: now });
    return this.view(k);
  }

  /** Removes the override of `key`: the config file's value applies again. */
  async reset(actor: Principal, key: string): Promise<SettingView> {
    this.authorize(actor);
    const k = this.keyOf(key);
    const now = this.deps.clock();
    await this.deps.metadata.transaction(async (m) => {
      const before = await m.settings.delete(k);
      // Resetting what is not overridden changes nothing: no audit row.
      if (!before) return;
      await m.audit.append({
        at: now,
        ...actorFields(actor),
        action: 'settings.reset',
        target: k,
        detail: { key: k, old: before.value, new: this.deps.catalog.fileValue(k) },
        outcome: 'success',
      });
    });
    this.overrides.delete(k);
    return this.view(k);
  }
}
