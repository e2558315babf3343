/**
 * A linear pre-scan of JSON text that bounds the work `JSON.parse` may do on it. The size of a
 * body is capped elsewhere; its shape is not: 4 MiB of `[[[[…` takes V8 seconds and hundreds of
 * MiB to parse, and 4 MiB of `{},{},…` builds a million objects. Invalid JSON passes the scan and
 * is left to the parser to reject.
 */
export interface JsonShapeLimits {
  /** Deepest nesting of arrays and objects. */
  maxDepth: number;
  /** Arrays and objects in the whole document. */
  maxContainers: number;
  /** Values in the whole document (counted by their separators). */
  maxValues: number;
}

/** Generous for any manifest, config or API body a real client sends. */
export const DEFAULT_JSON_SHAPE: JsonShapeLimits = { maxDepth: 64, maxContainers: 100_000, maxValues: 1_000_000 };

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;

/** Why `bytes` is too deep or too big to parse, or null when it is within `limits`. */
export function jsonShapeProblem(bytes: Uint8Array, limits: JsonShapeLimits = DEFAULT_JSON_SHAPE): string | null {
  let depth = 0;
  let containers = 0;
  let values = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if (inString) {
      // UTF-8 continuation bytes are >= 0x80, so they never look like a quote or a backslash.
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
      continue;
    }
    if (c === QUOTE) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limits.maxDepth) return `JSON nested deeper than ${limits.maxDepth} levels`;
      if (++containers > limits.maxContainers) return `JSON with more than ${limits.maxContainers} arrays and objects`;
    } else if (c === 0x5d || c === 0x7d) depth--;
    else if (c === COMMA && ++values > limits.maxValues) return `JSON with more than ${limits.maxValues} values`;
  }
  return null;
}
