/**
 * Offline validation of Kubernetes manifests (what `helm template` renders) against the Kubernetes
 * API's own schemas, with no cluster and no network:
 *
 * 1. Values: each object goes through the validator `kubernetes-models` generated with ajv from the
 *    Kubernetes OpenAPI document (types, enums, required fields, formats, patterns);
 *    ServiceMonitor through `@kubernetes-models/prometheus-operator`, generated from the CRD.
 * 2. Unknown fields: those schemas allow any extra property (as Kubernetes' OpenAPI does; the API
 *    server drops or rejects them only at apply time), so each object is also written as a typed
 *    TypeScript literal against the same package's interfaces and type-checked with `tsc`: an
 *    excess property (`spec.replicass`, `readOnlyRootFilesystem` at pod level) is an error with its
 *    path — kubeconform's `-strict`, offline.
 *
 * YAML is read as Kubernetes reads it (YAML 1.1: `0440` is octal). A kind without a schema here is a
 * problem, never silently accepted.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from './server.ts';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  [key: string]: unknown;
}

/** apiVersion → the module holding its models (classes with validate(), and I<Kind> interfaces). */
const MODULES: Record<string, string> = {
  v1: 'kubernetes-models/v1',
  'apps/v1': 'kubernetes-models/apps/v1',
  'batch/v1': 'kubernetes-models/batch/v1',
  'policy/v1': 'kubernetes-models/policy/v1',
  'networking.k8s.io/v1': 'kubernetes-models/networking.k8s.io/v1',
  'autoscaling/v2': 'kubernetes-models/autoscaling/v2',
  'rbac.authorization.k8s.io/v1': 'kubernetes-models/rbac.authorization.k8s.io/v1',
  'monitoring.coreos.com/v1': '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1',
};

/** The objects of a multi-document YAML stream (empty documents skipped). */
export function parseManifests(text: string): K8sObject[] {
  const out: K8sObject[] = [];
  for (const doc of parseAllDocuments(text, { version: '1.1' })) {
    if (doc.errors.length > 0) throw new Error(`YAML error: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || Array.isArray(value) || !('apiVersion' in value) || !('kind' in value)) {
      throw new Error(`not a Kubernetes object: ${JSON.stringify(value).slice(0, 200)}`);
    }
    out.push(value as K8sObject);
  }
  return out;
}

function label(o: K8sObject): string {
  return `${o.kind}/${o.metadata?.name ?? '?'}`;
}

interface ModelClass {
  new (data: unknown): { validate(): void };
}

/** Step 1: schema validation of values. */
async function validateValues(objects: K8sObject[]): Promise<string[]> {
  const problems: string[] = [];
  for (const o of objects) {
    const module = MODULES[o.apiVersion];
    if (!module) {
      problems.push(`${label(o)}: no schema for apiVersion ${o.apiVersion}`);
      continue;
    }
    const exports = (await import(module)) as Record<string, unknown>;
    const Model = exports[o.kind];
    if (typeof Model !== 'function') {
      problems.push(`${label(o)}: no schema for kind ${o.kind} in ${o.apiVersion}`);
      continue;
    }
    try {
      new (Model as ModelClass)(o).validate();
    } catch (err) {
      problems.push(`${label(o)}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return problems;
}

/** Step 2: unknown fields, as excess properties of typed literals. */
async function checkUnknownFields(objects: K8sObject[]): Promise<string[]> {
  const base = join(repoRoot, 'test-output');
  await mkdir(base, { recursive: true });
  // Inside the repository so that node_modules resolves.
  const dir = await mkdtemp(join(base, 'k8s-check-'));
  try {
    const checked = objects.map((o, i) => ({ o, i, module: MODULES[o.apiVersion] })).filter((c) => c.module !== undefined);
    let source = checked.map((c) => `import type { I${c.o.kind} as T${c.i} } from '${c.module}/${c.o.kind}';\n`).join('');
    const owners: { from: number; to: number; label: string }[] = [];
    for (const c of checked) {
      const from = source.split('\n').length;
      const statement = `export const o${c.i}: T${c.i} = ${JSON.stringify(c.o, null, 2)};\n`;
      source += statement;
      owners.push({ from, to: from + statement.split('\n').length - 2, label: label(c.o) });
    }
    const lines = source.split('\n');
    await writeFile(join(dir, 'manifests.ts'), source);
    await writeFile(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2024', skipLibCheck: true, types: [] },
        files: ['manifests.ts'],
      }),
    );
    const res = spawnSync(join(repoRoot, 'node_modules', '.bin', 'tsc'), ['-p', join(dir, 'tsconfig.json')], { encoding: 'utf8', cwd: repoRoot });
    if (res.status === 0) return [];
    const problems: string[] = [];
    const text = `${res.stdout}${res.stderr}`;
    for (const m of text.matchAll(/manifests\.ts\((\d+),\d+\): error (TS\d+): ([^\n]+(?:\n {2,}[^\n]+)*)/g)) {
      const line = Number(m[1]);
      const owner = owners.find((o) => line >= o.from && line <= o.to);
      const path = jsonPathAt(lines, line);
      problems.push(`${owner?.label ?? `line ${line}`}${path ? ` ${path}` : ''}: ${m[3]?.replace(/\s+/g, ' ')}`);
    }
    return problems.length > 0 ? problems : [`tsc failed: ${text.slice(0, 2000)}`];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The JSON path of the property on `line` (1-based) of a pretty-printed literal, for error messages. */
function jsonPathAt(lines: string[], line: number): string {
  const path: string[] = [];
  let indent = Number.POSITIVE_INFINITY;
  for (let i = line - 1; i >= 0; i--) {
    const text = lines[i] ?? '';
    const at = text.search(/\S/);
    if (at < 0 || at >= indent) continue;
    indent = at;
    const key = /^\s*"([^"]+)":/.exec(text)?.[1];
    if (key) path.unshift(key);
    if (at === 0) break;
  }
  return path.join('.');
}

/** Every problem found in `text` (empty when all objects are valid). */
export async function validateManifests(text: string): Promise<{ objects: K8sObject[]; problems: string[] }> {
  const objects = parseManifests(text);
  const problems = [...(await validateValues(objects)), ...(await checkUnknownFields(objects))];
  return { objects, problems };
}
