/**
 * Which Wharf this is: the version from package.json (src/ and dist/ both sit one level below
 * the repository root) and, in a git checkout, the commit. `wharf --version` and
 * GET /api/v1/version report it.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface VersionInfo {
  name: 'wharf';
  version: string;
  /** Short commit hash of a git checkout (with `-dirty` when it has local changes); null elsewhere (e.g. an image). */
  revision: string | null;
  node: string;
}

const ROOT = join(import.meta.dirname, '..', '..');

function packageVersion(): string {
  try {
    const pkg: unknown = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    if (typeof pkg === 'object' && pkg !== null && 'version' in pkg && typeof pkg.version === 'string') return pkg.version;
  } catch {
    // fall through: a version is still printed
  }
  return '0.0.0-unknown';
}

function gitRevision(): string | null {
  try {
    const run = (args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', timeout: 2000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const hash = run(['rev-parse', '--short=12', 'HEAD']);
    const dirty = run(['status', '--porcelain', '--untracked-files=no', '--', 'src', 'ui/src', 'package.json']) !== '';
    return hash ? `${hash}${dirty ? '-dirty' : ''}` : null;
  } catch {
    return null;
  }
}

/** Reads the version once per call; callers that serve it keep the result. */
export function versionInfo(): VersionInfo {
  return { name: 'wharf', version: packageVersion(), revision: gitRevision(), node: process.version };
}

export function versionLine(v: VersionInfo): string {
  return `wharf ${v.version}${v.revision ? ` (${v.revision})` : ''}, node ${v.node}`;
}
