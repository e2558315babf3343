/**
 * What identifies the current state of a repository's tags: the repository's creation time (a
 * re-created repository is not the one that was deleted) and its tag version, bumped in the same
 * transaction as every change to its tags (metadata/packages.ts, PackageStore.tagStamp). What was
 * read from tags under one stamp holds for as long as the stamp is unchanged (ADR 0026).
 */
export interface TagStamp {
  created: number;
  version: number;
}

export function sameTagStamp(a: TagStamp, b: TagStamp): boolean {
  return a.created === b.created && a.version === b.version;
}
