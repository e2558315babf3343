/**
 * The example pipelines of docs/ci.md, run for real: the fenced blocks marked `ci-test=NAME`
 * are read from the doc (so the doc cannot rot), `wharf.example.com` and the CI systems' issuer
 * URLs replaced by this test's, and their shell steps executed as the CI system would:
 * - a Wharf behind a TLS proxy with a CA made here (clients verify it: SSL_CERT_FILE for podman
 *   and Helm, CURL_CA_BUNDLE for curl; no `--tls-verify=false`, no `--plain-http`);
 * - local OIDC issuers playing GitHub Actions, Forgejo Actions (issuer below /api/actions, the
 *   runner's ACTIONS_ID_TOKEN_REQUEST_URL service) and GitLab CI (ID tokens in `id_tokens:`
 *   variables), trusted at owner level with the doc's own trust JSON;
 * - `docker` is a shim for podman (docker needs a daemon that cannot run here), Helm 4 (Helm 3
 *   treats 127.0.0.1 as plain HTTP, see ../shared/clients), the doc's `wharf` CLI lines on the
 *   server's data directory.
 * Each pipeline pushes an image and a chart; the test then checks both are in Wharf as built.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { connect, type Server } from 'node:net';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createServer as createTlsServer } from 'node:tls';
import { parse as parseYaml } from 'yaml';
import { type OidcIssuer, startOidcIssuer } from '../helpers/access-oidc.ts';
import { type ClientEnv, createClientEnv, findBinary, missingClients, run, type RunResult } from '../helpers/clients.ts';
import { freePort, repoRoot, type StartedServer, startWharf } from '../helpers/server.ts';

const helm = findBinary('helm4');
const skip = missingClients('podman', 'skopeo', 'curl', 'jq', 'openssl') || (helm ? false : 'missing helm4: bash scripts/install-test-deps.sh puts Helm 4 at .tools/helm4/helm');
const DOC = join(repoRoot, 'docs', 'ci.md');
const PLACEHOLDER_HOST = 'wharf.example.com';
const ISSUERS = { github: 'https://token.actions.githubusercontent.com', forgejo: 'https://forgejo.example.com/api/actions', gitlab: 'https://gitlab.com' } as const;
/** The actions the GitHub/Forgejo examples may use: the test provides what they do (checkout: the workspace; setup-helm: Helm 4 on PATH). */
const KNOWN_ACTIONS = new Set(['actions/checkout@v4', 'azure/setup-helm@v4']);

/** Blocks fenced as ```LANG ci-test=NAME in docs/ci.md, by name. */
async function docBlocks(): Promise<Map<string, string>> {
  const text = await readFile(DOC, 'utf8');
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^```\w+ ci-test=([\w-]+)\n([\s\S]*?)^```$/gm)) out.set(m[1] ?? '', m[2] ?? '');
  return out;
}

function ok(r: RunResult, what: string): RunResult {
  assert.equal(r.code, 0, `${what} failed (exit ${r.code}):\n--- stderr ---\n${r.stderr}\n--- stdout ---\n${r.stdout}`);
  return r;
}

const record = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? Object.fromEntries(Object.entries(v)) : {});
const strings = (v: unknown): Record<string, string> => Object.fromEntries(Object.entries(record(v)).map(([k, x]) => [k, String(x)]));

