/**
 * The container images a chart's values.yaml refers to, in the shapes charts use:
 *   image: registry.example.com/acme/web:1.2.0          (a reference string)
 *   image: { repository: acme/web, tag: "1.2.0" }        (optionally `registry:`, `digest:`)
 *   image: { registry: r.example.com, repository: acme/web, tag: "1.2.0" }
 * under any key at any depth (`controller.image`, `sidecars[0].image`). Pure: the YAML is read
 * with aliases capped; a values.yaml that does not parse refers to no images.
 */
import { parse } from 'yaml';

export interface ImageRef {
  /** Where in values.yaml (`controller.image`). */
  path: string;
  /** The registry host when one is written (`registry:` or the first part of the reference). */
  registry: string | null;
  repository: string;
  /** The tag written; null when none (Helm charts usually default it to the appVersion). */
  tag: string | null;
  digest: string | null;
}

const MAX_REFS = 100;
const MAX_DEPTH = 32;

/** A reference's first component is a registry host when it has a dot or a port, or is localhost (Docker's rule). */
function splitHost(ref: string): { registry: string | null; rest: string } {
  const slash = ref.indexOf('/');
  if (slash > 0) {
    const first = ref.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost') return { registry: first, rest: ref.slice(slash + 1) };
  }
  return { registry: null, rest: ref };
}

/** `host/repo:tag@digest` → its parts; null when it does not look like an image reference. */
export function parseReference(ref: string): Omit<ImageRef, 'path'> | null {
  const trimmed = ref.trim();
  if (trimmed === '' || /\s/.test(trimmed) || trimmed.includes('{{')) return null;
  const at = trimmed.indexOf('@');
  const digest = at >= 0 ? trimmed.slice(at + 1) : null;
  const named = at >= 0 ? trimmed.slice(0, at) : trimmed;
  const { registry, rest } = splitHost(named);
  const colon = rest.lastIndexOf(':');
  const repository = colon >= 0 ? rest.slice(0, colon) : rest;
  const tag = colon >= 0 ? rest.slice(colon + 1) : null;
  if (!/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/.test(repository)) return null;
  if (tag !== null && !/^[\w][\w.-]{0,127}$/.test(tag)) return null;
  return { registry, repository, tag, digest };
}

function str(v: unknown): string | null {
  if (typeof v === 'string' && v.trim() !== '') return v.trim();
  if (typeof v === 'number') return String(v);
  return null;
}

function fromObject(o: Record<string, unknown>): Omit<ImageRef, 'path'> | null {
  const repository = str(o['repository']) ?? str(o['name']);
  if (!repository) return null;
  const parsed = parseReference(repository);
  if (!parsed) return null;
  const registry = str(o['registry']);
  return {
    registry: registry ?? parsed.registry,
    repository: parsed.repository,
    tag: str(o['tag']) ?? parsed.tag,
    digest: str(o['digest']) ?? parsed.digest,
  };
}

export function findImageRefs(valuesYaml: string): ImageRef[] {
  let doc: unknown;
  try {
    doc = parse(valuesYaml, { maxAliasCount: 50 });
  } catch {
    return [];
  }
  const out: ImageRef[] = [];
  const walk = (node: unknown, path: string, depth: number): void => {
    if (out.length >= MAX_REFS || depth > MAX_DEPTH || typeof node !== 'object' || node === null) return;
    if (Array.isArray(node)) {
      node.forEach((item, i) => walk(item, `${path}[${i}]`, depth + 1));
      return;
    }
    for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
      const here = path ? `${path}.${key}` : key;
      if (key === 'image' || key.endsWith('Image')) {
        const ref = typeof value === 'string' ? parseReference(value) : typeof value === 'object' && value !== null && !Array.isArray(value) ? fromObject(value as Record<string, unknown>) : null;
        if (ref) {
          out.push({ path: here, ...ref });
          continue;
        }
      }
      walk(value, here, depth + 1);
    }
  };
  walk(doc, '', 0);
  return out;
}
