import type { GraphQLFormattedError } from "graphql";

/**
 * Apollo Server's own refusals of a persisted query (an unsupported version, a hash that is not the
 * document's) are HTTP 400 errors without a code, so they went out coded INTERNAL_SERVER_ERROR.
 * A client's mistake must say so: an error answered with a 4xx status is coded BAD_REQUEST instead.
 */
export function codeClientErrors(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const status = (error as { extensions?: { http?: { status?: unknown } } } | null)?.extensions?.http?.status;
  const clientStatus = typeof status === "number" && status >= 400 && status < 500;
  if (!clientStatus || formatted.extensions?.code !== "INTERNAL_SERVER_ERROR") return formatted;
  return { ...formatted, extensions: { ...formatted.extensions, code: "BAD_REQUEST" } };
}
