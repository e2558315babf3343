/**
 * The `wharf` command and the configuration loader as an operator meets them: every command has
 * --help; mistakes in how a command is called print its usage and exit 2; failures are one
 * `error:` line and exit 1; --json output parses; config mistakes (unknown keys and WHARF_*
 * variables, unreadable *_FILE targets, bad values) are all reported at once with the nearest
 * valid name. Most runs are in-process (runCli with captured output, on a temporary SQLite data
 * directory); a few go through bin/wharf as a real process.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import { COMMANDS, runCli } from '../../src/cli/main.ts';
import { envOverlay, isToolVariable } from '../../src/config/env.ts';
import { keyTree } from '../../src/config/keys.ts';
import { ConfigError, loadConfig } from '../../src/config/load.ts';
import { configSchema } from '../../src/config/schema.ts';
import { run } from '../helpers/clients.ts';
import { repoRoot, startWharf } from '../helpers/server.ts';
import { ensureBuilt, wharfBin } from '../../scripts/build.ts';

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

let dataDir: string;

async function wharf(argv: string[], opts: { env?: Record<string, string>; stdin?: string } = {}): Promise<Ran> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    env: { WHARF_DATA_DIR: dataDir, ...opts.env },
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    stdin: async () => opts.stdin ?? '',
  });
  return { code, stdout, stderr };
}

function usageError(r: Ran, message: RegExp, usage: RegExp): void {
  assert.equal(r.code, 2, `exit 2 expected:\n${r.stderr}`);
  assert.match(r.stderr.split('\n')[0] ?? '', message);
  assert.match(r.stderr, usage);
  assert.equal(r.stdout, '');
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

function failure(r: Ran, message: RegExp): void {
  assert.equal(r.code, 1, `exit 1 expected:\n${r.stderr}\n${r.stdout}`);
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, `one line:\n${r.stderr}`);
  assert.match(r.stderr, /^error: /);
  assert.match(r.stderr, message);
}

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'wharf-cli-'));
});
after(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe('usage', () => {
  test('every command and group has --help (exit 0, its usage and options on stdout)', async () => {
    for (const c of COMMANDS) {
      const r = await wharf([...c.name.split(' '), '--help']);
      assert.equal(r.code, 0, c.name);
      assert.equal(r.stderr, '', c.name);
      assert.match(r.stdout, new RegExp(`^usage: wharf ${c.name}( |$)`, 'm'), c.name);
      assert.match(r.stdout, /-h, --help/, c.name);
    }
    for (const group of ['user', 'org', 'team', 'token', 'keys', 'config']) {
      const r = await wharf([group, '--help']);
      assert.equal(r.code, 0, group);
      assert.match(r.stdout, new RegExp(`usage: wharf ${group} <command>`));
    }
    const top = await wharf(['--help']);
    assert.equal(top.code, 0);
    for (const c of COMMANDS) assert.ok(top.stdout.includes(c.name), `wharf --help lists ${c.name}`);
    assert.equal((await wharf(['help', 'token', 'create'])).stdout, (await wharf(['token', 'create', '--help'])).stdout);
  });

  test('--version and version --json', async () => {
    const { version } = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    const r = await wharf(['--version']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, new RegExp(`^wharf ${version.replaceAll('.', '\\.')}( \\([0-9a-f]+(-dirty)?\\))?, node v\\d+`));
    const j = JSON.parse((await wharf(['version', '--json'])).stdout) as { name: string; version: string };
    assert.deepEqual([j.name, j.version], ['wharf', version]);
  });

  test('mistakes print the usage and exit 2, with the nearest valid name', async () => {
    usageError(await wharf([]), /^usage: wharf <command>/, /commands:/);
    usageError(await wharf(['sevre']), /unknown command sevre \(did you mean serve\?\)/, /usage: wharf <command>/);
    usageError(await wharf(['--verison']), /unknown option --verison/, /usage: wharf <command>/);
    usageError(await wharf(['user']), /wharf user needs a command/, /user create/);
    usageError(await wharf(['user', 'lst']), /unknown command user lst \(did you mean list\?\)/, /usage: wharf user <command>/);
    usageError(await wharf(['user', 'list', '--jsn']), /unknown option --jsn \(did you mean --json\?\)/, /usage: wharf user list \[options\]/);
    usageError(await wharf(['user', 'create']), /missing argument NAME/, /usage: wharf user create NAME/);
    usageError(await wharf(['user', 'create', 'a', 'b']), /unexpected argument "b"/, /usage: wharf user create NAME/);
    usageError(await wharf(['token', 'create', '--user', 'x']), /missing required option --scopes/, /usage: wharf token create --user USER --scopes SCOPES/);
    usageError(await wharf(['token', 'create', '--user']), /--user/, /usage: wharf token create/);
    usageError(await wharf(['org', 'member', 'acme', 'bob', '--role', 'boss']), /--role must be one of member, owner/, /usage: wharf org member ORG USER/);
    usageError(await wharf(['token', 'pull-secret', '--user', 'x']), /missing argument PACKAGE/, /PACKAGE\.\.\./);
  });
});

describe('accounts from the command line', () => {
  test('org create without --owner is refused before anything is created', async () => {
    usageError(await wharf(['org', 'create', 'acme']), /missing required option --owner/, /usage: wharf org create NAME --owner USER/);
    failure(await wharf(['org', 'create', 'acme', '--owner', 'nobody']), /no such user \(username: nobody\)/);
    assert.deepEqual(JSON.parse((await wharf(['org', 'list', '--json'])).stdout), [], 'no organization without an owner');
  });

  test('users, organizations, teams and tokens, in human and JSON form', async () => {
    const created = await wharf(['user', 'create', 'alice', '--password-stdin', '--email', 'alice@example.com', '--json'], { stdin: 'alice-password\n' });
    assert.equal(created.code, 0, created.stderr);
    assert.deepEqual(JSON.parse(created.stdout), { ...JSON.parse(created.stdout), username: 'alice', email: 'alice@example.com', admin: false, disabled: false });
    const generated = await wharf(['user', 'create', 'bob']);
    assert.match(generated.stdout, /^created user bob with password \S{12,}\n$/);
    failure(await wharf(['user', 'create', 'alice', '--password', 'x-password']), /name is already taken \(name: alice\)/);
    usageError(await wharf(['user', 'create', 'carol', '--password', 'p', '--password-stdin']), /either --password or --password-stdin/, /usage: wharf user create/);

    const list = await wharf(['user', 'list']);
    assert.match(list.stdout, /^USER +ROLE +STATUS +EMAIL +CREATED\n/);
    assert.match(list.stdout, /\nalice +user +active +alice@example\.com/);
    assert.match(list.stdout, /\nbob +user +active +- /, 'empty cells show as -');
    assert.deepEqual((JSON.parse((await wharf(['user', 'list', '--json'])).stdout) as { username: string }[]).map((u) => u.username).sort(), ['alice', 'bob']);

    assert.equal((await wharf(['org', 'create', 'acme', '--owner', 'alice'])).stdout, 'created organization acme owned by alice\n');
    assert.equal((await wharf(['org', 'member', 'acme', 'bob'])).code, 0);
    assert.equal((await wharf(['team', 'create', 'acme', 'devs', '--description', 'developers'])).code, 0);
    assert.equal((await wharf(['team', 'member', 'acme', 'devs', 'bob', '--role', 'maintainer'])).code, 0);
    const orgs = JSON.parse((await wharf(['org', 'list', '--json'])).stdout) as { name: string; owners: string[]; members: number }[];
    assert.deepEqual(orgs.map((o) => [o.name, o.owners, o.members]), [['acme', ['alice'], 2]]);
    const show = JSON.parse((await wharf(['org', 'show', 'acme', '--json'])).stdout) as { members: { username: string; role: string }[] };
    assert.deepEqual(show.members.map((m) => `${m.username}:${m.role}`).sort(), ['alice:owner', 'bob:member']);
    assert.match((await wharf(['team', 'list', 'acme'])).stdout, /^TEAM +MEMBERS +DESCRIPTION\ndevs +bob \(maintainer\) +developers\n$/);
    failure(await wharf(['org', 'remove', 'acme', 'alice']), /keeps at least one owner/);

    const token = await wharf(['token', 'create', '--user', 'alice', '--scopes', 'read:packages', '--expires-days', '7']);
    assert.equal(token.code, 0, token.stderr);
    assert.match(token.stdout, /^wharf_pat_\w+\n$/, 'the secret alone on stdout');
    assert.match(token.stderr, /^note: token [\w-]+ \(read:packages, expires /);
    usageError(await wharf(['token', 'create', '--user', 'alice', '--scopes', 'read:packages', '--expires-days', 'soon']), /whole number of days/, /usage: wharf token create/);
    const tokens = JSON.parse((await wharf(['token', 'list', '--user', 'alice', '--json'])).stdout) as { id: string; revokedAt: string | null }[];
    assert.equal(tokens.length, 1);
    assert.equal((await wharf(['token', 'revoke', tokens[0]?.id ?? ''])).stdout, `revoked token ${tokens[0]?.id}\n`);
    assert.match((await wharf(['token', 'list', '--user', 'alice'])).stdout, /revoked/);
    failure(await wharf(['token', 'revoke', 'nope']), /no such token: nope/);
    failure(await wharf(['token', 'list', '--user', 'zed']), /no such user: zed/);
    assert.match(JSON.parse((await wharf(['keys', 'rotate', '--json'])).stdout).kid, /\S/);
  });
});

describe('configuration mistakes', () => {
  test('unknown WHARF_* variables and YAML keys: every problem at once, with the nearest valid name', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wharf-config-'));
    try {
      const file = join(dir, 'wharf.yaml');
      await writeFile(file, 'server:\n  prot: 5001\n  port: 70000\nstorage:\n  drivr: fs\nport: 1\nlogs:\n  level: debug\n');
      const r = await wharf(['config', 'check', '--config', file], {
        env: { WHARF_SERVER__BASE_URL_: 'x', WHARF_AUTH__ADMIN__PASWORD: 'x', WHARF_AUTH__ADMIN__PASSWORD_FILE: join(dir, 'missing'), WHARF_STORAGE: 'fs', WHARF_E2E_TARGET: 'wharf', WHARF_TEST_ANYTHING: '1' },
      });
      assert.equal(r.code, 1);
      const lines = r.stderr.trimEnd().split('\n');
      for (const expected of [
        `error: config file ${file}: unknown key server.prot (did you mean server.port?)`,
        `error: config file ${file}: unknown key storage.drivr (did you mean storage.driver?)`,
        `error: config file ${file}: unknown key port (did you mean server.port?)`,
        `error: config file ${file}: unknown key logs (did you mean log?)`,
        'error: unknown environment variable WHARF_SERVER__BASE_URL_ (did you mean WHARF_SERVER__BASE_URL?)',
        'error: unknown environment variable WHARF_AUTH__ADMIN__PASWORD (did you mean WHARF_AUTH__ADMIN__PASSWORD?)',
        `error: WHARF_AUTH__ADMIN__PASSWORD_FILE: cannot read ${join(dir, 'missing')} (no such file)`,
        'error: WHARF_STORAGE names a section, not a setting (e.g. WHARF_STORAGE__DRIVER)',
      ]) {
        assert.ok(lines.includes(expected), `missing: ${expected}\ngot:\n${r.stderr}`);
      }
      assert.ok(lines.some((l) => l.startsWith(`error: server.port (in ${file}): Too big`)), r.stderr);
      assert.equal(lines.length, 9, `nothing else (tool variables are no problem):\n${r.stderr}`);
      const j = JSON.parse((await wharf(['config', 'check', '--json'], { env: { WHARF_SERVER__PORT: 'abc' } })).stdout) as { valid: boolean; errors: string[] };
      assert.deepEqual(j, { valid: false, errors: ['server.port (from WHARF_SERVER__PORT): Invalid input: expected number, received NaN'], warnings: [] });
      // Any command that reads the configuration fails the same way, before doing anything.
      failure(await wharf(['user', 'list'], { env: { WHARF_LOG__LEVL: 'debug' } }), /unknown environment variable WHARF_LOG__LEVL \(did you mean WHARF_LOG__LEVEL\?\)/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a valid configuration is printed (secrets redacted) with its warnings', async () => {
    const r = await wharf(['config', 'check'], { env: { WHARF_AUTH__ENABLED: 'false', WHARF_AUTH__ADMIN__PASSWORD: 'very-secret', WHARF_SERVER__HOST: '0.0.0.0' } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^dataDir: /m);
    assert.match(r.stdout, /password: "\[redacted\]"|password: '\[redacted\]'|password: \[redacted\]/);
    assert.doesNotMatch(r.stdout, /very-secret/);
    assert.match(r.stderr, /^warning: authentication is off/m);
    assert.match(r.stderr, /^warning: serving plain HTTP on 0\.0\.0\.0:5000/m);
    assert.match(r.stderr, /^note: configuration is valid$/m);
    const j = JSON.parse((await wharf(['config', 'check', '--json'], { env: { WHARF_SERVER__HOST: '127.0.0.1' } })).stdout) as { valid: boolean; warnings: { check: string }[] };
    assert.equal(j.valid, true);
    assert.deepEqual(j.warnings.map((w) => w.check), [], 'loopback, auth on, UI built: nothing to warn about');
    const tls = JSON.parse((await wharf(['config', 'check', '--json'], { env: { WHARF_SERVER__BASE_URL: 'https://registry.example.com' } })).stdout) as { warnings: { check: string }[] };
    assert.deepEqual(tls.warnings.map((w) => w.check), [], 'TLS terminated by a proxy (https:// baseUrl): no plain-HTTP warning');
  });

  test('strictness comes from the schema: a section another module adds is accepted without a list to update', () => {
    const extended = configSchema.extend({ gc: z.object({ intervalSeconds: z.coerce.number().default(3600), dryRun: z.boolean().default(false) }).prefault({}) });
    const tree = keyTree(extended);
    assert.deepEqual(envOverlay({ WHARF_GC__INTERVAL_SECONDS: '60' }, tree).problems, []);
    assert.match(envOverlay({ WHARF_GC__INTERVAL_SECOND: '60' }, tree).problems[0] ?? '', /did you mean WHARF_GC__INTERVAL_SECONDS/);
    // A key named …File is that key, not a secret file reference (server.tls.certFile).
    const tls = keyTree(configSchema.extend({ server: z.object({ tls: z.object({ certFile: z.string().optional() }).prefault({}) }).prefault({}) }));
    assert.deepEqual(envOverlay({ WHARF_SERVER__TLS__CERT_FILE: '/etc/wharf/tls.crt' }, tls).values, { server: { tls: { certFile: '/etc/wharf/tls.crt' } } });
    // Programmatic overrides are checked too.
    assert.throws(() => loadConfig({ env: {}, overrides: { storage: { drivr: 'memory' } } }), (e: unknown) => e instanceof ConfigError && /override: unknown key storage\.drivr \(did you mean storage\.driver\?\)/.test(e.message));
  });

  test('every WHARF_ variable named anywhere in this repository is a schema key or a tool variable', async () => {
    const tree = keyTree(configSchema);
    const names = new Set<string>();
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        if (['node_modules', 'dist', '.git', 'test-output', '.tools'].includes(entry.name)) continue;
        const path = join(dir, entry.name);
        if (entry.isDirectory()) await walk(path);
        else if (/\.(ts|tsx|md|sh|ya?ml|json)$|^wharf$|^run$/.test(entry.name)) for (const m of (await readFile(path, 'utf8')).matchAll(/\bWHARF_[A-Z0-9_]*[A-Z0-9]\b/g)) names.add(m[0]);
      }
    };
    for (const d of ['src', 'test', 'bench', 'scripts', 'docs', 'bin', '.ci', 'ui/src']) await walk(join(repoRoot, d)).catch(() => {});
    for (const f of ['README.md', 'ui/vite.config.ts']) for (const m of (await readFile(join(repoRoot, f), 'utf8')).matchAll(/\bWHARF_[A-Z0-9_]*[A-Z0-9]\b/g)) names.add(m[0]);
    // Examples of the syntax, and misspellings this very test makes on purpose.
    const illustrations = /^WHARF_(X__Y_FILE|GC__|SERVER__PROT|AUTH__ADMIN__PASWORD|STORAGE$|DATADIR|PORT$|LOG__LEVL|SERVER__BASE_URL_|SERVER__TLS__)/;
    assert.ok(names.size > 30, `found ${names.size} names`);
    const rejected = [...names].filter((n) => !illustrations.test(n) && !isToolVariable(n) && envOverlay({ [n]: 'x' }, tree).problems.some((p) => p.startsWith('unknown')));
    assert.deepEqual(rejected, []);
  });
});

describe('bin/wharf as a process', () => {
  const bin = (args: string[], env: Record<string, string> = {}) => {
    const clean: Record<string, string | undefined> = { WHARF_BUILD: '0', WHARF_DATA_DIR: dataDir, ...env };
    for (const k of Object.keys(process.env)) if (k.startsWith('WHARF_') && !(k in clean)) clean[k] = undefined;
    return run(wharfBin(repoRoot), args, { env: clean });
  };
  before(() => ensureBuilt({ root: repoRoot }));

  test('--version, an unknown option and a typo in the environment: no stack trace', async () => {
    const v = await bin(['--version']);
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stdout, /^wharf \d+\.\d+\.\d+/);
    const bad = await bin(['serve', '--port', '5001']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^error: unknown option --port\n\nusage: wharf serve \[options\]/);
    const typo = await bin(['serve'], { WHARF_SERVER__PROT: '5001' });
    assert.equal(typo.code, 1);
    assert.equal(typo.stderr, 'error: unknown environment variable WHARF_SERVER__PROT (did you mean WHARF_SERVER__PORT?)\n');
  });

  test('serve logs one warning line per start-up check', async () => {
    const server = await startWharf({ env: { WHARF_AUTH__ENABLED: 'false', WHARF_SERVER__HOST: '0.0.0.0', WHARF_LOG__LEVEL: 'warn' } });
    try {
      const warnings = (await server.logs())
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { level: number; check?: string; msg: string })
        .filter((l) => l.check !== undefined);
      assert.deepEqual(warnings.map((w) => [w.level, w.check]), [
        [40, 'auth-off'],
        [40, 'plain-http'],
      ]);
      assert.match(warnings[1]?.msg ?? '', /server\.tls\.certFile/);
    } finally {
      await server.stop();
    }
  });
});
