/**
 * A minor (young-generation) garbage collection, when the process runs with `--expose-gc`
 * (the project's launchers pass it), otherwise nothing.
 *
 * Why: every socket read allocates a new 64 KiB buffer. A large upload allocates almost no
 * JavaScript objects, so the young generation never fills and V8 only collects those buffers
 * once 64 MiB of them pile up outside its heap, with a full mark-compact. Collecting the young
 * generation every few MiB of received body frees them while they are still young: measured on
 * a 512 MiB push, peak RSS grew by 20 MiB instead of 90, and the receiving loop got faster
 * (docs/benchmarks.md).
 */
type Gc = (options: { type: 'minor' | 'major'; execution?: 'sync' | 'async' }) => void;

const gc = (globalThis as { gc?: Gc }).gc;

export function collectYoungGarbage(): void {
  gc?.({ type: 'minor' });
}

/** Bytes of request body between two young collections. */
export const YOUNG_GC_EVERY_BYTES = 4 << 20;
