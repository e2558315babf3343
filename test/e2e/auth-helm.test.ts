/**
 * Helm 3 and Helm 4 against Wharf with authentication on: `helm registry login` (password and
 * personal access token), push and pull of a private chart, logout then refused; a wrong password
 * fails cleanly; `helm repo add --username --password` on the classic index of a private owner.
 * Binaries: .tools/helm3/helm and .tools/helm4/helm (bash scripts/install-test-deps.sh).
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { findBinary, missingClients, type RunResult, run } from '../helpers/clients.ts';
import { assertCleanLog, authSkip, packagePath, type User, useAuthServer } from './auth-support.ts';

const skip = authSkip(missingClients('helm3') || missingClients('helm4'));
const ctx = useAuthServer(skip);

let dir = '';
let alice: User;
let bob: User;
let alicePat = '';
const secrets: string[] = [];

/** Users and a directory, made once for both Helms (inside their suites, after the server started). */
let setup: Promise<void> | undefined;
function once(): Promise<void> {
  setup ??= (async () => {
    dir = await mkdtemp(join(tmpdir(), 'wharf-e2e-auth-helm-'));
    alice = await ctx().createUser('alice');
    bob = await ctx().createUser('bob');
    alicePat = await ctx().createPat(alice, ['write:packages']);
    secrets.push(alice.password, bob.password, alicePat);
  })();
  return setup;
}
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** One Helm with its own homes (so logins and repositories never leak between cases). */
function helmIn(tool: 'helm3' | 'helm4', home: string) {
  const env = {
    HELM_CONFIG_HOME: join(home, 'config'),
    HELM_CACHE_HOME: join(home, 'cache'),
    HELM_DATA_HOME: join(home, 'data'),
    HOME: join(home, 'home'),
    // Never fall back to a docker credential helper of the machine.
    DOCKER_CONFIG: join(home, 'docker'),
  };
  const bin = findBinary(tool) ?? tool;
  return {
    ok: async (args: string[], input?: string): Promise<RunResult> => {
      const r = await run(bin, args, { env, cwd: home, timeoutMs: 120_000, ...(input !== undefined ? { input } : {}) });
      assert.equal(r.code, 0, `${tool} ${args.join(' ')}:\n${r.stderr}${r.stdout}`);
      return r;
    },
    fails: async (args: string[], input?: string): Promise<RunResult> => {
      const r = await run(bin, args, { env, cwd: home, timeoutMs: 120_000, ...(input !== undefined ? { input } : {}) });
      assert.notEqual(r.code, 0, `${tool} ${args.join(' ')} should fail:\n${r.stdout}`);
      assert.equal(r.timedOut, false);
      return r;
    },
  };
}

/** `helm create` + `helm package` of a chart named `name`; returns the .tgz path. */
async function packageChart(helm: ReturnType<typeof helmIn>, home: string, name: string, version: string): Promise<string> {
  await helm.ok(['create', name]);
  const chartYaml = join(home, name, 'Chart.yaml');
  await writeFile(chartYaml, (await readFile(chartYaml, 'utf8')).replace(/^version: .*$/m, `version: ${version}`));
  await helm.ok(['package', name, '--destination', home]);
  return join(home, `${name}-${version}.tgz`);
}

