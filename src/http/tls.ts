/**
 * HTTPS for the registry's own listener: certificate and key from PEM files, reloaded without a
 * restart when the files change (cert-manager, certbot and Kubernetes secret mounts replace them)
 * or on SIGHUP. `server.setSecureContext()` swaps the context for new handshakes only, so open
 * connections (a long layer upload, say) keep going on the session they have.
 */
import { type Stats, readFileSync, unwatchFile, watchFile } from 'node:fs';
import type { ServerOptions } from 'node:https';
import { type SecureContextOptions, type Server as TlsServer, createSecureContext } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type { Logger } from 'pino';

export interface TlsFiles {
  certFile: string;
  keyFile: string;
  /** Clients must present a certificate signed by one of these CAs (mutual TLS). */
  clientCaFile?: string | undefined;
}

export class TlsConfigError extends Error {}

/** The secure-context part: what a reload replaces. */
function readContext(files: TlsFiles): SecureContextOptions {
  const read = (what: string, path: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new TlsConfigError(`cannot read TLS ${what} ${path}: ${(err as Error).message}`);
    }
  };
  const options: SecureContextOptions = {
    cert: read('certificate', files.certFile),
    key: read('key', files.keyFile),
    ...(files.clientCaFile ? { ca: read('client CA', files.clientCaFile) } : {}),
  };
  try {
    // Fails on a key that does not match the certificate, or bad PEM: here, not at the first handshake.
    createSecureContext(options);
  } catch (err) {
    throw new TlsConfigError(`invalid TLS certificate ${files.certFile} or key ${files.keyFile}: ${(err as Error).message}`);
  }
  return options;
}

/** Options for `https.createServer`, checked (throws TlsConfigError with the file at fault). */
export function httpsOptions(files: TlsFiles): ServerOptions {
  return {
    ...readContext(files),
    minVersion: 'TLSv1.2',
    ...(files.clientCaFile ? { requestCert: true, rejectUnauthorized: true } : {}),
  };
}

/** Subject and expiry of the leaf certificate, for the logs. */
export function describeCertificate(pem: string | Buffer | undefined): { subject: string; validTo: string } | null {
  if (pem === undefined) return null;
  try {
    const cert = new X509Certificate(pem);
    return { subject: cert.subject.replace(/\n/g, ', '), validTo: new Date(cert.validTo).toISOString() };
  } catch {
    return null;
  }
}

/**
 * Watches the certificate files and reloads the server's secure context when they change, or when
 * `reload()` is called (SIGHUP). A reload that fails (half-written files, a key that does not match)
 * keeps the current certificate and logs why; the next change tries again.
 */
export class TlsReloader {
  private readonly server: TlsServer;
  private readonly files: TlsFiles;
  private readonly log: Logger;
  private readonly intervalMs: number;
  private pending: NodeJS.Timeout | null = null;
  private readonly listeners = new Map<string, (curr: Stats, prev: Stats) => void>();

  constructor(deps: { server: TlsServer; files: TlsFiles; log: Logger; watchIntervalMs: number }) {
    this.server = deps.server;
    this.files = deps.files;
    this.log = deps.log;
    this.intervalMs = deps.watchIntervalMs;
  }

  private get paths(): string[] {
    return [this.files.certFile, this.files.keyFile, ...(this.files.clientCaFile ? [this.files.clientCaFile] : [])];
  }

  /**
   * Polls the files' stat (it follows symlinks, so Kubernetes' `..data` swaps and certbot's
   * `live/` links are seen; inotify on the path would not be).
   */
  start(): void {
    if (this.intervalMs <= 0 || this.listeners.size > 0) return;
    for (const path of this.paths) {
      const listener = (curr: Stats, prev: Stats): void => {
        if (curr.mtimeMs === prev.mtimeMs && curr.ino === prev.ino && curr.size === prev.size) return;
        // Certificate and key are usually replaced one after the other: wait for both.
        if (this.pending) clearTimeout(this.pending);
        this.pending = setTimeout(() => {
          this.pending = null;
          this.reload('file change');
        }, Math.min(1000, this.intervalMs));
        this.pending.unref();
      };
      this.listeners.set(path, listener);
      watchFile(path, { interval: this.intervalMs, persistent: false }, listener);
    }
  }

  /** Reads the files again and serves them to new connections; false (and the old certificate kept) when they are unusable. */
  reload(reason: string): boolean {
    let context: SecureContextOptions;
    try {
      context = readContext(this.files);
    } catch (err) {
      this.log.error({ reason, err: err instanceof Error ? err.message : String(err) }, 'tls reload failed, keeping the current certificate');
      return false;
    }
    this.server.setSecureContext(context);
    this.log.info({ reason, certificate: describeCertificate(context.cert instanceof Buffer ? context.cert : undefined) }, 'tls certificate reloaded');
    return true;
  }

  stop(): void {
    if (this.pending) clearTimeout(this.pending);
    for (const [path, listener] of this.listeners) unwatchFile(path, listener);
    this.listeners.clear();
  }
}
