/**
 * The `wharf` command.
 *
 * Exit codes: 0 success · 1 failure (one `error:` line per problem on stderr) · 2 usage mistake
 * (unknown command or option, missing argument: the message, then the command's usage).
 *
 * ## Adding a command
 * 1. Write its module in `commands/` exporting `defineCommand({ … })` values (several related
 *    commands may share a module, e.g. `commands/tokens.ts`):
 *      export const gcCommands = [defineCommand({
 *        name: 'gc',                        // or two words: 'trash list'
 *        summary: 'Delete blobs no manifest references',
 *        args: [{ name: 'OWNER', description: '…', optional: true }],
 *        options: { 'dry-run': { type: 'boolean', description: 'only report' } },
 *        json: true,                        // accepts --json
 *        async run({ args, options, json, out, runtime }) { … },
 *      })];
 *    Arguments and options arrive parsed and typed; `--help`, the usage line, unknown-option and
 *    missing-argument errors (exit 2) come from the declaration. `--config FILE` is accepted
 *    unless `config: false`.
 * 2. Add it to COMMANDS below. Two-word commands group under their first word (`wharf trash`
 *    alone lists the group's subcommands).
 *
 * Inside `run`:
 * - `runtime.config()`, `await runtime.metadata()` (migrated), `await runtime.access()` (account,
 *   token and key services) open on first use and are closed after the command.
 * - Print only through `out`: `out.line('created user alice')` (a result sentence), `out.table(rows,
 *   columns)`, `out.json(value)` when `json` is set, `out.note/warning` on stderr. Long operations
 *   show progress on stderr and end with a summary line.
 * - Fail by throwing: `UsageError` (exit 2 with usage), `CliError` or the services'
 *   `RegistryError` (exit 1, one line). Return a number for any other exit code.
 */
import { ConfigError } from '../config/load.ts';
import { RegistryError } from '../errors.ts';
import { suggestion } from '../lib/did-you-mean.ts';
import { versionInfo, versionLine } from '../lib/version.ts';
import { type Command, CliError, UsageError } from './command.ts';
import { backupCommands } from './commands/backup.ts';
import { gcCommands } from './commands/gc.ts';
import { orgCommands } from './commands/orgs.ts';
import { serverCommands } from './commands/server.ts';
import { tokenCommands } from './commands/tokens.ts';
import { userCommands } from './commands/users.ts';
import { trashCommands } from './commands/trash.ts';
import { reindexCommands } from './commands/reindex.ts';
import { policyCommands } from './commands/policies.ts';
import { webhookCommands } from './commands/webhooks.ts';
import { proxyCommands } from './commands/proxies.ts';
import { settingsCommands } from './commands/settings.ts';
import { type Io, Output } from './output.ts';
import { Runtime } from './runtime.ts';

/** Every command, in the order `wharf --help` lists them. */
export const COMMANDS: readonly Command[] = [...serverCommands, ...userCommands, ...orgCommands, ...tokenCommands, ...backupCommands, ...trashCommands, ...policyCommands, ...webhookCommands, ...proxyCommands, ...settingsCommands, ...gcCommands, ...reindexCommands];

function groupOf(c: Command): string {
  return c.name.split(' ')[0] ?? c.name;
}

function topUsage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return [
    'usage: wharf <command> [arguments] [options]',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    'options for every command: -h, --help (its usage and options); most take -c, --config FILE.',
    'wharf --version prints the version.',
    '',
    'Configuration: a YAML file (--config or WHARF_CONFIG) overlaid by WHARF_* environment variables,',
    'e.g. WHARF_SERVER__PORT=5001 WHARF_DATA_DIR=/var/lib/wharf; `wharf config check` validates it.',
  ].join('\n');
}

function groupUsage(group: string): string {
  const members = COMMANDS.filter((c) => groupOf(c) === group);
  const width = Math.max(...members.map((c) => c.name.length)) + 2;
  return [`usage: wharf ${group} <command> [arguments] [options]`, '', 'commands:', ...members.map((c) => `  ${c.name.padEnd(width)}${c.summary}`), '', `wharf ${group} <command> --help shows a command's usage and options.`].join('\n');
}

