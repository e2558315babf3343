/**
 * A progress line for long CLI operations: redrawn in place on a terminal (at most ~8 times a
 * second), otherwise one line when the phase changes and one every `everyMs` (logs, CI).
 */
import { formatBytes } from '../lib/bytes.ts';

export interface ProgressLine {
  update(phase: string, detail: string): void;
  /** Ends the redrawn line (call before printing anything else). */
  done(): void;
}

export function progressLine(stream: NodeJS.WriteStream, prefix: string, opts: { everyMs?: number; clock?: () => number } = {}): ProgressLine {
  const clock = opts.clock ?? Date.now;
  const tty = stream.isTTY === true;
  const every = tty ? 120 : (opts.everyMs ?? 10_000);
  let lastPhase = '';
  let lastAt = 0;
  let drawn = false;
  return {
    update(phase, detail) {
      const now = clock();
      if (phase === lastPhase && now - lastAt < every) return;
      const line = `${prefix}: ${phase}${detail ? `  ${detail}` : ''}`;
      if (tty) {
        stream.write(`\r\x1b[K${line.slice(0, Math.max(20, (stream.columns ?? 120) - 1))}`);
        drawn = true;
      } else {
        stream.write(`${line}\n`);
      }
      lastPhase = phase;
      lastAt = now;
    },
    done() {
      if (drawn) stream.write('\n');
      drawn = false;
    },
  };
}

/** `blobs 12/480  1.2 GiB/4.0 GiB  30%  45.0 MiB/s` */
export function copyDetail(p: { blobs: number; totalBlobs: number; bytes: number; totalBytes: number }, elapsedMs: number): string {
  const pct = p.totalBytes > 0 ? Math.floor((p.bytes / p.totalBytes) * 100) : 100;
  const rate = elapsedMs > 0 ? `  ${formatBytes((p.bytes / elapsedMs) * 1000)}/s` : '';
  return `blobs ${p.blobs}/${p.totalBlobs}  ${formatBytes(p.bytes)}/${formatBytes(p.totalBytes)}  ${pct}%${rate}`;
}
