import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import { ApolloServer } from "@apollo/server";
import { ApolloServerPluginInlineTraceDisabled } from "@apollo/server/plugin/disabled";
import { buildSubgraphSchema } from "@apollo/subgraph";
import type { GraphQLResolverMap } from "@apollo/subgraph/dist/schema-helper/resolverMap.js";
import { GraphQLError, type DocumentNode } from "graphql";
import type { PrismaClient } from "../../platform/db.ts";
import type { BaseContext } from "./context.ts";
import { INTERNAL_HEADERS, NonceRegistry, verifyInternalRequest, type NonceStore } from "../../platform/identity.ts";
import {
  MalformedBodyError,
  PayloadTooLargeError,
  headerOf,
  readBody,
  sendGraphQLError,
  sendGraphQLResponse,
  sendJson,
  sendMetrics,
  toHeaderMap,
} from "../../platform/http.ts";
import { createLogger, type Logger } from "../../platform/logger.ts";
import type { ErrorCode } from "../../platform/error-codes.ts";
import { contextFromHeaders, inSpan, SpanKind, tracingOn } from "../../platform/tracing.ts";

const KNOWN_CODES: ReadonlySet<string> = new Set<ErrorCode>([
  "UNAUTHENTICATED",
  "FORBIDDEN",
  "NOT_FOUND",
  "BAD_USER_INPUT",
  "CONFLICT",
  "GRAPHQL_PARSE_FAILED",
  "GRAPHQL_VALIDATION_FAILED",
  "PERSISTED_QUERY_NOT_FOUND",
  "OPERATION_RESOLUTION_FAILURE",
  "BAD_REQUEST",
]);

const MAX_BODY_BYTES = 1_000_000;

/** Where and with what a subgraph runs: the same for all four, set by the launcher or a test. */
export interface SubgraphRuntime {
  readonly prisma: PrismaClient;
  /** Shared secret with the gateway: only requests signed with it are served. */
  readonly signingSecret: string;
  /** @default 0 (a free port) */
  readonly port?: number;
  /** @default "127.0.0.1" */
  readonly host?: string;
  readonly logger?: Logger;
  /** URLs of the other subgraphs, for the few facts a subgraph checks through a peer's `_entities`. */
  readonly peers?: Readonly<Partial<Record<SubgraphName, string>>>;
  /**
   * Called when a mutation has been executed (its transactions committed), before its answer is
   * sent. A relay in the same process is woken by it where NOTIFY does not reach it (PGlite).
   */
  readonly onMutation?: () => void;
  /**
   * Where the nonces of served requests are remembered: Redis (`redisNonceStore`) when replicas
   * of this subgraph run, so that none serves a request another already did. @default this process
   */
  readonly nonces?: NonceStore;
  /** Served on /metrics, like the probes unsigned (the items process's projections, scripts/serve.ts). @default no /metrics */
  readonly metrics?: Registry;
}

export type SubgraphName = "users" | "projects" | "items" | "integrations";

export interface SubgraphOptions<TContext extends BaseContext> extends SubgraphRuntime {
  /** Subgraph name as in supergraph.yaml; used in logs and in event metadata. */
  readonly name: SubgraphName;
  readonly typeDefs: DocumentNode;
  readonly resolvers: GraphQLResolverMap<TContext>;
  /** Adds request-scoped state (DataLoaders) to the base context. */
  readonly createContext: (base: BaseContext) => TContext;
}

export interface RunningSubgraph {
  readonly name: string;
  readonly url: string;
  dispose(): Promise<void>;
}

