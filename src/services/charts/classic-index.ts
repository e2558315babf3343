/**
 * Each owner's classic Helm repository: the index.yaml of its listed charts (streamed from the
 * database, or rendered once per generation into a disk cache) and the archives it lists. See
 * docs/helm.md and docs/adr/0004-helm-index.md.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { renderIndexDocument } from '../../charts/index-stream.ts';
import { RegistryError } from '../../errors.ts';
import type { IndexRow } from '../../metadata/charts.ts';
import type { Metadata } from '../../metadata/metadata.ts';
import type { Digest } from '../../oci/digest.ts';
import type { RepoName } from '../../oci/name.ts';
import type { RegistryService } from '../registry.ts';

const PAGE_ROWS = 500;

export interface ClassicIndexDeps {
  metadata: Metadata;
  registry: RegistryService;
  /** Where rendered index.yaml files are kept per generation; null streams every response from the database. */
  indexCacheDir: string | null;
}

/** An index.yaml ready to be sent: validators plus a way to open its bytes. */
export interface IndexDocument {
  /** Strong validator of the identity representation, unquoted (`<epoch>-<generation>[-<filter>]`). */
  etag: string;
  lastModified: number;
  /** Repositories with listed charts that the caller may not see. */
  hidden: number;
  /** Repositories with listed charts that the caller sees. */
  visible: number;
  /** A rendered file on local disk (the per-generation cache), or a stream from the database. */
  open(encoding: 'identity' | 'gzip'): Promise<IndexBody>;
}

/** The cache's file comes opened (the sender closes it): HTTP never opens a path (ADR 0020). */
export type IndexBody = { kind: 'file'; handle: FileHandle; size: number } | { kind: 'stream'; stream: Readable };

export interface ChartFile {
  repo: RepoName;
  digest: Digest;
  size: number;
  kind: 'chart' | 'prov';
  open(): Promise<Readable>;
}

async function fileSize(path: string): Promise<number | null> {
  try {
    return (await stat(path)).size;
  } catch {
    return null;
  }
}

export class ClassicIndex {
  private readonly deps: ClassicIndexDeps;
  /** Listed repositories per owner, valid for one generation (checked against the database). */
  private readonly repoMemo = new Map<string, { key: string; repos: RepoName[] }>();
  /** In-flight cache builds, so concurrent requests for a new generation render it once. */
  private readonly building = new Map<string, Promise<string>>();

  constructor(deps: ClassicIndexDeps) {
    this.deps = deps;
  }

  /**
   * The owner's index.yaml as `canPull` lets the caller see it. Access is checked per
   * repository (not per version); a caller who sees everything gets the shared document.
   */
  async indexDocument(owner: string, canPull: (repo: RepoName) => Promise<boolean>): Promise<IndexDocument> {
    const charts = this.deps.metadata.charts;
    const state = (await charts.ownerState(owner)) ?? { generation: 0, epoch: '0', updatedAt: 0 };
    const base = `${state.epoch}-${state.generation}`;
    const repos = await this.listedRepos(owner, base);
    const visible: RepoName[] = [];
    for (const repo of repos) if (await canPull(repo)) visible.push(repo);
    const generated = new Date(state.updatedAt).toISOString();

    const counts = { hidden: repos.length - visible.length, visible: visible.length };
    if (visible.length === repos.length) {
      const cacheDir = this.deps.indexCacheDir;
      return {
        etag: base,
        lastModified: state.updatedAt,
        ...counts,
        open: async (encoding) => {
          if (cacheDir === null) return { kind: 'stream', stream: this.streamIndex(owner, generated, null, encoding) };
          const { path, size } = await this.cachedIndex(cacheDir, owner, base, generated, encoding);
          return { kind: 'file', handle: await open(path, 'r'), size };
        },
      };
    }
    const allowed = new Set<string>(visible);
    const filter = createHash('sha256').update(visible.join('\n')).digest('hex').slice(0, 16);
    return {
      etag: `${base}-${filter}`,
      lastModified: state.updatedAt,
      ...counts,
      open: async (encoding) => ({ kind: 'stream', stream: this.streamIndex(owner, generated, allowed, encoding) }),
    };
  }

