/**
 * The reverse-proxy examples of docs/deploy/single-node.md, deploy/proxy/nginx.conf and
 * deploy/proxy/Caddyfile, each in front of a Wharf with server.trustProxy: TLS at the proxy (a test
 * CA), a push of a layer far over nginx's default 1 MiB body limit streamed through it with skopeo
 * (the registry not marked insecure), and token realms that point at the proxy's https URL (from
 * X-Forwarded-Proto/Host), not at Wharf itself.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ClientEnv, createClientEnv, findBinary, missingClients, randomFiles, runOk, umociImage, uniqueName } from '../helpers/clients.ts';
import { type StartedServer, freePort, httpsStatus, repoRoot, startWharf } from '../helpers/server.ts';
import { type TestCa, createCa } from '../helpers/tls.ts';

const skip = missingClients('openssl', 'curl', 'skopeo', 'umoci');

/** The example, made to run here: Wharf's port, a free port for TLS, the test certificate, no port-80 redirect. */
function nginxFromExample(example: string, o: { wharfPort: number; port: number; certFile: string; keyFile: string; prefix: string }): string {
  const snippet = example
    .replace(/server 127\.0\.0\.1:5000;/, `server 127.0.0.1:${o.wharfPort};`)
    .replace(/server \{\n {2}listen 80;[\s\S]*?\n\}\n/, '')
    .replace(/listen 443 ssl http2;/, `listen 127.0.0.1:${o.port} ssl http2;`)
    .replace(/ssl_certificate +\S+;/, `ssl_certificate ${o.certFile};`)
    .replace(/ssl_certificate_key +\S+;/, `ssl_certificate_key ${o.keyFile};`);
  if (snippet.includes('listen 80') || !snippet.includes(`127.0.0.1:${o.port}`)) throw new Error('deploy/proxy/nginx.conf changed shape: update this test');
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${join(o.prefix, t)};`).join('\n');
  return `pid ${join(o.prefix, 'nginx.pid')};\nerror_log ${join(o.prefix, 'error.log')} warn;\nevents {}\nhttp {\n  access_log off;\n${temp}\n${snippet}\n}\n`;
}

/** The Caddyfile, made to run here: the site on a free port with the test certificate, no ACME, no admin API. */
function caddyFromExample(example: string, o: { wharfPort: number; port: number; certFile: string; keyFile: string; prefix: string }): string {
  const site = example
    .replace(/^registry\.example\.com \{$/m, `https://127.0.0.1:${o.port} {\n\ttls ${o.certFile} ${o.keyFile}`)
    .replace(/reverse_proxy 127\.0\.0\.1:5000 \{/, `reverse_proxy 127.0.0.1:${o.wharfPort} {`);
  if (!site.includes(`127.0.0.1:${o.wharfPort}`) || !site.includes('tls ')) throw new Error('deploy/proxy/Caddyfile changed shape: update this test');
  return `{\n\tadmin off\n\tauto_https disable_redirects\n\tstorage file_system ${o.prefix}\n\tskip_install_trust\n}\n${site}`;
}

interface Proxy {
  name: string;
  skip: string | false;
  start(o: { wharfPort: number; port: number; certFile: string; keyFile: string; prefix: string }): Promise<ChildProcess>;
}

const proxies: Proxy[] = [
  {
    name: 'deploy/proxy/nginx.conf',
    skip: missingClients('nginx'),
    async start(o) {
      const conf = join(o.prefix, 'nginx.conf');
      await writeFile(conf, nginxFromExample(await readFile(join(repoRoot, 'deploy/proxy/nginx.conf'), 'utf8'), o));
      await runOk(findBinary('nginx') ?? 'nginx', ['-t', '-q', '-p', o.prefix, '-c', conf]);
      return spawn(findBinary('nginx') ?? 'nginx', ['-p', o.prefix, '-c', conf, '-g', 'daemon off;'], { stdio: 'ignore' });
    },
  },
  {
    name: 'deploy/proxy/Caddyfile',
    skip: missingClients('caddy'),
    async start(o) {
      const conf = join(o.prefix, 'Caddyfile');
      await writeFile(conf, caddyFromExample(await readFile(join(repoRoot, 'deploy/proxy/Caddyfile'), 'utf8'), o));
      await runOk(findBinary('caddy') ?? 'caddy', ['validate', '--config', conf, '--adapter', 'caddyfile'], { env: { HOME: o.prefix, XDG_DATA_HOME: o.prefix, XDG_CONFIG_HOME: o.prefix } });
      return spawn(findBinary('caddy') ?? 'caddy', ['run', '--config', conf, '--adapter', 'caddyfile'], { stdio: 'ignore', env: { ...process.env, HOME: o.prefix, XDG_DATA_HOME: o.prefix, XDG_CONFIG_HOME: o.prefix } });
    },
  },
];

for (const proxy of proxies) {
  describe(`${proxy.name} in front of Wharf`, { skip: skip || proxy.skip }, () => {
    let work = '';
    let wharf: StartedServer;
    let server: ChildProcess | undefined;
    let ca: TestCa;
    let clients: ClientEnv;
    let host = '';
    let certDir = '';

    before(async () => {
      work = await mkdtemp(join(tmpdir(), 'wharf-proxy-'));
      await mkdir(join(work, 'ca'));
      ca = await createCa(join(work, 'ca'));
      const cert = await ca.issue('proxy', { serverAuth: true });
      wharf = await startWharf({ env: { WHARF_SERVER__TRUST_PROXY: 'true' } });
      const port = await freePort();
      host = `127.0.0.1:${port}`;
      const prefix = join(work, 'proxy');
      await mkdir(prefix);
      server = await proxy.start({ wharfPort: wharf.port, port, certFile: cert.certFile, keyFile: cert.keyFile, prefix });
      for (let i = 0; ; i++) {
        try {
          if ((await httpsStatus(`https://${host}/healthz`, { caFile: ca.certFile })) === 200) break;
        } catch {
          // not up yet
        }
        assert.ok(i < 150 && server.exitCode === null, `${proxy.name} did not come up`);
        await sleep(100);
      }
      clients = await createClientEnv(host, { insecure: false });
      certDir = join(clients.dir, 'certs');
      await mkdir(certDir);
      await copyFile(ca.certFile, join(certDir, 'ca.crt'));
    });
    after(async () => {
      server?.kill('SIGTERM');
      await clients?.cleanup();
      await wharf?.stop();
      if (work) await rm(work, { recursive: true, force: true });
    });

    test('token realm points at the proxy over https', async () => {
      const res = await runOk('curl', ['-sS', '-i', '--cacert', ca.certFile, `https://${host}/v2/`]);
      assert.match(res.stdout, /^HTTP\/[\d.]+ 401/);
      assert.match(res.stdout, new RegExp(`www-authenticate: Bearer realm="https://${host}/token",service="${host}"`, 'i'));
    });

    test('skopeo pushes a 6 MiB layer through it and reads it back', async () => {
      const layout = join(await clients.tempDir('image'), 'layout');
      await umociImage(clients, layout, 'v1', { layers: [randomFiles(3, 2 * 1024 * 1024)] });
      await clients.runOk('skopeo', ['login', '--cert-dir', certDir, '--username', wharf.admin?.username ?? '', '--password-stdin', host], { input: wharf.admin?.password ?? '' });
      const ref = `docker://${host}/${uniqueName('proxy')}/big:v1`;
      await clients.runOk('skopeo', ['copy', '--dest-cert-dir', certDir, `oci:${layout}:v1`, ref], { timeoutMs: 120_000 });
      const manifest = JSON.parse((await clients.runOk('skopeo', ['inspect', '--cert-dir', certDir, '--raw', ref])).stdout) as { layers: { size: number }[] };
      assert.ok((manifest.layers[0]?.size ?? 0) > 6 * 1024 * 1024);
      const back = join(await clients.tempDir('back'), 'layout');
      await clients.runOk('skopeo', ['copy', '--src-cert-dir', certDir, ref, `oci:${back}:v1`], { timeoutMs: 120_000 });
    });
  });
}
