/**
 * Chart metadata: the fields of Chart.yaml that Helm keeps (its `chart.Metadata`), read from
 * either Chart.yaml text or the OCI config blob (which Helm writes as that struct in JSON), and
 * validated the way `helm lint`/`helm package` would reject a chart.
 */
import { parseYamlBounded, YamlError } from './yaml-bounded.ts';
import { parseSemver } from './semver.ts';

/** Why a chart could not be read; the message is shown to users as is. */
export class ChartError extends Error {}

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface Maintainer {
  name: string;
  email?: string;
  url?: string;
}

export interface Dependency {
  name: string;
  version?: string;
  repository?: string;
  condition?: string;
  tags?: string[];
  enabled?: boolean;
  'import-values'?: JsonValue[];
  alias?: string;
}

/** Field order is Helm's struct order, which is the order of its config blob JSON. */
export interface ChartMetadata {
  name: string;
  home?: string;
  sources?: string[];
  version: string;
  description?: string;
  keywords?: string[];
  maintainers?: Maintainer[];
  icon?: string;
  apiVersion: string;
  condition?: string;
  tags?: string;
  appVersion?: string;
  deprecated?: boolean;
  annotations?: Record<string, string>;
  kubeVersion?: string;
  dependencies?: Dependency[];
  type?: string;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Chart.yaml is read with the failsafe schema (every scalar a string), so convert explicitly. */
function str(v: unknown, field: string): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new ChartError(`${field} must be a string`);
}

function bool(v: unknown, field: string): boolean | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') {
    // YAML 1.1 booleans, as Helm's YAML parser reads them.
    if (/^(true|True|TRUE|yes|Yes|YES|on|On|ON|y|Y)$/.test(v)) return true;
    if (/^(false|False|FALSE|no|No|NO|off|Off|OFF|n|N)$/.test(v)) return false;
  }
  throw new ChartError(`${field} must be a boolean`);
}

function strList(v: unknown, field: string): string[] | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (!Array.isArray(v)) throw new ChartError(`${field} must be a list of strings`);
  const out = v.map((item, i) => str(item, `${field}[${i}]`) ?? '');
  return out.length > 0 ? out : undefined;
}

function toJson(v: unknown, field: string): JsonValue {
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (Array.isArray(v)) return v.map((x, i) => toJson(x, `${field}[${i}]`));
  if (isObject(v)) {
    const out: Record<string, JsonValue> = {};
    for (const [k, x] of Object.entries(v)) out[k] = toJson(x, `${field}.${k}`);
    return out;
  }
  throw new ChartError(`${field} has an unsupported value`);
}

function maintainers(v: unknown): Maintainer[] | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (!Array.isArray(v)) throw new ChartError('maintainers must be a list');
  const out = v.map((m, i): Maintainer => {
    if (!isObject(m)) throw new ChartError(`maintainers[${i}] must be a mapping`);
    const name = str(m['name'], `maintainers[${i}].name`);
    if (!name) throw new ChartError(`maintainers[${i}] must have a name`);
    const out: Maintainer = { name };
    const email = str(m['email'], `maintainers[${i}].email`);
    if (email) out.email = email;
    const url = str(m['url'], `maintainers[${i}].url`);
    if (url) out.url = url;
    return out;
  });
  return out.length > 0 ? out : undefined;
}

function dependencies(v: unknown): Dependency[] | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (!Array.isArray(v)) throw new ChartError('dependencies must be a list');
  const out = v.map((d, i): Dependency => {
    const f = `dependencies[${i}]`;
    if (!isObject(d)) throw new ChartError(`${f} must be a mapping`);
    const name = str(d['name'], `${f}.name`);
    if (!name) throw new ChartError(`${f} must have a name`);
    const dep: Dependency = { name };
    const version = str(d['version'], `${f}.version`);
    if (version) dep.version = version;
    const repository = str(d['repository'], `${f}.repository`);
    if (repository) dep.repository = repository;
    const condition = str(d['condition'], `${f}.condition`);
    if (condition) dep.condition = condition;
    const tags = strList(d['tags'], `${f}.tags`);
    if (tags) dep.tags = tags;
    const enabled = bool(d['enabled'], `${f}.enabled`);
    if (enabled !== undefined) dep.enabled = enabled;
    const iv = d['import-values'];
    if (iv !== undefined && iv !== null && iv !== '') {
      if (!Array.isArray(iv)) throw new ChartError(`${f}.import-values must be a list`);
      dep['import-values'] = iv.map((x, j) => toJson(x, `${f}.import-values[${j}]`));
    }
    const alias = str(d['alias'], `${f}.alias`);
    if (alias) dep.alias = alias;
    return dep;
  });
  return out.length > 0 ? out : undefined;
}

function annotations(v: unknown): Record<string, string> | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (!isObject(v)) throw new ChartError('annotations must be a mapping of strings');
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) out[k] = str(x, `annotations.${k}`) ?? '';
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * Builds validated metadata from a decoded Chart.yaml or config blob. Unknown fields are
 * dropped (Helm drops them too); wrong types and missing required fields are ChartErrors.
 */
