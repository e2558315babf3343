/**
 * The instance settings a site admin may change at run time (docs/adr/0025-runtime-settings.md).
 * The list is explicit and short on purpose: a key is here only when every consumer reads it when
 * it uses it, so a change takes effect without a restart, and when no value within its bounds can
 * lock the admins out, lose data or expose a secret. Storage, database, listeners, TLS, secrets and
 * OIDC issuer/client settings are never listed (why: the ADR).
 *
 * Each key is the config path it overrides, and its schema is that key's schema in
 * src/config/schema.ts (found by walking the config schema), so the file and the API cannot
 * disagree on what a valid value is.
 */
import { z } from 'zod';
import { type Config, configSchema } from './schema.ts';
import type { SettingRule } from '../lib/setting-rule.ts';

export type SettingArea = 'Packages' | 'Quotas' | 'Retention' | 'Trash' | 'Garbage collection' | 'Uploads' | 'Sign-in' | 'Tokens' | 'Webhooks' | 'Pull-through cache';

interface Definition {
  area: SettingArea;
  /** One line for the admin page and `wharf settings list`. */
  description: string;
  /** Shown next to the value: 'seconds', 'bytes', … */
  unit?: string;
}

/** Keys and their definitions, in the order the admin page shows them. */
export const SETTINGS = {
  'auth.defaultVisibility': { area: 'Packages', description: 'Visibility of new packages whose owner chose no default' },
  'quotas.defaultBytes': { area: 'Quotas', description: "Every owner's storage quota unless a site admin set its own; 0 = no quota", unit: 'bytes' },
  'retention.intervalSeconds': { area: 'Retention', description: 'How often every package under a retention rule is evaluated, across all replicas; 0 = only on demand', unit: 'seconds' },
  'trash.days': { area: 'Trash', description: 'Days a deleted package or version stays restorable (applies to what is deleted from now on)', unit: 'days' },
  'trash.purgeIntervalSeconds': { area: 'Trash', description: 'How often expired trash entries are purged; 0 = only on demand', unit: 'seconds' },
  'gc.intervalSeconds': { area: 'Garbage collection', description: 'Scheduled garbage collection, every this many seconds across all replicas; 0 = only on demand', unit: 'seconds' },
  'gc.graceSeconds': { area: 'Garbage collection', description: 'A blob used by a push within this many seconds is kept (protects pushes in progress)', unit: 'seconds' },
  'gc.loadShare': { area: 'Garbage collection', description: 'Share of the time a run may take while the server serves requests; 1 = never pause' },
  'uploads.staleAfterSeconds': { area: 'Uploads', description: 'Upload sessions idle this long are abandoned and purged', unit: 'seconds' },
  'uploads.purgeIntervalSeconds': { area: 'Uploads', description: 'How often each replica purges abandoned upload sessions', unit: 'seconds' },
  'auth.loginRateLimit.windowSeconds': { area: 'Sign-in', description: 'Failed sign-ins are counted in windows of this length', unit: 'seconds' },
  'auth.loginRateLimit.perAccountAddress': { area: 'Sign-in', description: 'Free failed sign-ins per account and address before attempts are slowed' },
  'auth.loginRateLimit.knownAddressMaxDelaySeconds': { area: 'Sign-in', description: 'Longest wait imposed on an address the account signed in from before', unit: 'seconds' },
  'auth.loginRateLimit.perAccount': { area: 'Sign-in', description: "Failures per account from unknown addresses that stop such addresses for the window" },
  'auth.loginRateLimit.perAddress': { area: 'Sign-in', description: 'Failures per address across all accounts that stop that address for the window' },
  'auth.oidcSignIn.createAccounts': { area: 'Sign-in', description: 'OpenID sign-in creates an account for somebody who matches none (only when auth.oidcSignIn is configured)' },
  'auth.tokenTtlSeconds': { area: 'Tokens', description: 'Lifetime of a registry token issued from now on (tokens already issued keep theirs)', unit: 'seconds' },
  'auth.ciTokenTtlSeconds': { area: 'Tokens', description: 'Lifetime of a CI token (token exchange) issued from now on', unit: 'seconds' },
  'auth.refreshTokenTtlDays': { area: 'Tokens', description: 'Lifetime of a refresh token (offline_token) issued from now on', unit: 'days' },
  'webhooks.maxAttempts': { area: 'Webhooks', description: 'Attempts before a webhook delivery is given up (the first one included)' },
  'proxy.syncIntervalSeconds': { area: 'Pull-through cache', description: "How often proxies' sync references are fetched ahead of pulls; 0 = never", unit: 'seconds' },
} as const satisfies Record<string, Definition>;

export type SettingKey = keyof typeof SETTINGS;

/** The value type of each key, as the config file gives it. */
export interface SettingValues {
  'auth.defaultVisibility': Config['auth']['defaultVisibility'];
  'quotas.defaultBytes': number;
  'retention.intervalSeconds': number;
  'trash.days': number;
  'trash.purgeIntervalSeconds': number;
  'gc.intervalSeconds': number;
  'gc.graceSeconds': number;
  'gc.loadShare': number;
  'uploads.staleAfterSeconds': number;
  'uploads.purgeIntervalSeconds': number;
  'auth.loginRateLimit.windowSeconds': number;
  'auth.loginRateLimit.perAccountAddress': number;
  'auth.loginRateLimit.knownAddressMaxDelaySeconds': number;
  'auth.loginRateLimit.perAccount': number;
  'auth.loginRateLimit.perAddress': number;
  'auth.oidcSignIn.createAccounts': boolean;
  'auth.tokenTtlSeconds': number;
  'auth.ciTokenTtlSeconds': number;
  'auth.refreshTokenTtlDays': number;
  'webhooks.maxAttempts': number;
  'proxy.syncIntervalSeconds': number;
}

