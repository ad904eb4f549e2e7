import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { ApolloServer } from "@apollo/server";
import { parse, type OperationDefinitionNode } from "graphql";
import { AuthenticationError, bearerToken, createJwtVerifier, type JwtSettings } from "./auth/jwt.ts";
import { createFederation } from "./federation/gateway.ts";
import type { GatewayContext } from "./federation/signed-data-source.ts";
import { GRAPHIQL_ASSET_PREFIX, graphiqlHtml, sendGraphiqlAsset } from "./graphiql/page.ts";
import type { Identity } from "../../subgraphs/shared/identity.ts";
import {
  PayloadTooLargeError,
  readBody,
  sendGraphQLError,
  sendGraphQLResponse,
  sendJson,
  toHeaderMap,
} from "../../subgraphs/shared/http.ts";
import { createLogger, type Logger } from "../../subgraphs/shared/logger.ts";

const MAX_BODY_BYTES = 1_000_000;
const CORRELATION_ID = /^[A-Za-z0-9._:-]{8,128}$/;

export interface GatewayOptions {
  readonly supergraphSdl: string;
  readonly signingSecret: string;
  readonly jwt: JwtSettings;
  readonly subgraphUrls?: Readonly<Record<string, string>>;
  /** @default 0 (a free port) */
  readonly port?: number;
  /** @default "127.0.0.1" */
  readonly host?: string;
  /** Development mode: GraphiQL page and anonymous introspection. @default false */
  readonly development?: boolean;
  /** Headers GraphiQL starts with (the embedded start puts a dev token here). */
  readonly graphiqlHeaders?: Record<string, string>;
  readonly logger?: Logger;
}

export interface RunningGateway {
  readonly url: string;
  dispose(): Promise<void>;
}

/** Only `__schema` / `__type` / `__typename` at the top: what GraphiQL needs before a token is set. */
function isIntrospectionOnly(body: unknown): boolean {
  if (typeof body !== "object" || body === null || typeof (body as { query?: unknown }).query !== "string") return false;
  try {
    const document = parse((body as { query: string }).query);
    return document.definitions.every(
      (definition) =>
        definition.kind === "OperationDefinition" &&
        (definition as OperationDefinitionNode).operation === "query" &&
        definition.selectionSet.selections.every((selection) => selection.kind === "Field" && selection.name.value.startsWith("__")),
    );
  } catch {
    return false;
  }
}

function correlationIdOf(request: IncomingMessage): string {
  const given = request.headers["x-correlation-id"];
  return typeof given === "string" && CORRELATION_ID.test(given) ? given : randomUUID();
}

export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const logger = options.logger ?? createLogger("gateway");
  const verify = createJwtVerifier(options.jwt);
  const apollo = new ApolloServer<GatewayContext>({
    gateway: createFederation(options),
    includeStacktraceInErrorResponses: false,
    // Shutdown is ours (dispose()); Apollo's own signal handlers would race it.
    stopOnTerminationSignals: false,
    introspection: true,
  });
  await apollo.start();

  async function handleGraphQL(request: IncomingMessage, response: ServerResponse, url: URL, correlationId: string) {
    let body: unknown;
    if (request.method === "POST") {
      let text: string;
      try {
        text = await readBody(request, MAX_BODY_BYTES);
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

    let identity: Identity | null = null;
    const token = bearerToken(request.headers.authorization);
    if (token) {
      try {
        identity = await verify(token);
      } catch (error) {
        const message = error instanceof AuthenticationError ? error.message : "invalid token";
        return sendGraphQLError(response, 401, "UNAUTHENTICATED", `Unauthenticated: ${message}`);
      }
    } else {
      const query = request.method === "GET" ? { query: url.searchParams.get("query") } : body;
      if (!(options.development && isIntrospectionOnly(query))) {
        return sendGraphQLError(response, 401, "UNAUTHENTICATED", "A bearer token is required");
      }
    }

    const started = performance.now();
    const result = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: request.method ?? "GET", headers: toHeaderMap(request), search: url.search, body },
      context: async () => ({ identity, correlationId }),
    });
    await sendGraphQLResponse(response, result, { "x-correlation-id": correlationId });
    logger.debug({ correlationId, userId: identity?.userId, ms: performance.now() - started }, "graphql request");
  }

  const server: Server = createServer((request, response) => {
    const correlationId = correlationIdOf(request);
    void (async () => {
      const url = new URL(request.url ?? "/", "http://gateway");
      if (url.pathname === "/healthz") return sendJson(response, 200, { status: "ok" });
      if (options.development && url.pathname.startsWith(GRAPHIQL_ASSET_PREFIX)) {
        if (await sendGraphiqlAsset(url.pathname.slice(GRAPHIQL_ASSET_PREFIX.length), response)) return;
      }
      const wantsPage = request.method === "GET" && (request.headers.accept ?? "").includes("text/html");
      if (options.development && wantsPage && (url.pathname === "/" || url.pathname === "/graphql")) {
        response.writeHead(200, { "content-type": "text/html; charset=utf-8" });
        response.end(graphiqlHtml("/graphql", options.graphiqlHeaders ?? {}));
        return;
      }
      if (url.pathname === "/graphql") return handleGraphQL(request, response, url, correlationId);
      return sendJson(response, 404, { error: "not found" });
    })().catch((error: unknown) => {
      logger.error({ err: error, correlationId }, "gateway request failed");
      if (!response.headersSent) sendGraphQLError(response, 500, "INTERNAL_SERVER_ERROR", "Internal server error");
      else response.destroy();
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? "127.0.0.1", resolve));
  const address = server.address() as AddressInfo;
  const url = `http://${options.host ?? "127.0.0.1"}:${address.port}`;
  logger.info({ url }, "gateway listening");
  return {
    url,
    async dispose() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await apollo.stop();
    },
  };
}