export function normalizeMetadata(input: unknown): ChartMetadata {
  if (!isObject(input)) throw new ChartError('chart metadata must be a mapping');
  const apiVersion = str(input['apiVersion'], 'apiVersion');
  if (!apiVersion) throw new ChartError('apiVersion is required');
  if (apiVersion !== 'v1' && apiVersion !== 'v2') throw new ChartError(`apiVersion ${JSON.stringify(apiVersion)} is not supported (v1 or v2)`);
  const name = str(input['name'], 'name');
  if (!name) throw new ChartError('name is required');
  if (name.includes('/') || name.includes('\\') || name === '.' || name === '..') {
    throw new ChartError(`chart name ${JSON.stringify(name)} is invalid`);
  }
  const version = str(input['version'], 'version');
  if (!version) throw new ChartError('version is required');
  if (!parseSemver(version)) throw new ChartError(`version ${JSON.stringify(version)} is not a valid semantic version`);
  const type = str(input['type'], 'type');
  if (type !== undefined && type !== 'application' && type !== 'library') {
    throw new ChartError(`type ${JSON.stringify(type)} is invalid (application or library)`);
  }

  const home = str(input['home'], 'home');
  const sources = strList(input['sources'], 'sources');
  const description = str(input['description'], 'description');
  const keywords = strList(input['keywords'], 'keywords');
  const ms = maintainers(input['maintainers']);
  const icon = str(input['icon'], 'icon');
  const condition = str(input['condition'], 'condition');
  const tags = str(input['tags'], 'tags');
  const appVersion = str(input['appVersion'], 'appVersion');
  const deprecated = bool(input['deprecated'], 'deprecated');
  const ann = annotations(input['annotations']);
  const kubeVersion = str(input['kubeVersion'], 'kubeVersion');
  const deps = dependencies(input['dependencies']);
  // Helm's field order, so the JSON we write matches what `helm push` writes.
  return {
    name,
    ...(home ? { home } : {}),
    ...(sources ? { sources } : {}),
    version,
    ...(description ? { description } : {}),
    ...(keywords ? { keywords } : {}),
    ...(ms ? { maintainers: ms } : {}),
    ...(icon ? { icon } : {}),
    apiVersion,
    ...(condition ? { condition } : {}),
    ...(tags ? { tags } : {}),
    ...(appVersion ? { appVersion } : {}),
    ...(deprecated ? { deprecated } : {}),
    ...(ann ? { annotations: ann } : {}),
    ...(kubeVersion ? { kubeVersion } : {}),
    ...(deps ? { dependencies: deps } : {}),
    ...(type ? { type } : {}),
  };
}

function parseFailsafe(text: string, file: string): unknown {
  try {
    // Failsafe: every scalar stays the string that was written, so `version: 1.10` is "1.10".
    return parseYamlBounded(text);
  } catch (err) {
    if (err instanceof YamlError) throw new ChartError(`${file} is not valid YAML: ${err.message}`);
    throw err;
  }
}

/** Chart.yaml text → metadata; `requirements` is the optional requirements.yaml of v1 charts. */
export function parseChartYaml(text: string, requirements?: string): ChartMetadata {
  const doc = parseFailsafe(text, 'Chart.yaml');
  if (!isObject(doc)) throw new ChartError('Chart.yaml must be a mapping');
  let meta: ChartMetadata;
  try {
    meta = normalizeMetadata(doc);
  } catch (err) {
    if (err instanceof ChartError) throw new ChartError(`Chart.yaml: ${err.message}`);
    throw err;
  }
  if (requirements !== undefined && meta.apiVersion === 'v1' && !meta.dependencies) {
    // Helm loads requirements.yaml of v1 charts into the metadata's dependencies.
    const req = parseFailsafe(requirements, 'requirements.yaml');
    if (isObject(req)) {
      try {
        const deps = dependencies(req['dependencies']);
        if (deps) {
          const { type, ...rest } = meta;
          meta = { ...rest, dependencies: deps, ...(type ? { type } : {}) };
        }
      } catch (err) {
        if (err instanceof ChartError) throw new ChartError(`requirements.yaml: ${err.message}`);
        throw err;
      }
    }
  }
  return meta;
}

/** The config blob Helm pushes: its metadata struct as compact JSON. */
export function metadataToConfigJson(meta: ChartMetadata): string {
  return JSON.stringify(meta);
}

/** Manifest annotations as `helm push` generates them from the metadata. */
export function ociAnnotations(meta: ChartMetadata, created: string): Record<string, string> {
  const out: Record<string, string> = {};
  const add = (k: string, v: string | undefined) => {
    if (v !== undefined && v.trim() !== '') out[k] = v;
  };
  add('org.opencontainers.image.description', meta.description);
  add('org.opencontainers.image.title', meta.name);
  add('org.opencontainers.image.version', meta.version);
  add('org.opencontainers.image.url', meta.home);
  add('org.opencontainers.image.created', created);
  add('org.opencontainers.image.source', meta.sources?.[0]);
  if (meta.maintainers && meta.maintainers.length > 0) {
    add('org.opencontainers.image.authors', meta.maintainers.map((m) => (m.email ? `${m.name} (${m.email})` : m.name)).join(', '));
  }
  for (const [k, v] of Object.entries(meta.annotations ?? {})) {
    if (k === 'org.opencontainers.image.version' || k === 'org.opencontainers.image.title') continue;
    out[k] = v;
  }
  return out;
}
