/**
 * The relying party of web sign-in with an OpenID provider (docs/adr/0021-oidc-sign-in.md):
 * authorization code flow with PKCE (S256), state and nonce, through `openid-client`. Pure
 * protocol: which account the claims open is decided by services/oidc-sign-in.ts.
 */
import type * as Oidc from 'openid-client';

export interface OidcClientSettings {
  issuer: string;
  clientId: string;
  /** Absent for a public client: PKCE alone then proves the code's redeemer. */
  clientSecret?: string | undefined;
  scopes: readonly string[];
  /** http:// issuers (tests, air-gapped setups). */
  allowInsecure: boolean;
}

/** What a finished sign-in proves about the person. */
export interface OidcIdentity {
  issuer: string;
  subject: string;
  /** The ID token's claims, completed by the UserInfo endpoint's where the provider has one. */
  claims: Record<string, unknown>;
}

export interface AuthorizationRequest {
  url: string;
  state: string;
  nonce: string;
  codeVerifier: string;
}

export class OidcSignInError extends Error {}

export class OidcSignInClient {
  private readonly settings: OidcClientSettings;
  private config: Promise<{ oidc: typeof Oidc; config: Oidc.Configuration }> | null = null;

  constructor(settings: OidcClientSettings) {
    this.settings = settings;
  }

  /** The provider's metadata, discovered once; a failed discovery is tried again on the next sign-in. */
  private discover(): Promise<{ oidc: typeof Oidc; config: Oidc.Configuration }> {
    if (!this.config) {
      const s = this.settings;
      this.config = (async () => {
        // Loaded on the first sign-in (the module loader keeps it): a server without OpenID
        // sign-in never pays for it.
        const oidc = await import('openid-client');
        const auth = s.clientSecret ? oidc.ClientSecretBasic(s.clientSecret) : oidc.None();
        try {
          const config = await oidc.discovery(new URL(s.issuer), s.clientId, s.clientSecret ? { client_secret: s.clientSecret } : undefined, auth, s.allowInsecure ? { execute: [oidc.allowInsecureRequests] } : undefined);
          return { oidc, config };
        } catch (err) {
          this.config = null;
          throw new OidcSignInError(`the OpenID provider ${s.issuer} cannot be reached: ${(err as Error).message}`);
        }
      })();
    }
    return this.config;
  }

  /** A fresh state, nonce and PKCE verifier, and the provider URL that asks for a code bound to them. */
  async authorizationRequest(redirectUri: string): Promise<AuthorizationRequest> {
    const { oidc, config } = await this.discover();
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: this.settings.scopes.join(' '),
      response_type: 'code',
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    return { url: url.href, state, nonce, codeVerifier };
  }

  /**
   * Redeems the code of the provider's answer (`callbackQuery`: the query string it sent the
   * browser back with) with the PKCE verifier, checks state, nonce, issuer, audience and the ID
   * token's signature and times, and reads UserInfo for claims the ID token left out.
   */
  async finish(redirectUri: string, callbackQuery: string, checks: { state: string; nonce: string; codeVerifier: string }): Promise<OidcIdentity> {
    const { oidc, config } = await this.discover();
    const current = new URL(redirectUri);
    current.search = callbackQuery.startsWith('?') ? callbackQuery.slice(1) : callbackQuery;
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      tokens = await oidc.authorizationCodeGrant(
        config,
        current,
        { pkceCodeVerifier: checks.codeVerifier, expectedState: checks.state, expectedNonce: checks.nonce, idTokenExpected: true },
        { redirect_uri: redirectUri },
      );
    } catch (err) {
      if (err instanceof oidc.AuthorizationResponseError) throw new OidcSignInError(`the provider refused the sign-in: ${err.error_description ?? err.error}`);
      throw new OidcSignInError(`the provider's answer could not be verified: ${(err as Error).message}`);
    }
    const idClaims = tokens.claims();
    if (!idClaims) throw new OidcSignInError('the provider sent no ID token');
    let claims: Record<string, unknown> = { ...idClaims };
    if (config.serverMetadata().userinfo_endpoint) {
      try {
        const info = await oidc.fetchUserInfo(config, tokens.access_token, idClaims.sub);
        // The ID token's claims win where both have one: they are signed.
        claims = { ...info, ...idClaims };
      } catch (err) {
        throw new OidcSignInError(`the provider's UserInfo endpoint failed: ${(err as Error).message}`);
      }
    }
    return { issuer: idClaims.iss, subject: idClaims.sub, claims };
  }
}
