/** An inclusive byte range of a blob, as an HTTP `Range` names it (`bytes=start-end`). */
export interface ByteRange {
  start: number;
  end: number;
}
