import { Stream } from "../stream/stream.js";
import { describeValue, InvalidArgumentError } from "../task/errors.js";
import {
  Base64Lines,
  type BodyPart,
  base64LinesLength,
  ConcatChunks,
  fileChunks,
  messageBody,
  oneShot,
} from "./body.js";
import type { SmtpEnvelope } from "./client.js";
import { InvalidAddressError } from "./errors.js";
import { hasEightBit } from "./message-data.js";

/**
 * A file attached to a {@link MessageOptions | message}: its content in memory (`content` as text
 * or bytes), or streamed (`path` of a file, or `content` as a `Stream` of byte chunks or a function
 * opening one). A streamed attachment is base64-encoded chunk by chunk as the message is sent and
 * is never loaded whole.
 */
export interface Attachment {
  readonly filename: string;
  /**
   * Text, bytes, a `Stream` of byte chunks (read once: a message that must be sent again, after a
   * 452 split or a pool retry, fails with `BodyConsumedError`), or a function that opens such a
   * stream each time it is called. Leave it out when `path` is given.
   */
  readonly content?: string | Uint8Array | Stream<Uint8Array> | (() => Stream<Uint8Array>);
  /** A file to stream the content from (read in chunks each time the message is sent). */
  readonly path?: string;
  /** The size in bytes of a streamed content, when known: lets the message declare SIZE. */
  readonly size?: number;
  /** Default: application/octet-stream. */
  readonly contentType?: string;
}

/** What {@link buildMessage} puts together. */
export interface MessageOptions {
  readonly from: string;
  readonly to?: readonly string[];
  readonly cc?: readonly string[];
  /** Recipients that get the message without appearing in any header. */
  readonly bcc?: readonly string[];
  readonly subject?: string;
  /** The plain-text body. */
  readonly text?: string;
  /** The HTML body (with `text`, the two become alternatives). */
  readonly html?: string;
  readonly attachments?: readonly Attachment[];
  /** Default: now. */
  readonly date?: Date;
  /** Default: a random id at the sender's domain. */
  readonly messageId?: string;
  /** Extra headers (values are checked for CR/LF like every other header). */
  readonly headers?: Readonly<Record<string, string>>;
}

const encoder = new TextEncoder();

function checkHeaderValue(value: unknown, name: string): string {
  if (typeof value !== "string") {
    throw new InvalidAddressError(`${name}: expected a string, got ${describeValue(value)}`, value);
  }
  if (/[\r\n]/.test(value)) {
    throw new InvalidAddressError(
      `${name}: CR or LF in a header value (header injection), got ${JSON.stringify(value)}`,
      value,
    );
  }
  return value;
}

function bareAddress(address: string): string {
  const angle = /<([^<>]*)>\s*$/.exec(address);
  return (angle ? angle[1]! : address).trim();
}

function base64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]!);
  return btoa(binary);
}

/** Base64 in lines of 76 characters (RFC 2045). */
function base64Lines(bytes: Uint8Array): string {
  return (base64(bytes).match(/.{1,76}/g) ?? []).join("\r\n");
}

/** A piece of a message being built: text, or a streamed base64 attachment. */
type Segment = string | { open: () => Stream<Uint8Array>; size: number | undefined };

/** The content of an attachment as a segment: base64 text, or a base64-encoding stream. */
function attachmentContent(a: Attachment, name: string): Segment {
  const { content, path, size } = a;
  if ((content === undefined) === (path === undefined)) {
    throw new InvalidArgumentError(
      `attachment ${JSON.stringify(name)}: give exactly one of content and path`,
    );
  }
  if (size !== undefined && (!Number.isInteger(size) || size < 0)) {
    throw new InvalidArgumentError(
      `attachment ${JSON.stringify(name)}: size must be an integer >= 0, got ${describeValue(size)}`,
    );
  }
  if (typeof content === "string") return base64Lines(encoder.encode(content));
  if (content instanceof Uint8Array) return base64Lines(content);
  let opener: () => Stream<Uint8Array>;
  if (path !== undefined) opener = () => fileChunks(path);
  else if (content instanceof Stream) opener = oneShot(content);
  else if (typeof content === "function") opener = content;
  else {
    throw new InvalidArgumentError(
      `attachment ${JSON.stringify(name)}: content must be text, bytes, a Stream or a function, got ${describeValue(content)}`,
    );
  }
  return {
    open: () => new Base64Lines(opener()),
    size: size === undefined ? undefined : base64LinesLength(size),
  };
}

