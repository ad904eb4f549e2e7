import type { Registry } from "prom-client";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { ApolloServer } from "@apollo/server";
import { InMemoryLRUCache, type KeyValueCache } from "@apollo/utils.keyvaluecache";
import type { RedisClient } from "../../platform/redis.ts";
import type { JwtSettings } from "./auth/jwt.ts";
import { createApiKeyResolver } from "./auth/api-keys.ts";
import { channelOf, createAuthenticator } from "./auth/authenticate.ts";
import { createAdmission } from "./execution/admission.ts";
import { createGraphQLHandler } from "./execution/graphql-http.ts";
import type { RunOperation } from "./execution/run-operation.ts";
import { createFederation, type FederationTuning } from "./federation/gateway.ts";
import { SupergraphFile } from "./federation/supergraph-file.ts";
import type { GatewayContext } from "./execution/context.ts";
import { answerClientError } from "./http/client-error.ts";
import { compressJsonResponses } from "./http/compression.ts";
import { corsOriginsFromEnv, createCors, type CorsSettings } from "./http/cors.ts";
import { corsConfig } from "../../platform/config.ts";
import { redisNonceStore } from "../../platform/redis-nonces.ts";
import { routeHeadAsGet } from "./http/head.ts";
import { closeIfBodyUnread } from "./http/keep-alive.ts";
import { beforeHeaders } from "./http/response-hooks.ts";
import { GRAPHIQL_ASSET_PREFIX, graphiqlHtml, sendGraphiqlAsset } from "./graphiql/page.ts";
import { DEFAULT_OPERATION_LIMITS, type OperationLimits } from "./limits/operation-limits.ts";
import { createRateLimiter } from "./limits/rate-limit.ts";
import { createRedisKeyValueCache } from "./limits/redis-cache.ts";
import { correlationIdOf } from "./observability/correlation.ts";
import { GatewayMetrics } from "./observability/metrics.ts";
import { inputValuesPlugin } from "./plugins/input-values.ts";
import { limitsPlugin } from "./plugins/limits.ts";
import { operationResolutionPlugin } from "./plugins/operation-resolution.ts";
import { PlanCacheTracker, observabilityPlugin } from "./plugins/observability.ts";
import { variableCoercionPlugin } from "./plugins/variable-coercion.ts";
import { codeClientErrors } from "./execution/client-error-codes.ts";
import { checkReadiness } from "./readiness.ts";
import { createRestApi } from "./rest/rest-api.ts";
import { createUsageRecorder, type UsageRecorder, type UsageRecorderOptions } from "./usage/recorder.ts";
import { createIntegrationsRelay } from "./integrations/relay.ts";
import { boardReadersOf } from "./subscriptions/access.ts";
import { startSubscriptions, trackApiSchema, type LiveSubscriptions, type SubscriptionsSetup } from "./subscriptions/index.ts";
import { sendGraphQLError, sendJson, sendMetrics } from "../../platform/http.ts";
import { createLogger, type Logger } from "../../platform/logger.ts";
import { contextFromHeaders, inSpan, SpanKind } from "../../platform/tracing.ts";

