import { z } from 'zod';

/**
 * The state of one upload session, kept as a small JSON object next to the session's bytes in
 * the bucket (never only in a replica's memory), so any replica can continue the session.
 *
 * The session's bytes are, in order: the `assembled` object (a completed multipart upload kept
 * after a failed digest check), or the committed `parts` of the open multipart upload, then the
 * `tail` object (fewer than `partSize` bytes that do not make a part yet). Every part is exactly
 * `partSize` bytes, so offsets follow from counts. The state object is written last by every
 * operation: it is the commit point, and bytes it does not reference are garbage.
 */
const partSchema = z.object({ n: z.number().int().min(1), etag: z.string() });

export const sessionStateSchema = z.object({
  v: z.literal(1),
  partSize: z.number().int().positive(),
  size: z.number().int().min(0),
  mpu: z.object({ key: z.string(), uploadId: z.string(), parts: z.array(partSchema) }).nullable(),
  assembled: z.object({ key: z.string(), size: z.number().int().min(0) }).nullable(),
  tail: z.object({ key: z.string(), size: z.number().int().positive() }).nullable(),
  /**
   * sha256 of the session's first `size` bytes, recorded by a replica whose running hash saw
   * them all. Node cannot serialise a hash in progress, but a finished digest travels fine: a
   * commit on another replica uses it instead of re-reading the bytes when sizes agree.
   */
  sha256: z.object({ size: z.number().int().min(0), hex: z.string().regex(/^[0-9a-f]{64}$/) }).nullable(),
});

export type SessionState = z.infer<typeof sessionStateSchema>;
export type PartRef = z.infer<typeof partSchema>;

export function emptySession(partSize: number): SessionState {
  return { v: 1, partSize, size: 0, mpu: null, assembled: null, tail: null, sha256: null };
}

export function parseSession(text: string): SessionState {
  return sessionStateSchema.parse(JSON.parse(text));
}

/** The session's size as its parts describe it (used to cross-check `size`). */
export function describedSize(s: SessionState): number {
  const head = s.assembled ? s.assembled.size : (s.mpu?.parts.length ?? 0) * s.partSize;
  return head + (s.tail?.size ?? 0);
}