/**
 * An address for a header: a non-ASCII display name ("Jörg <j@x>") becomes RFC 2047 encoded
 * words, so the header stays 7-bit. (A non-ASCII address itself stays as it is: it needs
 * SMTPUTF8, which the client checks.)
 */
function headerAddress(address: string): string[] {
  // (dotAll: a U+2028 or U+2029 in a display name is text to encode, not the end of a line.)
  const named = /^\s*(.*?)\s*<([^<>]*)>\s*$/s.exec(address);
  if (named === null || /^[\x20-\x7e]*$/.test(address)) return [address];
  const name = named[1]!.replace(/^"(.*)"$/s, "$1");
  // The header may be folded between these (RFC 2047 section 2: encoded words are separated by
  // linear white space, and a line that has one is at most 76 characters). Non-ASCII white space
  // around the name (U+00A0, U+3000) is dropped like ASCII white space.
  return [...(name === "" ? [] : encodedWords(name)), `<${named[2]}>`];
}

/**
 * `text` itself when ASCII (unless `always`), else its RFC 2047 encoded words (each of whole
 * characters).
 */
function encodedWords(text: string, always = false): string[] {
  if (!always && /^[\x20-\x7e]*$/.test(text)) return [text];
  const words: string[] = [];
  let chunk = "";
  for (const char of text) {
    // 39 input bytes -> 52 base64 characters, 64 with the markers: with "Subject: " in front the
    // first line stays within 78 characters (RFC 5322 2.1.1).
    if (encoder.encode(chunk + char).length > 39) {
      words.push(`=?UTF-8?B?${base64(encoder.encode(chunk))}?=`);
      chunk = "";
    }
    chunk += char;
  }
  if (chunk !== "") words.push(`=?UTF-8?B?${base64(encoder.encode(chunk))}?=`);
  return words;
}

/**
 * `Name: value` (ASCII) folded at its spaces (RFC 5322 2.2.3: a CRLF before a space, which
 * unfolding removes) so that each line keeps within 78 characters where the words allow it;
 * `null` when a word leaves a line over 998 characters, the hard limit of RFC 5322 2.1.1. It never
 * folds before the first word, nor where the continuation line would be only white space.
 */
function foldAtSpaces(line: string): string | null {
  if (line.length <= 78) return line;
  const words = line.split(" ");
  let out = words[0] as string;
  let length = out.length;
  for (let i = 1; i < words.length; i++) {
    const word = words[i] as string;
    if (i > 1 && word !== "" && length + 1 + word.length > 78) {
      out += `\r\n ${word}`;
      length = 1 + word.length;
    } else {
      out += ` ${word}`;
      length += 1 + word.length;
    }
    if (length > 998) return null;
  }
  return out;
}

/**
 * The Subject header: ASCII text folded at its spaces, or as RFC 2047 encoded words when it is
 * not ASCII or has a word too long for a 998-character line.
 */
function subjectHeader(subject: string): string {
  const ascii = /^[\x20-\x7e]*$/.test(subject);
  const folded = ascii ? foldAtSpaces(`Subject: ${subject}`) : null;
  return folded ?? `Subject: ${encodedWords(subject, true).join("\r\n ")}`;
}

/** An extra header, folded at its spaces; a line over 998 characters that cannot be is refused. */
function extraHeader(name: string, value: string): string {
  const folded = foldAtSpaces(`${name}: ${value}`);
  if (folded === null) {
    throw new InvalidAddressError(
      `${name}: a header line over 998 characters with no space to fold it at (RFC 5322 2.1.1)`,
      value,
    );
  }
  return folded;
}

