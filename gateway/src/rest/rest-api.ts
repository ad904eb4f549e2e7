/**
 * REST v1: each request goes version -> route -> admission (credential, rate limit) -> parameters
 * and body validated -> Idempotency-Key -> If-Match -> the route's GraphQL operation, run in process
 * through the gateway's pipeline -> the v1 shape with ETag, Link and deprecation headers. Every
 * refusal is a problem+json carrying the correlation id.
 */
import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { buildSchema, type FormattedExecutionResult, type GraphQLSchema } from "graphql";
import type { Redis } from "ioredis";
import { Counter } from "prom-client";
import type { Admit } from "../execution/admission.ts";
import type { RunOperation } from "../execution/run-operation.ts";
import type { Caller } from "../auth/authenticate.ts";
import type { GatewayMetrics } from "../observability/metrics.ts";
import { MalformedBodyError, PayloadTooLargeError, readBody } from "../../../platform/http.ts";
import type { Logger } from "../../../platform/logger.ts";
import { compileRoutes, type CompiledRoute } from "./compile.ts";
import { contentEtag, noneMatchSatisfied, parseIfMatch, versionEtag } from "./conditional.ts";
import { serveDocs } from "./docs.ts";
import {
  IDEMPOTENCY_KEY,
  createMemoryIdempotencyStore,
  createRedisIdempotencyStore,
  idempotencyScope,
  requestFingerprint,
  type IdempotencyStore,
  type IdempotencyTimings,
  type StoredResponse,
} from "./idempotency.ts";
import { buildOpenApi, type OpenApiDocument } from "./openapi.ts";
import { loadOperationCatalog, type CatalogOperation } from "./operations.ts";
import { problem, problemFromGraphQLErrors, sendProblem, type Problem } from "./problem.ts";
import type { QueryValue, RouteInput } from "./route.ts";
import { ROUTES } from "./routes.ts";
import { API_PREFIX, SUPPORTED_VERSIONS, deprecationHeaders, negotiateVersion } from "./versioning.ts";

export interface RestApiOptions {
  readonly admit: Admit;
  readonly runOperation: RunOperation;
  /** Idempotency keys are kept here (shared by gateway instances); in process without it. */
  readonly redis?: Redis;
  /** The gateway's Redis key prefix. @default "" */
  readonly redisPrefix?: string;
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  /** @default 1 MB, as POST /graphql */
  readonly maxBodyBytes?: number;
  readonly idempotency?: IdempotencyTimings;
  /** The public API schema the route table is checked against. @default gateway/schema.graphql */
  readonly schema?: GraphQLSchema;
}

export interface RestApi {
  /** Whether this request is for the REST API (anything under /api). */
  handles(request: IncomingMessage, url: URL): boolean;
  handle(request: IncomingMessage, response: ServerResponse, url: URL, correlationId: string): Promise<void>;
  readonly openapi: OpenApiDocument;
}

const SCHEMA_FILE = new URL("../../schema.graphql", import.meta.url);
const JSON_BODY = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/** The value at a dotted path, or null when something on the way is missing. */
function at(data: unknown, path: readonly string[]): unknown {
  let value = data;
  for (const key of path) {
    if (value === null || typeof value !== "object") return null;
    value = (value as Record<string, unknown>)[key];
  }
  return value ?? null;
}

