/**
 * Assembles an index.yaml document from pre-rendered entry fragments, page by page, so memory
 * stays flat whatever the number of versions: at most one page of rows is held at a time.
 */
import { INDEX_EMPTY_ENTRIES, INDEX_HEADER, renderChartKey, renderIndexFooter } from './index-yaml.ts';

export interface FragmentRow {
  name: string;
  version: string;
  repo: string;
  indexEntry: string;
}

/** Fetches the page after the last row of the previous page (null for the first). */
export type PageFetcher<R extends FragmentRow> = (after: R | null) => Promise<R[]>;

/**
 * Yields the document in chunks of roughly `chunkBytes`. Rows must come grouped by chart name
 * and, within a name, with equal versions adjacent: the first of equal versions wins (the
 * same version pushed to two repositories of one owner appears once, as one file name can only
 * serve one archive). `include` filters rows (per-repository access).
 */
export async function* renderIndexDocument<R extends FragmentRow>(
  fetchPage: PageFetcher<R>,
  opts: { generated: string; include?: (row: R) => boolean; chunkBytes?: number },
): AsyncGenerator<string> {
  const chunkBytes = opts.chunkBytes ?? 64 * 1024;
  let buffer = '';
  let name: string | null = null;
  let version: string | null = null;
  let after: R | null = null;
  for (;;) {
    const page = await fetchPage(after);
    if (page.length === 0) break;
    for (const row of page) {
      if (opts.include && !opts.include(row)) continue;
      if (row.name === name && row.version === version) continue;
      if (name === null) buffer += INDEX_HEADER;
      if (row.name !== name) buffer += renderChartKey(row.name);
      buffer += row.indexEntry;
      name = row.name;
      version = row.version;
      if (buffer.length >= chunkBytes) {
        yield buffer;
        buffer = '';
      }
    }
    after = page[page.length - 1] ?? null;
  }
  if (name === null) buffer += INDEX_EMPTY_ENTRIES;
  buffer += renderIndexFooter(opts.generated);
  yield buffer;
}