/** Quoted-printable (RFC 2045): 7-bit, lines of at most 76 characters, CRLF line breaks. */
function quotedPrintable(text: string): string {
  const lines = text.replace(/\r\n|\r|\n/g, "\n").split("\n");
  return lines
    .map((line) => {
      const bytes = encoder.encode(line);
      let out = "";
      let current = "";
      for (let i = 0; i < bytes.length; i++) {
        const b = bytes[i]!;
        const last = i === bytes.length - 1;
        const literal = (b >= 33 && b <= 126 && b !== 61) || ((b === 32 || b === 9) && !last);
        const piece = literal
          ? String.fromCharCode(b)
          : `=${b.toString(16).toUpperCase().padStart(2, "0")}`;
        if (current.length + piece.length > 75) {
          out += `${current}=\r\n`;
          current = "";
        }
        current += piece;
      }
      return out + current;
    })
    .join("\r\n");
}

/**
 * `Name: a, b, c` folded (RFC 5322 2.2.3) between addresses, and between the encoded words of a
 * display name, so that a long recipient list keeps its lines within 78 characters (76 for a
 * line with an encoded word, RFC 2047 section 2) where the addresses allow it (always within 998).
 * Each address comes as the tokens of {@link headerAddress}.
 */
function addressList(name: string, addresses: readonly (readonly string[])[]): string {
  let out = `${name}:`;
  let line = out.length;
  let encoded = false;
  addresses.forEach((tokens, i) => {
    tokens.forEach((token, j) => {
      const piece = `${token}${i < addresses.length - 1 && j === tokens.length - 1 ? "," : ""}`;
      const isWord = piece.startsWith("=?");
      const limit = encoded || isWord ? 76 : 78;
      if ((i > 0 || j > 0) && line + 1 + piece.length > limit) {
        out += `\r\n ${piece}`;
        line = 1 + piece.length;
        encoded = isWord;
      } else {
        out += ` ${piece}`;
        line += 1 + piece.length;
        encoded ||= isWord;
      }
    });
  });
  return out;
}