for (const tool of ['helm3', 'helm4'] as const) {
  describe(`${tool} with authentication`, { skip }, () => {
    const helm4 = tool === 'helm4';
    const chart = `${tool}-private`;
    // Helm 3 logs in with --insecure (it has no --plain-http on login); Helm 4 with --plain-http.
    const loginFlags = helm4 ? ['--plain-http'] : ['--insecure'];
    let home = '';
    let helm: ReturnType<typeof helmIn>;
    let tgz = '';
    const host = () => ctx().server.host;
    const oci = () => `oci://${host()}/alice/charts`;

    before(async () => {
      await once();
      home = join(dir, tool);
      await rm(home, { recursive: true, force: true });
      await mkdir(join(home, 'home'), { recursive: true });
      helm = helmIn(tool, home);
      tgz = await packageChart(helm, home, chart, '0.1.0');
    });

    test('a wrong password fails cleanly', async () => {
      const res = await helm.fails(['registry', 'login', host(), '--username', alice.username, '--password-stdin', ...loginFlags], 'wrong-password');
      assert.match(res.stderr, /unauthorized|invalid username or password/i, res.stderr);
      assert.doesNotMatch(res.stderr, /\b50\d\b/);
    });

    test('registry login with a password, push and pull a private chart, logout, then refused', async () => {
      await helm.ok(['registry', 'login', host(), '--username', alice.username, '--password-stdin', ...loginFlags], alice.password);
      await helm.ok(['push', tgz, oci(), '--plain-http']);
      const settings = await ctx().api<{ visibility: string }>('GET', packagePath(`alice/charts/${chart}`), alice);
      assert.equal(settings.body.visibility, 'private');
      const out = join(home, 'pulled');
      await mkdir(out, { recursive: true });
      await helm.ok(['pull', `${oci()}/${chart}`, '--version', '0.1.0', '--plain-http', '-d', out]);
      assert.deepEqual((await readFile(join(out, `${chart}-0.1.0.tgz`))).equals(await readFile(tgz)), true, 'the same archive');

      await helm.ok(['registry', 'logout', host()]);
      const refused = await helm.fails(['pull', `${oci()}/${chart}`, '--version', '0.1.0', '--plain-http', '-d', out]);
      assert.match(refused.stderr, /unauthorized|denied|insufficient_scope|insufficient scope/i, refused.stderr);
    });

    test('registry login with a personal access token', async () => {
      await helm.ok(['registry', 'login', host(), '--username', alice.username, '--password-stdin', ...loginFlags], alicePat);
      const out = join(home, 'pulled-pat');
      await mkdir(out, { recursive: true });
      await helm.ok(['pull', `${oci()}/${chart}`, '--version', '0.1.0', '--plain-http', '-d', out]);
      assert.deepEqual(await readdir(out), [`${chart}-0.1.0.tgz`]);
      // Another user is refused.
      await helm.ok(['registry', 'login', host(), '--username', bob.username, '--password-stdin', ...loginFlags], bob.password);
      const asBob = await helm.fails(['pull', `${oci()}/${chart}`, '--version', '0.1.0', '--plain-http', '-d', out]);
      assert.match(asBob.stderr, /unauthorized|denied|forbidden|403/i, asBob.stderr);
      await helm.ok(['registry', 'logout', host()]);
    });

    test('repo add --username --password on the classic index of a private owner', async () => {
      const url = `${ctx().server.url}/charts/alice`;
      // Strangers and wrong credentials get the owner's public charts (none here), never a 401
      // that would tell them private charts exist (issue 10), and never the private chart.
      await helm.ok(['repo', 'add', 'alice-anon', url]);
      await helm.ok(['repo', 'add', 'alice-wrong', url, '--username', alice.username, '--password', 'not-the-password']);
      for (const repo of ['alice-anon', 'alice-wrong']) {
        const hidden = (await helm.ok(['search', 'repo', `${repo}/${chart}`])).stdout;
        assert.doesNotMatch(hidden, new RegExp(`${repo}/${chart}`), hidden);
      }
      const anonPull = await helm.fails(['pull', `${url}/${chart}-0.1.0.tgz`, '-d', join(home, 'anon')]);
      assert.match(anonPull.stderr, /401|unauthorized/i, anonPull.stderr);
      await helm.ok(['repo', 'add', 'alice', url, '--username', alice.username, '--password', alice.password]);
      // Indexing follows the push asynchronously: update until the chart shows up (bounded).
      let found = '';
      for (let i = 0; i < 50 && !found.includes(`alice/${chart}`); i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, 200));
        await helm.ok(['repo', 'update', 'alice']);
        found = (await helm.ok(['search', 'repo', `alice/${chart}`, '--version', '0.1.0'])).stdout;
      }
      assert.match(found, new RegExp(`alice/${chart}\\s+0\\.1\\.0`), found);
      const out = join(home, 'classic');
      await mkdir(out, { recursive: true });
      await helm.ok(['pull', `alice/${chart}`, '--version', '0.1.0', '-d', out]);
      assert.deepEqual((await readFile(join(out, `${chart}-0.1.0.tgz`))).equals(await readFile(tgz)), true, 'the same archive through the classic repository');
      // With a PAT as the password, too.
      await helm.ok(['repo', 'add', 'alice-pat', url, '--username', alice.username, '--password', alicePat]);
    });
  });
}

test('helm: the server never answered 5xx and never logged a credential', { skip }, async () => {
  await assertCleanLog(ctx().server, secrets);
});
