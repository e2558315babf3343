/**
 * Cuts a byte stream into parts of exactly `partSize` bytes. Holds at most one part plus the
 * last chunk pushed, so memory per upload stays bounded whatever the blob's size.
 */
export class PartCutter {
  private chunks: Buffer[] = [];
  private bytes = 0;
  private readonly partSize: number;

  constructor(partSize: number) {
    this.partSize = partSize;
  }

  get buffered(): number {
    return this.bytes;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
    this.bytes += chunk.length;
  }

  /** The next full part, or null while fewer than `partSize` bytes are buffered. */
  takePart(): Buffer | null {
    if (this.bytes < this.partSize) return null;
    const all = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.bytes);
    const part = all.subarray(0, this.partSize);
    const rest = all.subarray(this.partSize);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.bytes = rest.length;
    return part;
  }

  /** Whatever is left (fewer than `partSize` bytes). */
  rest(): Buffer {
    const out = Buffer.concat(this.chunks, this.bytes);
    this.chunks = [];
    this.bytes = 0;
    return out;
  }
}
