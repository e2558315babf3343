/**
 * Web sign-in with an OpenID provider (docs/adr/0021-oidc-sign-in.md). `start` records a
 * sign-in in flight (hashed state → PKCE verifier, nonce, where to go next) in the database, so
 * the provider's callback may land on any replica; `finish` takes it (single use), redeems the
 * code and opens a session for the account the identity is linked to — by an earlier link
 * (issuer + subject), by a *verified* email, or a new account when the settings allow it — and
 * applies the group → team mappings.
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type { OidcIdentity, OidcSignInClient } from '../auth/oidc-client.ts';
import { OidcSignInError } from '../auth/oidc-client.ts';
import { RegistryError } from '../errors.ts';
import type { Metadata } from '../metadata/metadata.ts';
import { validateOwnerName } from './accounts.ts';
import type { OpenedSession, SessionService } from './sessions.ts';

export interface TeamMapping {
  group: string;
  org: string;
  team: string;
  role: 'maintainer' | 'member';
}

export interface OidcSignInSettings {
  displayName: string;
  createAccounts: boolean;
  usernameClaim: string;
  groupsClaim: string;
  teamMappings: readonly TeamMapping[];
}

/** What the service needs of the relying party (auth/oidc-client.ts). */
export type OidcRelyingParty = Pick<OidcSignInClient, 'authorizationRequest' | 'finish'>;

export interface OidcSignInDeps {
  metadata: Metadata;
  client: OidcRelyingParty;
  sessions: SessionService;
  clock: () => number;
  settings: OidcSignInSettings;
  log: { warn(obj: object, msg: string): void };
}

/** A sign-in must come back from the provider within this time. */
const LOGIN_TTL_MS = 10 * 60_000;

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

function refused(message: string): RegistryError {
  return new RegistryError('DENIED', message);
}

/** `Jane.Doe@x` → `jane.doe`: a proposal within the owner-name grammar, or null. */
function proposeName(raw: unknown): string | null {
  if (typeof raw !== 'string') return null;
  const base = raw.split('@')[0] ?? '';
  const name = base
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/[._-]{2,}/g, '-')
    .replace(/^[._-]+|[._-]+$/g, '')
    .slice(0, 36);
  try {
    validateOwnerName(name);
    return name;
  } catch {
    return null;
  }
}

export class OidcSignInService {
  private readonly deps: OidcSignInDeps;

  constructor(deps: OidcSignInDeps) {
    this.deps = deps;
  }

  get displayName(): string {
    return this.deps.settings.displayName;
  }

  /** The provider URL to send the browser to, and the state the browser's cookie must echo. */
  async start(next: string, redirectUri: string): Promise<{ url: string; state: string }> {
    const req = await this.deps.client.authorizationRequest(redirectUri).catch((err: unknown) => {
      throw err instanceof OidcSignInError ? new RegistryError('UNAVAILABLE', err.message) : err;
    });
    await this.deps.metadata.oidc.startLogin({ id: sha256(req.state), codeVerifier: req.codeVerifier, nonce: req.nonce, next, expiresAt: this.deps.clock() + LOGIN_TTL_MS });
    return { url: req.url, state: req.state };
  }

  /**
   * Completes a sign-in from the provider's callback query. `browserState` is the state cookie
   * set by `start`: a callback carried into another browser (login CSRF) does not match it.
   */
  async finish(callbackQuery: string, browserState: string | undefined, redirectUri: string, address: string | null, userAgent: string | null): Promise<{ session: OpenedSession; next: string }> {
    const state = new URLSearchParams(callbackQuery).get('state') ?? '';
    if (!browserState || browserState.length !== state.length || !timingSafeEqual(Buffer.from(browserState), Buffer.from(state))) {
      throw new RegistryError('BAD_REQUEST', 'this sign-in was started in another browser or tab, or its cookie expired: start again');
    }
    const login = await this.deps.metadata.oidc.takeLogin(sha256(state), this.deps.clock());
    if (!login) throw new RegistryError('BAD_REQUEST', 'this sign-in expired or was already used: start again');
    let identity: OidcIdentity;
    try {
      identity = await this.deps.client.finish(redirectUri, callbackQuery, { state, nonce: login.nonce, codeVerifier: login.codeVerifier });
    } catch (err) {
      if (err instanceof OidcSignInError) throw refused(err.message);
      throw err;
    }
    const username = await this.accountFor(identity);
    await this.applyTeamMappings(username, identity);
    const session = await this.deps.sessions.openFor(username, address, userAgent, { method: 'oidc', issuer: identity.issuer, subject: identity.subject });
    if (!session) throw refused(`the Wharf account ${username} is disabled`);
    return { session, next: login.next };
  }

