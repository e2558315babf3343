/**
 * The shape of a `wharf` command and what it gets when it runs. A command declares its
 * positional arguments and options once; from that declaration come its parsing (node:util
 * parseArgs, strict), its `--help`, the usage printed on a mistake, and the typed values its
 * `run` receives. See the pattern at the top of main.ts.
 */
import { parseArgs } from 'node:util';
import { suggestion } from '../lib/did-you-mean.ts';
import type { Output } from './output.ts';
import type { Runtime } from './runtime.ts';

export interface OptionSpec {
  type: 'string' | 'boolean';
  description: string;
  short?: string;
  /** Placeholder shown in help (`--user USER`); defaults to the upper-cased name. */
  value?: string;
  /** Missing → usage error (exit 2). */
  required?: boolean;
  /** Allowed values of a string option. */
  choices?: readonly string[];
}

export interface ArgSpec {
  name: string;
  description: string;
  optional?: boolean;
  /** Takes the rest of the arguments (one or more; none when also optional). */
  variadic?: boolean;
}

type OptionValue<S extends OptionSpec> = S extends { type: 'boolean' } ? boolean : S extends { required: true } ? string : string | undefined;
export type OptionValues<O extends Record<string, OptionSpec>> = { [K in keyof O]: OptionValue<O[K]> };
type ArgValue<S extends ArgSpec> = S extends { variadic: true } ? string[] : S extends { optional: true } ? string | undefined : string;
export type ArgValues<A extends readonly ArgSpec[]> = { [S in A[number] as S['name']]: ArgValue<S> };

export interface RunContext<O extends Record<string, OptionSpec>, A extends readonly ArgSpec[]> {
  args: ArgValues<A>;
  options: OptionValues<O>;
  /** `--json` was given (only for commands declared with `json: true`). */
  json: boolean;
  out: Output;
  /** Config, database and services, opened on first use and closed after the command. */
  runtime: Runtime;
}

export interface CommandSpec<O extends Record<string, OptionSpec>, A extends readonly ArgSpec[]> {
  /** One or two words: `serve`, `token create`. */
  name: string;
  summary: string;
  /** More help text, shown under the usage line. */
  details?: string;
  args?: A;
  options?: O;
  /** Accepts `--json` (machine-readable output on stdout). */
  json?: boolean;
  /** Accepts `--config FILE` (default true: nearly every command reads the configuration). */
  config?: boolean;
  examples?: readonly string[];
  /** Exit code (default 0). */
  run(ctx: RunContext<O, A>): Promise<number | void>;
}

/** A command as the table holds it, its types erased. */
export interface Command {
  readonly name: string;
  readonly summary: string;
  help(): string;
  usageLine(): string;
  execute(argv: readonly string[], ctx: { out: Output; runtime: Runtime; setConfigFile(file: string | undefined): void }): Promise<number>;
}

/** A mistake in how the command was called: the message, then the command's usage; exit 2. */
export class UsageError extends Error {}

/** A failure worth one line and exit 1 (the command's own checks; services throw RegistryError). */
export class CliError extends Error {}

const JSON_OPTION: OptionSpec = { type: 'boolean', description: 'print the result as JSON' };
const CONFIG_OPTION: OptionSpec = { type: 'string', short: 'c', value: 'FILE', description: 'configuration file (default: $WHARF_CONFIG)' };
const HELP_OPTION: OptionSpec = { type: 'boolean', short: 'h', description: 'show this help' };

function optionLabel(name: string, spec: OptionSpec): string {
  const flag = `${spec.short ? `-${spec.short}, ` : '    '}--${name}`;
  return spec.type === 'string' ? `${flag} ${spec.value ?? name.toUpperCase()}` : flag;
}

function argLabel(a: ArgSpec): string {
  const base = a.variadic ? `${a.name}...` : a.name;
  return a.optional ? `[${base}]` : base;
}

function table(rows: readonly (readonly [string, string])[]): string {
  const width = Math.min(30, Math.max(...rows.map(([l]) => l.length)) + 2);
  return rows.map(([l, d]) => `  ${l.padEnd(width)}${l.length >= width ? `\n  ${''.padEnd(width)}` : ''}${d}`).join('\n');
}

