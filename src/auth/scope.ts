import type { RepoAction } from './principal.ts';

/** One Docker token scope, e.g. `repository:acme/web:pull,push`. */
export interface Scope {
  type: string;
  name: string;
  actions: string[];
}

/**
 * Parses `type:name:actions` scopes. The name may itself contain ':' (a port in some clients'
 * names), so the type is the first field and the actions the last.
 */
export function parseScope(raw: string): Scope | null {
  const first = raw.indexOf(':');
  const last = raw.lastIndexOf(':');
  if (first <= 0 || last === first) return null;
  const type = raw.slice(0, first);
  const name = raw.slice(first + 1, last);
  const actions = raw
    .slice(last + 1)
    .split(',')
    .map((a) => a.trim())
    .filter((a) => a.length > 0);
  if (!name) return null;
  return { type, name, actions };
}

/** Clients send several `scope` parameters, or one with space-separated scopes. */
export function parseScopes(values: readonly string[]): Scope[] {
  return values
    .flatMap((v) => v.split(' '))
    .filter((s) => s.length > 0)
    .map(parseScope)
    .filter((s): s is Scope => s !== null);
}

export function formatScope(s: Scope): string {
  return `${s.type}:${s.name}:${s.actions.join(',')}`;
}

export const REPO_ACTIONS: readonly RepoAction[] = ['pull', 'push', 'delete'];

export function isRepoAction(a: string): a is RepoAction {
  return (REPO_ACTIONS as readonly string[]).includes(a);
}