  /** The Wharf user this identity signs in as, linking or creating it on first sign-in. */
  private async accountFor(id: OidcIdentity): Promise<string> {
    const m = this.deps.metadata;
    const now = this.deps.clock();
    const linked = await m.oidc.linkedUser(id.issuer, id.subject);
    if (linked) {
      await m.oidc.touch(id.issuer, id.subject, now);
      return linked;
    }
    const email = typeof id.claims['email'] === 'string' ? id.claims['email'] : null;
    // Only a verified address proves the person owns it; an unverified one could be anybody's
    // (some providers let users type any address), and linking by it would hand them the account.
    const verified = id.claims['email_verified'] === true || id.claims['email_verified'] === 'true';
    if (email) {
      const matches = await m.accounts.usersByEmail(email);
      if (matches.length > 0 && !verified) {
        throw refused(`a Wharf account uses ${email}, but your provider has not verified that address: verify it there, or ask an administrator`);
      }
      if (matches.length > 1) throw refused(`several Wharf accounts use ${email}: ask an administrator to link yours`);
      const match = matches[0];
      if (match) {
        if (match.disabled) throw refused(`the Wharf account ${match.name} is disabled`);
        await m.oidc.link(id.issuer, id.subject, match.name, now);
        await this.audit('user.oidc.link', match.name, id, { by: 'verified email' });
        return match.name;
      }
    }
    if (!this.deps.settings.createAccounts) {
      throw refused('no Wharf account matches your sign-in (by a verified email address), and accounts are not created on first sign-in here: ask an administrator');
    }
    const username = await this.createAccount(id, verified ? email : null);
    await this.audit('user.create', username, id, { by: 'oidc first sign-in' });
    return username;
  }

  /** A new user named after the usernameClaim (or the email, or the subject); `-2`, `-3`… when taken. */
  private async createAccount(id: OidcIdentity, email: string | null): Promise<string> {
    const m = this.deps.metadata;
    const base = proposeName(id.claims[this.deps.settings.usernameClaim]) ?? proposeName(id.claims['email']) ?? proposeName(id.subject) ?? `user-${randomUUID().slice(0, 8)}`;
    for (let i = 1; i <= 50; i++) {
      const name = i === 1 ? base : `${base}-${i}`;
      const created = await m.transaction(async (t) => {
        // No password: the person signs in through the provider; registry clients use a personal access token.
        if (!(await t.accounts.create({ name, kind: 'user', email, passwordHash: null, now: this.deps.clock() }))) return false;
        if (!(await t.oidc.link(id.issuer, id.subject, name, this.deps.clock()))) throw new RegistryError('CONFLICT', 'this identity was linked by a concurrent sign-in: try again');
        return true;
      });
      if (created) return name;
    }
    throw refused(`no free username near ${base}: ask an administrator`);
  }

  /**
   * Group claims → team membership, at every sign-in: in the group → on the team (joining the
   * organization as a member when not in it yet); not in it → off the team. Organization
   * membership itself is left alone (an owner may have added the person for other reasons).
   */
  private async applyTeamMappings(username: string, id: OidcIdentity): Promise<void> {
    const mappings = this.deps.settings.teamMappings;
    if (mappings.length === 0) return;
    const raw = id.claims[this.deps.settings.groupsClaim];
    const groups = new Set(Array.isArray(raw) ? raw.filter((g): g is string => typeof g === 'string') : typeof raw === 'string' ? [raw] : []);
    const m = this.deps.metadata;
    for (const map of mappings) {
      if (!(await m.memberships.teamExists(map.org, map.team))) {
        this.deps.log.warn({ org: map.org, team: map.team }, 'oidc team mapping names a team that does not exist');
        continue;
      }
      const current = (await m.memberships.teamMembers(map.org, map.team)).find((t) => t.username === username);
      if (groups.has(map.group)) {
        if (current?.role === map.role) continue;
        await m.transaction(async (t) => {
          if (!(await t.memberships.lockTeam(map.org, map.team))) return;
          if (!(await t.memberships.orgRole(map.org, username))) await t.memberships.setOrgMember(map.org, username, 'member');
          await t.memberships.setTeamMember(map.org, map.team, username, map.role);
        });
        await this.audit('team.member.set', `${map.org}/${map.team}`, id, { username, role: map.role, group: map.group });
      } else if (current) {
        await m.memberships.removeTeamMember(map.org, map.team, username);
        await this.audit('team.member.remove', `${map.org}/${map.team}`, id, { username, group: map.group });
      }
    }
  }

  private async audit(action: string, target: string, id: OidcIdentity, detail: Record<string, unknown>): Promise<void> {
    const i = target.indexOf('/');
    await this.deps.metadata.audit.append({
      at: this.deps.clock(),
      actor: 'oidc',
      actorKind: 'system',
      action,
      target,
      owner: i < 0 ? target : target.slice(0, i),
      detail: { ...detail, issuer: id.issuer, subject: id.subject },
      address: null,
    });
  }
}
