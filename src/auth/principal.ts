/** Who is calling. Anonymous callers are a principal too, so policy code has one shape. */
export interface Principal {
  kind: 'anonymous' | 'user' | 'ci' | 'system';
  /** Username for users, a descriptive subject for CI tokens, '' for anonymous. */
  name: string;
}

export const ANONYMOUS: Principal = Object.freeze({ kind: 'anonymous', name: '' });
export const SYSTEM: Principal = Object.freeze({ kind: 'system', name: 'system' });

export type RepoAction = 'pull' | 'push' | 'delete';
