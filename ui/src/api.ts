/** The one way the UI talks to Wharf: JSON over /api/v1, with the session's CSRF token on writes. */

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly detail: unknown;
  constructor(status: number, code: string, message: string, detail: unknown) {
    super(message);
    this.status = status;
    this.code = code;
    this.detail = detail;
  }
}

let csrfToken: string | null = null;

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export async function api<T>(method: Method, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-wharf-csrf'] = csrfToken;
  let res: Response;
  try {
    res = await fetch(path, { method, headers, credentials: 'same-origin', ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  } catch {
    throw new ApiError(0, 'NETWORK', 'Wharf could not be reached. Check your connection and try again.', null);
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: handled below
  }
  if (!res.ok) {
    const err = (json as { errors?: { code?: string; message?: string; detail?: unknown }[] } | null)?.errors?.[0];
    throw new ApiError(res.status, err?.code ?? 'UNKNOWN', err?.message ?? `request failed (HTTP ${res.status})`, err?.detail ?? null);
  }
  return json as T;
}

export const get = <T,>(path: string) => api<T>('GET', path);

/** `/api/v1/packages/<owner>/<rest>` with the rest of the path escaped as one segment. */
export function packageApi(name: string, suffix = ''): string {
  const i = name.indexOf('/');
  return `/api/v1/packages/${encodeURIComponent(name.slice(0, i))}/${encodeURIComponent(name.slice(i + 1))}${suffix}`;
}

/** `/api/v1/charts/<repo>/versions[/<version>]` (the repository keeps its slashes). */
export function chartApi(repo: string, version?: string): string {
  return `/api/v1/charts/${repo.split('/').map(encodeURIComponent).join('/')}/versions${version ? `/${encodeURIComponent(version)}` : ''}`;
}

/** A human message for an error shown in a form. */
export function messageOf(err: unknown): string {
  if (err instanceof ApiError) {
    const issues = (err.detail as { issues?: { path: string; message: string }[] } | null)?.issues;
    if (issues && issues.length > 0) return `${err.message}: ${issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')}`;
    return err.message.charAt(0).toUpperCase() + err.message.slice(1);
  }
  return err instanceof Error ? err.message : String(err);
}
