/** `wharf user create | passwd | list`: user accounts, straight on the database. */
import { generatePassword } from '../../auth/passwords.ts';
import { SYSTEM } from '../../auth/principal.ts';
import type { UserView } from '../../services/accounts.ts';
import { type Command, defineCommand, UsageError } from '../command.ts';
import type { Runtime } from '../runtime.ts';

const passwordOptions = {
  password: { type: 'string', description: 'the password (visible in the process list: prefer --password-stdin)' },
  'password-stdin': { type: 'boolean', description: 'read the password from standard input' },
} as const;

async function chosenPassword(runtime: Runtime, o: { password: string | undefined; 'password-stdin': boolean }): Promise<{ value: string; generated: boolean }> {
  if (o['password-stdin'] && o.password !== undefined) throw new UsageError('use either --password or --password-stdin, not both');
  if (o['password-stdin']) return { value: await runtime.stdin(), generated: false };
  if (o.password !== undefined) return { value: o.password, generated: false };
  return { value: generatePassword(), generated: true };
}

export const USER_COLUMNS = [
  { header: 'user', value: (u: UserView) => u.username },
  { header: 'role', value: (u: UserView) => (u.admin ? 'admin' : 'user') },
  { header: 'status', value: (u: UserView) => (u.disabled ? 'disabled' : 'active') },
  { header: 'email', value: (u: UserView) => u.email },
  { header: 'created', value: (u: UserView) => u.createdAt },
] as const;

export const userCommands: readonly Command[] = [
  defineCommand({
    name: 'user create',
    summary: 'Create a user',
    details: 'Without --password or --password-stdin a password is generated and printed once.',
    args: [{ name: 'NAME', description: 'username: 1-39 lowercase letters, digits and . _ -' }],
    options: {
      ...passwordOptions,
      email: { type: 'string', description: 'e-mail address' },
      admin: { type: 'boolean', description: 'make the user a site administrator' },
    },
    json: true,
    examples: ['printf %s "$PASSWORD" | wharf user create alice --password-stdin --email alice@example.com'],
    async run({ args, options, json, out, runtime }) {
      const pw = await chosenPassword(runtime, options);
      const { accounts } = await runtime.access();
      const user = await accounts.createUser(SYSTEM, { username: args.NAME, password: pw.value, email: options.email ?? null, admin: options.admin });
      if (json) out.json({ ...user, ...(pw.generated ? { password: pw.value } : {}) });
      else out.line(`created user ${user.username}${user.admin ? ' (site administrator)' : ''}${pw.generated ? ` with password ${pw.value}` : ''}`);
    },
  }),
  defineCommand({
    name: 'user passwd',
    summary: "Set a user's password",
    details: 'Without --password or --password-stdin a password is generated and printed once. The user\'s refresh tokens are revoked.',
    args: [{ name: 'NAME', description: 'username' }],
    options: passwordOptions,
    async run({ args, options, out, runtime }) {
      const pw = await chosenPassword(runtime, options);
      const { accounts } = await runtime.access();
      await accounts.setPassword(SYSTEM, args.NAME, pw.value);
      out.line(`changed the password of ${args.NAME}${pw.generated ? ` to ${pw.value}` : ''}`);
    },
  }),
  defineCommand({
    name: 'user list',
    summary: 'List users',
    json: true,
    async run({ json, out, runtime }) {
      const users = await (await runtime.access()).accounts.listUsers(SYSTEM);
      if (json) out.json(users);
      else out.table(users, USER_COLUMNS);
    },
  }),
];
