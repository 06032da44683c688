/**
 * Messages that exercise the transport encoding (dot-stuffing, CRLF normalisation, 8-bit and
 * UTF-8 content, base64 attachments), what each should look like once a server has undone that
 * encoding, and a small MIME reader to take an attachment back out of a received message.
 */
import { buildMessage, type SmtpEnvelope } from "../../src/smtp/index.js";

/** One test message: its envelope and the id in its `X-Test-Id` header. */
export interface CorpusMessage {
  readonly name: string;
  readonly id: string;
  readonly envelope: SmtpEnvelope;
  /** The envelope's data (a string or bytes: nothing streamed), to compare with what arrives. */
  readonly data: string | Uint8Array;
  /** Attachments to take back out of the received message and compare byte for byte. */
  readonly attachments: readonly { readonly filename: string; readonly bytes: Uint8Array }[];
}

const encoder = new TextEncoder();

function bytesOf(data: string | Uint8Array): Uint8Array {
  return typeof data === "string" ? encoder.encode(data) : data;
}

/**
 * The message data a server stores, given what the client was asked to send: every line ending
 * (CRLF, bare CR, bare LF) becomes CRLF and the data ends with CRLF; the dot-stuffing the client
 * adds is undone by the server, so it does not appear here.
 */
export function normalised(data: string | Uint8Array): Buffer {
  const input = bytesOf(data);
  const out: number[] = [];
  for (let i = 0; i < input.length; i++) {
    const b = input[i]!;
    if (b === 13 || b === 10) {
      out.push(13, 10);
      if (b === 13 && input[i + 1] === 10) i++;
    } else {
      out.push(b);
    }
  }
  if (out.length > 0 && out[out.length - 1] !== 10) out.push(13, 10);
  return Buffer.from(out);
}

/** True when the message has bytes >= 0x80 (it needs 8BITMIME). */
export function isEightBit(message: CorpusMessage): boolean {
  return bytesOf(message.data).some((b) => b >= 0x80);
}

/** {@link normalised} with CRLF as LF: what smtp-sink writes to its dump (it drops every CR). */
export function normalisedLf(data: string | Uint8Array): Buffer {
  const crlf = normalised(data);
  return Buffer.from(crlf.filter((b) => b !== 13));
}

/** The value of the first `name:` header of a message (unfolded), or undefined. */
export function headerOf(message: Buffer, name: string): string | undefined {
  const text = message.toString("latin1");
  const end = text.search(/\r?\n\r?\n/);
  const head = (end < 0 ? text : text.slice(0, end)).replace(/\r?\n[ \t]/g, " ");
  for (const line of head.split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon > 0 && line.slice(0, colon).toLowerCase() === name.toLowerCase()) {
      return line.slice(colon + 1).trim();
    }
  }
  return undefined;
}

/**
 * The decoded content of the attachment named `filename` in a received MIME message (any line
 * endings): the base64 body of the part whose Content-Disposition names it.
 */
export function attachmentOf(message: Buffer, filename: string): Buffer | undefined {
  const text = message.toString("latin1").replace(/\r\n/g, "\n");
  const boundary = /boundary="([^"]+)"/.exec(text)?.[1];
  if (boundary === undefined) return undefined;
  for (const part of text.split(`--${boundary}`)) {
    const blank = part.indexOf("\n\n");
    if (blank < 0) continue;
    const head = part.slice(0, blank);
    if (!head.includes(`filename="${filename}"`)) continue;
    if (!/Content-Transfer-Encoding: base64/i.test(head)) return undefined;
    return Buffer.from(part.slice(blank + 2).replace(/\s+/g, ""), "base64");
  }
  // Nested multiparts: look inside every inner boundary too.
  for (const m of text.matchAll(/boundary="([^"]+)"/g)) {
    if (m[1] === boundary) continue;
    for (const part of text.split(`--${m[1]}`)) {
      const blank = part.indexOf("\n\n");
      if (blank >= 0 && part.slice(0, blank).includes(`filename="${filename}"`)) {
        return Buffer.from(part.slice(blank + 2).replace(/\s+/g, ""), "base64");
      }
    }
  }
  return undefined;
}

/** Every byte value, four times over, in a scrambled order (a binary attachment). */
function binaryBlob(): Uint8Array {
  const out = new Uint8Array(1024);
  for (let i = 0; i < out.length; i++) out[i] = (i * 167 + (i >> 8)) & 0xff;
  return out;
}

/**
 * The corpus, with ids prefixed by `tag` so that runs against different servers never mix.
 * Each message has a distinct `X-Test-Id` header to find it again on the server.
 */