export function defineCommand<const O extends Record<string, OptionSpec> = Record<never, OptionSpec>, const A extends readonly ArgSpec[] = readonly []>(
  spec: CommandSpec<O, A>,
): Command {
  const own: Record<string, OptionSpec> = { ...spec.options };
  const all: Record<string, OptionSpec> = { ...own };
  if (spec.json) all['json'] = JSON_OPTION;
  if (spec.config !== false) all['config'] = CONFIG_OPTION;
  all['help'] = HELP_OPTION;
  const args: readonly ArgSpec[] = spec.args ?? [];

  const usageLine = (): string => {
    const required = Object.entries(own)
      .filter(([, o]) => o.required)
      .map(([n, o]) => `--${n} ${o.value ?? n.toUpperCase()}`);
    return ['usage: wharf', spec.name, ...args.map(argLabel), ...required, '[options]'].join(' ');
  };

  const help = (): string => {
    const parts = [usageLine(), '', spec.summary + '.'];
    if (spec.details) parts.push('', spec.details);
    if (args.length > 0) parts.push('', 'arguments:', table(args.map((a) => [a.name, a.description])));
    parts.push(
      '',
      'options:',
      table(Object.entries(all).map(([n, o]) => [optionLabel(n, o), `${o.description}${o.choices ? ` (${o.choices.join(', ')})` : ''}${o.required ? ' (required)' : ''}`])),
    );
    if (spec.examples && spec.examples.length > 0) parts.push('', 'examples:', ...spec.examples.map((e) => `  ${e}`));
    return parts.join('\n');
  };

  const parse = (argv: readonly string[]) => {
    const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
    for (const [n, o] of Object.entries(all)) options[n] = o.short ? { type: o.type, short: o.short } : { type: o.type };
    let parsed: ReturnType<typeof parseArgs>;
    try {
      parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
    } catch (err) {
      if (err instanceof Error && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS')) {
        const unknown = /Unknown option '([^']+)'/.exec(err.message)?.[1];
        if (unknown) throw new UsageError(`unknown option ${unknown}${suggestion(unknown, Object.keys(all).map((n) => `--${n}`))}`);
        // Node's messages also explain how to pass a value that starts with a dash; keep the first sentence.
        throw new UsageError(err.message.split('. ')[0]?.replace(/\.$/, '') ?? err.message);
      }
      throw err;
    }
    return parsed;
  };

  return {
    name: spec.name,
    summary: spec.summary,
    help,
    usageLine,
    async execute(argv, base) {
      const parsed = parse(argv);
      const values: Record<string, string | boolean | undefined> = {};
      for (const [k, v] of Object.entries(parsed.values)) if (typeof v === 'string' || typeof v === 'boolean') values[k] = v;
      if (values['help'] === true) {
        base.out.line(help());
        return 0;
      }
      for (const [n, o] of Object.entries(own)) {
        const v = values[n];
        if (o.required && v === undefined) throw new UsageError(`missing required option --${n}`);
        if (o.choices && typeof v === 'string' && !o.choices.includes(v)) throw new UsageError(`--${n} must be one of ${o.choices.join(', ')}, not ${JSON.stringify(v)}`);
        if (o.type === 'boolean' && v === undefined) values[n] = false;
      }
      const positionals = [...parsed.positionals];
      const argValues: Record<string, string | string[] | undefined> = {};
      for (const a of args) {
        if (a.variadic) {
          if (positionals.length === 0 && !a.optional) throw new UsageError(`missing argument ${a.name}`);
          argValues[a.name] = positionals.splice(0);
        } else {
          const v = positionals.shift();
          if (v === undefined && !a.optional) throw new UsageError(`missing argument ${a.name}`);
          argValues[a.name] = v;
        }
      }
      if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
      const configFile = values['config'];
      base.setConfigFile(typeof configFile === 'string' ? configFile : undefined);
      const code = await spec.run({
        // The declaration above is the single source of these shapes; the checks just made
        // (required, choices, arity) are what the mapped types promise.
        args: argValues as ArgValues<A>,
        options: values as OptionValues<O>,
        json: values['json'] === true,
        out: base.out,
        runtime: base.runtime,
      });
      return code ?? 0;
    },
  };
}
