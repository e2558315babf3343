/** O_DIRECT needs buffer addresses, file offsets and lengths aligned to the device's logical block; 4 KiB covers every common device. */
export const DIRECT_IO_ALIGNMENT = 4096;

const WASM_PAGE = 64 * 1024;

// The project's type libraries (es2024 + @types/node) do not declare WebAssembly; this is the
// one constructor used here.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
const WasmMemory = (globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number; maximum: number }) => WasmMemory } })
  .WebAssembly.Memory;

/**
 * Reusable page-aligned buffers for direct I/O. Node has no aligned allocation, but the backing
 * store of a WebAssembly.Memory is always page-aligned. Idle buffers are kept up to a bound and
 * beyond it left to the garbage collector, so memory follows the number of uploads in flight.
 */
export class AlignedBufferPool {
  readonly bufferBytes: number;
  private readonly maxIdle: number;
  private readonly idle: Buffer[] = [];

  constructor(bufferBytes: number, maxIdle: number) {
    if (bufferBytes % WASM_PAGE !== 0) throw new Error(`buffer size must be a multiple of ${WASM_PAGE}`);
    this.bufferBytes = bufferBytes;
    this.maxIdle = maxIdle;
  }

  take(): Buffer {
    const pages = this.bufferBytes / WASM_PAGE;
    return this.idle.pop() ?? Buffer.from(new WasmMemory({ initial: pages, maximum: pages }).buffer);
  }

  give(buffer: Buffer): void {
    if (this.idle.length < this.maxIdle) this.idle.push(buffer);
  }
}