/** A CA and a certificate for 127.0.0.1 signed by it, made with openssl. */
async function makeCertificates(dir: string): Promise<{ ca: string; cert: string; key: string }> {
  const f = (name: string) => join(dir, name);
  const ssl = (args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  ssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '2', '-subj', '/CN=Wharf CI test CA']);
  ssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=127.0.0.1']);
  await writeFile(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n');
  ssl(['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('server.crt'), '-days', '2', '-extfile', f('ext.cnf')]);
  return { ca: f('ca.crt'), cert: f('server.crt'), key: f('server.key') };
}

/** TLS in front of a plain-HTTP port, as a terminating proxy would be. */
async function tlsProxy(port: number, target: number, files: { cert: string; key: string }): Promise<Server> {
  const server = createTlsServer({ cert: await readFile(files.cert), key: await readFile(files.key) }, (socket) => {
    const upstream = connect(target, '127.0.0.1');
    socket.pipe(upstream).pipe(socket);
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return server;
}

describe('docs/ci.md pipelines push an image and a chart', { skip }, () => {
  let server: StartedServer;
  let proxy: Server;
  let clients: ClientEnv;
  let host = '';
  let blocks: Map<string, string>;
  let issuers: Record<keyof typeof ISSUERS, OidcIssuer>;
  let baseEnv: Record<string, string | undefined>;
  let adminAuth = '';
  const owner = { username: 'alice', password: `alice-${randomBytes(6).toString('hex')}` };

  /** The doc's text with this test's host and issuers. */
  const localize = (text: string): string => {
    let out = text.replaceAll(PLACEHOLDER_HOST, host);
    for (const [name, url] of Object.entries(ISSUERS)) out = out.replaceAll(url, issuers[name as keyof typeof ISSUERS].url);
    return out;
  };
  const block = (name: string): string => {
    const text = blocks.get(name);
    assert.ok(text !== undefined, `docs/ci.md has no block marked ci-test=${name}`);
    return localize(text);
  };

  /** A checked-out repository: a Dockerfile and a Helm chart in chart/. */
  const workspace = async (app: string, marker: string): Promise<string> => {
    const dir = await clients.tempDir(`workspace-${app}`);
    await writeFile(join(dir, 'app.txt'), `${marker}\n`);
    await writeFile(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY app.txt /app.txt\n');
    await mkdir(join(dir, 'chart', 'templates'), { recursive: true });
    await writeFile(join(dir, 'chart', 'Chart.yaml'), `apiVersion: v2\nname: ${app}\nversion: 0.0.0\nappVersion: "0.0.0"\n`);
    await writeFile(join(dir, 'chart', 'values.yaml'), `image: ${host}/globex/${app}\n`);
    await writeFile(join(dir, 'chart', 'templates', 'configmap.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  image: "{{ .Values.image }}:{{ .Chart.AppVersion }}"\n');
    return dir;
  };

  /** Runs one shell step as a CI runner does (bash, -e, pipefail) in the workspace. */
  const step = (script: string, cwd: string, env: Record<string, string>) => run('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', script], { cwd, env: { ...baseEnv, ...env }, timeoutMs: 180_000 });

  const api = async (path: string, init: { method?: string; body?: unknown; auth?: string } = {}) => {
    const res = await fetch(`${server.url}${path}`, {
      method: init.method ?? 'GET',
      headers: { authorization: init.auth ?? adminAuth, ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
    return { status: res.status, text: await res.text() };
  };

  /** The image and chart `version` of globex/APP are in Wharf, as the pipeline built them. */
  const assertPublished = async (app: string, version: string, marker: string) => {
    const creds = `${owner.username}:${owner.password}`;
    const inspect = JSON.parse(ok(await clients.run('skopeo', ['inspect', '--creds', creds, `docker://${host}/globex/${app}:${version}`], { env: baseEnv }), 'skopeo inspect').stdout) as { Layers: string[] };
    assert.equal(inspect.Layers.length, 1);
    const dir = await clients.tempDir('pulled');
    ok(await clients.run('skopeo', ['copy', '--src-creds', creds, `docker://${host}/globex/${app}:${version}`, `dir:${dir}`], { env: baseEnv }), 'skopeo copy');
    const tar = ok(await run('tar', ['-xOf', join(dir, (inspect.Layers[0] ?? '').replace('sha256:', '')), 'app.txt']), 'layer contents');
    assert.equal(tar.stdout, `${marker}\n`, 'the image holds what the pipeline built');
    const rendered = ok(await step(`helm template rel oci://${host}/globex/charts/${app} --version ${version}`, dir, {}), 'helm template from oci://').stdout;
    assert.match(rendered, new RegExp(`image: "${host}/globex/${app}:${version.replaceAll('.', '\\.')}"`), 'the chart deploys the image of the same version');
  };

  before(async () => {
    blocks = await docBlocks();
    const proxyPort = await freePort();
    host = `127.0.0.1:${proxyPort}`;
    issuers = { github: await startOidcIssuer(), forgejo: await startOidcIssuer({ path: '/api/actions' }), gitlab: await startOidcIssuer() };
    server = await startWharf({
      env: {
        WHARF_SERVER__BASE_URL: `https://${host}`,
        // The local issuers speak plain HTTP on 127.0.0.1.
        WHARF_AUTH__OIDC__ALLOW_INSECURE_ISSUERS: 'true',
      },
    });
    adminAuth = `Basic ${Buffer.from(`${server.admin?.username}:${server.admin?.password}`).toString('base64')}`;
    clients = await createClientEnv([]); // no insecure registries: TLS is verified
    const certs = await makeCertificates(await clients.tempDir('tls'));
    proxy = await tlsProxy(proxyPort, server.port, certs);
    const bin = await clients.tempDir('bin');
    await writeFile(join(bin, 'docker'), '#!/bin/sh\nexec podman "$@"\n');
    await writeFile(join(bin, 'wharf'), `#!/bin/sh\nexec ${join(repoRoot, 'bin', 'wharf')} "$@"\n`);
    await Promise.all([chmod(join(bin, 'docker'), 0o755), chmod(join(bin, 'wharf'), 0o755)]);
    const helmHome = await clients.tempDir('helm');
    baseEnv = {
      ...clients.env,
      PATH: `${bin}:${dirname(helm ?? '')}:${process.env['PATH'] ?? ''}`,
      SSL_CERT_FILE: certs.ca,
      CURL_CA_BUNDLE: certs.ca,
      HELM_CONFIG_HOME: join(helmHome, 'config'),
      HELM_CACHE_HOME: join(helmHome, 'cache'),
      HELM_DATA_HOME: join(helmHome, 'data'),
      // The `wharf` lines of the doc run on the server's data directory, as on the Wharf host.
      WHARF_DATA_DIR: server.dataDir,
      WHARF_BUILD: '0',
    };
    // The shell's own WHARF_* settings (a developer's) must not reach the doc's `wharf` lines.
    for (const k of Object.keys(process.env)) if (k.startsWith('WHARF_') && !(k in baseEnv)) baseEnv[k] = undefined;
    // The owner of globex, who sets up the trusts as the doc says.
    assert.equal((await api('/api/v1/users', { method: 'POST', body: owner })).status, 201);
    const aliceAuth = `Basic ${Buffer.from(`${owner.username}:${owner.password}`).toString('base64')}`;
    assert.equal((await api('/api/v1/orgs', { method: 'POST', body: { name: 'globex' }, auth: aliceAuth })).status, 201);
    for (const name of ['github-trust', 'forgejo-trust', 'gitlab-trust']) {
      const res = await api('/api/v1/owners/globex/trusts', { method: 'POST', body: JSON.parse(block(name)), auth: aliceAuth });
      assert.equal(res.status, 201, `${name}: ${res.text}`);
    }
  });

  after(async () => {
    await new Promise<void>((resolve) => (proxy ? proxy.close(() => resolve()) : resolve()));
    await server?.stop();
    await clients?.cleanup();
    for (const issuer of Object.values(issuers ?? {})) await issuer.close();
  });

  /** Runs the `run:` steps of a GitHub/Forgejo workflow from the doc for a job with these claims. */
  const runActionsWorkflow = async (name: string, issuer: OidcIssuer, opts: { repository: string; tag: string; cwd: string; extraClaims?: Record<string, unknown> }) => {
    const wf = record(parseYaml(block(name)));
    const jobs = Object.values(record(wf['jobs'])).map(record);
    assert.equal(jobs.length, 1, `${name}: one job`);
    const job = jobs[0] ?? {};
    const oidc = name === 'github' ? record(wf['permissions'])['id-token'] === 'write' : wf['enable-openid-connect'] === true;
    assert.ok(oidc, `${name}: the workflow must enable OIDC ID tokens`);
    const claims = { repository: opts.repository, repository_owner: opts.repository.split('/')[0], ref: `refs/tags/${opts.tag}`, ref_type: 'tag', workflow: 'publish', sub: `repo:${opts.repository}:ref:refs/tags/${opts.tag}`, ...opts.extraClaims };
    const idService = issuer.actionsTokenService(claims);
    const env: Record<string, string> = {
      GITHUB_ACTIONS: 'true',
      GITHUB_REPOSITORY: opts.repository,
      GITHUB_REPOSITORY_OWNER: opts.repository.split('/')[0] ?? '',
      GITHUB_REF: `refs/tags/${opts.tag}`,
      GITHUB_REF_NAME: opts.tag,
      GITHUB_SHA: randomBytes(20).toString('hex'),
      GITHUB_SERVER_URL: 'https://github.com',
      ACTIONS_ID_TOKEN_REQUEST_URL: idService.requestUrl,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: idService.requestToken,
      ...strings(wf['env']),
      ...strings(job['env']),
    };
    const results: RunResult[] = [];
    for (const s of Array.isArray(job['steps']) ? job['steps'].map(record) : []) {
      if (typeof s['uses'] === 'string') {
        assert.ok(KNOWN_ACTIONS.has(s['uses']), `${name}: step uses ${s['uses']}, which this test does not stand in for`);
        continue;
      }
      assert.equal(typeof s['run'], 'string', `${name}: a step without run or uses`);
      const r = await step(String(s['run']), opts.cwd, { ...env, ...strings(s['env']) });
      results.push(r);
      if (r.code !== 0) break;
    }
    return results;
  };

  test('GitHub Actions: ID token from the runner → token exchange → docker login / helm registry login → push', async () => {
    const cwd = await workspace('app', 'built by GitHub Actions');
    const results = await runActionsWorkflow('github', issuers.github, { repository: 'globex/app', tag: 'v1.0.0', cwd });
    for (const [i, r] of results.entries()) ok(r, `github step ${i + 1}`);
    assert.equal(results.length, 3, 'login, image, chart');
    assert.equal(issuers.github.actionsTokensIssued(), 1);
    await assertPublished('app', '1.0.0', 'built by GitHub Actions');
    const pkg = JSON.parse((await api('/api/v1/packages/globex/app')).text) as { createdBy: string; visibility: string };
    assert.match(pkg.createdBy, /^ci:http:\/\/127\.0\.0\.1:\d+#repo:globex\/app:ref:refs\/tags\/v1\.0\.0$/, 'the first push created the package as the CI identity');
    assert.equal(pkg.visibility, 'private');
  });

  test("GitHub Actions: the same workflow in another repository is refused at the exchange, with the reason", async () => {
    const cwd = await workspace('app', 'built by a fork');
    const results = await runActionsWorkflow('github', issuers.github, { repository: 'mallory/app', tag: 'v6.6.6', cwd });
    assert.equal(results.length, 1, 'stops at the login step');
    assert.notEqual(results[0]?.code, 0);
    assert.match(results[0]?.stderr ?? '', /no package trusts this identity/, 'the step logs why');
    const tags = await api('/v2/globex/app/tags/list');
    assert.doesNotMatch(tags.text, /6\.6\.6/);
  });

  test('Forgejo Actions: enable-openid-connect, issuer below /api/actions', async () => {
    const cwd = await workspace('app', 'built by Forgejo Actions');
    const results = await runActionsWorkflow('forgejo', issuers.forgejo, { repository: 'globex/app', tag: 'v1.1.0', cwd });
    for (const [i, r] of results.entries()) ok(r, `forgejo step ${i + 1}`);
    assert.equal(results.length, 2);
    await assertPublished('app', '1.1.0', 'built by Forgejo Actions');
  });

  test('GitLab CI: id_tokens variable → token exchange → push', async () => {
    const cwd = await workspace('app', 'built by GitLab CI');
    const pipeline = record(parseYaml(block('gitlab')));
    const job = record(pipeline['publish']);
    const before = Array.isArray(job['before_script']) ? job['before_script'].map(String) : [];
    for (const line of before) assert.match(line, /^apk add /, 'before_script only installs tools (the test provides them)');
    const tag = 'v1.2.0';
    const claims = { project_path: 'globex/app', namespace_path: 'globex', ref: tag, ref_type: 'tag', ref_protected: 'true', sub: `project_path:globex/app:ref_type:tag:ref:${tag}` };
    const idTokens: Record<string, string> = {};
    for (const [variable, spec] of Object.entries(record(job['id_tokens']))) idTokens[variable] = issuers.gitlab.sign({ ...claims, aud: String(record(spec)['aud']) });
    assert.ok(Object.keys(idTokens).length > 0, 'the job declares id_tokens');
    const script = (Array.isArray(job['script']) ? job['script'].map(String) : []).join('\n');
    const r = await step(script, cwd, {
      GITLAB_CI: 'true',
      CI_COMMIT_TAG: tag,
      CI_COMMIT_REF_NAME: tag,
      CI_PROJECT_PATH: 'globex/app',
      CI_PROJECT_NAMESPACE: 'globex',
      CI_PROJECT_URL: 'https://gitlab.com/globex/app',
      ...strings(job['variables']),
      ...idTokens,
    });
    ok(r, 'gitlab script');
    await assertPublished('app', '1.2.0', 'built by GitLab CI');
  });

  test('any CI with a personal access token: the wharf commands of the doc, then the push step', async () => {
    const setup = ok(await step(block('pat-setup'), await clients.tempDir('host'), {}), 'wharf user/org/token commands');
    const pat = setup.stdout.trim().split('\n').at(-1) ?? '';
    assert.match(pat, /^wharf_pat_/, 'token create prints the token alone on the last line');
    const cwd = await workspace('tools', 'built with a token');
    ok(await step(block('pat'), cwd, { REGISTRY_USER: 'globex-ci', REGISTRY_TOKEN: pat, VERSION: '1.3.0' }), 'pat pipeline');
    await assertPublished('tools', '1.3.0', 'built with a token');
  });
});
