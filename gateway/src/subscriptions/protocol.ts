import type { ErrorCode } from "../../../platform/error-codes.ts";

/** Close codes of our graphql-ws sockets beyond the protocol's own (4400 bad request, 4408 init timeout, …). */
export const CLOSE_CODES = {
  /** connection_init carried no valid credential. */
  unauthorized: 4401,
  /** The credential expired, or the member was removed or changed role: reconnect with a fresh token. */
  forbidden: 4403,
  /** Rate limited at connection time; retry later. */
  tooManyRequests: 4429,
  /** A dependency of live updates (Redis) is down; reconnect shortly. */
  tryAgainLater: 1013,
  /** The gateway is shutting down; reconnect (to another instance) and resume with the last cursor. */
  goingAway: 1001,
} as const;

/** `extensions.code` of subscription errors. */
export const SUBSCRIPTION_ERROR_CODES = {
  forbidden: "FORBIDDEN",
  /** A slow client fell too far behind; it resumes with its last cursor. */
  slowConsumer: "SLOW_CONSUMER",
  /** Something the subscription needs is down; it resumes with its last cursor. */
  unavailable: "SUBSCRIPTION_UNAVAILABLE",
  badRequest: "BAD_USER_INPUT",
} as const satisfies Record<string, ErrorCode>;
