/**
 * The configuration's key tree, read from the zod schema itself, so every section any module
 * adds to `configSchema` is known here without a second list. Objects are closed (an unknown
 * key is a mistake) unless declared open (`z.looseObject`, `.catchall`, or a `z.record`).
 */
import { z } from 'zod';
import { didYouMean } from '../lib/did-you-mean.ts';

export type KeyNode =
  | { kind: 'object'; keys: ReadonlyMap<string, KeyNode>; open: boolean }
  | { kind: 'array'; element: KeyNode }
  | { kind: 'open' }
  | { kind: 'leaf' };

const LEAF: KeyNode = { kind: 'leaf' };
const OPEN: KeyNode = { kind: 'open' };

/** The key tree of a schema; wrappers (default, optional, pipe, …) are looked through. */
export function keyTree(schema: z.core.$ZodType): KeyNode {
  if (schema instanceof z.ZodObject) {
    const keys = new Map<string, KeyNode>();
    for (const [key, child] of Object.entries(schema.shape)) keys.set(key, keyTree(child as z.core.$ZodType));
    // A catch-all (loose/passthrough objects) accepts any further key; strip and strict do not.
    const catchall = schema.def.catchall;
    return { kind: 'object', keys, open: catchall !== undefined && !(catchall instanceof z.ZodNever) };
  }
  if (schema instanceof z.ZodDefault || schema instanceof z.ZodPrefault || schema instanceof z.ZodOptional || schema instanceof z.ZodNullable || schema instanceof z.ZodReadonly || schema instanceof z.ZodCatch) {
    return keyTree(schema.def.innerType);
  }
  if (schema instanceof z.ZodPipe) return keyTree(schema.def.in);
  if (schema instanceof z.ZodArray) return { kind: 'array', element: keyTree(schema.def.element) };
  if (schema instanceof z.ZodRecord || schema instanceof z.ZodUnknown || schema instanceof z.ZodAny) return OPEN;
  if (schema instanceof z.ZodUnion) {
    // A union of objects accepts the keys of any of its members; of scalars it is a leaf.
    const members = schema.def.options.map((o) => keyTree(o));
    const objects = members.filter((m) => m.kind === 'object');
    if (objects.length === 0) return members.some((m) => m.kind === 'open') ? OPEN : LEAF;
    const keys = new Map<string, KeyNode>();
    for (const o of objects) for (const [k, v] of o.keys) keys.set(k, v);
    return { kind: 'object', keys, open: objects.some((o) => o.open) || members.some((m) => m.kind === 'open') };
  }
  return LEAF;
}

/** Every settable path (leaves, open sections) as dotted names: `server.port`, `storage.s3.bucket`. */
export function leafPaths(node: KeyNode, prefix: readonly string[] = []): string[][] {
  if (node.kind !== 'object') return prefix.length > 0 ? [[...prefix]] : [];
  return [...node.keys].flatMap(([k, child]) => leafPaths(child, [...prefix, k]));
}

export interface UnknownKey {
  path: string[];
  /** A close known path, when there is one. */
  suggestion?: string[];
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Keys of `value` the tree does not know, with the nearest known key: a sibling first (a typo),
 * else the same name elsewhere in the tree (a key put in the wrong section).
 */
export function unknownKeys(value: unknown, root: KeyNode, node: KeyNode = root, path: string[] = []): UnknownKey[] {
  if (node.kind === 'array') return Array.isArray(value) ? value.flatMap((item, i) => unknownKeys(item, root, node.element, [...path, String(i)])) : [];
  if (node.kind !== 'object' || node.open || !isPlainObject(value)) return [];
  const out: UnknownKey[] = [];
  for (const [key, child] of Object.entries(value)) {
    const known = node.keys.get(key);
    if (known) {
      out.push(...unknownKeys(child, root, known, [...path, key]));
      continue;
    }
    const sibling = didYouMean(key, node.keys.keys());
    if (sibling !== undefined) {
      out.push({ path: [...path, key], suggestion: [...path, sibling] });
      continue;
    }
    const elsewhere = leafPaths(root).find((p) => p[p.length - 1]?.toLowerCase() === key.toLowerCase());
    out.push(elsewhere ? { path: [...path, key], suggestion: elsewhere } : { path: [...path, key] });
  }
  return out;
}

/** The node at `path`, or undefined when the tree does not have it (open sections accept anything below). */
export function nodeAt(root: KeyNode, path: readonly string[]): KeyNode | undefined {
  let node: KeyNode = root;
  for (const segment of path) {
    if (node.kind === 'open' || (node.kind === 'object' && node.open && !node.keys.has(segment))) return OPEN;
    if (node.kind !== 'object') return undefined;
    const next = node.keys.get(segment);
    if (next === undefined) return undefined;
    node = next;
  }
  return node;
}
