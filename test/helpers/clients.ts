/**
 * Real registry clients for end-to-end tests: run a command with a timeout, give every test
 * file its own containers/image configuration (no use of /etc/containers or ~/.config), and
 * build test images without running containers (umoci layouts, buildah from scratch).
 *
 * A missing binary must skip the tests that need it, with the install command in the message:
 *   const skip = missingClients('skopeo', 'umoci');
 *   test('...', { skip }, async () => { ... });
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { repoRoot } from './server.ts';

// ---- running commands ---------------------------------------------------------------------------

export interface RunResult {
  /** Exit code; null when killed by a signal (e.g. the timeout). */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface RunOptions {
  /** Added to (and overriding) the inherited environment; `undefined` removes a variable. */
  env?: Record<string, string | undefined>;
  /** Written to standard input (closed right after; without it stdin is empty). */
  input?: string | Buffer;
  /** Kill the command after this long (default 60 s). */
  timeoutMs?: number;
  cwd?: string;
}

/** Runs a command to completion and collects its output; never throws for a non-zero exit. */
export async function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...opts.env })) if (v !== undefined) env[k] = v;
  return await new Promise((resolveRun, reject) => {
    const child = spawn(cmd, args, { env, cwd: opts.cwd ?? repoRoot, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 60_000);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${cmd}: ${e.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolveRun({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        timedOut,
      });
    });
    child.stdin.on('error', () => {}); // the command may exit without reading its input
    child.stdin.end(opts.input ?? '');
  });
}

export class CommandError extends Error {
  declare readonly result: RunResult;
  constructor(cmd: string, args: readonly string[], result: RunResult) {
    const why = result.timedOut ? 'timed out' : `exited with ${result.code ?? result.signal}`;
    super(`${formatCommand(cmd, args)} ${why}\n--- stderr ---\n${result.stderr.trimEnd()}\n--- stdout ---\n${result.stdout.trimEnd()}`);
    // Not enumerable: the message already shows the output; test reports need not repeat it.
    Object.defineProperty(this, 'result', { value: result, enumerable: false });
  }
}

/** Like run(), but throws a CommandError (command line, exit code, both outputs) unless it exits 0. */
export async function runOk(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const result = await run(cmd, args, opts);
  if (result.code !== 0) throw new CommandError(cmd, args, result);
  return result;
}

/** Expects a failure; returns the result (for asserting on the message). */
export async function runFails(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const result = await run(cmd, args, opts);
  if (result.code === 0) {
    throw new Error(`${formatCommand(cmd, args)} succeeded but was expected to fail\n--- stdout ---\n${result.stdout.trimEnd()}`);
  }
  if (result.timedOut) throw new CommandError(cmd, args, result);
  return result;
}

