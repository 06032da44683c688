import { SmtpError } from "./errors.js";

/** One SMTP reply: its code, its enhanced status code if any, and its text lines. */
export interface SmtpReply {
  readonly code: number;
  readonly enhancedCode: string | undefined;
  readonly lines: readonly string[];
}

/** RFC 5321 4.5.3.1.5: a reply line is at most 512 octets including CRLF. */
export const MAX_REPLY_LINE = 512;
/** How many lines one reply may have before the server is considered hostile. */
export const MAX_REPLY_LINES = 200;

const ENHANCED = /^([245])\.(\d{1,3})\.(\d{1,3})(?:\s|$)/;

/**
 * Assembles replies from lines (RFC 5321 4.2): `250-text` continues, `250 text` (or a bare
 * `250`) ends. Every line of one reply must carry the same code. Limits protect memory: a line
 * longer than 512 octets or a reply of more than 200 lines is a protocol error, never a hang.
 *
 * @example
 * ```ts
 * const parser = new ReplyParser();
 * parser.push("250-mail.example.com"); // undefined: more to come
 * parser.push("250 PIPELINING");        // { code: 250, lines: ["mail.example.com", "PIPELINING"] }
 * ```
 */
export class ReplyParser {
  private code = 0;
  private lines: string[] = [];

  /**
   * Takes one line (without CRLF): the complete reply when this line ends one, else `undefined`.
   *
   * @throws {SmtpError} (`SMTP_PROTOCOL`) for a malformed or overlong line, mixed codes, or too
   * many lines.
   */
  push(line: string, command = "reply"): SmtpReply | undefined {
    const octets = utf8Length(line) + 2;
    if (octets > MAX_REPLY_LINE) {
      throw protocolError(`a reply line of ${octets} octets (limit ${MAX_REPLY_LINE})`, command);
    }
    const match = /^([2-5][0-9][0-9])([ -]|$)(.*)$/.exec(line);
    if (match === null)
      throw protocolError(`a malformed reply line ${JSON.stringify(line.slice(0, 80))}`, command);
    const code = Number(match[1]);
    if (this.lines.length > 0 && code !== this.code) {
      throw protocolError(`a reply mixing codes ${this.code} and ${code}`, command);
    }
    this.code = code;
    this.lines.push(match[3] ?? "");
    if (this.lines.length > MAX_REPLY_LINES) {
      throw protocolError(`a reply of more than ${MAX_REPLY_LINES} lines`, command);
    }
    if (match[2] === "-") return undefined;
    const lines = this.lines;
    this.lines = [];
    this.code = 0;
    const enhanced = ENHANCED.exec(lines[0] ?? "");
    const enhancedCode =
      enhanced !== null && enhanced[1] === String(code)[0]
        ? `${enhanced[1]}.${enhanced[2]}.${enhanced[3]}`
        : undefined;
    return { code, enhancedCode, lines };
  }

  /** True while a multi-line reply is incomplete. */
  get partial(): boolean {
    return this.lines.length > 0;
  }
}

/** The UTF-8 length of `s` in octets, without encoding it. */
function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) n += c >= 0x800 && (c < 0xd800 || c > 0xdfff) ? 2 : 1;
  }
  return n;
}

/** The error for a server that broke the protocol (reply code 0). */
export function protocolError(what: string, command: string): SmtpError {
  return new SmtpError(`the server sent ${what}`, 0, undefined, [], command);
}

/** The error for an unexpected reply to `command`. */
export function replyError(reply: SmtpReply, command: string): SmtpError {
  return new SmtpError(
    `${command} was answered ${reply.code} ${reply.lines.join(" / ")}`,
    reply.code,
    reply.enhancedCode,
    reply.lines,
    command,
  );
}
