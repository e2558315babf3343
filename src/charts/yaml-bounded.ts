/**
 * YAML from untrusted charts, with the work bounded. The `yaml` library is linear in the input
 * for lexing and composing, but not for turning a document into JS values: a mapping key that is
 * itself a collection is stringified recursively, so 242 bytes of `[{[{…` cost it seconds. Chart
 * files never need collection keys or deep nesting, so: a lexer pass bounds flow nesting and
 * stacked indicators on one line (which compose slowly too), the composed document is walked for
 * depth and scalar keys, and alias expansion is capped when converting.
 */
import { CST, isAlias, isMap, isPair, isScalar, isSeq, Lexer, parseDocument } from 'yaml';

export interface YamlLimits {
  /** Deepest nesting of collections. */
  maxDepth: number;
  /** Alias expansions (the "billion laughs" guard). */
  maxAliasCount: number;
}

export const DEFAULT_YAML_LIMITS: YamlLimits = { maxDepth: 64, maxAliasCount: 100 };

export class YamlError extends Error {}

/** Refuses what would compose slowly, by looking only at tokens. */
function checkTokens(text: string, maxDepth: number): void {
  let flow = 0;
  let onLine = 0;
  for (const token of new Lexer().lex(text)) {
    const type = CST.tokenType(token);
    if (type === 'flow-map-start' || type === 'flow-seq-start') {
      if (++flow > maxDepth) throw new YamlError(`nested deeper than ${maxDepth} levels`);
    } else if (type === 'flow-map-end' || type === 'flow-seq-end') flow--;
    else if (type === 'seq-item-ind' || type === 'explicit-key-ind') {
      if (++onLine > maxDepth) throw new YamlError(`nested deeper than ${maxDepth} levels`);
    } else if (type === 'newline') onLine = 0;
  }
}

/** Depth and scalar keys of the composed document, walked without recursion. */
function checkNodes(root: unknown, maxDepth: number): void {
  const stack: { node: unknown; depth: number }[] = [{ node: root, depth: 0 }];
  while (stack.length > 0) {
    const { node, depth } = stack.pop() as { node: unknown; depth: number };
    if (!isMap(node) && !isSeq(node)) continue;
    if (depth + 1 > maxDepth) throw new YamlError(`nested deeper than ${maxDepth} levels`);
    for (const item of node.items) {
      if (isPair(item)) {
        if (item.key !== null && !isScalar(item.key) && !isAlias(item.key)) throw new YamlError('mapping keys must be plain values, not collections');
        if (isAlias(item.key)) throw new YamlError('mapping keys must be plain values, not aliases');
        stack.push({ node: item.value, depth: depth + 1 });
      } else stack.push({ node: item, depth: depth + 1 });
    }
  }
}

/** Parses with the failsafe schema (every scalar stays the string that was written). */
export function parseYamlBounded(text: string, limits: YamlLimits = DEFAULT_YAML_LIMITS): unknown {
  checkTokens(text, limits.maxDepth);
  const doc = parseDocument(text, { schema: 'failsafe', uniqueKeys: false });
  const first = doc.errors[0];
  if (first) throw new YamlError(first.message.split('\n')[0] ?? 'invalid YAML');
  checkNodes(doc.contents, limits.maxDepth);
  try {
    return doc.toJS({ maxAliasCount: limits.maxAliasCount });
  } catch (err) {
    throw new YamlError((err as Error).message.split('\n')[0] ?? 'invalid YAML');
  }
}
