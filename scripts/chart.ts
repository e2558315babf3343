/**
 * `npm run chart`: packages deploy/helm/wharf, optionally with its default image pointing at an
 * image you pushed (so `helm install oci://…/wharf` needs no --set). The chart directory itself is
 * left alone: the values are rewritten in a temporary copy, comments kept.
 *
 *   npm run chart                                                   # → dist/wharf-0.1.0.tgz
 *   npm run chart -- --image registry.example.com/acme/wharf@sha256:… [--version 0.1.1] [--out DIR]
 *
 * The last line printed is the path of the packaged chart.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseDocument } from 'yaml';
import { repoRoot } from './build.ts';

export const chartDir = join(repoRoot, 'deploy', 'helm', 'wharf');

export interface ImageRef {
  repository: string;
  tag?: string;
  digest?: string;
}

/** `host/path[:tag][@sha256:…]` → its parts (a port in the host is not a tag). */
export function parseImageRef(ref: string): ImageRef {
  const [name = '', digest] = ref.split('@');
  const slash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  const hasTag = colon > slash;
  const repository = hasTag ? name.slice(0, colon) : name;
  if (!repository) throw new Error(`not an image reference: ${ref}`);
  if (digest !== undefined && !/^sha256:[a-f0-9]{64}$/.test(digest)) throw new Error(`bad digest in ${ref}`);
  return { repository, ...(hasTag ? { tag: name.slice(colon + 1) } : {}), ...(digest ? { digest } : {}) };
}

/** The Helm binary: HELM, else helm on PATH, else .tools/helm4 or .tools/helm3. */
export function helmBinary(): string {
  if (process.env['HELM']) return process.env['HELM'];
  if (spawnSync('helm', ['version', '--short'], { encoding: 'utf8' }).status === 0) return 'helm';
  for (const tool of ['helm4', 'helm3']) {
    const path = join(repoRoot, '.tools', tool, 'helm');
    if (existsSync(path)) return path;
  }
  throw new Error('no helm: install Helm or run bash scripts/install-test-deps.sh');
}

export function packageChart(opts: { image?: ImageRef; version?: string; appVersion?: string; outDir?: string; helm?: string } = {}): string {
  const work = mkdtempSync(join(tmpdir(), 'wharf-chart-'));
  try {
    const dir = join(work, 'wharf');
    cpSync(chartDir, dir, { recursive: true });
    if (opts.image) {
      const valuesFile = join(dir, 'values.yaml');
      const doc = parseDocument(readFileSync(valuesFile, 'utf8'));
      doc.setIn(['image', 'repository'], opts.image.repository);
      if (opts.image.tag !== undefined) doc.setIn(['image', 'tag'], opts.image.tag);
      if (opts.image.digest !== undefined) doc.setIn(['image', 'digest'], opts.image.digest);
      writeFileSync(valuesFile, doc.toString());
    }
    const outDir = resolve(opts.outDir ?? join(repoRoot, 'dist'));
    mkdirSync(outDir, { recursive: true });
    const args = ['package', dir, '--destination', outDir];
    if (opts.version) args.push('--version', opts.version);
    if (opts.appVersion) args.push('--app-version', opts.appVersion);
    const res = spawnSync(opts.helm ?? helmBinary(), args, { encoding: 'utf8' });
    if (res.status !== 0) throw new Error(`helm package failed:\n${res.stderr}${res.stdout}`);
    const path = /saved it to: (\S+)/.exec(res.stdout)?.[1];
    if (!path) throw new Error(`helm package said: ${res.stdout}`);
    return path;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: { image: { type: 'string' }, version: { type: 'string' }, 'app-version': { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  });
  if (values.help) {
    console.log('usage: npm run chart -- [--image REPO[:TAG][@DIGEST]] [--version V] [--app-version V] [--out DIR]');
    process.exit(0);
  }
  try {
    console.log(
      packageChart({
        ...(values.image ? { image: parseImageRef(values.image) } : {}),
        ...(values.version ? { version: values.version } : {}),
        ...(values['app-version'] ? { appVersion: values['app-version'] } : {}),
        ...(values.out ? { outDir: values.out } : {}),
      }),
    );
  } catch (err) {
    console.error(`chart: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}
