/**
 * `wharf user|org|team|token|keys …` — account administration straight on the database, for
 * operators (no running server needed). Actions are recorded in the audit log as `system`.
 */
import { parseArgs } from 'node:util';
import pino from 'pino';
import { generatePassword } from '../auth/passwords.ts';
import { type Principal, SYSTEM } from '../auth/principal.ts';
import type { Config } from '../config/schema.ts';
import { RegistryError } from '../errors.ts';
import { openMetadata } from '../main.ts';
import { createAccessServices } from '../services/access.ts';

export const ACCOUNT_USAGE = `account administration:
  user create NAME [--password P | --password-stdin] [--email E] [--admin]
  user passwd NAME [--password P | --password-stdin]     (prints a generated one if neither)
  user list
  org create NAME --owner USER
  org member ORG USER [--role owner|member] | org remove ORG USER | org show ORG
  team create ORG TEAM | team member ORG TEAM USER [--role maintainer|member]
  token create --user USER --scopes read:packages,write:packages[,delete:packages]
               [--name N] [--expires-days D] [--owners a,b] [--packages acme/web,…]
  token list --user USER | token revoke ID
  token pull-secret PACKAGE… --user USER [--server HOST] [--secret-name NAME]
  keys rotate                                            (new token signing key)`;

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  password: { type: 'string' },
  'password-stdin': { type: 'boolean' },
  email: { type: 'string' },
  admin: { type: 'boolean' },
  owner: { type: 'string' },
  role: { type: 'string' },
  user: { type: 'string' },
  scopes: { type: 'string' },
  name: { type: 'string' },
  'expires-days': { type: 'string' },
  owners: { type: 'string' },
  packages: { type: 'string' },
  server: { type: 'string' },
  'secret-name': { type: 'string' },
} as const;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

const list = (v: string | undefined) => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : null);

export async function accountsCli(argv: string[], loadConfig: (file: string | undefined) => Config): Promise<number> {
  const { values: o, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  const [group, action, ...args] = positionals;
  const config = loadConfig(o.config);
  const metadata = await openMetadata(config);
  try {
    await metadata.migrate();
    const clock = Date.now;
    const access = await createAccessServices(config, { metadata, clock, log: pino({ level: 'silent' }) });
    const { accounts, personalTokens } = access;
    const asUser = async (name: string | undefined): Promise<Principal> => {
      if (!name) throw new RegistryError('BAD_REQUEST', '--user is required');
      const p = await access.authn.user(name);
      if (!p) throw new RegistryError('NOT_FOUND', `no such user: ${name}`);
      return p;
    };
    const password = async (): Promise<{ value: string; generated: boolean }> => {
      if (o['password-stdin']) return { value: await readStdin(), generated: false };
      if (o.password !== undefined) return { value: o.password, generated: false };
      return { value: generatePassword(), generated: true };
    };
    const key = `${group ?? ''} ${action ?? ''}`;
    switch (key) {
      case 'user create': {
        const pw = await password();
        await accounts.createUser(SYSTEM, { username: args[0] ?? '', password: pw.value, email: o.email ?? null, admin: o.admin ?? false });
        console.log(`created user ${args[0]}${pw.generated ? ` with password ${pw.value}` : ''}`);
        return 0;
      }
      case 'user passwd': {
        const pw = await password();
        await accounts.setPassword(SYSTEM, args[0] ?? '', pw.value);
        console.log(`password of ${args[0]} changed${pw.generated ? ` to ${pw.value}` : ''}`);
        return 0;
      }
      case 'user list':
        for (const u of await accounts.listUsers(SYSTEM)) console.log(`${u.username}\t${u.admin ? 'admin' : 'user'}\t${u.disabled ? 'disabled' : 'active'}\t${u.email ?? ''}`);
        return 0;
      case 'org create': {
        await accounts.createOrg(SYSTEM, args[0] ?? '');
        if (o.owner) await accounts.setOrgMember(SYSTEM, args[0] ?? '', o.owner, 'owner');
        console.log(`created organization ${args[0]}`);
        return 0;
      }
      case 'org member':
        await accounts.setOrgMember(SYSTEM, args[0] ?? '', args[1] ?? '', o.role === 'owner' ? 'owner' : 'member');
        return 0;
      case 'org remove':
        await accounts.removeOrgMember(SYSTEM, args[0] ?? '', args[1] ?? '');
        return 0;
      case 'org show':
        console.log(JSON.stringify(await accounts.orgView(SYSTEM, args[0] ?? ''), null, 2));
        return 0;
      case 'team create':
        await accounts.createTeam(SYSTEM, args[0] ?? '', args[1] ?? '');
        return 0;
      case 'team member':
        await accounts.setTeamMember(SYSTEM, args[0] ?? '', args[1] ?? '', args[2] ?? '', o.role === 'maintainer' ? 'maintainer' : 'member');
        return 0;
      case 'token create': {
        const { token, secret } = await personalTokens.create(await asUser(o.user), {
          name: o.name ?? 'cli token',
          scopes: list(o.scopes) ?? [],
          expiresInDays: o['expires-days'] ? Number(o['expires-days']) : null,
          owners: list(o.owners),
          packages: list(o.packages),
        });
        console.error(`token ${token.id} (${token.scopes.join(', ')}${token.expiresAt ? `, expires ${token.expiresAt}` : ''}) — shown once:`);
        console.log(secret);
        return 0;
      }
      case 'token list':
        for (const t of await personalTokens.list(await asUser(o.user))) {
          console.log(`${t.id}\t${t.name}\t${t.hint}\t${t.scopes.join(',')}\t${t.revokedAt ? 'revoked' : (t.expiresAt ?? 'no expiry')}\tlast used ${t.lastUsedAt ?? 'never'}`);
        }
        return 0;
      case 'token revoke': {
        const t = await metadata.tokens.get(args[0] ?? '');
        if (!t) throw new RegistryError('NOT_FOUND', 'no such token');
        await personalTokens.revoke(await asUser(t.username), t.id);
        console.log(`revoked ${t.id}`);
        return 0;
      }
      case 'token pull-secret': {
        const server = o.server ?? (config.server.baseUrl ? new URL(config.server.baseUrl).host : `localhost:${config.server.port}`);
        const s = await personalTokens.pullSecret(await asUser(o.user), { packages: args, server, ...(o['secret-name'] ? { secretName: o['secret-name'] } : {}) });
        console.log(`# read-only token for ${args.join(', ')}, as a Kubernetes image pull secret:\n${s.kubectl}\n\n# or apply this manifest:\n${s.yaml}`);
        return 0;
      }
      case 'keys rotate':
        console.log(`new signing key ${await access.keys.rotate()}; tokens signed by the previous key stay valid until they expire`);
        return 0;
    }
    console.error(`unknown command: ${positionals.join(' ')}\n\n${ACCOUNT_USAGE}`);
    return 2;
  } catch (err) {
    if (err instanceof RegistryError) {
      console.error(`error: ${err.message}${err.detail ? ` ${JSON.stringify(err.detail)}` : ''}`);
      return 1;
    }
    throw err;
  } finally {
    await metadata.close();
  }
}
