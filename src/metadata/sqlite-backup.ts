/**
 * The SQLite side of `wharf backup` / `wharf restore` (embedded profile): an online copy of the
 * live database, made fit to restore, and the blobs a copy references. See docs/adr/0012-….
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { DatabaseSync, backup } from 'node:sqlite';

/**
 * Copies the live database at `source` to `dest` with SQLite's online backup API while the server
 * keeps writing. One step copies every page inside one read transaction, so the copy is the
 * database as of one commit: in WAL mode readers do not block writers, and a copy in several steps
 * would start over whenever another connection commits (under a steady push load, forever).
 */
export async function copySqliteOnline(source: string, dest: string): Promise<{ pages: number }> {
  const db = new DatabaseSync(source);
  try {
    db.exec('PRAGMA busy_timeout = 5000');
    const pages = await backup(db, dest, { rate: 0x7fffffff });
    return { pages };
  } finally {
    db.close();
  }
}

export interface SnapshotFacts {
  /** Distinct blobs linked to any repository. */
  blobs: number;
  bytes: number;
  repositories: number;
  manifests: number;
  tags: number;
}

/**
 * Makes a fresh copy fit to restore, and checks it: upload sessions go (their bytes are not part of
 * a backup; clients restart such uploads), leases go (their holders are not running on the
 * restored data), runs still in progress are marked interrupted. Then `PRAGMA integrity_check`.
 */
export function prepareSnapshot(path: string, now: number): SnapshotFacts {
  const db = new DatabaseSync(path);
  try {
    db.exec('PRAGMA journal_mode = DELETE');
    db.exec('BEGIN');
    db.exec('DELETE FROM uploads');
    if (hasTable(db, 'leases')) db.exec('DELETE FROM leases');
    if (hasTable(db, 'job_runs')) {
      db.prepare(`UPDATE job_runs SET status = 'interrupted', finished_at = ?, error = coalesce(error, 'in progress when the backup was taken') WHERE status = 'running'`).run(now);
    }
    db.exec('COMMIT');
    const check = db.prepare('PRAGMA integrity_check').all();
    const first = check[0] ? Object.values(check[0])[0] : undefined;
    if (check.length !== 1 || first !== 'ok') throw new Error(`integrity check of ${path} failed: ${JSON.stringify(check.slice(0, 5))}`);
    return snapshotFacts(db);
  } finally {
    db.close();
  }
}

function hasTable(db: DatabaseSync, name: string): boolean {
  return db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(name) !== undefined;
}

function count(db: DatabaseSync, sql: string): number {
  const row = db.prepare(sql).get();
  return row ? Number(Object.values(row)[0] ?? 0) : 0;
}

function snapshotFacts(db: DatabaseSync): SnapshotFacts {
  const blobs = db.prepare('SELECT count(*) AS n, coalesce(sum(size), 0) AS bytes FROM (SELECT digest, max(size) AS size FROM repo_blobs GROUP BY digest)').get();
  return {
    blobs: Number(blobs?.['n'] ?? 0),
    bytes: Number(blobs?.['bytes'] ?? 0),
    repositories: count(db, 'SELECT count(*) FROM repositories'),
    manifests: count(db, 'SELECT count(*) FROM manifests'),
    tags: count(db, 'SELECT count(*) FROM tags'),
  };
}

/** Facts about a snapshot or a restored database (read-only). */
export function readSnapshotFacts(path: string): SnapshotFacts {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return snapshotFacts(db);
  } finally {
    db.close();
  }
}

export interface ReferencedBlob {
  digest: string;
  size: number;
}

/**
 * Every blob the database at `path` links to a repository, in digest order, read as it goes (a
 * registry with millions of blobs is never held in memory). The database must not change meanwhile:
 * a snapshot, or a backup being restored.
 */
export function* referencedBlobs(path: string): Generator<ReferencedBlob> {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const rows = db.prepare('SELECT digest, max(size) AS size FROM repo_blobs GROUP BY digest ORDER BY digest').iterate();
    for (const row of rows) yield { digest: String(row['digest']), size: Number(row['size']) };
  } finally {
    db.close();
  }
}

/** SHA-256 of a file, hex. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
