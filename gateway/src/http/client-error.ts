import { randomUUID } from "node:crypto";
import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import type { ErrorCode } from "../../../platform/error-codes.ts";

/** What Node's parser refused, as status and code; the statuses are the ones Node itself sends. */
function classify(code: string | undefined): { status: number; code: ErrorCode; detail: string } {
  switch (code) {
    case "HPE_HEADER_OVERFLOW":
      return { status: 431, code: "HEADERS_TOO_LARGE", detail: "The request headers exceed 16 KB" };
    case "HPE_CHUNK_EXTENSIONS_OVERFLOW":
      return { status: 413, code: "PAYLOAD_TOO_LARGE", detail: "The chunk extensions are too large" };
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return { status: 408, code: "REQUEST_TIMEOUT", detail: "The request was not received in time" };
    case "HPE_INVALID_METHOD":
      return { status: 400, code: "INVALID_METHOD", detail: "The request method is not one HTTP defines" };
    case "HPE_INVALID_HEADER_TOKEN":
      return { status: 400, code: "INVALID_HEADER", detail: "A request header has a character HTTP does not allow" };
    default:
      return { status: 400, code: "BAD_REQUEST", detail: "The request is not valid HTTP/1.1" };
  }
}

/**
 * The server's `clientError` listener: requests Node's parser refuses (headers over 16 KB, an
 * unknown method, a bad header byte) get a problem+json with a code and a correlation id instead of
 * Node's empty-bodied answer, then the connection closes (the parser cannot continue on it). Which
 * path was asked for is unknown at this point, so the body is the same everywhere.
 */
export function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  // Mid-response (a parse error on a later pipelined request) a status line would corrupt the stream.
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (error.code === "ECONNRESET" || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const { status, code, detail } = classify(error.code);
  const correlationId = randomUUID();
  const body = JSON.stringify({
    type: `urn:sunday:problem:${code.toLowerCase().replace(/_/g, "-")}`,
    title: STATUS_CODES[status] ?? "Bad Request",
    status,
    detail,
    code,
    correlationId,
  });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Bad Request"}\r\n` +
      "content-type: application/problem+json\r\n" +
      `content-length: ${Buffer.byteLength(body)}\r\n` +
      `x-correlation-id: ${correlationId}\r\n` +
      "connection: close\r\n\r\n" +
      body,
  );
}
