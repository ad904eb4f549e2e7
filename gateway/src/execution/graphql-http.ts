import type { IncomingMessage, ServerResponse } from "node:http";
import type { ApolloServer } from "@apollo/server";
import { Kind, parse } from "graphql";
import type { GatewayContext } from "./context.ts";
import type { GatewayMetrics } from "../observability/metrics.ts";
import { TokenGate } from "../plugins/limits.ts";
import type { Admit } from "./admission.ts";
import { userAgentOf } from "../usage/principal.ts";
import { channelOf } from "../auth/authenticate.ts";
import { MalformedBodyError, PayloadTooLargeError, readBody, sendGraphQLError, sendGraphQLResponse, toHeaderMap } from "../../../platform/http.ts";

export type GraphQLHandler = (request: IncomingMessage, response: ServerResponse, url: URL, correlationId: string) => Promise<void>;

/** The root fields an anonymous caller may select in development: introspection, nothing else. */
const INTROSPECTION_FIELDS = new Set(["__schema", "__type", "__typename"]);

/**
 * GraphQL-over-HTTP: a POST body is `application/json` (any charset parameter). Anything else,
 * including a missing Content-Type, is refused with 415 rather than guessed at: a browser form or
 * `text/plain` POST must not execute (it is also how cross-site requests avoid a CORS preflight).
 */
const JSON_REQUEST = /^application\/json\s*(?:;|$)/i;

/**
 * Whether the Accept header admits a JSON answer (absent, a wildcard, application/json or
 * application/graphql-response+json, with no parameter but q and charset=utf-8). Apollo Server
 * negotiates only after executing, so an unanswerable Accept ran a mutation and then said 406.
 * Checked here first, at least as strictly as Apollo's negotiation (hand-rolled: a few lines,
 * where the library Apollo uses is not a dependency of ours).
 */
export function acceptsJson(accept: string | undefined): boolean {
  if (accept === undefined || accept.trim() === "") return true;
  return accept.split(",").some((range) => {
    const [type = "", ...parameters] = range.split(";").map((part) => part.trim().toLowerCase());
    if (!["*/*", "application/*", "application/json", "application/graphql-response+json"].includes(type)) return false;
    return parameters.every((parameter) => {
      const [name, value = ""] = parameter.split("=").map((part) => part.trim());
      if (name === "q") return Number(value) > 0;
      return name === "charset" && (value === "utf-8" || value === "*");
    });
  });
}

/**
 * Whether every operation of the document selects only `__schema` / `__type` / `__typename` at
 * its root: what GraphiQL needs before a token is set. Fragments are allowed (the standard
 * `getIntrospectionQuery()` has them); they can only be spread below an introspection field.
 * Called only after the token gate, and bounded by it again here.
 */
export function isIntrospectionOnly(source: string, maxTokens: number): boolean {
  try {
    const { definitions } = parse(source, { noLocation: true, maxTokens });
    let operations = 0;
    for (const definition of definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) continue;
      if (definition.kind !== Kind.OPERATION_DEFINITION || definition.operation !== "query") return false;
      operations += 1;
      const onlyIntrospection = definition.selectionSet.selections.every(
        (selection) => selection.kind === Kind.FIELD && INTROSPECTION_FIELDS.has(selection.name.value),
      );
      if (!onlyIntrospection) return false;
    }
    return operations > 0;
  } catch {
    return false;
  }
}

/**
 * POST/GET /graphql, cheapest refusal first: method, media type, admission (credential, rate limit;
 * anonymous callers are limited per client address) before the body is read, the body within its
 * size, the token count before anything parses the document (anonymous callers included), then
 * Apollo Server over the federated gateway. Every refusal is a GraphQL error with a code.
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
    if (request.method !== "GET" && request.method !== "POST") {
      response.setHeader("allow", "GET, POST");
      return sendGraphQLError(response, 405, "METHOD_NOT_ALLOWED", "Use GET or POST");
    }
    if (request.method === "POST" && !JSON_REQUEST.test(request.headers["content-type"] ?? "")) {
      return sendGraphQLError(response, 415, "UNSUPPORTED_MEDIA_TYPE", "Send the request body as application/json");
    }
    if (!acceptsJson(request.headers.accept)) {
      return sendGraphQLError(response, 406, "NOT_ACCEPTABLE", "Accept application/graphql-response+json or application/json: nothing else is served");
    }

    const admission = await admit(request.headers, correlationId, request.socket.remoteAddress);
    for (const [name, value] of Object.entries(admission.headers)) response.setHeader(name, value);
    if (!admission.ok) return sendGraphQLError(response, admission.refusal.status, admission.refusal.code, admission.refusal.message);
    const { caller } = admission;
    const unauthenticated = () => sendGraphQLError(response, 401, "UNAUTHENTICATED", "A bearer token or API key is required");
    // Outside development nothing is served anonymously: refuse before reading the body.
    if (!caller && !options.development) return unauthenticated();

    let body: unknown;
    if (request.method === "POST") {
      let text: string;
      try {
        text = await readBody(request, maxBodyBytes);
      } catch (error) {
        if (error instanceof PayloadTooLargeError) return sendGraphQLError(response, 413, "PAYLOAD_TOO_LARGE", error.message);
        if (error instanceof MalformedBodyError) return sendGraphQLError(response, 400, "BAD_REQUEST", "Body is not valid UTF-8");
        throw error;
      }
      try {
        body = JSON.parse(text);
      } catch {
        return sendGraphQLError(response, 400, "BAD_REQUEST", "Body is not valid JSON");
      }
    }

    const source = request.method === "GET" ? url.searchParams.get("query") : (body as { query?: unknown } | null)?.query;
    if (typeof source === "string") {
      const refused = tokenGate.refusal(source);
      if (refused) {
        metrics.limitRefusals.inc({ code: refused.code });
        return sendGraphQLError(response, 400, refused.code, refused.message, { limit: refused.limit, actual: refused.actual });
      }
    }
    if (!caller && !(typeof source === "string" && isIntrospectionOnly(source, maxTokens))) return unauthenticated();

    const result = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: request.method, headers: toHeaderMap(request), search: url.search, body },
      context: async () => ({
        identity: caller?.identity ?? null,
        correlationId,
        channel: caller ? channelOf(caller, "graphql") : undefined,
        usage: caller ? { principal: caller.principal, userAgent: userAgentOf(request.headers) } : undefined,
      }),
    });
    await sendGraphQLResponse(response, result);
  };
}
