import { createHash, type Hash } from 'node:crypto';
import type { Digest, DigestAlgorithm } from '../oci/digest.ts';
import { digestAlgorithm } from '../oci/digest.ts';

/**
 * Incremental sha256 state of upload sessions, kept in memory by the process that received
 * the bytes. Node cannot serialise hash state, so after a restart, on another replica, or for a
 * sha512 digest the store re-reads the session's bytes at commit instead
 * (docs/adr/0002-upload-hashing.md).
 */
export class UploadHashes {
  private readonly states = new Map<string, { hash: Hash; offset: number }>();

  /** A sink for bytes appended at `offset`, or null when our state does not cover [0, offset). */
  tap(id: string, offset: number): Hash | null {
    let state = this.states.get(id);
    if (!state && offset === 0) {
      state = { hash: createHash('sha256'), offset: 0 };
      this.states.set(id, state);
    }
    if (!state || state.offset !== offset) {
      this.states.delete(id);
      return null;
    }
    return state.hash;
  }

  advanced(id: string, offset: number): void {
    const state = this.states.get(id);
    if (state) state.offset = offset;
  }

  /** The state can no longer be trusted (a failed append wrote bytes that were rolled back). */
  forget(id: string): void {
    this.states.delete(id);
  }

  /** The digest if our state covers exactly `size` bytes and the algorithm matches; consumes the state. */
  finish(id: string, size: number, alg: DigestAlgorithm): Digest | null {
    const state = this.states.get(id);
    if (!state || state.offset !== size || alg !== 'sha256') return null;
    this.states.delete(id);
    return `sha256:${state.hash.digest('hex')}` as Digest;
  }

  /** Digest for when finish() could not answer: hash the bytes again from a stream. */
  static async rehash(stream: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, digest: Digest): Promise<Digest> {
    const alg = digestAlgorithm(digest);
    const h = createHash(alg);
    for await (const chunk of stream) h.update(chunk);
    return `${alg}:${h.digest('hex')}` as Digest;
  }
}