function fillTemplate(template: string, resource: unknown): string {
  return template.replace(/\{([\w.]+)\}/g, (_whole, path: string) => encodeURIComponent(String(at(resource, path.split(".")))));
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** A response being put together; sent at the end, or stored for idempotent replay first. */
interface Reply {
  status: number;
  headers: Record<string, string>;
  body?: string;
}

class RestFailure extends Error {
  readonly problem: Problem;

  constructor(problem: Problem) {
    super(problem.detail);
    this.problem = problem;
  }
}

export function createRestApi(options: RestApiOptions): RestApi {
  const schema = options.schema ?? buildSchema(readFileSync(SCHEMA_FILE, "utf8"));
  const catalog = loadOperationCatalog();
  const routes = compileRoutes(ROUTES, catalog, schema);
  const openapi = buildOpenApi(routes, catalog, schema);
  const openapiText = JSON.stringify(openapi);
  const maxBodyBytes = options.maxBodyBytes ?? 1_000_000;
  const store: IdempotencyStore = options.redis
    ? createRedisIdempotencyStore(options.redis, `${options.redisPrefix ?? ""}idempotency:`, options.idempotency)
    : createMemoryIdempotencyStore(options.idempotency);
  const requests = new Counter({
    name: "sunday_gateway_rest_requests_total",
    help: "REST v1 requests by route (operationId) and status",
    labelNames: ["route", "status"] as const,
    registers: [options.metrics.registry],
  });

  async function run(operation: CatalogOperation, variables: Readonly<Record<string, unknown>>, caller: Caller, correlationId: string): Promise<FormattedExecutionResult> {
    return options.runOperation({ query: operation.query, operationName: operation.name, variables }, { caller, correlationId });
  }

  /** The version a write is based on: If-Match, else (for routes that read it) the current one. */
  async function expectedVersionFor(route: CompiledRoute, request: IncomingMessage, params: Record<string, string>, caller: Caller, correlationId: string) {
    const concurrency = route.definition.concurrency;
    if (!concurrency) return { expectedVersion: undefined, ifMatch: false };
    const ifMatch = parseIfMatch(single(request.headers["if-match"]));
    if (ifMatch.kind === "unmatchable") throw new RestFailure(problem("PRECONDITION_FAILED", "If-Match must be the resource's ETag (a quoted version, as in ETag responses)"));
    if (ifMatch.kind === "version") return { expectedVersion: ifMatch.version, ifMatch: true };
    if (!route.current) return { expectedVersion: undefined, ifMatch: false };
    const result = await run(route.current.operation, { id: params.id }, caller, correlationId);
    if (result.errors?.length) throw new RestFailure(problemFromGraphQLErrors(result.errors, { ifMatch: false }));
    const version = at(result.data, [...route.current.select, "version"]);
    if (typeof version !== "number") {
      // `If-Match: *` on a missing resource is a failed precondition (RFC 9110 §13.1.1).
      if (ifMatch.kind === "any") throw new RestFailure(problem("PRECONDITION_FAILED", "The resource does not exist"));
      throw new RestFailure(notFound(route, params));
    }
    return { expectedVersion: version, ifMatch: false };
  }

  function notFound(route: CompiledRoute, params: Record<string, string>): Problem {
    const declared = route.definition.notFound;
    if (declared) return problem("NOT_FOUND", `${declared.type} ${params[declared.param] ?? ""} was not found`);
    const [name] = Object.keys(route.pathParameters);
    return problem("NOT_FOUND", name ? `${params[name]} was not found` : "Not found");
  }

  function parseQuery(route: CompiledRoute, url: URL): Record<string, unknown> {
    // No prototype: `toString`, `constructor` and `__proto__` are parameter names like any other.
    const query: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    for (const [name, value] of url.searchParams) {
      if (Object.hasOwn(query, name)) throw new RestFailure(problem("INVALID_PARAMETERS", `${name} is given more than once`, { errors: [{ field: name, message: "is given more than once" }] }));
      query[name] = value;
    }
    const errors = route.validateQuery(query);
    if (errors) throw new RestFailure(problem("INVALID_PARAMETERS", "Invalid query parameters", { errors }));
    return query;
  }

  async function parseBody(route: CompiledRoute, request: IncomingMessage): Promise<Record<string, unknown>> {
    if (!route.body) return {};
    let text: string;
    try {
      text = await readBody(request, maxBodyBytes);
    } catch (error) {
      if (error instanceof PayloadTooLargeError) throw new RestFailure(problem("PAYLOAD_TOO_LARGE", `The body exceeds ${maxBodyBytes} bytes`));
      if (error instanceof MalformedBodyError) throw new RestFailure(problem("BAD_REQUEST", "The body is not valid UTF-8"));
      throw error;
    }
    let body: unknown = {};
    if (text.trim() !== "") {
      if (!JSON_BODY.test(request.headers["content-type"] ?? "")) throw new RestFailure(problem("UNSUPPORTED_MEDIA_TYPE", "Send the body as application/json"));
      try {
        body = JSON.parse(text);
      } catch {
        throw new RestFailure(problem("BAD_REQUEST", "The body is not valid JSON"));
      }
    }
    const errors = route.validateBody(body);
    if (errors) throw new RestFailure(problem("BAD_USER_INPUT", `The body is invalid: ${errors.map((error) => `${error.field || "body"} ${error.message}`).join("; ")}`, { errors }));
    return body as Record<string, unknown>;
  }

  /** Runs the route's operation and shapes the v1 reply (without rate-limit or version headers). */
  async function execute(route: CompiledRoute, request: IncomingMessage, url: URL, base: string, input: RouteInput, ifMatch: boolean, caller: Caller, correlationId: string): Promise<Reply> {
    const { definition } = route;
    const result = await run(route.operation, definition.variables(input), caller, correlationId);
    if (result.errors?.length) {
      throw new RestFailure(
        problemFromGraphQLErrors(result.errors, {
          ifMatch,
          fieldNames: route.fieldNames,
          queryParameters: new Set(Object.keys(route.queryParameters)),
          body: input.body,
        }),
      );
    }
    const resource = at(result.data, route.select);
    if (resource === null) throw new RestFailure(notFound(route, input.params));
    const reply: Reply = { status: 200, headers: {} };
    const links: string[] = [];
    let body: unknown = resource;
    switch (definition.kind) {
      case "page": {
        const connection = resource as { nodes: unknown[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
        const nextCursor = connection.pageInfo.hasNextPage ? connection.pageInfo.endCursor : null;
        body = { data: connection.nodes, nextCursor };
        if (nextCursor !== null) {
          const next = new URLSearchParams(url.searchParams);
          next.set("cursor", nextCursor);
          next.set("limit", String(input.page.limit));
          links.push(`<${url.pathname}?${next.toString()}>; rel="next"`);
        }
        break;
      }
      case "list":
        body = { data: resource };
        break;
      case "create":
        reply.status = 201;
        if (definition.location) reply.headers.location = `${base}${fillTemplate(definition.location, resource)}`;
        break;
      case "delete":
        reply.status = 204;
        body = undefined;
        break;
    }
    if (definition.deprecated) {
      const successor = definition.deprecated.successor.replace(/\{(\w+)\}/g, (_whole, name: string) => encodeURIComponent(input.params[name] ?? ""));
      const headers = deprecationHeaders(definition.deprecated, `${base}${successor}`);
      reply.headers.deprecation = headers.deprecation;
      reply.headers.sunset = headers.sunset;
      links.push(headers.link);
    }
    if (links.length > 0) reply.headers.link = links.join(", ");
    if (body !== undefined) {
      reply.body = JSON.stringify(body);
      const version = (body as { version?: unknown }).version;
      reply.headers.etag = typeof version === "number" ? versionEtag(version) : contentEtag(reply.body);
    }
    if (request.method === "GET") {
      reply.headers["cache-control"] = "private, no-cache";
      if (reply.headers.etag && noneMatchSatisfied(single(request.headers["if-none-match"]), reply.headers.etag)) {
        return { status: 304, headers: { etag: reply.headers.etag, "cache-control": "private, no-cache" } };
      }
    }
    return reply;
  }

  async function handle(request: IncomingMessage, response: ServerResponse, url: URL, correlationId: string): Promise<void> {
    let routeLabel = "unmatched";
    const fail = (value: Problem) => {
      requests.inc({ route: routeLabel, status: String(value.status) });
      if (value.status >= 500) options.logger.warn({ correlationId, path: url.pathname, code: value.code, detail: value.detail }, "REST request failed");
      sendProblem(response, { ...value, instance: url.pathname, correlationId });
    };
    const negotiation = negotiateVersion(url.pathname, request.headers);
    if (!negotiation.ok) {
      return fail(problem("NOT_ACCEPTABLE", `API version ${negotiation.requested} is not served; supported: ${SUPPORTED_VERSIONS.join(", ")}`));
    }
    if (negotiation.base === API_PREFIX) response.setHeader("vary", "Accept");
    const { path, base } = negotiation;

    if (request.method === "GET" && path === "/openapi.json") {
      response.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(openapiText), "cache-control": "public, max-age=300" });
      return void response.end(openapiText);
    }
    if (request.method === "GET" && path.startsWith("/docs") && (await serveDocs(path, base, response))) return;

    const matches = routes.map((candidate) => ({ candidate, params: candidate.match(path) })).filter((entry) => entry.params !== null);
    if (matches.length === 0) return fail(problem("NOT_FOUND", `No route ${path} in ${negotiation.version}`));
    const matched = matches.find((entry) => entry.candidate.method === request.method);
    if (!matched) {
      response.setHeader("allow", matches.map((entry) => entry.candidate.method).join(", "));
      return fail(problem("METHOD_NOT_ALLOWED", `${request.method} is not allowed on ${path}`));
    }
    const route = matched.candidate;
    const params = matched.params as Record<string, string>;
    routeLabel = route.definition.operationId;

    const admission = await options.admit(request.headers, correlationId);
    for (const [name, value] of Object.entries(admission.headers)) response.setHeader(name, value);
    if (!admission.ok) {
      const { refusal } = admission;
      return fail(problem(refusal.code, refusal.message, refusal.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: refusal.retryAfterSeconds }));
    }
    const caller = admission.caller;
    if (!caller) return fail(problem("UNAUTHENTICATED", "A bearer token or API key is required"));

    let claimedKey: string | undefined;
    let fingerprint = "";
    try {
      if (route.validatePath(params)) throw new RestFailure(notFound(route, params));
      for (const name of route.enumParameters) params[name] = (params[name] as string).toUpperCase();
      const query = parseQuery(route, url);
      const body = await parseBody(route, request);

      const key = single(request.headers["idempotency-key"]);
      if (request.method === "POST" && key !== undefined) {
        if (!IDEMPOTENCY_KEY.test(key)) throw new RestFailure(problem("BAD_REQUEST", "Idempotency-Key must be 1 to 255 printable ASCII characters"));
        const scoped = idempotencyScope(caller.principal, key);
        fingerprint = requestFingerprint(request.method, `${negotiation.version}${path}`, body);
        // Without the store a retry could run twice: refuse (retryable) rather than fail open.
        const claim = await store.claim(scoped, fingerprint).catch((error: unknown) => {
          options.logger.error({ err: error, correlationId }, "idempotency store unavailable");
          throw new RestFailure(problem("IDEMPOTENCY_UNAVAILABLE", "Idempotency-Key cannot be honoured right now; retry shortly", { retryAfterSeconds: 1 }));
        });
        if (claim.outcome === "mismatch") throw new RestFailure(problem("IDEMPOTENCY_KEY_REUSED", "This Idempotency-Key was used for a different request"));
        if (claim.outcome === "in-flight") throw new RestFailure(problem("IDEMPOTENCY_IN_FLIGHT", "The first request with this Idempotency-Key is still running; retry shortly", { retryAfterSeconds: 1 }));
        if (claim.outcome === "replay") return send(response, route, { ...claim.response, headers: { ...claim.response.headers, "idempotent-replayed": "true" } }, negotiation.contentType, requests);
        claimedKey = scoped;
      }

      const { expectedVersion, ifMatch } = await expectedVersionFor(route, request, params, caller, correlationId);
      const input: RouteInput = {
        params,
        query: query as Record<string, QueryValue | undefined>,
        body,
        page: { limit: (query.limit as number | undefined) ?? 25, cursor: query.cursor as string | undefined },
        expectedVersion,
      };
      const reply = await execute(route, request, url, base, input, ifMatch, caller, correlationId);
      if (claimedKey) {
        // The work is done: answer it even if it cannot be stored (a retry then gets 409 until the claim expires).
        await store.complete(claimedKey, fingerprint, stored(reply)).catch((error: unknown) => options.logger.error({ err: error, correlationId }, "idempotent response not stored"));
      }
      claimedKey = undefined;
      send(response, route, reply, negotiation.contentType, requests);
    } catch (error) {
      if (!(error instanceof RestFailure)) {
        if (claimedKey) await store.release(claimedKey).catch(() => undefined);
        throw error;
      }
      // A refusal is the answer to this request and is replayed as such; our own failures are not.
      if (claimedKey) {
        if (error.problem.status < 500) await store.complete(claimedKey, fingerprint, stored(problemReply(error.problem, url.pathname, correlationId))).catch(() => undefined);
        else await store.release(claimedKey).catch(() => undefined);
      }
      fail(error.problem);
    }
  }

  return {
    handles: (_request, url) => url.pathname === API_PREFIX || url.pathname.startsWith(`${API_PREFIX}/`),
    async handle(request, response, url, correlationId) {
      try {
        await handle(request, response, url, correlationId);
      } catch (error) {
        // Partners get a problem+json with the correlation id even for our own failures.
        options.logger.error({ err: error, correlationId, path: url.pathname }, "REST request failed");
        if (response.headersSent) return void response.destroy();
        sendProblem(response, { ...problem("INTERNAL_SERVER_ERROR", "The request could not be completed"), instance: url.pathname, correlationId });
      }
    },
    openapi,
  };
}

function problemReply(value: Problem, instance: string, correlationId: string): Reply {
  return { status: value.status, headers: { "content-type": "application/problem+json" }, body: JSON.stringify({ ...value, instance, correlationId }) };
}

function stored(reply: Reply): StoredResponse {
  return { status: reply.status, headers: reply.headers, body: reply.body ?? "" };
}

function send(response: ServerResponse, route: CompiledRoute, reply: Reply, contentType: string, requests: Counter<"route" | "status">): void {
  requests.inc({ route: route.definition.operationId, status: String(reply.status) });
  for (const [name, value] of Object.entries(reply.headers)) response.setHeader(name, value);
  if (reply.body === undefined || reply.status === 204 || reply.status === 304) {
    response.writeHead(reply.status);
    return void response.end();
  }
  if (!response.hasHeader("content-type")) response.setHeader("content-type", contentType);
  response.setHeader("content-length", Buffer.byteLength(reply.body));
  response.writeHead(reply.status);
  response.end(reply.body);
}
