import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Principal } from '../auth/principal.ts';
import { hashSecret } from '../auth/secrets.ts';
import type { Metadata } from '../metadata/metadata.ts';
import type { AuthnService } from './authn.ts';

export interface SessionDeps {
  metadata: Metadata;
  authn: AuthnService;
  clock: () => number;
  /** Idle lifetime: a session unused this long ends (default 7 days). */
  idleMs?: number;
  /** Absolute lifetime, however active (default 30 days). */
  maxMs?: number;
}

export interface OpenedSession {
  /** The cookie value; only its hash is stored. */
  secret: string;
  /** Sent back by the UI in `X-Wharf-CSRF` on every state-changing call. */
  csrf: string;
  principal: Principal;
  expiresAt: number;
  /** For the cookie's Max-Age. */
  maxAgeSeconds: number;
}

export interface LiveSession {
  principal: Principal;
  csrf: string;
  expiresAt: number;
}

const DAY = 86_400_000;

/** `base64url` text of n random bytes. */
function random(n: number): string {
  return randomBytes(n).toString('base64url');
}

/**
 * Web UI sign-in sessions. A session names a user; each request re-reads the account, so a
 * disabled user or a revoked admin right takes effect at once. Stored in the database (hashed)
 * so every replica recognises the cookie.
 */
export class SessionService {
  private readonly deps: SessionDeps;
  private readonly idleMs: number;
  private readonly maxMs: number;

  constructor(deps: SessionDeps) {
    this.deps = deps;
    this.idleMs = deps.idleMs ?? 7 * DAY;
    this.maxMs = deps.maxMs ?? 30 * DAY;
  }

  /** Checks the password (rate limited like every sign-in) and opens a session. */
  async signIn(username: string, password: string, address: string | null, userAgent: string | null = null): Promise<OpenedSession> {
    const principal = await this.deps.authn.password(username, password, address);
    return this.open(principal, address, userAgent, null);
  }

  /**
   * Opens a session for a user whose identity was proven another way (an OpenID provider); null
   * when the account is gone or disabled.
   */
  async openFor(username: string, address: string | null, userAgent: string | null, detail: Record<string, unknown>): Promise<OpenedSession | null> {
    const principal = await this.deps.authn.user(username);
    return principal ? this.open(principal, address, userAgent, detail) : null;
  }

  private async open(principal: Principal, address: string | null, userAgent: string | null, detail: Record<string, unknown> | null): Promise<OpenedSession> {
    const now = this.deps.clock();
    const secret = random(32);
    const csrf = random(24);
    const expiresAt = now + this.idleMs;
    await this.deps.metadata.sessions.purgeExpired(now);
    await this.deps.metadata.sessions.create({ id: hashSecret(secret), username: principal.name, csrf, createdAt: now, lastSeenAt: now, expiresAt });
    await this.deps.metadata.audit.append({ at: now, actor: principal.name, actorKind: 'user', action: 'session.create', target: principal.name, owner: principal.name, detail, address, userAgent });
    return { secret, csrf, principal, expiresAt, maxAgeSeconds: Math.floor(this.idleMs / 1000) };
  }

  /** The session behind a cookie value, or null when unknown, expired or its user is gone. */
  async resolve(secret: string): Promise<LiveSession | null> {
    if (secret.length < 20 || secret.length > 100) return null;
    const now = this.deps.clock();
    const s = await this.deps.metadata.sessions.get(hashSecret(secret), now);
    if (!s) return null;
    const principal = await this.deps.authn.user(s.username);
    if (!principal) return null;
    let expiresAt = s.expiresAt;
    // Sliding expiry, written at most once a minute per session to spare the database.
    if (now - s.lastSeenAt > 60_000) {
      expiresAt = Math.min(now + this.idleMs, s.createdAt + this.maxMs);
      await this.deps.metadata.sessions.touch(s.id, now, expiresAt);
    }
    return { principal, csrf: s.csrf, expiresAt };
  }

  async signOut(secret: string): Promise<void> {
    await this.deps.metadata.sessions.delete(hashSecret(secret));
  }

  /** Constant-time comparison of a presented CSRF token with the session's. */
  static csrfMatches(presented: string | undefined, expected: string): boolean {
    if (presented === undefined) return false;
    const a = Buffer.from(presented);
    const b = Buffer.from(expected);
    return a.length === b.length && timingSafeEqual(a, b);
  }
}
