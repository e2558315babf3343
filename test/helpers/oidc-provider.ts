/**
 * A real OpenID provider in the test process: `oidc-provider` (the certified Node.js
 * implementation) with its development login and consent pages, so Chromium signs in through
 * a provider exactly as it would through Keycloak or Dex — discovery, authorization code with
 * PKCE, signed ID tokens, UserInfo. Any login name with any password signs in as the account of
 * that name in `accounts` (unknown names are refused at the token step).
 */
import { createServer, type Server } from 'node:http';
import Provider from 'oidc-provider';

export interface ProviderAccount {
  email?: string;
  email_verified?: boolean;
  preferred_username?: string;
  name?: string;
  groups?: string[];
}

export interface StartedProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Change what an account's claims say between sign-ins (groups, email). */
  accounts: Map<string, ProviderAccount>;
  stop(): Promise<void>;
}

export async function startOidcProvider(opts: { port: number; redirectUris: string[]; accounts: Record<string, ProviderAccount> }): Promise<StartedProvider> {
  const issuer = `http://127.0.0.1:${opts.port}`;
  const accounts = new Map(Object.entries(opts.accounts));
  const clientId = 'wharf';
  const clientSecret = 'wharf-client-secret-0123456789';
  const provider = new Provider(issuer, {
    clients: [{ client_id: clientId, client_secret: clientSecret, redirect_uris: opts.redirectUris, grant_types: ['authorization_code'], response_types: ['code'] }],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['preferred_username', 'name'], groups: ['groups'] },
    features: { devInteractions: { enabled: true } },
    pkce: { required: () => true },
    cookies: { keys: ['test-cookie-key-0123456789abcdef'] },
    findAccount: (_ctx, sub) => {
      const a = accounts.get(sub);
      if (!a) return undefined;
      return { accountId: sub, claims: () => ({ sub, ...a }) };
    },
  });
  // Its development pages warn on every start; the tests know.
  provider.on('server_error', (_ctx: unknown, err: Error) => console.error('oidc-provider error', err));
  const server: Server = createServer(provider.callback());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, '127.0.0.1', () => resolve());
  });
  return {
    issuer,
    clientId,
    clientSecret,
    accounts,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