function boundary(): string {
  return `----waker-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
}

function textPart(type: string, body: string): string {
  return `Content-Type: ${type}; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n${quotedPrintable(body)}`;
}

function multipart(kind: string, parts: string[]): string {
  const b = boundary();
  return `Content-Type: multipart/${kind}; boundary="${b}"\r\n\r\n${parts.map((p) => `--${b}\r\n${p}\r\n`).join("")}--${b}--`;
}

/** `multipart/mixed` over parts that may hold streamed segments. */
function mixed(parts: Segment[][]): Segment[] {
  const b = boundary();
  const out: Segment[] = [`Content-Type: multipart/mixed; boundary="${b}"\r\n\r\n`];
  for (const part of parts) out.push(`--${b}\r\n`, ...part, "\r\n");
  out.push(`--${b}--`);
  return out;
}

/** The message from its segments: a string when nothing is streamed, else a MessageBody. */
function assemble(segments: Segment[]): string | ReturnType<typeof messageBody> {
  if (segments.every((x) => typeof x === "string")) return segments.join("");
  const parts: BodyPart[] = [];
  let text = "";
  let size: number | undefined = 0;
  let eightBit = false;
  for (const x of segments) {
    if (typeof x === "string") {
      text += x;
      continue;
    }
    const bytes = encoder.encode(text);
    parts.push(bytes, x.open);
    eightBit ||= hasEightBit(bytes);
    text = "";
    size = size === undefined || x.size === undefined ? undefined : size + bytes.length + x.size;
  }
  const bytes = encoder.encode(text);
  parts.push(bytes);
  eightBit ||= hasEightBit(bytes);
  if (size !== undefined) size += bytes.length;
  return messageBody(() => new ConcatChunks(parts), {
    ...(size !== undefined ? { size } : {}),
    eightBit,
  });
}

/**
 * Builds an RFC 5322 / MIME message and its envelope: From, To, Cc (Bcc only in the envelope,
 * never in a header; display names RFC 2047-encoded when not ASCII), Subject (likewise), Date, Message-ID, a text and/or
 * HTML body (alternatives when both, quoted-printable so every line stays short and 7-bit), and
 * base64 attachments. CR or LF in any header value or address is refused (header injection).
 * With a streamed attachment (`path`, or `content` as a `Stream` or a function opening one) the
 * message's `data` is a {@link MessageBody}: its base64 is produced chunk by chunk as it is sent,
 * and its `size` is known (for SIZE) when every streamed attachment gives its `size`.
 *
 * @example
 * ```ts
 * const message = buildMessage({
 *   from: "Alice <alice@example.com>",
 *   to: ["bob@example.com"],
 *   subject: "Grüße",
 *   text: "Hello Bob",
 *   attachments: [
 *     { filename: "report.csv", content: "a,b\n1,2\n", contentType: "text/csv" },
 *     { filename: "video.mp4", path: "/data/video.mp4" }, // streamed: the message is a MessageBody
 *   ],
 * });
 * yield* client.send(message);
 * ```
 * @throws {InvalidAddressError} for CR/LF in a header value or address.
 * @throws {InvalidArgumentError} without any recipient, or without a body or attachment.
 */
export function buildMessage(options: MessageOptions): SmtpEnvelope {
  if (options === null || typeof options !== "object") {
    throw new InvalidArgumentError(`buildMessage: expected options, got ${describeValue(options)}`);
  }
  const from = checkHeaderValue(options.from, "from");
  const to = (options.to ?? []).map((a, i) => checkHeaderValue(a, `to[${i}]`));
  const cc = (options.cc ?? []).map((a, i) => checkHeaderValue(a, `cc[${i}]`));
  const bcc = (options.bcc ?? []).map((a, i) => checkHeaderValue(a, `bcc[${i}]`));
  const recipients = [...to, ...cc, ...bcc].map(bareAddress);
  if (recipients.length === 0) {
    throw new InvalidArgumentError(
      "buildMessage: at least one of to, cc, bcc must have an address",
    );
  }
  const domain = /@([^>\s]+)/.exec(from)?.[1] ?? "localhost";
  const messageId = checkHeaderValue(
    options.messageId ?? `<${Math.random().toString(36).slice(2)}.${Date.now()}@${domain}>`,
    "messageId",
  );
  const headers = [
    addressList("From", [headerAddress(from)]),
    ...(to.length > 0 ? [addressList("To", to.map(headerAddress))] : []),
    ...(cc.length > 0 ? [addressList("Cc", cc.map(headerAddress))] : []),
    subjectHeader(checkHeaderValue(options.subject ?? "", "subject")),
    `Date: ${(options.date ?? new Date()).toUTCString().replace("GMT", "+0000")}`,
    `Message-ID: ${messageId}`,
    "MIME-Version: 1.0",
    ...Object.entries(options.headers ?? {}).map(([name, value]) =>
      extraHeader(checkHeaderValue(name, "header name"), checkHeaderValue(value, name)),
    ),
  ];
  const bodies: string[] = [];
  if (options.text !== undefined) bodies.push(textPart("text/plain", options.text));
  if (options.html !== undefined) bodies.push(textPart("text/html", options.html));
  const attachments = (options.attachments ?? []).map((a): Segment[] => {
    const name = checkHeaderValue(a.filename, "attachment filename").replace(/"/g, "");
    const type = checkHeaderValue(a.contentType ?? "application/octet-stream", "contentType");
    return [
      `Content-Type: ${type}; name="${name}"\r\nContent-Disposition: attachment; filename="${name}"\r\nContent-Transfer-Encoding: base64\r\n\r\n`,
      attachmentContent(a, name),
    ];
  });
  if (bodies.length === 0 && attachments.length === 0) {
    throw new InvalidArgumentError("buildMessage: give text, html or an attachment");
  }
  const body = bodies.length > 1 ? multipart("alternative", bodies) : bodies[0];
  const content: Segment[] =
    attachments.length === 0 ? [body!] : mixed([...(body ? [[body]] : []), ...attachments]);
  return {
    from: bareAddress(from),
    to: recipients,
    data: assemble([`${headers.join("\r\n")}\r\n`, ...content, "\r\n"]),
  };
}
