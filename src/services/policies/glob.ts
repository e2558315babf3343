/**
 * Tag patterns: globs, as Harbor's rules use them — `*` any run of characters (also none), `?`
 * one character, `[0-9]` / `[!a-z]` a class, `{latest,main}` alternatives; a pattern matches the
 * whole tag. Globs and not regular expressions because a package admin writes them and every push
 * evaluates them: this matcher is O(tag × pattern) whatever the pattern, where a backtracking
 * regular expression such as `(a+)+$` can stall a replica (docs/adr/0013-policies.md).
 */

type Token = { t: 'lit'; c: string } | { t: 'one' } | { t: 'star' } | { t: 'class'; negate: boolean; ranges: [string, string][] };

export class PatternError extends Error {}

/** Most alternatives one pattern may expand to (`{a,b}{c,d}` is 4). */
const MAX_ALTERNATIVES = 64;
export const MAX_PATTERN_LENGTH = 256;

function expandBraces(p: string): string[] {
  const open = p.indexOf('{');
  if (open < 0) {
    if (p.includes('}')) throw new PatternError('unbalanced "}"');
    return [p];
  }
  const close = p.indexOf('}', open);
  if (close < 0) throw new PatternError('unbalanced "{"');
  const inner = p.slice(open + 1, close);
  if (inner.includes('{')) throw new PatternError('nested "{" is not supported');
  const head = p.slice(0, open);
  const out: string[] = [];
  for (const rest of expandBraces(p.slice(close + 1))) {
    for (const alt of inner.split(',')) {
      out.push(head + alt + rest);
      if (out.length > MAX_ALTERNATIVES) throw new PatternError(`more than ${MAX_ALTERNATIVES} alternatives`);
    }
  }
  return out;
}

function tokenize(p: string): Token[] {
  const out: Token[] = [];
  for (let i = 0; i < p.length; i++) {
    const c = p[i] as string;
    if (c === '*') {
      if (out[out.length - 1]?.t !== 'star') out.push({ t: 'star' });
    } else if (c === '?') out.push({ t: 'one' });
    else if (c === '[') {
      const end = p.indexOf(']', i + 2);
      if (end < 0) throw new PatternError('unbalanced "["');
      let body = p.slice(i + 1, end);
      const negate = body.startsWith('!') || body.startsWith('^');
      if (negate) body = body.slice(1);
      const ranges: [string, string][] = [];
      for (let j = 0; j < body.length; j++) {
        const a = body[j] as string;
        if (body[j + 1] === '-' && j + 2 < body.length) {
          ranges.push([a, body[j + 2] as string]);
          j += 2;
        } else ranges.push([a, a]);
      }
      if (ranges.length === 0) throw new PatternError('empty "[]"');
      out.push({ t: 'class', negate, ranges });
      i = end;
    } else if (c === ']') throw new PatternError('unbalanced "]"');
    else out.push({ t: 'lit', c });
  }
  return out;
}

function matchOne(tok: Token, ch: string): boolean {
  switch (tok.t) {
    case 'lit':
      return tok.c === ch;
    case 'one':
      return true;
    case 'class': {
      const hit = tok.ranges.some(([a, b]) => ch >= a && ch <= b);
      return tok.negate ? !hit : hit;
    }
    case 'star':
      return false;
  }
}

/** Wildcard matching with a single backtrack point: linear in practice, O(n·m) at worst. */
function matchTokens(tokens: readonly Token[], s: string): boolean {
  let ti = 0;
  let si = 0;
  let starT = -1;
  let starS = 0;
  while (si < s.length) {
    const tok = tokens[ti];
    if (tok && tok.t !== 'star' && matchOne(tok, s[si] as string)) {
      ti++;
      si++;
    } else if (tok?.t === 'star') {
      starT = ti++;
      starS = si;
    } else if (starT >= 0) {
      ti = starT + 1;
      si = ++starS;
    } else return false;
  }
  while (tokens[ti]?.t === 'star') ti++;
  return ti === tokens.length;
}

/** A compiled pattern; throws PatternError (with why) on a malformed one. */
export function compileGlob(pattern: string): (tag: string) => boolean {
  if (pattern.length === 0) throw new PatternError('empty pattern');
  if (pattern.length > MAX_PATTERN_LENGTH) throw new PatternError(`longer than ${MAX_PATTERN_LENGTH} characters`);
  const alternatives = expandBraces(pattern).map(tokenize);
  return (tag) => alternatives.some((t) => matchTokens(t, tag));
}

/** Why `pattern` is malformed, or null. */
export function globProblem(pattern: string): string | null {
  try {
    compileGlob(pattern);
    return null;
  } catch (err) {
    if (err instanceof PatternError) return err.message;
    throw err;
  }
}
