/**
 * HTTPS on Wharf's own listener (server.tls.*) with a CA made here by openssl: curl --cacert,
 * skopeo and podman with --cert-dir (login, push, pull; the registry is NOT listed as insecure, so
 * every byte goes over verified TLS), Helm 3 and 4 with --ca-file (OCI and the classic repository),
 * token realms that say https, certificate reload on SIGHUP and on file change without dropping
 * an open connection, a broken replacement that is refused, and mutual TLS (server.tls.clientCaFile).
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ClientEnv, createClientEnv, findBinary, missingClients, randomFiles, run, runFails, runOk, umociImage, uniqueName } from '../helpers/clients.ts';
import { chartTgz } from '../helpers/charts.ts';
import { type StartedServer, startWharf } from '../helpers/server.ts';
import { type IssuedCertificate, type TestCa, createCa, servedFingerprint } from '../helpers/tls.ts';

const skip = missingClients('openssl', 'curl', 'skopeo', 'podman', 'umoci');
const dir = mkdtempSync(join(tmpdir(), 'wharf-tls-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A WHARF_CONFIG file with the server.tls settings (docs/deploy/single-node.md). */
async function tlsConfig(name: string, tls: Record<string, string | number>): Promise<string> {
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, `server:\n  tls:\n${Object.entries(tls).map(([k, v]) => `    ${k}: ${JSON.stringify(v)}\n`).join('')}`);
  return file;
}

/** Replaces a file the way cert tools do: a new file renamed over the old one. */
async function replace(target: string, source: string): Promise<void> {
  await copyFile(source, `${target}.new`);
  await rename(`${target}.new`, target);
}

async function waitFor<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (ok(v)) return v;
    if (Date.now() > deadline) assert.fail(`${what}: still ${JSON.stringify(v)} after ${timeoutMs} ms`);
    await sleep(200);
  }
}