export const SETTING_KEYS = Object.keys(SETTINGS) as SettingKey[];

export function isSettingKey(key: string): key is SettingKey {
  return Object.hasOwn(SETTINGS, key);
}

/** The schema of a config path, without its default/prefault/optional wrappers. */
function leafSchema(path: string): z.ZodType {
  let s: z.ZodType = configSchema;
  for (const part of path.split('.')) {
    s = unwrap(s, true);
    if (!(s instanceof z.ZodObject)) throw new Error(`config path ${path}: ${part} is not inside an object`);
    const next = (s.shape as Record<string, z.ZodType | undefined>)[part];
    if (!next) throw new Error(`config path ${path} does not exist in src/config/schema.ts`);
    s = next;
  }
  return unwrap(s, false);
}

function unwrap(s: z.ZodType, objects: boolean): z.ZodType {
  let cur = s;
  for (;;) {
    if (cur instanceof z.ZodDefault || cur instanceof z.ZodPrefault || cur instanceof z.ZodOptional) cur = cur.unwrap() as z.ZodType;
    else if (objects && cur instanceof z.ZodPipe && !(cur.in instanceof z.ZodObject)) cur = cur.out as z.ZodType;
    else return cur;
  }
}

const schemas = new Map<SettingKey, z.ZodType>(SETTING_KEYS.map((k) => [k, leafSchema(k)]));


export function ruleOf(key: SettingKey): SettingRule {
  const json = z.toJSONSchema(schemaOf(key), { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  if (Array.isArray(json['anyOf'])) return { type: 'boolean' }; // the config's boolish: true/false (or yes/no, 1/0 as text)
  const type = json['type'] === 'integer' || json['type'] === 'number' || json['type'] === 'boolean' ? json['type'] : 'string';
  const rule: SettingRule = { type };
  if (Array.isArray(json['enum'])) rule.enum = json['enum'].map(String);
  const num = (k: string) => (typeof json[k] === 'number' && Number.isSafeInteger(json[k]) ? json[k] : typeof json[k] === 'number' && !Number.isInteger(json[k]) ? json[k] : undefined);
  const min = num('minimum');
  const xmin = num('exclusiveMinimum');
  const max = num('maximum');
  if (min !== undefined) rule.minimum = min;
  if (xmin !== undefined) rule.exclusiveMinimum = xmin;
  if (max !== undefined && max < Number.MAX_SAFE_INTEGER) rule.maximum = max;
  return rule;
}

/** The rule in words: "an integer ≥ 1 and ≤ 50", "one of public, internal, private". */
export function describeRule(r: SettingRule): string {
  if (r.enum) return `one of ${r.enum.join(', ')}`;
  if (r.type === 'boolean') return 'true or false';
  const bounds = [r.minimum !== undefined ? `≥ ${r.minimum}` : null, r.exclusiveMinimum !== undefined ? `> ${r.exclusiveMinimum}` : null, r.maximum !== undefined ? `≤ ${r.maximum}` : null].filter((b) => b !== null);
  return `${r.type === 'integer' ? 'an integer' : 'a number'}${bounds.length > 0 ? ` ${bounds.join(' and ')}` : ''}`;
}

export function schemaOf(key: SettingKey): z.ZodType {
  const s = schemas.get(key);
  if (!s) throw new Error(`no schema for setting ${key}`);
  return s;
}

export type Validation<K extends SettingKey> = { ok: true; value: SettingValues[K] } | { ok: false; message: string };

/**
 * Checks a value (JSON from the API, or text from the CLI: numbers and booleans as text are read
 * the way the config file's environment variables are) against the key's config schema.
 */
export function validateSetting<K extends SettingKey>(key: K, value: unknown): Validation<K> {
  const rule = ruleOf(key);
  // The config's numbers coerce (environment variables are text), which would read null, '' or
  // true as 0 or 1: a number here is a number, or text that is one.
  if ((rule.type === 'integer' || rule.type === 'number') && typeof value !== 'number' && !(typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)))) {
    return { ok: false, message: `${key} must be ${describeRule(rule)} (got ${JSON.stringify(value) ?? 'nothing'})` };
  }
  const r = schemaOf(key).safeParse(value);
  if (r.success) return { ok: true, value: r.data as SettingValues[K] };
  return { ok: false, message: `${key} must be ${describeRule(rule)} (${r.error.issues[0]?.message ?? 'invalid value'})` };
}

/** The config file's value of a key (after the file's own defaults and environment variables). */
export function fileValue<K extends SettingKey>(config: Config, key: K): SettingValues[K] {
  if (key === 'auth.oidcSignIn.createAccounts') return (config.auth.oidcSignIn?.createAccounts ?? false) as SettingValues[K];
  let v: unknown = config;
  for (const part of key.split('.')) v = (v as Record<string, unknown>)[part];
  return v as SettingValues[K];
}

/**
 * The catalog the settings service (src/services/settings/service.ts, which may not import the
 * config layer) is given: the keys, their file values in `config`, validation and rules.
 */
export function settingsCatalog(config: Config) {
  return {
    keys: SETTING_KEYS,
    has: isSettingKey,
    fileValue: <K extends SettingKey>(key: K): SettingValues[K] => fileValue(config, key),
    validate: validateSetting,
    describe(key: SettingKey): { area: string; description: string; unit: string | null; rule: SettingRule; ruleText: string } {
      const def: Definition = SETTINGS[key];
      const rule = ruleOf(key);
      return { area: def.area, description: def.description, unit: def.unit ?? null, rule, ruleText: describeRule(rule) };
    },
  };
}
