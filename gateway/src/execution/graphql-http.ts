import type { IncomingMessage, ServerResponse } from "node:http";
import type { ApolloServer } from "@apollo/server";
import { parse, type OperationDefinitionNode } from "graphql";
import type { GatewayContext } from "../federation/signed-data-source.ts";
import type { GatewayMetrics } from "../observability/metrics.ts";
import { TokenGate } from "../plugins/limits.ts";
import type { Admit } from "./admission.ts";
import {
  PayloadTooLargeError,
  readBody,
  sendGraphQLError,
  sendGraphQLResponse,
  toHeaderMap,
} from "../../../subgraphs/shared/http.ts";

export type GraphQLHandler = (request: IncomingMessage, response: ServerResponse, url: URL, correlationId: string) => Promise<void>;

/** Only `__schema` / `__type` / `__typename` at the top: what GraphiQL needs before a token is set. */
function isIntrospectionOnly(body: unknown): boolean {
  const query = typeof body === "object" && body !== null ? (body as { query?: unknown }).query : undefined;
  if (typeof query !== "string") return false;
  try {
    return parse(query).definitions.every(
      (definition) =>
        definition.kind === "OperationDefinition" &&
        (definition as OperationDefinitionNode).operation === "query" &&
        definition.selectionSet.selections.every((selection) => selection.kind === "Field" && selection.name.value.startsWith("__")),
    );
  } catch {
    return false;
  }
}

/**
 * POST/GET /graphql: body within its size, admission (credential, rate limit), the token count
 * before anything parses the document, then Apollo Server over the federated gateway. Every refusal
 * is a GraphQL error with a code.
 */
export function createGraphQLHandler(options: {
  readonly apollo: ApolloServer<GatewayContext>;
  readonly admit: Admit;
  readonly metrics: GatewayMetrics;
  readonly maxBodyBytes: number;
  readonly maxTokens: number;
  /** Anonymous introspection (GraphiQL before a token is set). */
  readonly development: boolean;
}): GraphQLHandler {
  const { apollo, admit, metrics, maxBodyBytes, maxTokens } = options;
  const tokenGate = new TokenGate(maxTokens);
  return async (request, response, url, correlationId) => {
    let body: unknown;
    if (request.method === "POST") {
      let text: string;
      try {
        text = await readBody(request, maxBodyBytes);
      } catch (error) {
        if (error instanceof PayloadTooLargeError) return sendGraphQLError(response, 413, "PAYLOAD_TOO_LARGE", error.message);
        throw error;
      }
      try {
        body = JSON.parse(text);
      } catch {
        return sendGraphQLError(response, 400, "BAD_REQUEST", "Body is not valid JSON");
      }
    } else if (request.method !== "GET") {
      response.setHeader("allow", "GET, POST");
      return sendGraphQLError(response, 405, "METHOD_NOT_ALLOWED", "Use GET or POST");
    }

    const admission = await admit(request.headers, correlationId);
    for (const [name, value] of Object.entries(admission.headers)) response.setHeader(name, value);
    if (!admission.ok) return sendGraphQLError(response, admission.refusal.status, admission.refusal.code, admission.refusal.message);
    const { caller } = admission;
    if (!caller) {
      const query = request.method === "GET" ? { query: url.searchParams.get("query") } : body;
      if (!(options.development && isIntrospectionOnly(query))) {
        return sendGraphQLError(response, 401, "UNAUTHENTICATED", "A bearer token or API key is required");
      }
    }

    const source = request.method === "GET" ? url.searchParams.get("query") : (body as { query?: unknown } | null)?.query;
    if (typeof source === "string") {
      const tokens = tokenGate.exceeded(source);
      if (tokens !== null) {
        metrics.limitRefusals.inc({ code: "TOKEN_LIMIT_EXCEEDED" });
        return sendGraphQLError(response, 400, "TOKEN_LIMIT_EXCEEDED", `The document has more than ${maxTokens} tokens`, {
          limit: maxTokens,
          actual: tokens,
        });
      }
    }

    const result = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: request.method ?? "GET", headers: toHeaderMap(request), search: url.search, body },
      context: async () => ({ identity: caller?.identity ?? null, correlationId }),
    });
    await sendGraphQLResponse(response, result);
  };
}
