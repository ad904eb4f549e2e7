/**
 * REST v1. Each request goes through named stages, as Fastify names its request lifecycle (see
 * stages/): negotiate (version, media type) -> the documents -> match (route; 404, 405 with Allow)
 * -> admit (credential, rate limit) -> validate (path, query, body) -> Idempotency-Key (claim) ->
 * precondition (If-Match) -> execute (the route's GraphQL operation, run in process through the
 * gateway's pipeline, shaped as v1 with ETag, Link and deprecation headers) -> send. A stage either
 * hands its typed output on or stops with the problem that answers the request: every refusal is a
 * problem+json carrying the correlation id.
 */
import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { buildSchema, type GraphQLSchema } from "graphql";
import type { RedisClient } from "../../../platform/redis.ts";
import type { Admit } from "../execution/admission.ts";
import type { RunOperation } from "../execution/run-operation.ts";
import type { GatewayMetrics } from "../observability/metrics.ts";
import type { Caller } from "../auth/authenticate.ts";
import { principalOf, userAgentOf } from "../usage/principal.ts";
import type { UsageRecorder } from "../usage/recorder.ts";
import type { Logger } from "../../../platform/logger.ts";
import { compileRoutes, type CompiledRoute } from "./compile.ts";
import { createIdempotency, type IdempotencyTimings } from "./idempotency.ts";
import { buildOpenApi, type OpenApiDocument } from "./openapi.ts";
import { loadOperationCatalog } from "./operations.ts";
import { problem, sendProblem } from "./problem.ts";
import { ROUTES } from "./routes.ts";
import { admit } from "./stages/admit.ts";
import { serveDocuments } from "./stages/documents.ts";
import { execute } from "./stages/execute.ts";
import { match } from "./stages/match.ts";
import { negotiate } from "./stages/negotiate.ts";
import { precondition } from "./stages/precondition.ts";
import { createResponder, problemReply } from "./stages/send.ts";
import { operationRunner, single, type Exchange, type Reply, type Stage } from "./stages/stage.ts";
import { validate } from "./stages/validate.ts";
import { API_PREFIX } from "./versioning.ts";

export interface RestApiOptions {
  readonly admit: Admit;
  readonly runOperation: RunOperation;
  /** Idempotency keys are kept here (shared by gateway instances); in process without it. */
  readonly redis?: RedisClient;
  /** The gateway's Redis key prefix. @default "" */
  readonly redisPrefix?: string;
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  /** @default 1 MB, as POST /graphql */
  readonly maxBodyBytes?: number;
  readonly idempotency?: IdempotencyTimings;
  /** The public API schema the route table is checked against. @default gateway/schema.graphql */
  readonly schema?: GraphQLSchema;
  /** Where each admitted request's usage record goes (route template, caller, status, duration). @default none */
  readonly usage?: UsageRecorder;
}

/** What the stages learned that a usage record needs: filled in as they pass. */
interface UsageFacts {
  route?: CompiledRoute;
  caller?: Caller;
  version?: string;
}

export interface RestApi {
  /** Whether this request is for the REST API (anything under /api). */
  handles(request: IncomingMessage, url: URL): boolean;
  handle(request: IncomingMessage, response: ServerResponse, url: URL, correlationId: string): Promise<void>;
  readonly openapi: OpenApiDocument;
}

const SCHEMA_FILE = new URL("../../schema.graphql", import.meta.url);

function setHeaders(response: ServerResponse, headers: Readonly<Record<string, string>>): void {
  for (const [name, value] of Object.entries(headers)) response.setHeader(name, value);
}

