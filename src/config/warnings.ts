/**
 * Settings that work but are probably not what an operator wants in production. `wharf serve`
 * logs each as one warning line at start-up; `wharf config check` lists them.
 */
import type { Config } from './schema.ts';

export interface ConfigWarning {
  /** Stable identifier, for logs and scripts. */
  check: 'auth-off' | 'plain-http' | 'ui-not-built';
  message: string;
}

function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/**
 * Whether the server terminates TLS itself. Looked up by name: `server.tls.certFile` and
 * `keyFile` belong to the TLS listener, which may not be in this build's schema yet.
 */
export function servesTls(config: Config): boolean {
  const server: Record<string, unknown> = config.server;
  const tls = server['tls'];
  if (typeof tls !== 'object' || tls === null) return false;
  const files: Record<string, unknown> = { ...tls };
  return typeof files['certFile'] === 'string' && files['certFile'] !== '' && typeof files['keyFile'] === 'string' && files['keyFile'] !== '';
}

export function startupWarnings(config: Config, opts: { uiBuilt: boolean }): ConfigWarning[] {
  const out: ConfigWarning[] = [];
  if (!config.auth.enabled) {
    out.push({ check: 'auth-off', message: 'authentication is off (auth.enabled=false): anyone who can reach this server can push, pull and delete everything' });
  }
  // A proxy in front that terminates TLS shows up as an https:// public URL.
  const behindTls = config.server.baseUrl?.startsWith('https://') ?? false;
  if (!servesTls(config) && !behindTls && !isLoopback(config.server.host)) {
    out.push({
      check: 'plain-http',
      message: `serving plain HTTP on ${config.server.host}:${config.server.port}, which is not a loopback address: passwords and tokens cross the network unencrypted, and docker and podman refuse such a registry unless it is listed as insecure; set server.tls.certFile and server.tls.keyFile, or terminate TLS in a proxy and set server.baseUrl to its https:// URL`,
    });
  }
  if (!opts.uiBuilt) {
    out.push({ check: 'ui-not-built', message: 'the web UI is not built (ui/dist/index.html is missing): run npm run build:ui; the registry and the API work without it' });
  }
  return out;
}
