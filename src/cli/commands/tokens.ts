/** `wharf token …` (personal access tokens, pull secrets) and `wharf keys rotate`. */
import type { Principal } from '../../auth/principal.ts';
import { RegistryError } from '../../errors.ts';
import type { TokenView } from '../../services/personal-tokens.ts';
import { type Command, defineCommand, UsageError } from '../command.ts';
import type { Runtime } from '../runtime.ts';

const userOption = { user: { type: 'string', value: 'USER', required: true, description: "the token's owner" } } as const;

const list = (v: string | undefined): string[] | null => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : null);

async function asUser(runtime: Runtime, name: string): Promise<Principal> {
  const p = await (await runtime.access()).authn.user(name);
  if (!p) throw new RegistryError('NOT_FOUND', `no such user: ${name}`);
  return p;
}

function expiresDays(value: string | undefined): number | null {
  if (value === undefined) return null;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--expires-days must be a whole number of days, not ${JSON.stringify(value)}`);
  return n;
}

export const TOKEN_COLUMNS = [
  { header: 'id', value: (t: TokenView) => t.id },
  { header: 'name', value: (t: TokenView) => t.name },
  { header: 'hint', value: (t: TokenView) => t.hint },
  { header: 'scopes', value: (t: TokenView) => t.scopes.join(',') },
  { header: 'expires', value: (t: TokenView) => (t.revokedAt ? 'revoked' : (t.expiresAt ?? 'never')) },
  { header: 'last used', value: (t: TokenView) => t.lastUsedAt ?? 'never' },
] as const;

export const tokenCommands: readonly Command[] = [
  defineCommand({
    name: 'token create',
    summary: 'Create a personal access token',
    details: 'The secret is printed once, alone on stdout, so a script can capture it.',
    options: {
      ...userOption,
      scopes: { type: 'string', required: true, description: 'comma-separated: read:packages, write:packages, delete:packages' },
      name: { type: 'string', description: 'a name to recognise it by (default "cli token")' },
      'expires-days': { type: 'string', value: 'DAYS', description: 'expire after this many days (default: never)' },
      owners: { type: 'string', value: 'OWNERS', description: 'only packages of these owners (comma-separated)' },
      packages: { type: 'string', value: 'PACKAGES', description: 'only these packages (comma-separated, e.g. acme/web)' },
    },
    json: true,
    examples: ['TOKEN=$(wharf token create --user alice --scopes read:packages,write:packages --expires-days 30)'],
    async run({ options, json, out, runtime }) {
      const { token, secret } = await (await runtime.access()).personalTokens.create(await asUser(runtime, options.user), {
        name: options.name ?? 'cli token',
        scopes: list(options.scopes) ?? [],
        expiresInDays: expiresDays(options['expires-days']),
        owners: list(options.owners),
        packages: list(options.packages),
      });
      if (json) {
        out.json({ ...token, secret });
        return;
      }
      out.note(`token ${token.id} (${token.scopes.join(', ')}${token.expiresAt ? `, expires ${token.expiresAt}` : ''}), shown once:`);
      out.line(secret);
    },
  }),
  defineCommand({
    name: 'token list',
    summary: "List a user's personal access tokens",
    options: userOption,
    json: true,
    async run({ options, json, out, runtime }) {
      const tokens = await (await runtime.access()).personalTokens.list(await asUser(runtime, options.user));
      if (json) out.json(tokens);
      else out.table(tokens, TOKEN_COLUMNS);
    },
  }),
  defineCommand({
    name: 'token revoke',
    summary: 'Revoke a personal access token',
    details: 'Takes effect at once, also for registry tokens derived from it.',
    args: [{ name: 'ID', description: 'token id (from token list)' }],
    async run({ args, out, runtime }) {
      const t = await (await runtime.metadata()).tokens.get(args.ID);
      if (!t) throw new RegistryError('NOT_FOUND', `no such token: ${args.ID}`);
      await (await runtime.access()).personalTokens.revoke(await asUser(runtime, t.username), t.id);
      out.line(`revoked token ${t.id}`);
    },
  }),
  defineCommand({
    name: 'token pull-secret',
    summary: 'Create a Kubernetes image pull secret for packages',
    details: 'Creates a read-only token limited to the packages and prints it as a kubectl command and a Secret manifest.',
    args: [{ name: 'PACKAGE', variadic: true, description: 'packages the secret may pull (acme/web …)' }],
    options: {
      ...userOption,
      server: { type: 'string', value: 'HOST', description: "the registry host in the secret (default: server.baseUrl's host)" },
      'secret-name': { type: 'string', value: 'NAME', description: 'the Secret object name (default: PACKAGE-pull)' },
    },
    json: true,
    async run({ args, options, json, out, runtime }) {
      const config = runtime.config();
      const server = options.server ?? (config.server.baseUrl ? new URL(config.server.baseUrl).host : `localhost:${config.server.port}`);
      const s = await (await runtime.access()).personalTokens.pullSecret(await asUser(runtime, options.user), {
        packages: args.PACKAGE,
        server,
        ...(options['secret-name'] ? { secretName: options['secret-name'] } : {}),
      });
      if (json) out.json(s);
      else out.line(`# read-only token for ${args.PACKAGE.join(', ')}, as a Kubernetes image pull secret:\n${s.kubectl}\n\n# or apply this manifest:\n${s.yaml}`);
    },
  }),
  defineCommand({
    name: 'keys rotate',
    summary: 'Sign registry tokens with a new key',
    details: 'Tokens signed by the previous key stay valid until they expire.',
    json: true,
    async run({ json, out, runtime }) {
      const kid = await (await runtime.access()).keys.rotate();
      if (json) out.json({ kid });
      else out.line(`signing registry tokens with new key ${kid}`);
    },
  }),
];
