/**
 * First path segments that belong to the server, not to an owner or the web UI: the UI's wildcard
 * answers a JSON 404 under them, and no account may be named after one (`/metrics` must stay a
 * Prometheus scrape, never an owner's page).
 */
export const SERVER_ROUTES: readonly string[] = ['api', 'v1', 'v2', 'charts', 'token', '.well-known', 'healthz', 'readyz', 'metrics'];