/** One keep-alive HTTP/1.1 request on an open TLS socket; resolves with the status line. */
async function requestOn(socket: TLSSocket, path: string): Promise<string> {
  return await new Promise((resolve, reject) => {
    let data = '';
    const onData = (b: Buffer): void => {
      data += b.toString('latin1');
      const head = data.indexOf('\r\n\r\n');
      const m = /content-length: (\d+)/i.exec(data);
      if (head >= 0 && m && data.length >= head + 4 + Number(m[1])) {
        socket.off('data', onData);
        resolve(data.slice(0, data.indexOf('\r\n')));
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n`);
  });
}

describe('HTTPS with a test CA', { skip }, () => {
  let ca: TestCa;
  let first: IssuedCertificate;
  let server: StartedServer;
  let clients: ClientEnv;
  let certDir = '';
  let certFile = '';
  let keyFile = '';
  let ns = '';

  before(async () => {
    await mkdir(join(dir, 'ca'));
    ca = await createCa(join(dir, 'ca'));
    first = await ca.issue('server1', { serverAuth: true });
    // The server reads these paths; tests replace their content.
    certFile = join(dir, 'tls.crt');
    keyFile = join(dir, 'tls.key');
    await copyFile(first.certFile, certFile);
    await copyFile(first.keyFile, keyFile);
    const config = await tlsConfig('server', { certFile, keyFile, watchIntervalSeconds: 1 });
    server = await startWharf({ env: { WHARF_CONFIG: config }, https: { caFile: ca.certFile } });
    clients = await createClientEnv(server.host, { insecure: false });
    certDir = join(clients.dir, 'certs');
    await mkdir(certDir);
    await copyFile(ca.certFile, join(certDir, 'ca.crt'));
    ns = uniqueName('e2e-tls');
  });
  after(async () => {
    await clients?.cleanup();
    await server?.stop();
  });

  test('curl: /v2/ over verified HTTPS answers with an https token realm; plain HTTP and an unknown CA are refused', async () => {
    assert.match(server.url, /^https:\/\//);
    const res = await runOk('curl', ['-sS', '-i', '--cacert', ca.certFile, `${server.url}/v2/`]);
    assert.match(res.stdout, /^HTTP\/1\.1 401/);
    assert.match(res.stdout, new RegExp(`www-authenticate: Bearer realm="https://${server.host}/token"`, 'i'));
    const token = await runOk('curl', ['-sS', '--fail', '--cacert', ca.certFile, '-u', `${server.admin?.username}:${server.admin?.password}`, `${server.url}/token?service=${server.host}`]);
    assert.ok((JSON.parse(token.stdout) as { token?: string }).token);
    // Without the CA: certificate verification fails (curl exit 60).
    const unknownCa = await runFails('curl', ['-sS', `${server.url}/v2/`]);
    assert.equal(unknownCa.code, 60, unknownCa.stderr);
    // Plain HTTP to the TLS port gets no HTTP answer.
    const plain = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', `http://${server.host}/v2/`]);
    assert.notEqual(plain.stdout, '401');
  });

  test('skopeo: login and copy with --cert-dir, registry not marked insecure', async () => {
    const layout = join(await clients.tempDir('image'), 'layout');
    await umociImage(clients, layout, 'v1', { layers: [randomFiles(2, 64 * 1024)] });
    const creds = `${server.admin?.username}:${server.admin?.password}`;
    await clients.runOk('skopeo', ['login', '--cert-dir', certDir, '--username', server.admin?.username ?? '', '--password-stdin', server.host], { input: server.admin?.password ?? '' });
    await clients.runOk('skopeo', ['copy', '--dest-cert-dir', certDir, `oci:${layout}:v1`, `docker://${server.host}/${ns}/app:1`]);
    const inspect = await clients.runOk('skopeo', ['inspect', '--cert-dir', certDir, '--raw', `docker://${server.host}/${ns}/app:1`]);
    assert.match(inspect.stdout, /"layers"/);
    // Without the CA, containers/image refuses the registry's certificate.
    const refused = await clients.runFails('skopeo', ['inspect', '--creds', creds, `docker://${server.host}/${ns}/app:1`]);
    assert.match(refused.stderr, /certificate signed by unknown authority|x509/);
  });

  test('podman: login and push over HTTPS with --cert-dir, pulled back', async () => {
    await clients.runOk('podman', ['login', '--cert-dir', certDir, '--username', server.admin?.username ?? '', '--password-stdin', server.host], { input: server.admin?.password ?? '' });
    await clients.runOk('podman', ['pull', '--cert-dir', certDir, `${server.host}/${ns}/app:1`], { timeoutMs: 120_000 });
    await clients.runOk('podman', ['tag', `${server.host}/${ns}/app:1`, `${server.host}/${ns}/pushed-by-podman:1`]);
    await clients.runOk('podman', ['push', '--cert-dir', certDir, `${server.host}/${ns}/pushed-by-podman:1`], { timeoutMs: 120_000 });
    const tags = await clients.runOk('skopeo', ['list-tags', '--cert-dir', certDir, `docker://${server.host}/${ns}/pushed-by-podman`]);
    assert.deepEqual((JSON.parse(tags.stdout) as { Tags: string[] }).Tags, ['1']);
    await clients.runOk('podman', ['rmi', '-a', '-f']);
    await clients.runOk('podman', ['pull', '--cert-dir', certDir, `${server.host}/${ns}/pushed-by-podman:1`], { timeoutMs: 120_000 });
  });

  for (const tool of ['helm3', 'helm4'] as const) {
    test(`${tool}: registry login, push and template with --ca-file; classic repository over HTTPS`, { skip: missingClients(tool) }, async () => {
      const home = join(dir, tool);
      const env = { HELM_CONFIG_HOME: join(home, 'config'), HELM_CACHE_HOME: join(home, 'cache'), HELM_DATA_HOME: join(home, 'data') };
      const helm = async (args: string[], input?: string) => runOk(findBinary(tool) ?? tool, args, { env, timeoutMs: 120_000, ...(input ? { input } : {}) });
      // Helm 3.17 sends OCI requests to a loopback registry (127.0.0.1, localhost) in plain HTTP
      // even with --ca-file; 0.0.0.0 reaches this host without counting as loopback. Helm 4 is fine.
      const host = tool === 'helm3' ? `0.0.0.0:${server.port}` : server.host;
      const chart = `tls-${tool}`;
      const tgz = join(dir, `${chart}-0.1.0.tgz`);
      await writeFile(tgz, chartTgz({ name: chart, version: '0.1.0', files: { 'templates/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  via: https\n' } }));
      await helm(['registry', 'login', host, '--ca-file', ca.certFile, '--username', server.admin?.username ?? '', '--password-stdin'], server.admin?.password);
      const pushed = await helm(['push', tgz, `oci://${host}/${ns}/charts`, '--ca-file', ca.certFile]);
      assert.match(pushed.stdout + pushed.stderr, /Digest: sha256:/);
      const rendered = await helm(['template', 'rel', `oci://${host}/${ns}/charts/${chart}`, '--version', '0.1.0', '--ca-file', ca.certFile]);
      assert.match(rendered.stdout, /via: https/);
      // Classic repository: Basic auth up front, over the same HTTPS listener.
      const repo = `${ns}-${tool}`;
      await helm(['repo', 'add', repo, `${server.url}/charts/${ns}`, '--ca-file', ca.certFile, '--username', server.admin?.username ?? '', '--password', server.admin?.password ?? '']);
      const pullDir = join(home, 'pulled');
      await mkdir(pullDir, { recursive: true });
      await waitFor('classic index lists the chart', async () => (await helm(['repo', 'update', repo]).then(() => helm(['search', 'repo', `${repo}/${chart}`]))).stdout, (out) => out.includes(chart));
      await helm(['pull', `${repo}/${chart}`, '--version', '0.1.0', '-d', pullDir]);
      assert.deepEqual(await readFile(join(pullDir, `${chart}-0.1.0.tgz`)), await readFile(tgz));
    });
  }

  test('a new certificate is served after SIGHUP and after a file change; an open connection survives; a broken pair is refused', async () => {
    assert.equal(await servedFingerprint(server.port, ca.certFile), first.fingerprint);
    // A connection opened before the reload keeps working after it.
    const socket = connect({ host: '127.0.0.1', port: server.port, ca: await readFile(ca.certFile) });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', () => resolve());
      socket.once('error', reject);
    });
    assert.match(await requestOn(socket, '/healthz'), /200/);

    // SIGHUP. watchIntervalSeconds is 1, so the file change alone would do it too; the signal
    // must work at once.
    const second = await ca.issue('server2', { serverAuth: true });
    await replace(keyFile, second.keyFile);
    await replace(certFile, second.certFile);
    process.kill(server.pid ?? 0, 'SIGHUP');
    await waitFor('served certificate after SIGHUP', () => servedFingerprint(server.port, ca.certFile), (f) => f === second.fingerprint, 5_000);
    assert.match(await requestOn(socket, '/healthz'), /200/, 'the connection opened before the reload still answers');
    assert.equal(socket.getPeerX509Certificate()?.fingerprint256, first.fingerprint, 'and keeps its session');
    socket.end();
    await runOk('curl', ['-sS', '--fail', '-o', '/dev/null', '--cacert', ca.certFile, `${server.url}/healthz`]);

    // A file change alone (cert-manager, certbot): picked up by the watcher.
    const third = await ca.issue('server3', { serverAuth: true });
    await replace(keyFile, third.keyFile);
    await replace(certFile, third.certFile);
    await waitFor('served certificate after a file change', () => servedFingerprint(server.port, ca.certFile), (f) => f === third.fingerprint);

    // A certificate whose key does not match: the current one stays, the log says why.
    const fourth = await ca.issue('server4', { serverAuth: true });
    await replace(certFile, fourth.certFile);
    process.kill(server.pid ?? 0, 'SIGHUP');
    await waitFor('log of the refused reload', () => server.logs(), (text) => text.includes('tls reload failed'));
    assert.equal(await servedFingerprint(server.port, ca.certFile), third.fingerprint);
    await replace(certFile, third.certFile);
  });
});

