/**
 * RFC 9457 problem details: what every HTTP surface (REST v1, the integrations' inbound paths)
 * answers errors with, by the error code behind them.
 */
import type { ServerResponse } from "node:http";
import type { ErrorCode } from "./error-codes.ts";

export const PROBLEM_CONTENT_TYPE = "application/problem+json";

/** One failing input: a body field (`name`, `columnValues/0/columnId`), or a query/path parameter. */
export interface FieldError {
  readonly field: string;
  readonly message: string;
}

export interface Problem {
  /** A URN naming the kind of problem; stable, so partners can branch on it. */
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  /** The request path the problem is about. */
  readonly instance?: string;
  /** The GraphQL error code behind it (or the REST layer's own). */
  readonly code: ErrorCode;
  readonly correlationId?: string;
  readonly errors?: readonly FieldError[];
  readonly retryAfterSeconds?: number;
  readonly expectedVersion?: number;
  readonly actualVersion?: number;
}

interface Kind {
  readonly status: number;
  readonly slug: string;
  readonly title: string;
}

/** Every error code's HTTP status: a code without one does not compile. */
const KINDS: Readonly<Record<ErrorCode, Kind>> = {
  BAD_REQUEST: { status: 400, slug: "bad-request", title: "Bad request" },
  INVALID_PARAMETERS: { status: 400, slug: "invalid-parameters", title: "Invalid query or path parameters" },
  UNAUTHENTICATED: { status: 401, slug: "unauthenticated", title: "Authentication required" },
  FORBIDDEN: { status: 403, slug: "forbidden", title: "Forbidden" },
  NOT_FOUND: { status: 404, slug: "not-found", title: "Not found" },
  METHOD_NOT_ALLOWED: { status: 405, slug: "method-not-allowed", title: "Method not allowed" },
  NOT_ACCEPTABLE: { status: 406, slug: "unsupported-version", title: "Unsupported API version" },
  CONFLICT: { status: 409, slug: "conflict", title: "Version conflict" },
  IDEMPOTENCY_IN_FLIGHT: { status: 409, slug: "idempotency-in-flight", title: "A request with this Idempotency-Key is in progress" },
  PRECONDITION_FAILED: { status: 412, slug: "precondition-failed", title: "Precondition failed" },
  PAYLOAD_TOO_LARGE: { status: 413, slug: "payload-too-large", title: "Request body too large" },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, slug: "unsupported-media-type", title: "Unsupported media type" },
  BAD_USER_INPUT: { status: 422, slug: "validation-failed", title: "Validation failed" },
  IDEMPOTENCY_KEY_REUSED: { status: 422, slug: "idempotency-key-reused", title: "Idempotency-Key reused with another request" },
  RATE_LIMITED: { status: 429, slug: "rate-limited", title: "Too many requests" },
  INTERNAL_SERVER_ERROR: { status: 500, slug: "internal", title: "Internal server error" },
  SUBGRAPH_UNAVAILABLE: { status: 502, slug: "upstream-unavailable", title: "A backing service is unavailable" },
  SUBGRAPH_TIMEOUT: { status: 502, slug: "upstream-timeout", title: "A backing service did not answer in time" },
  CIRCUIT_OPEN: { status: 503, slug: "upstream-circuit-open", title: "A backing service is temporarily switched off" },
  IDEMPOTENCY_UNAVAILABLE: { status: 503, slug: "idempotency-unavailable", title: "Idempotency keys cannot be checked right now" },
  AUTHENTICATION_UNAVAILABLE: { status: 503, slug: "authentication-unavailable", title: "Credentials cannot be checked right now" },
  GRAPHQL_PARSE_FAILED: { status: 400, slug: "graphql-parse-failed", title: "The GraphQL document does not parse" },
  GRAPHQL_VALIDATION_FAILED: { status: 400, slug: "graphql-validation-failed", title: "The GraphQL document is not valid against the schema" },
  PERSISTED_QUERY_NOT_FOUND: { status: 400, slug: "persisted-query-not-found", title: "Persisted query not found" },
  OPERATION_RESOLUTION_FAILURE: { status: 400, slug: "operation-resolution-failure", title: "The operation to run cannot be determined" },
  OPERATION_NOT_FOUND: { status: 400, slug: "operation-not-found", title: "The document has no operation of that name" },
  OPERATION_NAME_REQUIRED: { status: 400, slug: "operation-name-required", title: "The document has several operations: name one" },
  SUBSCRIPTION_REQUIRES_WEBSOCKET: { status: 400, slug: "subscription-requires-websocket", title: "Subscriptions are served over WebSocket" },
  DEPTH_LIMIT_EXCEEDED: { status: 400, slug: "depth-limit-exceeded", title: "The operation is nested too deeply" },
  ALIAS_LIMIT_EXCEEDED: { status: 400, slug: "alias-limit-exceeded", title: "The operation has too many aliases" },
  COST_LIMIT_EXCEEDED: { status: 400, slug: "cost-limit-exceeded", title: "The operation would cost too much" },
  TOKEN_LIMIT_EXCEEDED: { status: 400, slug: "token-limit-exceeded", title: "The document has too many tokens" },
  NESTING_LIMIT_EXCEEDED: { status: 400, slug: "nesting-limit-exceeded", title: "The document is nested too deeply" },
  REQUEST_TIMEOUT: { status: 408, slug: "request-timeout", title: "The request was not received in time" },
  HEADERS_TOO_LARGE: { status: 431, slug: "headers-too-large", title: "Request headers too large" },
  INVALID_METHOD: { status: 400, slug: "invalid-method", title: "Invalid request method" },
  INVALID_HEADER: { status: 400, slug: "invalid-header", title: "Invalid request header" },
  SLOW_CONSUMER: { status: 503, slug: "slow-consumer", title: "The client fell too far behind" },
  SUBSCRIPTION_UNAVAILABLE: { status: 503, slug: "subscription-unavailable", title: "Live updates are unavailable right now" },
  CURSOR_EXPIRED: { status: 410, slug: "cursor-expired", title: "Events after this cursor are no longer kept" },
  CURSOR_INVALID: { status: 400, slug: "cursor-invalid", title: "The cursor is not valid" },
};

/** Problem types by code, for the OpenAPI document. */
export const PROBLEM_KINDS = KINDS;

export function problem(code: ErrorCode, detail: string, extra: Partial<Omit<Problem, "type" | "title" | "status" | "code" | "detail">> = {}): Problem {
  const kind = KINDS[code];
  return { type: `urn:sunday:problem:${kind.slug}`, title: kind.title, status: kind.status, detail, code, ...extra };
}

export function sendProblem(response: ServerResponse, value: Problem, headers: Readonly<Record<string, string>> = {}): void {
  const text = JSON.stringify(value);
  for (const [name, header] of Object.entries(headers)) response.setHeader(name, header);
  if (value.retryAfterSeconds !== undefined) response.setHeader("retry-after", String(value.retryAfterSeconds));
  if (value.status === 401) response.setHeader("www-authenticate", 'Bearer realm="sunday", ApiKey realm="sunday"');
  response.writeHead(value.status, { "content-type": PROBLEM_CONTENT_TYPE, "content-length": Buffer.byteLength(text) });
  response.end(text);
}
