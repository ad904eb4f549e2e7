/**
 * RFC 9457 problem details: every REST error is `application/problem+json` with the correlation id
 * of the request, and GraphQL errors become problems by their `extensions.code`.
 */
import type { GraphQLFormattedError } from "graphql";
import { isErrorCode, type ErrorCode } from "../../../platform/error-codes.ts";
export { PROBLEM_CONTENT_TYPE, PROBLEM_KINDS, problem, sendProblem, type FieldError, type Problem } from "../../../platform/problem.ts";
import { problem, type Problem } from "../../../platform/problem.ts";

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