export function corpus(tag: string): CorpusMessage[] {
  const from = "sender@waker.test";
  const dots = `${tag}-dots`;
  const utf8 = `${tag}-utf8`;
  const latin1 = `${tag}-latin1`;
  const mime = `${tag}-mime`;
  const noEol = `${tag}-no-eol`;
  const blob = binaryBlob();
  const csv = "name,city\nZoë,Zürich\n.leading,dot\n";
  const built = buildMessage({
    from: `Sender <${from}>`,
    to: ["Bob <bob@waker.test>"],
    cc: ["carol@waker.test"],
    bcc: ["hidden@waker.test"],
    subject: "Grüße aus Köln — ✉ attachments",
    text: "Hello Bob,\n.this line starts with a dot\n..and this with two\n.\nÜmlauts: äöü ß, emoji 🎉, 中文\n",
    html: "<p>Hello <b>Bob</b></p>\n.<p>dot</p>\n",
    attachments: [
      { filename: "blob.bin", content: blob },
      { filename: "cities.csv", content: csv, contentType: "text/csv" },
    ],
    messageId: `<${mime}@waker.test>`,
    headers: { "X-Test-Id": mime },
  });
  const builtData = built.data;
  if (typeof builtData !== "string" && !(builtData instanceof Uint8Array)) {
    throw new Error("buildMessage without streamed attachments should give a string");
  }
  // 8-bit bytes that are not UTF-8 at all (ISO-8859-1), with a dot line in the middle.
  const latinBody = Buffer.concat([
    Buffer.from(
      `From: ${from}\r\nTo: bob@waker.test\r\nSubject: latin-1\r\nX-Test-Id: ${latin1}\r\n`,
    ),
    Buffer.from(
      "Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
    ),
    Buffer.from([0x47, 0x72, 0xfc, 0xdf, 0x65, 0x0d, 0x0a, 0x2e, 0xe9, 0x0d, 0x0a, 0xff, 0x80]),
    Buffer.from("\r\n"),
  ]);
  const messages: Omit<CorpusMessage, "data">[] = [
    {
      name: "dot-stuffing and line-ending normalisation",
      id: dots,
      envelope: {
        from,
        to: ["bob@waker.test", "carol@waker.test"],
        data: [
          `From: ${from}`,
          "To: bob@waker.test, carol@waker.test",
          "Subject: dots",
          `X-Test-Id: ${dots}`,
          "",
          ".",
          "..",
          "...",
          ".a line starting with a dot",
          "..two dots",
          "a line ending with a dot.",
          " . a space first",
          "bare LF next\nbare CR next\rCRLF next",
          "",
          "",
          `a long line: ${"x".repeat(900)}`,
          `.${"y".repeat(996)}`,
          ".",
        ].join("\r\n"),
      },
      attachments: [],
    },
    {
      name: "UTF-8 headers and body (8-bit)",
      id: utf8,
      envelope: {
        from,
        to: ["bob@waker.test"],
        data:
          `From: Zoë <${from}>\r\nTo: Björk <bob@waker.test>\r\nSubject: Grüße ✉ 🎉\r\nX-Test-Id: ${utf8}\r\n` +
          "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
          "Ünïcödé: äöü ß\r\n.dot then 中文 and 日本語\r\nemoji 🎉🚀 at the end\r\n",
      },
      attachments: [],
    },
    {
      name: "8-bit bytes that are not UTF-8 (ISO-8859-1)",
      id: latin1,
      envelope: { from, to: ["bob@waker.test"], data: new Uint8Array(latinBody) },
      attachments: [],
    },
    {
      name: "MIME from buildMessage: alternatives, UTF-8 subject, base64 attachments, Bcc",
      id: mime,
      envelope: built,
      attachments: [
        { filename: "blob.bin", bytes: blob },
        { filename: "cities.csv", bytes: encoder.encode(csv) },
      ],
    },
    {
      name: "data without a final line ending",
      id: noEol,
      envelope: {
        from: "",
        to: ["bob@waker.test"],
        data: `From: ${from}\r\nSubject: no eol\r\nX-Test-Id: ${noEol}\r\n\r\nlast line without CRLF`,
      },
      attachments: [],
    },
  ];
  return messages.map((m) => ({ ...m, data: m.id === mime ? builtData : plainData(m.envelope) }));
}

function plainData(envelope: SmtpEnvelope): string | Uint8Array {
  const data = envelope.data;
  if (typeof data === "string" || data instanceof Uint8Array) return data;
  throw new Error("corpus: a plain message has string or byte data");
}
