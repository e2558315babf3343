/**
 * The classic repository's index.yaml, written as text pieces so the document can be streamed:
 * each chart version's entry is rendered once (when it is indexed) into a fragment, and a
 * request only concatenates header, chart-name keys, fragments and footer.
 *
 * The layout follows `helm repo index` (sigs.k8s.io/yaml): keys sorted, sequences not indented
 * under their key, strings quoted only when a YAML 1.1 reader (Helm's) could take them for
 * something else. Any output is also plain valid YAML 1.2.
 */
import type { ChartMetadata, JsonValue } from './metadata.ts';

type Node = JsonValue | undefined;

// Words YAML 1.1 reads as booleans or null.
const RESERVED = /^(y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|null|Null|NULL|~)$/;
// Anything a YAML 1.1 or Go reader might take for a number (Go's base-0 integer syntax
// included), or for a timestamp.
const NUMBER_FORMS = [
  /^[-+]?[0-9][0-9_]*$/,
  /^[-+]?0[xX][0-9a-fA-F_]+$/,
  /^[-+]?0[oO][0-7_]+$/,
  /^[-+]?0[bB][01_]+$/,
  /^[-+]?([0-9][0-9_]*)?\.[0-9_]*([eE][-+]?[0-9]+)?$/,
  /^[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+$/,
  /^[-+]?\.(inf|Inf|INF)$/,
  /^\.(nan|NaN|NAN)$/,
  /^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?$/,
];
const TIMESTAMPISH = /^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}/;
const PLAIN_SAFE = /^[A-Za-z0-9_/][A-Za-z0-9 ._/@+:,()=~'-]*$/;

function isPlain(s: string): boolean {
  if (s === '' || !PLAIN_SAFE.test(s)) return false;
  if (RESERVED.test(s) || TIMESTAMPISH.test(s) || NUMBER_FORMS.some((re) => re.test(s))) return false;
  if (s.endsWith(' ') || s.endsWith(':') || s.includes(': ') || s.includes(' #')) return false;
  return true;
}

/** A scalar: plain when unambiguous, else a JSON string (which is a valid YAML double-quoted scalar). */
export function yamlScalar(v: string | number | boolean | null): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : JSON.stringify(String(v));
  return isPlain(v) ? v : JSON.stringify(v);
}

function key(k: string): string {
  return isPlain(k) ? k : JSON.stringify(k);
}

function isMap(v: Node): v is { [key: string]: JsonValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Emits `obj` as block mapping lines at `indent` spaces. */
function emitMap(obj: { [key: string]: JsonValue }, indent: number, out: string[]): void {
  const pad = ' '.repeat(indent);
  for (const k of Object.keys(obj).sort()) {
    const v = obj[k];
    if (v === undefined) continue;
    emitValue(`${pad}${key(k)}:`, v, indent, out);
  }
}

function emitValue(prefix: string, v: JsonValue, indent: number, out: string[]): void {
  if (Array.isArray(v)) {
    if (v.length === 0) {
      out.push(`${prefix} []`);
      return;
    }
    out.push(prefix);
    emitSeq(v, indent, out);
  } else if (isMap(v)) {
    if (Object.keys(v).length === 0) {
      out.push(`${prefix} {}`);
      return;
    }
    out.push(prefix);
    emitMap(v, indent + 2, out);
  } else {
    out.push(`${prefix} ${yamlScalar(v)}`);
  }
}

/** Sequence items at the same indent as their parent key, as Go's YAML writer does. */
function emitSeq(items: JsonValue[], indent: number, out: string[]): void {
  const pad = ' '.repeat(indent);
  for (const item of items) {
    if (isMap(item) && Object.keys(item).length > 0) {
      const lines: string[] = [];
      emitMap(item, indent + 2, lines);
      const first = lines[0] ?? '';
      out.push(`${pad}- ${first.slice(indent + 2)}`, ...lines.slice(1));
    } else if (Array.isArray(item) && item.length > 0) {
      const lines: string[] = [];
      emitSeq(item, indent + 2, lines);
      const first = lines[0] ?? '';
      out.push(`${pad}- ${first.slice(indent + 2)}`, ...lines.slice(1));
    } else if (Array.isArray(item)) {
      out.push(`${pad}- []`);
    } else if (isMap(item)) {
      out.push(`${pad}- {}`);
    } else {
      out.push(`${pad}- ${yamlScalar(item)}`);
    }
  }
}

export interface EntryExtras {
  /** Download URLs, relative to the repository URL. */
  urls: string[];
  /** RFC 3339 time the version was pushed. */
  created: string;
  /** sha256 hex of the .tgz. */
  digest: string;
}

/** The object Helm's index carries for one chart version (its `ChartVersion`). */
export function indexEntry(meta: ChartMetadata, extras: EntryExtras): { [key: string]: JsonValue } {
  return { ...(meta as unknown as { [key: string]: JsonValue }), urls: extras.urls, created: extras.created, digest: extras.digest };
}

/**
 * One version's entry as it appears under `entries.<name>:` — a sequence item indented by two
 * spaces, ending with a newline. Stored with the version and concatenated at request time.
 */
export function renderEntryFragment(entry: { [key: string]: JsonValue }): string {
  const lines: string[] = [];
  emitSeq([entry], 2, lines);
  return `${lines.join('\n')}\n`;
}

/** `  <name>:\n`, the key that opens a chart's list of versions. */
export function renderChartKey(name: string): string {
  return `  ${key(name)}:\n`;
}

export const INDEX_HEADER = 'apiVersion: v1\nentries:\n';
export const INDEX_EMPTY_ENTRIES = 'apiVersion: v1\nentries: {}\n';

export function renderIndexFooter(generated: string): string {
  return `generated: ${yamlScalar(generated)}\n`;
}

/** A chart's file name in the classic repository: `<name>-<version>.tgz`. */
export function chartFileName(name: string, version: string): string {
  return `${name}-${version}.tgz`;
}
