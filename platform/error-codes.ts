/**
 * Every `extensions.code` (and REST problem `code`) this API answers with, in one list. Each place
 * that raises one types it as `ErrorCode` (or a subset of it), and the REST layer's HTTP mapping
 * (`gateway/src/rest/problem.ts`) is a `Record<ErrorCode, …>`: a code added here without a status
 * does not compile.
 */
export const ERROR_CODES = [
  // The domain's, raised by every subgraph (subgraphs/shared/errors.ts).
  "UNAUTHENTICATED",
  "FORBIDDEN",
  "NOT_FOUND",
  "BAD_USER_INPUT",
  "CONFLICT",
  "INTERNAL_SERVER_ERROR",
  // Apollo Server's own, passed through unchanged.
  "GRAPHQL_PARSE_FAILED",
  "GRAPHQL_VALIDATION_FAILED",
  "PERSISTED_QUERY_NOT_FOUND",
  "OPERATION_RESOLUTION_FAILURE",
  "BAD_REQUEST",
  // Operation limits, checked before execution (gateway/src/limits).
  "DEPTH_LIMIT_EXCEEDED",
  "ALIAS_LIMIT_EXCEEDED",
  "COST_LIMIT_EXCEEDED",
  "TOKEN_LIMIT_EXCEEDED",
  "NESTING_LIMIT_EXCEEDED",
  // The gateway's edge: admission, HTTP, operation resolution.
  "RATE_LIMITED",
  "AUTHENTICATION_UNAVAILABLE",
  "PAYLOAD_TOO_LARGE",
  "UNSUPPORTED_MEDIA_TYPE",
  "NOT_ACCEPTABLE",
  "METHOD_NOT_ALLOWED",
  "REQUEST_TIMEOUT",
  "HEADERS_TOO_LARGE",
  "INVALID_METHOD",
  "INVALID_HEADER",
  "OPERATION_NOT_FOUND",
  "OPERATION_NAME_REQUIRED",
  "SUBSCRIPTION_REQUIRES_WEBSOCKET",
  // REST v1's own.
  "INVALID_PARAMETERS",
  "PRECONDITION_FAILED",
  "IDEMPOTENCY_IN_FLIGHT",
  "IDEMPOTENCY_KEY_REUSED",
  "IDEMPOTENCY_UNAVAILABLE",
  // A subgraph that failed, for the fields it owns (gateway/src/federation).
  "SUBGRAPH_UNAVAILABLE",
  "SUBGRAPH_TIMEOUT",
  "CIRCUIT_OPEN",
  // Live subscriptions (gateway/src/subscriptions, events/streams/resume.ts).
  "SLOW_CONSUMER",
  "SUBSCRIPTION_UNAVAILABLE",
  "CURSOR_EXPIRED",
  "CURSOR_INVALID",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

const KNOWN: ReadonlySet<string> = new Set(ERROR_CODES);

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && KNOWN.has(value);
}
