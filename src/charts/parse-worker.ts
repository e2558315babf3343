/**
 * The worker-thread side of ChartParser: unpacks a chart archive and reads its Chart.yaml off the
 * server's event loop (see parser.ts). Errors that describe the chart travel back as values:
 * class identity does not survive the thread boundary.
 */
import { type ArchiveLimits, type ArchiveResult, readChartArchive } from './archive.ts';
import { ChartError, type ChartMetadata, parseChartYaml } from './metadata.ts';

export interface ParseTask {
  tgz: Uint8Array;
  limits: ArchiveLimits;
}

export type ParseOutcome = { ok: true; archive: ArchiveResult; meta: ChartMetadata } | { ok: false; error: string };

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

export default async function parseChart(task: ParseTask): Promise<ParseOutcome> {
  try {
    const archive = await readChartArchive(once(task.tgz), task.limits);
    const meta = parseChartYaml(archive.files.chartYaml, archive.files.requirementsYaml ?? undefined);
    return { ok: true, archive, meta };
  } catch (err) {
    if (err instanceof ChartError) return { ok: false, error: err.message };
    throw err;
  }
}
