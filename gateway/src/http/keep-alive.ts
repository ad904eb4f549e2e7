import type { IncomingMessage, ServerResponse } from "node:http";

/**
 * A body this small that is still unread when the answer goes out is left for Node to read and
 * discard, keeping the connection; anything larger, chunked, or whose reading was abandoned
 * (a 413 mid-stream destroys the request) closes the connection after the answer instead.
 */
export const DRAIN_LIMIT_BYTES = 64 * 1024;

/**
 * Called just before the headers go out. An answer sent before the request body was read (a 413,
 * or a 401/415/429 refused up front) leaves the rest of the body on the socket: read as the next
 * request it hung the connection for the keep-alive timeout (~65 s) and then reset it, and behind
 * a pooling proxy that next request is someone else's. Either Node drains a small declared rest,
 * or the answer says `Connection: close` and the socket closes once it is sent.
 */
export function closeIfBodyUnread(request: IncomingMessage, response: ServerResponse): void {
  if (request.complete) return;
  const chunked = request.headers["transfer-encoding"] !== undefined;
  const declared = Number(request.headers["content-length"] ?? 0);
  // A request without a body is not `complete` until its handler's synchronous part has run.
  if (!chunked && !(declared > 0)) return;
  if (!chunked && declared <= DRAIN_LIMIT_BYTES && !request.destroyed) return;
  response.setHeader("connection", "close");
}
