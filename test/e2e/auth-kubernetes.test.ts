/**
 * Kubernetes pull secrets: the pull-secret API gives a read-only token and a
 * `kubectl create secret docker-registry …` line; running that very line with
 * `--dry-run=client -o json` (real kubectl, no cluster) yields a Secret whose .dockerconfigjson,
 * decoded to a file, authorizes `skopeo copy --authfile` of the private image — and nothing else.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { type ClientEnv, createClientEnv, findBinary, missingClients, randomFiles, umociImage } from '../helpers/clients.ts';
import { assertCleanLog, authSkip, type User, useAuthServer } from './auth-support.ts';

const skip = authSkip(missingClients('kubectl', 'skopeo', 'umoci'));
const ctx = useAuthServer(skip);

interface PullSecret {
  token: string;
  server: string;
  username: string;
  secretName: string;
  kubectl: string;
  dockerconfigjson: string;
  yaml: string;
}

describe('kubectl docker-registry secret from the pull-secret API', { skip }, () => {
  let env: ClientEnv;
  let alice: User;
  let layout = '';
  let secret: PullSecret;
  const secrets: string[] = [];

  before(async () => {
    alice = await ctx().createUser('alice');
    secrets.push(alice.password);
    env = await createClientEnv(ctx().server.host);
    layout = join(await env.tempDir('layout'), 'oci');
    await umociImage(env, layout, 'v1', { layers: [randomFiles(1, 4096, 'k8s')], config: { architecture: 'amd64', os: 'linux' } });
    for (const repo of ['alice/deployed', 'alice/other']) {
      await env.runOk('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', `${alice.username}:${alice.password}`, `oci:${layout}:v1`, `docker://${ctx().server.host}/${repo}:v1`]);
    }
    const res = await ctx().api<PullSecret>('POST', '/api/v1/user/pull-secrets', alice, { packages: ['alice/deployed'], secretName: 'deployed-pull' });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    secret = res.body;
    secrets.push(secret.token);
  });

  test('the printed kubectl line, run with --dry-run=client, makes a Secret that lets skopeo pull the private image', async () => {
    assert.match(secret.kubectl, /^kubectl create secret docker-registry deployed-pull --docker-server=\S+ --docker-username=alice --docker-password=wharf_pat_\w+$/);
    const args = secret.kubectl.split(' ').slice(1);
    const kubectl = findBinary('kubectl') ?? 'kubectl';
    // No cluster: client-side dry run only, with an empty kubeconfig.
    const kubeconfig = join(env.dir, 'kubeconfig');
    await writeFile(kubeconfig, 'apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n');
    const out = await env.runOk(kubectl, [...args, '--dry-run=client', '-o', 'json'], { env: { KUBECONFIG: kubeconfig } });
    const manifest = JSON.parse(out.stdout) as { kind: string; type: string; metadata: { name: string }; data: Record<string, string> };
    assert.equal(manifest.kind, 'Secret');
    assert.equal(manifest.type, 'kubernetes.io/dockerconfigjson');
    assert.equal(manifest.metadata.name, 'deployed-pull');
    const dockerconfig = Buffer.from(manifest.data['.dockerconfigjson'] ?? '', 'base64').toString('utf8');
    const authfile = join(env.dir, 'k8s-auth.json');
    await writeFile(authfile, dockerconfig);
    assert.ok((JSON.parse(dockerconfig) as { auths: Record<string, unknown> }).auths[ctx().server.host], 'the secret names this registry');

    const dest = join(await env.tempDir('pulled'), 'oci');
    await env.runOk('skopeo', ['copy', '--quiet', '--authfile', authfile, '--src-tls-verify=false', `docker://${ctx().server.host}/alice/deployed:v1`, `oci:${dest}:v1`]);
    const pulled = JSON.parse(await readFile(join(dest, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    assert.equal(pulled.manifests.length, 1);

    // Read-only and limited to the chosen package.
    const other = await env.runFails('skopeo', ['copy', '--quiet', '--authfile', authfile, '--src-tls-verify=false', `docker://${ctx().server.host}/alice/other:v1`, `oci:${dest}:other`]);
    assert.match(other.stderr, /denied|unauthorized/i, other.stderr);
    const push = await env.runFails('skopeo', ['copy', '--quiet', '--authfile', authfile, '--dest-tls-verify=false', `oci:${layout}:v1`, `docker://${ctx().server.host}/alice/deployed:v2`]);
    assert.match(push.stderr, /denied|unauthorized/i, push.stderr);
    // The refusal says why, in what skopeo prints (issue 12: one access decision with reasons).
    assert.match(push.stderr, /the token does not allow push \(it allows pull\)/, push.stderr);
  });

  test("the API's own dockerconfigjson and Secret YAML carry the same credentials", async () => {
    const fromYaml = Buffer.from(/\.dockerconfigjson: (\S+)/.exec(secret.yaml)?.[1] ?? '', 'base64').toString('utf8');
    assert.equal(fromYaml, secret.dockerconfigjson);
    const authfile = join(env.dir, 'api-auth.json');
    await writeFile(authfile, secret.dockerconfigjson);
    await env.runOk('skopeo', ['inspect', '--authfile', authfile, '--tls-verify=false', `docker://${ctx().server.host}/alice/deployed:v1`]);
  });

  test('revoking the token stops the secret at once', async () => {
    const tokens = await ctx().api<{ id: string; name: string }[]>('GET', '/api/v1/user/tokens', alice);
    const id = tokens.body.find((t) => t.name === 'pull secret deployed-pull')?.id;
    assert.ok(id, JSON.stringify(tokens.body));
    assert.equal((await ctx().api('DELETE', `/api/v1/user/tokens/${id}`, alice)).status, 204);
    const authfile = join(env.dir, 'api-auth.json');
    const res = await env.runFails('skopeo', ['inspect', '--authfile', authfile, '--tls-verify=false', `docker://${ctx().server.host}/alice/deployed:v1`]);
    assert.match(res.stderr, /unauthorized|invalid/i, res.stderr);
    await assertCleanLog(ctx().server, secrets);
    await env.cleanup();
  });
});