function formatCommand(cmd: string, args: readonly string[]): string {
  return [cmd, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

// ---- finding clients ----------------------------------------------------------------------------

const INSTALL_HINTS: Record<string, string> = {
  skopeo: 'apt-get install -y skopeo',
  podman: 'apt-get install -y podman',
  buildah: 'apt-get install -y buildah',
  umoci: 'apt-get install -y umoci',
  'docker-registry': 'apt-get install -y docker-registry',
  htpasswd: 'apt-get install -y apache2-utils',
  jq: 'apt-get install -y jq',
  unzip: 'apt-get install -y unzip',
  chromium: 'apt-get install -y chromium',
  nginx: 'apt-get install -y nginx',
  curl: 'apt-get install -y curl',
  openssl: 'apt-get install -y openssl',
  runc: 'apt-get install -y runc',
  caddy: 'apt-get install -y caddy',
  helm3: 'bash scripts/install-test-deps.sh puts Helm 3 at .tools/helm3/helm',
  helm4: 'bash scripts/install-test-deps.sh puts Helm 4 at .tools/helm4/helm',
  kubectl: 'bash scripts/install-test-deps.sh puts kubectl at .tools/kubectl',
};

/** Helm and kubectl are not Debian packages here; scripts/install-test-deps.sh puts them in .tools/. */
const TOOL_PATHS: Record<string, string> = {
  helm3: join(repoRoot, '.tools/helm3/helm'),
  helm4: join(repoRoot, '.tools/helm4/helm'),
  kubectl: join(repoRoot, '.tools/kubectl'),
};

/** Absolute path of a client binary (PATH, or .tools/ for helm3, helm4, kubectl), or undefined. */
export function findBinary(name: string): string | undefined {
  const tool = TOOL_PATHS[name];
  if (tool !== undefined && existsSync(tool)) return tool;
  for (const dir of (process.env['PATH'] ?? '').split(':')) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/**
 * For node:test's `skip` option: false when every binary is available, otherwise a message
 * naming what is missing and how to install it.
 */
export function missingClients(...names: string[]): string | false {
  const missing = names.filter((n) => findBinary(n) === undefined);
  if (missing.length === 0) return false;
  const hints = missing.map((n) => INSTALL_HINTS[n] ?? `install ${n}`);
  const all = hints.every((h) => h.startsWith('bash scripts/install-test-deps.sh')) ? '' : ' (or: bash scripts/install-test-deps.sh)';
  return `missing ${missing.join(', ')}: ${hints.join('; ')}${all}`;
}

// ---- isolated containers/image environment -------------------------------------------------------

export interface ClientEnv {
  /** The temporary directory holding everything below. */
  dir: string;
  /** Environment for client commands: CONTAINERS_* and REGISTRY_AUTH_FILE, HOME, TMPDIR. */
  env: Record<string, string>;
  registriesConf: string;
  storageConf: string;
  containersConf: string;
  authFile: string;
  /** A fresh subdirectory of `dir` for a test's scratch files. */
  tempDir(prefix?: string): Promise<string>;
  /** run() with this environment. */
  run(cmd: string, args: readonly string[], opts?: RunOptions): Promise<RunResult>;
  /** runOk() with this environment. */
  runOk(cmd: string, args: readonly string[], opts?: RunOptions): Promise<RunResult>;
  /** runFails() with this environment. */
  runFails(cmd: string, args: readonly string[], opts?: RunOptions): Promise<RunResult>;
  cleanup(): Promise<void>;
}

/**
 * A private configuration for skopeo, podman and buildah: registries.conf listing `hosts` as
 * insecure (plain HTTP; `insecure: false` for a registry with TLS that clients must verify) with no
 * unqualified-search registries, vfs storage inside the temp
 * directory, an empty auth.json, and a containers.conf that needs no systemd or journald.
 */
export async function createClientEnv(hosts: string | readonly string[], opts: { insecure?: boolean } = {}): Promise<ClientEnv> {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-e2e-clients-'));
  const registriesConf = join(dir, 'registries.conf');
  const storageConf = join(dir, 'storage.conf');
  const containersConf = join(dir, 'containers.conf');
  const authFile = join(dir, 'auth.json');
  const home = join(dir, 'home');
  const tmp = join(dir, 'tmp');
  await Promise.all([mkdir(home), mkdir(tmp)]);
  const list = typeof hosts === 'string' ? [hosts] : hosts;
  await writeFile(
    registriesConf,
    ['unqualified-search-registries = []', ...list.flatMap((h) => ['', '[[registry]]', `location = "${h}"`, `insecure = ${opts.insecure ?? true}`])].join('\n') + '\n',
  );
  await writeFile(
    storageConf,
    ['[storage]', 'driver = "vfs"', `runroot = "${join(dir, 'storage-run')}"`, `graphroot = "${join(dir, 'storage')}"`, ''].join('\n'),
  );
  await writeFile(
    containersConf,
    [
      '[engine]',
      'events_logger = "file"',
      `events_logfile_path = "${join(dir, 'events.log')}"`,
      'cgroup_manager = "cgroupfs"',
      `tmp_dir = "${join(dir, 'libpod-tmp')}"`,
      '',
    ].join('\n'),
  );
  await writeFile(authFile, '{"auths":{}}\n');
  const env: Record<string, string> = {
    CONTAINERS_REGISTRIES_CONF: registriesConf,
    CONTAINERS_STORAGE_CONF: storageConf,
    CONTAINERS_CONF: containersConf,
    REGISTRY_AUTH_FILE: authFile,
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_DATA_HOME: join(home, '.local/share'),
    XDG_CACHE_HOME: join(home, '.cache'),
    TMPDIR: tmp,
  };
  let counter = 0;
  const merge = (opts: RunOptions): RunOptions => ({ ...opts, env: { ...env, ...opts.env } });
  return {
    dir,
    env,
    registriesConf,
    storageConf,
    containersConf,
    authFile,
    tempDir: async (prefix = 'scratch') => {
      const path = join(dir, `${prefix}-${++counter}`);
      await mkdir(path, { recursive: true });
      return path;
    },
    run: (cmd, args, opts = {}) => run(cmd, args, merge(opts)),
    runOk: (cmd, args, opts = {}) => runOk(cmd, args, merge(opts)),
    runFails: (cmd, args, opts = {}) => runFails(cmd, args, merge(opts)),
    cleanup: async () => {
      if (process.env['WHARF_E2E_KEEP'] === '1') return;
      await rm(dir, { recursive: true, force: true, maxRetries: 3 });
    },
  };
}

/** An image ID as `sha256:HEX`, whether a tool printed it with or without the algorithm. */
export function imageId(id: string): string {
  const trimmed = id.trim();
  return trimmed.startsWith('sha256:') ? trimmed : `sha256:${trimmed}`;
}

/** A short random suffix so repository names never collide between runs (or with an external target). */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

// ---- OCI image layouts ---------------------------------------------------------------------------

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { architecture: string; os: string; variant?: string };
}

export interface LayoutIndex {
  schemaVersion: number;
  mediaType?: string;
  manifests: Descriptor[];
}

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
const REF_NAME = 'org.opencontainers.image.ref.name';

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export async function readLayoutIndex(layout: string): Promise<LayoutIndex> {
  return JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as LayoutIndex;
}

/** The descriptor tagged `ref` in a layout's index.json. */
export async function layoutRef(layout: string, ref: string): Promise<Descriptor> {
  const index = await readLayoutIndex(layout);
  const found = index.manifests.filter((d) => d.annotations?.[REF_NAME] === ref);
  const last = found[found.length - 1];
  if (last === undefined) throw new Error(`no ${ref} in ${layout}/index.json`);
  return last;
}

export function blobPath(layout: string, digest: string): string {
  const [algorithm, hex] = digest.split(':');
  if (algorithm === undefined || hex === undefined) throw new Error(`bad digest ${digest}`);
  return join(layout, 'blobs', algorithm, hex);
}

export async function readBlob(layout: string, digest: string): Promise<Buffer> {
  return await readFile(blobPath(layout, digest));
}

/** A JSON blob of the layout, parsed (the caller names the shape it expects). */
export async function readJsonBlob<T>(layout: string, digest: string): Promise<T> {
  return JSON.parse((await readBlob(layout, digest)).toString('utf8')) as T;
}

/** Every blob in a layout, digest → bytes. */
export async function layoutBlobs(layout: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const root = join(layout, 'blobs');
  for (const algorithm of await readdir(root)) {
    for (const hex of await readdir(join(root, algorithm))) {
      out.set(`${algorithm}:${hex}`, await readFile(join(root, algorithm, hex)));
    }
  }
  return out;
}

/** Writes `data` as a blob of the layout and returns its descriptor fields. */
export async function writeBlob(layout: string, data: Buffer | string): Promise<{ digest: string; size: number }> {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  const digest = sha256(bytes);
  const path = blobPath(layout, digest);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, bytes);
  return { digest, size: bytes.length };
}

/**
 * Digests reachable from a descriptor (the manifest or index itself, configs, layers, child
 * manifests), each with the layout's bytes.
 */
export async function reachableBlobs(layout: string, root: Descriptor): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const visit = async (d: Descriptor): Promise<void> => {
    if (out.has(d.digest)) return;
    const bytes = await readBlob(layout, d.digest);
    out.set(d.digest, bytes);
    if (![OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST].includes(d.mediaType)) return;
    const doc = JSON.parse(bytes.toString('utf8')) as { config?: Descriptor; layers?: Descriptor[]; manifests?: Descriptor[] };
    for (const child of [...(doc.config ? [doc.config] : []), ...(doc.layers ?? []), ...(doc.manifests ?? [])]) await visit(child);
  };
  await visit(root);
  return out;
}