/** Which command argv names: the longest match of its leading words. */
function resolve(argv: readonly string[]): { command: Command; rest: string[] } | { group: string } | { unknown: string } {
  const words = argv.slice(0, 2);
  for (const n of [2, 1]) {
    const name = words.slice(0, n).join(' ');
    const command = COMMANDS.find((c) => c.name === name);
    if (command) return { command, rest: argv.slice(n) };
  }
  const first = argv[0] ?? '';
  if (COMMANDS.some((c) => groupOf(c) === first)) return { group: first };
  return { unknown: first };
}

function describe(err: unknown): string {
  if (err instanceof RegistryError) {
    const detail = err.detail && typeof err.detail === 'object' ? Object.entries(err.detail).map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`) : [];
    return `${err.message}${detail.length > 0 ? ` (${detail.join(', ')})` : ''}`;
  }
  return err instanceof Error ? err.message : String(err);
}

export interface CliEnv extends Io {
  env: NodeJS.ProcessEnv;
  stdin(): Promise<string>;
}

/** Runs one command line; returns the exit code. Never throws. */
export async function runCli(argv: readonly string[], io: CliEnv): Promise<number> {
  const out = new Output(io);
  const runtime = new Runtime({ env: io.env, stdin: io.stdin });
  // Global options may come before the command: `wharf --config FILE user list`.
  const args = [...argv];
  const leading: string[] = [];
  while (args[0] === '--config' || args[0] === '-c' || args[0]?.startsWith('--config=')) {
    leading.push(...args.splice(0, args[0].startsWith('--config=') ? 1 : 2));
  }
  const first = args[0];
  if (first === undefined) {
    out.diagnostic(topUsage());
    return 2;
  }
  if (first === '--help' || first === '-h' || (first === 'help' && args.length === 1)) {
    out.line(topUsage());
    return 0;
  }
  if (first === '--version' || first === '-V') {
    out.line(versionLine(versionInfo()));
    return 0;
  }
  if (first === 'help') {
    // `wharf help user create` = `wharf user create --help`
    args.shift();
    args.push('--help');
  }
  let command: Command | undefined;
  try {
    const found = resolve(args);
    if ('unknown' in found) {
      const name = found.unknown;
      const names = [...new Set(COMMANDS.flatMap((c) => [c.name, groupOf(c)]))];
      throw new UsageError(`${name.startsWith('-') ? 'unknown option' : 'unknown command'} ${name}${suggestion(name, name.startsWith('-') ? ['--help', '--version'] : names)}`);
    }
    if ('group' in found) {
      const sub = args[1];
      if (sub === '--help' || sub === '-h') {
        out.line(groupUsage(found.group));
        return 0;
      }
      const members = COMMANDS.filter((c) => groupOf(c) === found.group).map((c) => c.name.split(' ')[1] ?? '');
      out.error(sub === undefined ? `wharf ${found.group} needs a command` : `unknown command ${found.group} ${sub}${suggestion(sub, members)}`);
      out.diagnostic(`\n${groupUsage(found.group)}`);
      return 2;
    }
    command = found.command;
    return await command.execute([...found.rest, ...leading], { out, runtime, setConfigFile: (file) => runtime.setConfigFile(file) });
  } catch (err) {
    if (err instanceof UsageError) {
      out.error(err.message);
      out.diagnostic(`\n${command ? `${command.usageLine()}\n(wharf ${command.name} --help for more)` : topUsage()}`);
      return 2;
    }
    if (err instanceof ConfigError) {
      for (const p of err.problems) out.error(p);
      return 1;
    }
    out.error(describe(err));
    if (!(err instanceof RegistryError || err instanceof CliError) && io.env['WHARF_DEBUG'] === '1' && err instanceof Error && err.stack) out.diagnostic(err.stack);
    return 1;
  } finally {
    await runtime.close().catch(() => {});
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(String(c)));
  return Buffer.concat(chunks).toString('utf8');
}

if (import.meta.main) {
  const code = await runCli(process.argv.slice(2), {
    env: process.env,
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    stdin: readStdin,
  });
  // Exit once stdout is flushed: a closed database pool or an unref'd timer must not keep a
  // finished command alive, and `serve` returns only after its shutdown.
  process.stdout.write('', () => process.exit(code));
}
