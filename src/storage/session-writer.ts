import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { type AlignedBufferPool, DIRECT_IO_ALIGNMENT } from './aligned-buffers.ts';

export interface SessionWriterOptions {
  pool: AlignedBufferPool;
  /** Try O_DIRECT for aligned blocks (falls back to buffered writes where the filesystem refuses it). */
  directIo: boolean;
  /** Buffers being written while the next one fills; the body is paused beyond this. */
  maxInFlight: number;
  /** Start flushing to the device every this many bytes, so the commit's fsync has little left to do. */
  syncEveryBytes: number;
  /** Called once when O_DIRECT turns out not to work here, so later sessions don't try again. */
  onDirectIoUnsupported: () => void;
}

function errorCode(err: unknown): unknown {
  return typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
}

/** A regular file takes all of a write or fails; anything else means the disk is full. */
function shortWrite(written: number, wanted: number): Error {
  return Object.assign(new Error(`short write: ${written} of ${wanted} bytes`), { code: 'ENOSPC' });
}

/**
 * Appends a stream of chunks to an upload session file at `start`, copying them into aligned
 * buffers that are written while the next ones fill.
 *
 * Whole aligned blocks go through O_DIRECT: a large push then costs the device's bandwidth
 * only, instead of allocating page cache for every byte (on the VMs this was measured on, first
 * use of a page-cache page cost more than the disk write itself) and evicting what pulls need.
 * The unaligned head and tail of a chunk go through the page cache as usual. Writes are flushed
 * to the device periodically in the background, so the fsync at commit is short.
 *
 * Failures of background writes surface on the next write() or on finish().
 */
export class SessionWriter {
  private readonly opts: SessionWriterOptions;
  private readonly buffered: FileHandle;
  private direct: FileHandle | null;
  private current: Buffer;
  private fill = 0;
  /** File offset of current[0]. */
  private position: number;
  private inFlight = 0;
  private failure: { err: unknown } | null = null;
  private wake: (() => void) | null = null;
  private syncing: Promise<void> | null = null;
  private unsynced = 0;

  private constructor(opts: SessionWriterOptions, buffered: FileHandle, direct: FileHandle | null, start: number) {
    this.opts = opts;
    this.buffered = buffered;
    this.direct = direct;
    this.position = start;
    this.current = opts.pool.take();
  }

  static async open(path: string, start: number, opts: SessionWriterOptions): Promise<SessionWriter> {
    const buffered = await open(path, 'r+');
    let direct: FileHandle | null = null;
    if (opts.directIo) {
      try {
        direct = await open(path, constants.O_WRONLY | constants.O_DIRECT);
      } catch (err) {
        if (errorCode(err) !== 'EINVAL') {
          await buffered.close();
          throw err;
        }
        opts.onDirectIoUnsupported();
      }
    }
    return new SessionWriter(opts, buffered, direct, start);
  }

  /** The sink for one chunk; a returned promise means "wait before sending more". */
  write(chunk: Uint8Array): void | Promise<void> {
    this.check();
    let offset = 0;
    while (offset < chunk.length) {
      const n = Math.min(chunk.length - offset, this.target() - this.fill);
      this.current.set(chunk.subarray(offset, offset + n), this.fill);
      this.fill += n;
      offset += n;
      if (this.fill === this.target()) this.submitCurrent();
    }
    if (this.inFlight < this.opts.maxInFlight) return undefined;
    return new Promise<void>((resolve) => {
      this.wake = resolve;
    }).then(() => this.check());
  }

  /** Writes what is left, waits for every write and returns the session's new size. */
  async finish(): Promise<number> {
    if (this.fill > 0) {
      const aligned = this.position % DIRECT_IO_ALIGNMENT === 0 ? this.fill - (this.fill % DIRECT_IO_ALIGNMENT) : 0;
      if (aligned > 0) await this.writeBlock(this.current.subarray(0, aligned), this.position);
      if (aligned < this.fill) await this.writeBuffered(this.current.subarray(aligned, this.fill), this.position + aligned);
      this.position += this.fill;
      this.fill = 0;
    }
    await this.settle();
    this.check();
    return this.position;
  }

  /** Waits for every write and background flush, failed or not (before a rollback). */
  async settle(): Promise<void> {
    while (this.inFlight > 0) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
    await this.syncing;
  }

  async close(): Promise<void> {
    this.opts.pool.give(this.current);
    await this.buffered.close();
    await this.direct?.close();
  }

  /** Bytes the current buffer takes before it is written: up to the next aligned offset first. */
  private target(): number {
    const misalignment = this.position % DIRECT_IO_ALIGNMENT;
    return misalignment === 0 ? this.current.length : DIRECT_IO_ALIGNMENT - misalignment;
  }

  private submitCurrent(): void {
    const buffer = this.current;
    const at = this.position;
    const length = this.fill;
    this.position += length;
    this.fill = 0;
    this.current = this.opts.pool.take();
    this.inFlight++;
    const write =
      at % DIRECT_IO_ALIGNMENT === 0 && length % DIRECT_IO_ALIGNMENT === 0
        ? this.writeBlock(buffer.subarray(0, length), at)
        : this.writeBuffered(buffer.subarray(0, length), at);
    write.then(
      () => this.written(buffer, length),
      (err: unknown) => {
        this.failure ??= { err };
        this.written(buffer, 0);
      },
    );
  }

  private written(buffer: Buffer, length: number): void {
    this.opts.pool.give(buffer);
    this.inFlight--;
    this.unsynced += length;
    if (this.unsynced >= this.opts.syncEveryBytes && this.syncing === null && this.failure === null) {
      this.unsynced = 0;
      this.syncing = this.buffered.datasync().then(
        () => {
          this.syncing = null;
        },
        (err: unknown) => {
          this.failure ??= { err };
          this.syncing = null;
        },
      );
    }
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  /** An aligned block: O_DIRECT when available; a filesystem that rejects it gets it buffered. */
  private async writeBlock(block: Buffer, at: number): Promise<void> {
    const direct = this.direct;
    if (direct !== null) {
      try {
        const { bytesWritten } = await direct.write(block, 0, block.length, at);
        if (bytesWritten !== block.length) throw shortWrite(bytesWritten, block.length);
        return;
      } catch (err) {
        if (errorCode(err) !== 'EINVAL') throw err;
        this.direct = null;
        this.opts.onDirectIoUnsupported();
        await direct.close().catch(() => undefined);
      }
    }
    await this.writeBuffered(block, at);
  }

  private async writeBuffered(bytes: Buffer, at: number): Promise<void> {
    const { bytesWritten } = await this.buffered.write(bytes, 0, bytes.length, at);
    if (bytesWritten !== bytes.length) throw shortWrite(bytesWritten, bytes.length);
  }

  private check(): void {
    if (this.failure) throw this.failure.err;
  }
}