describe('mutual TLS (server.tls.clientCaFile)', { skip }, () => {
  let server: StartedServer;
  let ca: TestCa;
  let client: IssuedCertificate;
  let clients: ClientEnv;

  before(async () => {
    const caDir = join(dir, 'mtls');
    await mkdir(caDir, { recursive: true });
    ca = await createCa(caDir, 'Wharf mTLS CA');
    const cert = await ca.issue('server', { serverAuth: true });
    client = await ca.issue('client');
    const config = await tlsConfig('mtls', { certFile: cert.certFile, keyFile: cert.keyFile, clientCaFile: ca.certFile });
    server = await startWharf({ env: { WHARF_CONFIG: config }, https: { caFile: ca.certFile, certFile: client.certFile, keyFile: client.keyFile } });
    clients = await createClientEnv(server.host, { insecure: false });
  });
  after(async () => {
    await clients?.cleanup();
    await server?.stop();
  });

  test('clients without a certificate are refused in the handshake; curl and skopeo with one get in', async () => {
    const without = await runFails('curl', ['-sS', '--cacert', ca.certFile, `${server.url}/v2/`]);
    assert.ok(without.code !== 0);
    const withCert = await runOk('curl', ['-sS', '-i', '--cacert', ca.certFile, '--cert', client.certFile, '--key', client.keyFile, `${server.url}/v2/`]);
    assert.match(withCert.stdout, /^HTTP\/1\.1 401/);
    // containers/image: the CA and client.cert/client.key in one --cert-dir.
    const certDir = join(clients.dir, 'certs');
    await mkdir(certDir);
    await copyFile(ca.certFile, join(certDir, 'ca.crt'));
    await copyFile(client.certFile, join(certDir, 'client.cert'));
    await copyFile(client.keyFile, join(certDir, 'client.key'));
    await clients.runOk('skopeo', ['login', '--cert-dir', certDir, '--username', server.admin?.username ?? '', '--password-stdin', server.host], { input: server.admin?.password ?? '' });
    const noClientCert = join(clients.dir, 'ca-only');
    await mkdir(noClientCert);
    await copyFile(ca.certFile, join(noClientCert, 'ca.crt'));
    await clients.runFails('skopeo', ['login', '--cert-dir', noClientCert, '--username', server.admin?.username ?? '', '--password-stdin', server.host], { input: server.admin?.password ?? '' });
  });
});