export interface GatewayOptions {
  /** The supergraph: a file (hot-reloaded on change and SIGHUP) or a fixed SDL. */
  readonly supergraph: { readonly path: string } | { readonly sdl: string };
  readonly signingSecret: string;
  readonly jwt: JwtSettings;
  /** Routing URLs that replace the supergraph's, by subgraph name (tests, the embedded start). */
  readonly subgraphUrls?: Readonly<Record<string, string>>;
  /** Shared state of several gateway instances (rate limits, APQ); in-process stand-ins without it. */
  readonly redis?: RedisClient;
  /** Key prefix for everything this gateway keeps in Redis. @default "" */
  readonly redisPrefix?: string;
  /** @default 100 per minute and 1000 per hour per user or API key; false turns limiting off. */
  readonly rateLimit?: { perMinute: number; perHour: number } | false;
  /** @default DEFAULT_OPERATION_LIMITS */
  readonly operationLimits?: OperationLimits;
  /** @default 1 MB */
  readonly maxBodyBytes?: number;
  /** How long an API key lookup is reused: the longest a revoked key keeps working. @default 30_000 */
  readonly apiKeyCacheTtlMs?: number;
  /** Resilience and observability settings of subgraph calls. */
  readonly federation?: FederationTuning;
  /**
   * How long shutdown waits for in-flight requests before closing their sockets: under the
   * process's grace period (platform/lifecycle.ts, 9 s), so a slow request is cut by the drain, not
   * by the process exiting 1. @default 8_000
   */
  readonly drainTimeoutMs?: number;
  /** @default 0 (a free port) */
  readonly port?: number;
  /** @default "127.0.0.1" */
  readonly host?: string;
  /**
   * Browser origins allowed to call the API (CORS). @default `CORS_ORIGINS` (comma-separated), else
   * none. GraphiQL is served by the gateway itself (same origin) and needs no entry.
   */
  readonly cors?: CorsSettings;
  /** gzip/br for JSON answers of 1 KB or more when the client accepts it. @default true */
  readonly compression?: boolean;
  /** Development mode: GraphiQL page and anonymous introspection. @default false */
  readonly development?: boolean;
  /** Headers GraphiQL starts with (the embedded start puts a dev token here). */
  readonly graphiqlHeaders?: Record<string, string>;
  readonly logger?: Logger;
  /** Live subscriptions over graphql-ws on /graphql; none without it. */
  readonly subscriptions?: SubscriptionsSetup;
  /** Metrics of parts running in the gateway's process (`npm start`'s integrations runtime), served with its own on /metrics. */
  readonly extraMetrics?: readonly Registry[];
  /**
   * The integrations runtime's HTTP address: Slack's and Teams' inbound paths (`/integrations/*`) are
   * handed to it. A function when it is known only after the gateway starts. Absent: those paths 404.
   */
  readonly integrationsRuntimeUrl?: string | (() => string | undefined);
  /**
   * API usage analytics: a record per /graphql operation and REST call of an authenticated caller,
   * buffered and flushed to `sink` off the request path (README "API usage analytics"). @default none recorded
   */
  readonly usage?: Omit<UsageRecorderOptions, "registry" | "logger">;
}

export interface RunningGateway {
  readonly url: string;
  readonly metrics: GatewayMetrics;
  /** Live subscriptions, when configured. */
  readonly subscriptions: LiveSubscriptions | null;
  /** The usage recorder, when configured (`flush()` hands its buffer to the sink now). */
  readonly usage: UsageRecorder | null;
  /** Re-reads the supergraph file (as SIGHUP does); "unchanged" for a fixed SDL. */
  reloadSupergraph(): Promise<"updated" | "unchanged" | "rejected">;
  dispose(): Promise<void>;
}

/** Calls `log` at most once per `intervalMs`: an outage must not turn into a log flood. */
function throttled(intervalMs: number, log: (error: unknown) => void): (error: unknown) => void {
  let last = 0;
  return (error) => {
    const now = Date.now();
    if (now - last < intervalMs) return;
    last = now;
    log(error);
  };
}

/** Stamps `x-response-time` just before the headers leave, whichever path sends them. */
function stampResponseTime(response: ServerResponse, started: number): void {
  beforeHeaders(response, (target) => target.setHeader("x-response-time", `${(performance.now() - started).toFixed(1)}ms`));
}

