/**
 * An SMTP client on the runtime (RFC 5321 with PIPELINING), written against `AsyncRead` /
 * `AsyncWrite`: it runs on real sockets (`SmtpClient.connect`) or any other transport
 * (`SmtpClient.handshake`).
 *
 * @packageDocumentation
 */

export {
  BodyConsumedError,
  fileChunks,
  isMessageBody,
  type MessageBody,
  messageBody,
} from "./body.js";
export {
  DEFAULT_SMTP_TIMEOUTS,
  SmtpClient,
  type SmtpEnvelope,
  type SmtpOptions,
  type SmtpSendResult,
  type SmtpTimeouts,
  type SmtpTransport,
} from "./client.js";
export { InvalidAddressError, SmtpCapabilityError, SmtpError } from "./errors.js";
export { type Attachment, buildMessage, type MessageOptions } from "./message.js";
export { DataEncoder, dataPayload } from "./message-data.js";
export { SmtpPool, type SmtpPoolOptions, type SmtpSendOutcome } from "./pool.js";
export { MAX_REPLY_LINE, MAX_REPLY_LINES, ReplyParser, type SmtpReply } from "./reply.js";
