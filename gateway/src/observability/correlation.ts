import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";

/** What we accept from clients: printable, bounded, no header or log injection. */
const CORRELATION_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/** The client's `x-correlation-id` when it is well-formed, else a new one. */
export function correlationIdOf(request: IncomingMessage): string {
  const given = request.headers["x-correlation-id"];
  return typeof given === "string" && CORRELATION_ID.test(given) ? given : randomUUID();
}