export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const logger = options.logger ?? createLogger("gateway");
  const metrics = new GatewayMetrics();
  const plans = new PlanCacheTracker();
  const usage = options.usage ? createUsageRecorder({ ...options.usage, registry: metrics.registry, logger }) : null;
  const prefix = options.redisPrefix ?? "";
  const supergraphFile =
    "path" in options.supergraph
      ? new SupergraphFile({
          path: options.supergraph.path,
          logger,
          onReload: (outcome) => {
            metrics.supergraphReloads.inc({ outcome });
            if (outcome === "updated") plans.clear();
          },
        })
      : null;
  const federation = createFederation({
    ...options.federation,
    supergraphSdl: supergraphFile ?? ("sdl" in options.supergraph ? options.supergraph.sdl : ""),
    signingSecret: options.signingSecret,
    subgraphUrls: options.subgraphUrls,
    onFetch: (event) => {
      metrics.subgraphFetchDuration.observe({ subgraph: event.subgraph, outcome: event.outcome }, event.durationMs / 1000);
      if (event.outcome !== "ok") metrics.subgraphErrors.inc({ subgraph: event.subgraph, outcome: event.outcome });
      if (event.retries > 0) metrics.subgraphRetries.inc({ subgraph: event.subgraph }, event.retries);
      options.federation?.onFetch?.(event);
    },
    onSharedFetch: (subgraph) => {
      metrics.subgraphSharedFetches.inc({ subgraph });
      options.federation?.onSharedFetch?.(subgraph);
    },
    onBreakerStateChange: (subgraph, state, initial) => {
      metrics.setCircuit(subgraph, state);
      // Every breaker starts closed: only a transition after that is worth a warning.
      if (initial) logger.debug({ subgraph, state }, "subgraph circuit breaker set up");
      else logger.warn({ subgraph, state }, "subgraph circuit breaker changed state");
      options.federation?.onBreakerStateChange?.(subgraph, state, initial);
    },
  });
  const apiSchema = trackApiSchema(federation.gateway);
  const operationLimits = options.operationLimits ?? DEFAULT_OPERATION_LIMITS;
  const apqCache: KeyValueCache<string> = options.redis ? createRedisKeyValueCache(options.redis, `${prefix}apq:`) : new InMemoryLRUCache<string>();
  const apollo = new ApolloServer<GatewayContext>({
    gateway: federation.gateway,
    includeStacktraceInErrorResponses: false,
    formatError: codeClientErrors,
    // Shutdown is ours (dispose()); Apollo's own signal handlers would race it.
    stopOnTerminationSignals: false,
    introspection: true,
    persistedQueries: { cache: apqCache, ttl: 86_400 },
    plugins: [
      operationResolutionPlugin(),
      limitsPlugin({ limits: operationLimits, metrics }),
      inputValuesPlugin(),
      variableCoercionPlugin(),
      observabilityPlugin({ metrics, logger, plans, usage: usage ?? undefined }),
    ],
  });
  await apollo.start();

  const authenticate = createAuthenticator({
    jwt: options.jwt,
    apiKeys: createApiKeyResolver({
      usersUrl: () => federation.subgraphs.find((subgraph) => subgraph.name === "users")?.url ?? options.subgraphUrls?.users,
      signingSecret: options.signingSecret,
      ttlMs: options.apiKeyCacheTtlMs,
    }),
  });
  const rateLimiter =
    options.rateLimit === false
      ? null
      : createRateLimiter({
          redis: options.redis,
          perMinute: options.rateLimit?.perMinute ?? 100,
          perHour: options.rateLimit?.perHour ?? 1000,
          keyPrefix: `${prefix}ratelimit:`,
          onError: throttled(10_000, (error) => logger.error({ err: error }, "rate limiter unavailable; letting requests through")),
        });
  const admit = createAdmission({ authenticate, rateLimiter, metrics, logger });
  const runOperation: RunOperation = async (operation, { caller, correlationId, surface }) => {
    const result = await apollo.executeOperation(
      { query: operation.query, operationName: operation.operationName, variables: { ...operation.variables } },
      { contextValue: { identity: caller.identity, correlationId, channel: channelOf(caller, surface ?? "graphql") } },
    );
    if (result.body.kind !== "single") throw new Error("incremental delivery is not supported here");
    return result.body.singleResult;
  };
  const maxBodyBytes = options.maxBodyBytes ?? 1_000_000;
  const rest = createRestApi({ admit, runOperation, redis: options.redis, redisPrefix: prefix, logger, metrics, maxBodyBytes, usage: usage ?? undefined });
  const integrations = createIntegrationsRelay({
    runtimeUrl: options.integrationsRuntimeUrl,
    signingSecret: options.signingSecret,
    admit,
    runOperation,
    rateLimiter,
    logger,
    maxBodyBytes,
    nonces: options.redis ? redisNonceStore(options.redis, { keyPrefix: prefix, logger }) : undefined,
  });

  const handleGraphQL = createGraphQLHandler({
    apollo,
    admit,
    metrics,
    maxBodyBytes,
    maxTokens: operationLimits.maxTokens,
    development: options.development ?? false,
  });

  const cors = createCors(options.cors ?? { origins: corsOriginsFromEnv(corsConfig().origins) });
  const compression = options.compression ?? true;

  let inFlight = 0;
  let draining = false;
  const idle = new Set<() => void>();
  const server: Server = createServer((request, response) => {
    const started = performance.now();
    inFlight += 1;
    response.once("close", () => {
      inFlight -= 1;
      if (inFlight === 0) for (const resolve of idle) resolve();
    });
    stampResponseTime(response, started);
    beforeHeaders(response, () => closeIfBodyUnread(request, response));
    const correlationId = correlationIdOf(request);
    response.setHeader("x-correlation-id", correlationId);
    if (draining) response.setHeader("connection", "close");
    routeHeadAsGet(request);
    if (compression) compressJsonResponses(request, response);
    void (async () => {
      if (await cors(request, response)) return;
      const url = new URL(request.url ?? "/", "http://gateway");
      switch (url.pathname) {
        case "/healthz":
          return sendJson(response, 200, { status: "ok" });
        case "/readyz": {
          const readiness = await checkReadiness({
            draining,
            subgraphs: federation.subgraphs,
            redis: options.redis,
            supergraphLoaded: () => federation.loaded(),
          });
          return sendJson(response, readiness.ready ? 200 : 503, readiness);
        }
        case "/metrics":
          return sendMetrics(response, [metrics.registry, ...(options.extraMetrics ?? [])]);
      }
      if (options.development && url.pathname.startsWith(GRAPHIQL_ASSET_PREFIX)) {
        if (await sendGraphiqlAsset(url.pathname.slice(GRAPHIQL_ASSET_PREFIX.length), response)) return;
      }
      const wantsPage = request.method === "GET" && (request.headers.accept ?? "").includes("text/html");
      if (options.development && wantsPage && (url.pathname === "/" || url.pathname === "/graphql")) {
        response.writeHead(200, { "content-type": "text/html; charset=utf-8" });
        return void response.end(graphiqlHtml("/graphql", options.graphiqlHeaders ?? {}));
      }
      // One server span per API request, a child of the caller's `traceparent` when it sent one.
      const parent = contextFromHeaders((name) => request.headers[name]?.toString());
      const attributes = () => ({ "http.request.method": request.method ?? "GET", "url.path": url.pathname, "sunday.correlation_id": correlationId });
      const name = () => `${request.method ?? "GET"} ${routeOf(url.pathname)}`;
      return inSpan("gateway", name, { kind: SpanKind.SERVER, parent, attributes }, async (span) => {
        if (rest.handles(request, url)) await rest.handle(request, response, url, correlationId);
        else if (integrations.handles(url)) await integrations.handle(request, response, url, correlationId);
        else if (url.pathname === "/graphql") await handleGraphQL(request, response, url, correlationId);
        else sendJson(response, 404, { error: "not found" });
        span?.setAttribute("http.response.status_code", response.statusCode);
      });
    })().catch((error: unknown) => {
      logger.error({ err: error, correlationId }, "gateway request failed");
      if (!response.headersSent) sendGraphQLError(response, 500, "INTERNAL_SERVER_ERROR", "Internal server error");
      else response.destroy();
    });
  });
  server.keepAliveTimeout = 65_000;
  server.on("clientError", answerClientError);
  const sockets = new Set<Socket>();
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });

  const live = options.subscriptions
    ? startSubscriptions({
        ...options.subscriptions,
        httpServer: server,
        schema: apiSchema,
        admit,
        run: runOperation,
        metrics,
        logger,
        limits: operationLimits,
        readers: boardReadersOf({
          projectsUrl: () => federation.subgraphs.find((subgraph) => subgraph.name === "projects")?.url ?? options.subgraphUrls?.projects,
          signingSecret: options.signingSecret,
        }),
      })
    : null;

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? "127.0.0.1", resolve));
  const address = server.address() as AddressInfo;
  const url = `http://${options.host ?? "127.0.0.1"}:${address.port}`;
  logger.info({ url }, "gateway listening");

  let disposed: Promise<void> | undefined;
  return {
    url,
    metrics,
    subscriptions: live,
    usage,
    reloadSupergraph: () => supergraphFile?.reload() ?? Promise.resolve("unchanged"),
    dispose: () => (disposed ??= shutDown()),
  };

  async function shutDown(): Promise<void> {
    // Stop accepting, let in-flight requests finish (bounded), then close every socket.
    draining = true;
    await live?.dispose();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    if (inFlight > 0) {
      await Promise.race([
        new Promise<void>((resolve) => idle.add(resolve)),
        new Promise((resolve) => setTimeout(resolve, options.drainTimeoutMs ?? 8_000).unref()),
      ]);
    }
    for (const socket of sockets) socket.destroy();
    await closed;
    // After the last request: its record is in the final flush.
    await usage?.dispose();
    await apollo.stop();
    await federation.dispose();
  }
}

/** A span name without ids: `/api/v1/boards/<id>/items` becomes `/api/v1/boards/{id}/items`. */
function routeOf(path: string): string {
  return path.replace(/\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?=\/|$)/gi, "/{id}");
}