export function createRestApi(options: RestApiOptions): RestApi {
  const schema = options.schema ?? buildSchema(readFileSync(SCHEMA_FILE, "utf8"));
  const catalog = loadOperationCatalog();
  const routes = compileRoutes(ROUTES, catalog, schema);
  const openapi = buildOpenApi(routes, catalog, schema);
  const openapiText = JSON.stringify(openapi);
  const maxBodyBytes = options.maxBodyBytes ?? 1_000_000;
  const idempotency = createIdempotency({
    redis: options.redis,
    keyPrefix: `${options.redisPrefix ?? ""}idempotency:`,
    timings: options.idempotency,
    logger: options.logger,
  });
  const responder = createResponder({ registry: options.metrics.registry, logger: options.logger });

  /** The stages in order; the first refusal answers the request. */
  async function handle(exchange: Exchange, facts: UsageFacts): Promise<void> {
    const { request, response, url, correlationId } = exchange;
    const negotiated = negotiate(url.pathname, request.headers);
    if (!negotiated.ok) return responder.refuse(exchange, negotiated);
    setHeaders(response, negotiated.answerHeaders);
    if (await serveDocuments(openapiText, request.method, negotiated.path, negotiated.base, response)) return;

    const matched = match(routes, request.method, negotiated.path, negotiated.version);
    if (!matched.ok) return responder.refuse(exchange, matched);
    const { route } = matched;
    facts.route = route;
    facts.version = negotiated.version;

    const admitted = await admit(options.admit, request.headers, correlationId);
    setHeaders(response, admitted.answerHeaders);
    if (!admitted.ok) return responder.refuse(exchange, admitted, route);
    facts.caller = admitted.caller;

    const validated = await validate(route, matched.params, url, request, maxBodyBytes);
    if (!validated.ok) return responder.refuse(exchange, validated, route);

    const key = single(request.headers["idempotency-key"]);
    const path = `${negotiated.version}${negotiated.path}`;
    const claimed = await idempotency.claim({
      method: request.method,
      key,
      principal: admitted.caller.principal,
      path,
      body: validated.input.body,
      correlationId,
    });
    if (!claimed.ok) return responder.refuse(exchange, claimed, route);
    if (claimed.outcome === "replay") return responder.send(exchange, route, claimed.reply, negotiated.contentType);
    const { claim } = claimed;

    const run = operationRunner(options.runOperation, admitted.caller, correlationId);
    let executed: Stage<{ readonly reply: Reply }>;
    try {
      const preconditioned = await precondition(route, validated.input, single(request.headers["if-match"]), run);
      const context = { method: request.method, url, base: negotiated.base, ifNoneMatch: single(request.headers["if-none-match"]) };
      executed = preconditioned.ok ? await execute(route, preconditioned, run, context) : preconditioned;
    } catch (error) {
      await claim.release();
      throw error;
    }
    if (!executed.ok) {
      await claim.refuse(problemReply(executed.problem, exchange));
      return responder.refuse(exchange, executed, route);
    }
    await claim.complete(executed.reply);
    responder.send(exchange, route, executed.reply, negotiated.contentType);
  }

  return {
    handles: (_request, url) => url.pathname === API_PREFIX || url.pathname.startsWith(`${API_PREFIX}/`),
    async handle(request, response, url, correlationId) {
      const started = performance.now();
      const facts: UsageFacts = {};
      try {
        await handle({ request, response, url, correlationId }, facts);
      } catch (error) {
        // Partners get a problem+json with the correlation id even for our own failures.
        options.logger.error({ err: error, correlationId, path: url.pathname }, "REST request failed");
        responder.unhandled();
        if (response.headersSent) return void response.destroy();
        sendProblem(response, { ...problem("INTERNAL_SERVER_ERROR", "The request could not be completed"), instance: url.pathname, correlationId });
      } finally {
        const status = response.headersSent ? response.statusCode : 500;
        const durationMs = performance.now() - started;
        responder.timed(status, durationMs / 1000);
        const { route, caller } = facts;
        const principal = options.usage && route && caller ? principalOf(caller.principal) : null;
        if (options.usage && route && caller && principal) {
          options.usage.record({
            at: Date.now(),
            organizationId: caller.identity.organizationId,
            ...principal,
            surface: "rest",
            operation: `${route.method} ${route.definition.path}`,
            apiVersion: facts.version ?? "",
            status,
            durationMs,
            userAgent: userAgentOf(request.headers),
          });
        }
      }
    },
    openapi,
  };
}
