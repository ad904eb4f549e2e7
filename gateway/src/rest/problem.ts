/**
 * RFC 9457 problem details: every REST error is `application/problem+json` with the correlation id
 * of the request, and GraphQL errors become problems by their `extensions.code`.
 */
import type { ServerResponse } from "node:http";
import type { GraphQLFormattedError } from "graphql";

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
  readonly code: string;
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

const KINDS: Readonly<Record<string, Kind>> = {
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
};

/** Problem types by code, for the OpenAPI document. */
export const PROBLEM_KINDS = KINDS;

/** How long a caller should wait after an open circuit: the breaker half-opens after 30 s. */
const CIRCUIT_RETRY_AFTER_SECONDS = 30;

export function problem(
  code: string,
  detail: string,
  extra: Partial<Omit<Problem, "type" | "title" | "status" | "code" | "detail">> = {},
): Problem {
  const kind = KINDS[code] ?? KINDS.INTERNAL_SERVER_ERROR as Kind;
  return { type: `urn:sunday:problem:${kind.slug}`, title: kind.title, status: kind.status, detail, code: KINDS[code] ? code : "INTERNAL_SERVER_ERROR", ...extra };
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
    return typeof code === "string" ? code : "INTERNAL_SERVER_ERROR";
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
  // Our own operations failing GraphQL validation or limits is our bug, not the caller's.
  if (!KINDS[code] || code === "BAD_REQUEST") return problem("INTERNAL_SERVER_ERROR", "The request could not be completed");
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