/**
 * Adds a hand-written OCI image index (e.g. a multi-arch image) to a layout, tagged `ref`.
 * Returns the index descriptor; the index bytes are `readBlob(layout, digest)`.
 */
export async function addIndex(layout: string, ref: string, manifests: Descriptor[], annotations?: Record<string, string>): Promise<Descriptor> {
  const doc = {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: manifests.map((m) => ({ mediaType: m.mediaType, digest: m.digest, size: m.size, ...(m.platform ? { platform: m.platform } : {}) })),
    ...(annotations ? { annotations } : {}),
  };
  const { digest, size } = await writeBlob(layout, JSON.stringify(doc));
  const index = await readLayoutIndex(layout);
  const descriptor: Descriptor = { mediaType: OCI_INDEX, digest, size, annotations: { [REF_NAME]: ref } };
  index.manifests = index.manifests.filter((d) => d.annotations?.[REF_NAME] !== ref);
  index.manifests.push(descriptor);
  await writeFile(join(layout, 'index.json'), JSON.stringify(index));
  return descriptor;
}

// ---- building images ---------------------------------------------------------------------------

/** Files of one layer: path inside the image → content. */
export type LayerFiles = Record<string, Buffer | string>;

export interface ImageConfig {
  architecture?: string;
  os?: string;
  cmd?: string[];
  entrypoint?: string[];
  env?: string[];
  labels?: Record<string, string>;
  workingDir?: string;
}