/** Starts one subgraph: Apollo Server on node:http, serving only gateway-signed requests at /graphql. */
export async function startSubgraph<TContext extends BaseContext>(options: SubgraphOptions<TContext>): Promise<RunningSubgraph> {
  const logger = options.logger?.child({ subgraph: options.name }) ?? createLogger(`subgraph-${options.name}`);
  const apollo = new ApolloServer<TContext>({
    schema: buildSubgraphSchema({ typeDefs: options.typeDefs, resolvers: traced(options.name, options.resolvers as GraphQLResolverMap<unknown>) }),
    includeStacktraceInErrorResponses: false,
    // Shutdown is ours (dispose()); Apollo's own signal handlers would race it.
    stopOnTerminationSignals: false,
    // Traces are for Apollo's hosted reporting, which we do not use; they cost time per request.
    plugins: [ApolloServerPluginInlineTraceDisabled()],
    formatError(formatted, error) {
      const code = formatted.extensions?.code;
      if (typeof code === "string" && KNOWN_CODES.has(code)) return formatted;
      // Anything we did not raise on purpose is a bug: log it whole, show the client nothing of it.
      const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
      logger.error({ err: original, path: formatted.path }, "unexpected resolver error");
      return { message: "Internal server error", path: formatted.path, extensions: { code: "INTERNAL_SERVER_ERROR" } };
    },
  });
  await apollo.start();
  const nonces = options.nonces ?? new NonceRegistry();
  // Shutting down: every answer from then on closes its connection, or a client's pooled
  // keep-alive socket that carried a request in flight at SIGTERM held server.close() open until
  // the process's grace period ran out (exit 1; a Service's pinned connections kept being served).
  let draining = false;
  const unanswered = new Set<ServerResponse>();

  const server: Server = createServer((request, response) => {
    if (draining) response.setHeader("connection", "close");
    unanswered.add(response);
    response.once("close", () => unanswered.delete(response));
    const refuse = (reason: string) => {
      logger.warn({ reason }, "refused unsigned subgraph request");
      sendGraphQLError(response, 401, "UNAUTHENTICATED", `Refused: ${reason}`);
    };
    void (async () => {
      const url = new URL(request.url ?? "/", "http://subgraph");
      if (url.pathname === "/healthz") return sendJson(response, 200, { status: "ok", subgraph: options.name });
      // Ready to take new requests: only this process's own state. The database is shared by every
      // replica; failing readiness on it would take them all out of the Service at once.
      if (url.pathname === "/readyz") return sendJson(response, draining ? 503 : 200, { ready: !draining, draining, subgraph: options.name });
      if (url.pathname === "/metrics" && options.metrics) return sendMetrics(response, [options.metrics]);
      if (url.pathname !== "/graphql") return sendJson(response, 404, { error: "not found" });
      let body: string;
      try {
        body = await readBody(request, MAX_BODY_BYTES);
      } catch (error) {
        if (error instanceof PayloadTooLargeError) {
          return sendGraphQLError(response, 413, "BAD_REQUEST", error.message);
        }
        if (error instanceof MalformedBodyError) return sendGraphQLError(response, 400, "BAD_REQUEST", error.message);
        throw error;
      }
      const header = headerOf(request);
      // Signature and freshness first; the nonce is claimed below, overlapping a read's execution.
      const verified = verifyInternalRequest({ method: request.method ?? "GET", path: url.pathname, body }, header, options.signingSecret, null);
      if (!verified.ok) return refuse(verified.reason);
      let parsed: unknown;
      try {
        parsed = body === "" ? undefined : JSON.parse(body);
      } catch {
        return sendGraphQLError(response, 400, "BAD_REQUEST", "Body is not valid JSON");
      }
      logger.debug({ correlationId: verified.correlationId, userId: verified.identity?.userId }, "subgraph request");
      const first = Promise.resolve(nonces.claim(header(INTERNAL_HEADERS.nonce) ?? ""));
      // A document that may write runs only once its nonce is known to be new; a read runs while
      // the (shared) registry is asked, and its answer is sent only if the nonce was new.
      if (mayWrite(parsed) && !(await first)) return refuse("replayed request");
      const base: BaseContext = {
        identity: verified.identity,
        correlationId: verified.correlationId,
        channel: verified.channel,
        prisma: options.prisma,
      };
      // The server span continues the gateway's fetch span (`traceparent`, sent beside the signature).
      const parent = contextFromHeaders((name) => request.headers[name]?.toString());
      const [result, isNew] = await inSpan(
        options.name,
        `subgraph ${options.name}`,
        { kind: SpanKind.SERVER, parent, attributes: { "sunday.subgraph": options.name } },
        () =>
          Promise.all([
            apollo.executeHTTPGraphQLRequest({
              httpGraphQLRequest: {
                method: request.method ?? "GET",
                headers: toHeaderMap(request),
                search: url.search,
                body: parsed,
              },
              context: async () => options.createContext(base),
            }),
            first,
          ]),
      );
      if (!isNew) return refuse("replayed request");
      if (options.onMutation && isMutation(parsed)) options.onMutation();
      await sendGraphQLResponse(response, result);
    })().catch((error: unknown) => {
      logger.error({ err: error }, "subgraph request failed");
      if (!response.headersSent) sendGraphQLError(response, 500, "INTERNAL_SERVER_ERROR", "Internal server error");
      else response.destroy();
    });
  });
  server.keepAliveTimeout = 65_000;

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? "127.0.0.1", resolve));
  const address = server.address() as AddressInfo;
  const url = `http://${options.host ?? "127.0.0.1"}:${address.port}/graphql`;
  logger.info({ url }, "subgraph listening");

  return {
    name: options.name,
    url,
    async dispose() {
      draining = true;
      for (const response of unanswered) if (!response.headersSent) response.setHeader("connection", "close");
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await apollo.stop();
    },
  };
}

/**
 * Whether a request body's document may hold a mutation: any mention of the keyword counts, so
 * that no signed document (several operations, an operationName) runs a write before its nonce
 * was claimed.
 */
function mayWrite(body: unknown): boolean {
  const query = (body as { query?: unknown } | undefined)?.query;
  return typeof query !== "string" || /\bmutation\b/.test(query);
}

/** Whether a request body's document starts with a mutation (the gateway sends one operation per subgraph request). */
function isMutation(body: unknown): boolean {
  const query = (body as { query?: unknown } | undefined)?.query;
  return typeof query === "string" && /^\s*mutation\b/.test(query);
}

/**
 * The resolvers with a span around each root field and each entity reference (`_entities`), so the
 * SQL a resolver sends is a child of its field. Left as they are when tracing is off at start-up.
 */
function traced<T extends GraphQLResolverMap<unknown>>(subgraph: string, resolvers: T): T {
  if (!tracingOn()) return resolvers;
  const wrapped: Record<string, unknown> = {};
  for (const [typeName, fields] of Object.entries(resolvers)) {
    if (typeof fields !== "object" || fields === null) {
      wrapped[typeName] = fields;
      continue;
    }
    const root = typeName === "Query" || typeName === "Mutation";
    wrapped[typeName] = Object.fromEntries(
      Object.entries(fields as Record<string, unknown>).map(([field, resolver]) => {
        if (typeof resolver !== "function" || !(root || field === "__resolveReference")) return [field, resolver];
        const name = `${typeName}.${field}`;
        const run = resolver as (...args: unknown[]) => unknown;
        return [field, (...args: unknown[]) => inSpan(subgraph, `resolve ${name}`, { attributes: { "graphql.field.path": name } }, async () => run(...args))];
      }),
    );
  }
  return wrapped as T;
}
