/**
 * RFC 9457 problem details: every REST error is `application/problem+json` with the correlation id
 * of the request, and GraphQL errors become problems by their `extensions.code`.
 */
import type { ServerResponse } from "node:http";
import type { GraphQLFormattedError } from "graphql";
import { isErrorCode, type ErrorCode } from "../../../platform/error-codes.ts";

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

/**
 * The codes an operation's error keeps on its way to a REST caller (the REST layer's own, those of
 * the subgraphs and the gateway's upstream ones). Any other (BAD_REQUEST, a GraphQL document that
 * does not parse or validate, an operation limit, another surface's transport codes) means one of
 * our operations is wrong: 500.
 */
const PASSED_ON: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "INVALID_PARAMETERS",
  "UNAUTHENTICATED",
  "FORBIDDEN",
  "NOT_FOUND",
  "METHOD_NOT_ALLOWED",
  "NOT_ACCEPTABLE",
  "CONFLICT",
  "IDEMPOTENCY_IN_FLIGHT",
  "PRECONDITION_FAILED",
  "PAYLOAD_TOO_LARGE",
  "UNSUPPORTED_MEDIA_TYPE",
  "BAD_USER_INPUT",
  "IDEMPOTENCY_KEY_REUSED",
  "RATE_LIMITED",
  "INTERNAL_SERVER_ERROR",
  "SUBGRAPH_UNAVAILABLE",
  "SUBGRAPH_TIMEOUT",
  "CIRCUIT_OPEN",
  "IDEMPOTENCY_UNAVAILABLE",
  "AUTHENTICATION_UNAVAILABLE",
]);

/** How long a caller should wait after an open circuit: the breaker half-opens after 30 s. */
const CIRCUIT_RETRY_AFTER_SECONDS = 30;

export function problem(code: ErrorCode, detail: string, extra: Partial<Omit<Problem, "type" | "title" | "status" | "code" | "detail">> = {}): Problem {
  const kind = KINDS[code];
  return { type: `urn:sunday:problem:${kind.slug}`, title: kind.title, status: kind.status, detail, code, ...extra };
}

export interface ErrorMappingContext {
  /** The expected version came from the client's If-Match: a CONFLICT is then a failed precondition. */
  readonly ifMatch: boolean;
  /** GraphQL argument names to the REST parameter names partners sent (`after` -> `cursor`). */
  readonly fieldNames?: Readonly<Record<string, string>>;
  /** Which failing fields are query parameters (400) rather than body fields (422). */
  readonly queryParameters?: ReadonlySet<string>;
  /**
   * The request body: a NOT_FOUND for an id the body names (not the path) is an invalid field
   * (422), since the resource the URL names is there.
   */
  readonly body?: unknown;
}

/** Where in a body a value is, as a field path (`columnValues/0/columnId`), or null. */
function fieldHolding(value: unknown, target: string, path: string[] = []): string | null {
  if (value === target) return path.join("/");
  if (value !== null && typeof value === "object") {
    for (const [key, entry] of Object.entries(value)) {
      const found = fieldHolding(entry, target, [...path, key]);
      if (found !== null) return found;
    }
  }
  return null;
}

interface Extensions {
  readonly code?: unknown;
  readonly field?: unknown;
  readonly expectedVersion?: unknown;
  readonly actualVersion?: unknown;
}

/**
 * The problem for a failed operation. Input errors are gathered into one 422 listing every
 * failing field; otherwise the first error decides, since GraphQL orders them by path.
 */
export function problemFromGraphQLErrors(errors: readonly GraphQLFormattedError[], context: ErrorMappingContext): Problem {
  const codeOf = (error: GraphQLFormattedError) => {
    const code = (error.extensions as Extensions | undefined)?.code;
    return isErrorCode(code) ? code : "INTERNAL_SERVER_ERROR";
  };
  const inputErrors = errors.filter((error) => codeOf(error) === "BAD_USER_INPUT");
  if (inputErrors.length > 0) {
    const fields = inputErrors.map((error) => {
      const raw = (error.extensions as Extensions | undefined)?.field;
      const field = typeof raw === "string" ? (context.fieldNames?.[raw] ?? raw) : "";
      return { field, message: error.message };
    });
    const inQuery = fields.every((field) => context.queryParameters?.has(field.field));
    return problem(inQuery ? "INVALID_PARAMETERS" : "BAD_USER_INPUT", inputErrors[0]?.message ?? "Invalid input", {
      errors: fields.filter((field) => field.field !== ""),
    });
  }
  const first = errors[0] as GraphQLFormattedError;
  const code = codeOf(first);
  const extensions = (first.extensions ?? {}) as Extensions & { id?: unknown };
  if (code === "NOT_FOUND" && typeof extensions.id === "string" && context.body !== undefined) {
    const field = fieldHolding(context.body, extensions.id);
    if (field !== null) return problem("BAD_USER_INPUT", first.message, { errors: [{ field, message: first.message }] });
  }
  if (code === "CONFLICT") {
    const versions = {
      ...(typeof extensions.expectedVersion === "number" ? { expectedVersion: extensions.expectedVersion } : {}),
      ...(typeof extensions.actualVersion === "number" ? { actualVersion: extensions.actualVersion } : {}),
    };
    return context.ifMatch
      ? problem("PRECONDITION_FAILED", `If-Match does not match the current version: ${first.message}`, versions)
      : problem("CONFLICT", first.message, versions);
  }
  if (code === "CIRCUIT_OPEN") return problem(code, first.message, { retryAfterSeconds: CIRCUIT_RETRY_AFTER_SECONDS });
  // Our own operations failing GraphQL validation or limits is our bug, not the caller's; a code
  // we do not know may carry anything in its message.
  const unknownCode = typeof extensions.code === "string" && !isErrorCode(extensions.code);
  if (unknownCode || !PASSED_ON.has(code)) return problem("INTERNAL_SERVER_ERROR", "The request could not be completed");
  return problem(code, first.message);
}

export function sendProblem(response: ServerResponse, value: Problem, headers: Readonly<Record<string, string>> = {}): void {
  const text = JSON.stringify(value);
  for (const [name, header] of Object.entries(headers)) response.setHeader(name, header);
  if (value.retryAfterSeconds !== undefined) response.setHeader("retry-after", String(value.retryAfterSeconds));
  if (value.status === 401) response.setHeader("www-authenticate", 'Bearer realm="sunday", ApiKey realm="sunday"');
  response.writeHead(value.status, { "content-type": PROBLEM_CONTENT_TYPE, "content-length": Buffer.byteLength(text) });
  response.end(text);
}
