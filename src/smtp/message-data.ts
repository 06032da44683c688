const CR = 13;
const LF = 10;
const DOT = 46;

/**
 * The DATA payload for `data` (RFC 5321 4.5.2): every line ending becomes CRLF (no bare CR or LF
 * is ever sent), a line starting with "." gets a second ".", and the payload ends with CRLF
 * followed by the terminating ".\r\n".
 *
 * @example
 * ```ts
 * dataPayload(bytes("Hi\n.hidden\n")); // "Hi\r\n..hidden\r\n.\r\n"
 * ```
 */
export function dataPayload(data: Uint8Array): Uint8Array {
  // Worst case: every byte a bare LF or a leading dot (doubles), plus the terminator.
  const out = new Uint8Array(data.length * 2 + 5);
  let o = 0;
  let lineStart = true;
  for (let i = 0; i < data.length; i++) {
    const b = data[i]!;
    if (b === CR || b === LF) {
      out[o++] = CR;
      out[o++] = LF;
      if (b === CR && data[i + 1] === LF) i++;
      lineStart = true;
      continue;
    }
    if (lineStart && b === DOT) out[o++] = DOT;
    out[o++] = b;
    lineStart = false;
  }
  if (!lineStart) {
    out[o++] = CR;
    out[o++] = LF;
  }
  out[o++] = DOT;
  out[o++] = CR;
  out[o++] = LF;
  return out.subarray(0, o);
}

/** True when `data` has a byte >= 0x80 (needs 8BITMIME). */
export function hasEightBit(data: Uint8Array): boolean {
  for (let i = 0; i < data.length; i++) if (data[i]! >= 0x80) return true;
  return false;
}