/** Random file contents (incompressible, so layer sizes are predictable). */
export function randomFiles(count: number, bytes: number, prefix = 'file'): LayerFiles {
  const files: LayerFiles = {};
  for (let i = 0; i < count; i++) files[`${prefix}-${i}.bin`] = randomBytes(bytes);
  return files;
}

async function writeFiles(root: string, files: LayerFiles): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    const target = join(root, path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, content);
  }
}

/**
 * Builds an image with umoci in an OCI layout (created when missing) and tags it `tag`: one
 * layer per entry of `layers`, then the config. Nothing is run. Returns the manifest descriptor
 * (with platform) as written to index.json.
 */
export async function umociImage(
  env: ClientEnv,
  layout: string,
  tag: string,
  spec: { layers: LayerFiles[]; config?: ImageConfig },
): Promise<Descriptor> {
  if (!existsSync(join(layout, 'index.json'))) await env.runOk('umoci', ['init', '--layout', layout]);
  const image = `${layout}:${tag}`;
  await env.runOk('umoci', ['new', '--image', image]);
  const bundle = await env.tempDir('umoci-bundle');
  await rm(bundle, { recursive: true });
  await env.runOk('umoci', ['unpack', '--rootless', '--image', image, bundle]);
  for (const files of spec.layers) {
    await writeFiles(join(bundle, 'rootfs'), files);
    await env.runOk('umoci', ['repack', '--refresh-bundle', '--image', image, bundle]);
  }
  await rm(bundle, { recursive: true, force: true });
  const c = spec.config ?? {};
  const args = ['config', '--image', image];
  if (c.architecture !== undefined) args.push('--architecture', c.architecture);
  if (c.os !== undefined) args.push('--os', c.os);
  for (const v of c.cmd ?? []) args.push('--config.cmd', v);
  for (const v of c.entrypoint ?? []) args.push('--config.entrypoint', v);
  for (const v of c.env ?? []) args.push('--config.env', v);
  for (const [k, v] of Object.entries(c.labels ?? {})) args.push('--config.label', `${k}=${v}`);
  if (c.workingDir !== undefined) args.push('--config.workingdir', c.workingDir);
  await env.runOk('umoci', args);
  const descriptor = await layoutRef(layout, tag);
  const manifest = await readJsonBlob<{ config: Descriptor }>(layout, descriptor.digest);
  const config = await readJsonBlob<{ architecture: string; os: string }>(layout, manifest.config.digest);
  return { ...descriptor, platform: { architecture: config.architecture, os: config.os } };
}

/**
 * Builds an image with buildah without running anything: `from scratch`, one `copy` per file,
 * `config`, `commit --format oci` to `name` in local storage. Returns the image ID.
 */
export async function buildahImage(env: ClientEnv, name: string, spec: { files: LayerFiles; config?: ImageConfig }): Promise<string> {
  const ctx = await env.tempDir('buildah-context');
  await writeFiles(ctx, spec.files);
  const container = (await env.runOk('buildah', ['from', '--quiet', 'scratch'])).stdout.trim();
  try {
    for (const path of Object.keys(spec.files)) await env.runOk('buildah', ['copy', '--quiet', container, join(ctx, path), `/${path}`]);
    const c = spec.config ?? {};
    const args = ['config'];
    if (c.architecture !== undefined) args.push('--arch', c.architecture);
    if (c.os !== undefined) args.push('--os', c.os);
    if (c.cmd !== undefined) args.push('--cmd', JSON.stringify(c.cmd));
    if (c.entrypoint !== undefined) args.push('--entrypoint', JSON.stringify(c.entrypoint));
    for (const v of c.env ?? []) args.push('--env', v);
    for (const [k, v] of Object.entries(c.labels ?? {})) args.push('--label', `${k}=${v}`);
    if (c.workingDir !== undefined) args.push('--workingdir', c.workingDir);
    await env.runOk('buildah', [...args, container]);
    return (await env.runOk('buildah', ['commit', '--quiet', '--format', 'oci', container, name])).stdout.trim();
  } finally {
    await env.run('buildah', ['rm', container]);
  }
}