  private async listedRepos(owner: string, key: string): Promise<RepoName[]> {
    const memo = this.repoMemo.get(owner);
    if (memo && memo.key === key) return memo.repos;
    const repos = await this.deps.metadata.charts.listedRepos(owner);
    this.repoMemo.set(owner, { key, repos });
    return repos;
  }

  private streamIndex(owner: string, generated: string, allowed: Set<string> | null, encoding: 'identity' | 'gzip'): Readable {
    const charts = this.deps.metadata.charts;
    const doc = renderIndexDocument<IndexRow>((after) => charts.indexPage(owner, after?.indexKey ?? null, PAGE_ROWS), {
      generated,
      ...(allowed ? { include: (row: IndexRow) => allowed.has(row.repo) } : {}),
    });
    const plain = Readable.from(doc, { objectMode: false });
    if (encoding === 'identity') return plain;
    const gz = createGzip({ level: 6 });
    pipeline(plain, gz).catch((err: unknown) => gz.destroy(err instanceof Error ? err : new Error(String(err))));
    return gz;
  }

  /**
   * The rendered document of one generation on local disk. Files are named by epoch and
   * generation, so a replica never serves a generation the database has moved past.
   */
  private async cachedIndex(
    dir: string,
    owner: string,
    base: string,
    generated: string,
    encoding: 'identity' | 'gzip',
  ): Promise<{ path: string; size: number }> {
    const ownerDir = join(dir, owner);
    const plainPath = join(ownerDir, `${base}.yaml`);
    const path = encoding === 'gzip' ? `${plainPath}.gz` : plainPath;
    const size = await fileSize(path);
    if (size !== null) return { path, size };
    let job = this.building.get(path);
    if (!job) {
      job = (async () => {
        await mkdir(ownerDir, { recursive: true });
        const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
        try {
          if (encoding === 'gzip') {
            const source = (await fileSize(plainPath)) !== null ? createReadStream(plainPath) : this.streamIndex(owner, generated, null, 'identity');
            await pipeline(source, createGzip({ level: 6 }), createWriteStream(tmp));
          } else {
            await pipeline(this.streamIndex(owner, generated, null, 'identity'), createWriteStream(tmp));
          }
          await rename(tmp, path);
        } catch (err) {
          await rm(tmp, { force: true });
          throw err;
        }
        await this.pruneCache(ownerDir, base);
        return path;
      })().finally(() => this.building.delete(path));
      this.building.set(path, job);
    }
    await job;
    return { path, size: (await fileSize(path)) ?? 0 };
  }

  /** Drops other generations' files once no request can still be about to open them. */
  private async pruneCache(ownerDir: string, keep: string): Promise<void> {
    const cutoff = Date.now() - 60_000;
    for (const name of await readdir(ownerDir).catch(() => [] as string[])) {
      if (name.startsWith(`${keep}.`)) continue;
      const file = join(ownerDir, name);
      const info = await stat(file).catch(() => null);
      if (info && info.mtimeMs < cutoff) await rm(file, { force: true }).catch(() => undefined);
    }
  }

  /** `<name>-<version>.tgz` or `.tgz.prov` of the owner's classic repository. */
  async chartFile(owner: string, filename: string): Promise<ChartFile> {
    const prov = filename.endsWith('.tgz.prov');
    const tgzName = prov ? filename.slice(0, -'.prov'.length) : filename;
    const rec = await this.deps.metadata.charts.byFilename(owner, tgzName);
    const digest = prov ? rec?.provDigest : rec?.chartDigest;
    if (!rec || !digest) throw new RegistryError('NOT_FOUND', `${filename} not found`, { owner, file: filename });
    const blob = await this.deps.registry.blob(rec.repo, digest);
    return { repo: rec.repo, digest, size: blob.size, kind: prov ? 'prov' : 'chart', open: () => blob.open(blob.size > 0 ? { start: 0, end: blob.size - 1 } : undefined) };
  }

  /** A classic-repository download: a pull of the chart's (or provenance's) blob. */
  recordDownload(f: ChartFile): void {
    this.deps.registry.recordBlobPull(f.repo, f.digest, f.size);
  }
}
