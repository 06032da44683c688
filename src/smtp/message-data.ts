const CR = 13;
const LF = 10;
const DOT = 46;

/**
 * The DATA transparency encoder (RFC 5321 4.5.2) for a message that arrives in chunks: every line
 * ending (CRLF, bare LF or bare CR) becomes CRLF, so no bare CR or LF is ever sent, and a line
 * starting with "." gets a second ".". Its state (at the start of a line, just after a CR) carries
 * over from one chunk to the next, so a CRLF or a leading dot split between two chunks is encoded
 * exactly as if the message were whole. `end()` closes the payload with CRLF "." CRLF.
 *
 * @example
 * ```ts
 * const enc = new DataEncoder();
 * enc.push(bytes("Hi\r"));        // "Hi\r\n"
 * enc.push(bytes("\n.hidden"));   // "..hidden" (the LF completed the CRLF already sent)
 * enc.end();                       // "\r\n.\r\n"
 * ```
 */
export class DataEncoder {
  private lineStart = true;
  private afterCr = false;
  /** True once a byte >= 0x80 went through. */
  eightBit = false;

  /** The encoded form of the next chunk (a new array; `chunk` is not kept). */
  push(chunk: Uint8Array): Uint8Array {
    // Worst case: every byte a bare LF or a leading dot (doubles).
    const out = new Uint8Array(chunk.length * 2);
    let o = 0;
    let i = 0;
    // An empty chunk changes nothing: a CR that ended the last chunk still pairs with an LF that
    // starts the next non-empty one.
    if (chunk.length === 0) return out;
    if (this.afterCr && chunk[0] === LF) i = 1;
    this.afterCr = false;
    for (; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (b === CR || b === LF) {
        out[o++] = CR;
        out[o++] = LF;
        if (b === CR) {
          if (i + 1 < chunk.length) {
            if (chunk[i + 1] === LF) i++;
          } else this.afterCr = true;
        }
        this.lineStart = true;
        continue;
      }
      if (b >= 0x80) this.eightBit = true;
      if (this.lineStart && b === DOT) out[o++] = DOT;
      out[o++] = b;
      this.lineStart = false;
    }
    return out.subarray(0, o);
  }

  /** The end of the payload: CRLF if the last line is unfinished, then ".", CRLF. */
  end(): Uint8Array {
    const tail = this.lineStart ? ".\r\n" : "\r\n.\r\n";
    this.lineStart = true;
    this.afterCr = false;
    return Uint8Array.from(tail, (c) => c.charCodeAt(0));
  }
}

/**
 * The whole DATA payload for `data` (RFC 5321 4.5.2): every line ending becomes CRLF (no bare CR
 * or LF is ever sent), a line starting with "." gets a second ".", and the payload ends with CRLF
 * followed by the terminating ".\r\n". {@link DataEncoder} does the same chunk by chunk.
 *
 * @example
 * ```ts
 * dataPayload(bytes("Hi\n.hidden\n")); // "Hi\r\n..hidden\r\n.\r\n"
 * ```
 */
export function dataPayload(data: Uint8Array): Uint8Array {
  const enc = new DataEncoder();
  const body = enc.push(data);
  const tail = enc.end();
  const out = new Uint8Array(body.length + tail.length);
  out.set(body);
  out.set(tail, body.length);
  return out;
}

/** True when `data` has a byte >= 0x80 (needs 8BITMIME). */
export function hasEightBit(data: Uint8Array): boolean {
  for (let i = 0; i < data.length; i++) if (data[i]! >= 0x80) return true;
  return false;
}
