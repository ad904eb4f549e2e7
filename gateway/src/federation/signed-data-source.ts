import type { GraphQLDataSource, GraphQLDataSourceProcessOptions } from "@apollo/gateway";
import { GraphQLError, Kind, getOperationAST, parse, type DocumentNode, type GraphQLFormattedError, type SelectionSetNode } from "graphql";
import { isBrokenCircuitError } from "cockatiel";
import { signInternalRequest, type Channel, type Identity } from "../../../platform/identity.ts";
import type { ErrorCode } from "../../../platform/error-codes.ts";
import type { GatewayContext } from "../execution/context.ts";
import type { QueryDeduplicator } from "./deduplication.ts";
import type { SubgraphClient } from "./subgraph-client.ts";
import { SubgraphBodyError, SubgraphHttpError, SubgraphTimeoutError, isSubgraphFault } from "./subgraph-transport.ts";
import { injectHeaders, inSpan, SpanKind } from "../../../platform/tracing.ts";

/** `extensions.code` of the error a client gets for the fields of a subgraph fetch that failed. */
export const SUBGRAPH_ERROR_CODES = {
  unavailable: "SUBGRAPH_UNAVAILABLE",
  timeout: "SUBGRAPH_TIMEOUT",
  circuitOpen: "CIRCUIT_OPEN",
  /** The gateway's own code failed around the fetch: the subgraph is not to blame. */
  internal: "INTERNAL_SERVER_ERROR",
} as const satisfies Record<string, ErrorCode>;

type ProcessOptions = GraphQLDataSourceProcessOptions<GatewayContext>;
type IncomingOptions = Extract<ProcessOptions, { incomingRequestContext: unknown }>;

/** A fetch of a client operation's query plan (not a health check or schema load). */
function incoming(options: ProcessOptions): IncomingOptions | undefined {
  return "incomingRequestContext" in options ? options : undefined;
}
type SubgraphResponse = Awaited<ReturnType<GraphQLDataSource<GatewayContext>["process"]>>;
type ResponsePath = ReadonlyArray<string | number>;

/** A subgraph answer read and parsed; `text` is kept only when other requests share it. */
interface Received {
  readonly status: number;
  readonly response: SubgraphResponse;
  readonly cacheControl: string | undefined;
  readonly text?: string;
}

function isJsonContentType(contentType: string | undefined): boolean {
  return contentType !== undefined && (contentType.startsWith("application/json") || contentType.startsWith("application/graphql-response+json"));
}

function parseAnswer(text: string): SubgraphResponse {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new SubgraphBodyError("subgraph answer is not JSON", { cause: error });
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new SubgraphBodyError("subgraph answer is not a JSON object");
  return body as SubgraphResponse;
}

/** As RemoteGraphQLDataSource: a subgraph's Cache-Control restricts the operation's cache policy. */
function restrictCachePolicy(options: ProcessOptions, header: string | undefined): void {
  const policy = incoming(options)?.incomingRequestContext.overallCachePolicy;
  if (!policy || !("restrict" in policy)) return;
  const hint: { maxAge: number; scope?: "PRIVATE" | "PUBLIC" } = { maxAge: 0 };
  if (header) {
    for (const part of header.trim().split(/\s*,\s*/)) {
      const [key, raw] = part.split(/\s*=\s*/, 2);
      const value = raw?.replace(/^"|"$/g, "");
      if (key === "max-age" && value !== undefined && /^[0-9]+$/.test(value)) hint.maxAge = Number(value);
      else if (key === "private" && raw === undefined) hint.scope = "PRIVATE";
      else if (key === "public" && raw === undefined) hint.scope = "PUBLIC";
    }
  }
  policy.restrict(hint);
}

/**
 * Calls a subgraph with the caller's identity in headers signed by the gateway (HMAC over method,
 * path, timestamp, body hash and identity), so a subgraph reached directly cannot be fooled.
 * Each call goes through the subgraph's breaker (and its retries, for queries); when the subgraph
 * cannot answer, the call resolves to an error for its fields instead of throwing, so the rest of
 * the query plan still returns its data.
 *
 * Our own `GraphQLDataSource` (not a RemoteGraphQLDataSource subclass): the request body is
 * serialised once, signed, sent over the subgraph's undici pool and parsed once, without the
 * fetch-API objects (Headers, Request, Response) RemoteGraphQLDataSource builds for every call.
 * With a `QueryDeduplicator`, identical query fetches in flight together are sent once.
 */
export class SignedDataSource implements GraphQLDataSource<GatewayContext> {
  private readonly subgraph: SubgraphClient;
  private readonly signingSecret: string;
  private readonly deduplicator: QueryDeduplicator | null;

  constructor(subgraph: SubgraphClient, signingSecret: string, deduplicator: QueryDeduplicator | null = null) {
    this.subgraph = subgraph;
    this.signingSecret = signingSecret;
    this.deduplicator = deduplicator;
  }

  async process(options: ProcessOptions): Promise<SubgraphResponse> {
    const { request } = options;
    if (!request.query) throw new Error("Missing query");
    try {
      const operationOptions = incoming(options);
      const context = operationOptions?.context;
      const identity = context && "identity" in context ? context.identity : null;
      const correlationId = context && "identity" in context ? context.correlationId : "";
      const channel = context && "identity" in context ? (context.channel ?? null) : null;
      const body = JSON.stringify({
        query: request.query,
        variables: request.variables,
        operationName: request.operationName,
        extensions: request.extensions,
      });
      const extraHeaders = request.http?.headers;
      // Encoded once: the signature hashes these bytes and undici sends them (a string body would be
      // encoded twice per attempt); `body` stays the merging key.
      const bytes = Buffer.from(body);
      const send = (share: boolean) =>
        this.subgraph.execute(isQuery(options), () => this.attempt(bytes, identity, correlationId, channel, extraHeaders, share));

      const operation = operationOptions?.incomingRequestContext.operation?.operation;
      let received: Received;
      if (this.deduplicator && operation === "query" && !extraHeaders) {
        received = await this.deduplicator.run(this.subgraph.name, identity, body, () => send(true), copyReceived);
      } else if (this.deduplicator && operation === "mutation") {
        received = await this.deduplicator.mutation(() => send(false));
      } else {
        received = await send(false);
      }
      restrictCachePolicy(options, received.cacheControl);
      return received.response;
    } catch (error) {
      const { code, message } = describeFailure(this.subgraph.name, error);
      const extensions = { code, subgraph: this.subgraph.name };
      // Health checks and schema loads must fail loudly; only query plans degrade to partial data.
      if (!incoming(options)) throw new GraphQLError(message, { extensions });
      return { errors: errorPaths(request).map((path): GraphQLFormattedError => (path ? { message, path, extensions } : { message, extensions })) };
    }
  }

  /** One attempt, signed anew (fresh timestamp and nonce) each time it is called. */
  private async attempt(
    body: Buffer,
    identity: Identity | null,
    correlationId: string,
    channel: Channel | null,
    extraHeaders: Iterable<[string, string]> | undefined,
    keepText: boolean,
  ): Promise<Received> {
    const headers = signInternalRequest({ method: "POST", path: this.subgraph.path, body, identity, correlationId, channel }, this.signingSecret);
    headers["content-type"] = "application/json";
    if (extraHeaders) for (const [name, value] of extraHeaders) headers[name.toLowerCase()] ??= value;
    const answer = await inSpan(
      "gateway",
      `subgraph ${this.subgraph.name}`,
      { kind: SpanKind.CLIENT, attributes: { "sunday.subgraph": this.subgraph.name } },
      async (span) => {
        // The subgraph's server span continues this one (the signature covers the body, not these headers).
        injectHeaders(headers);
        const received = await this.subgraph.post(headers, body);
        span?.setAttribute("http.response.status_code", received.status);
        return received;
      },
    );
    if (answer.status < 200 || answer.status > 299) throw new SubgraphHttpError(answer.status);
    if (!isJsonContentType(answer.contentType)) throw new SubgraphBodyError(`subgraph answered with content-type ${answer.contentType ?? "none"}`);
    const text = answer.body.toString("utf8");
    return { status: answer.status, response: parseAnswer(text), cacheControl: answer.cacheControl, ...(keepText ? { text } : {}) };
  }
}

function describeFailure(subgraph: string, error: unknown): { code: string; message: string } {
  if (isBrokenCircuitError(error)) {
    return { code: SUBGRAPH_ERROR_CODES.circuitOpen, message: `Subgraph "${subgraph}" is unavailable (circuit open)` };
  }
  if (error instanceof SubgraphTimeoutError) {
    return { code: SUBGRAPH_ERROR_CODES.timeout, message: `Subgraph "${subgraph}" did not answer in time` };
  }
  if (isSubgraphFault(error)) return { code: SUBGRAPH_ERROR_CODES.unavailable, message: `Subgraph "${subgraph}" is unavailable` };
  return { code: SUBGRAPH_ERROR_CODES.internal, message: "Internal server error" };
}

/** A shared answer as a fresh object: the executor merges into the objects it is given. */
function copyReceived(received: Received): Received {
  return received.text === undefined ? received : { ...received, response: parseAnswer(received.text) };
}

function parseOrNull(query: string | undefined): DocumentNode | null {
  if (!query) return null;
  try {
    return parse(query, { noLocation: true });
  } catch {
    return null;
  }
}

/**
 * Only queries may be retried. Every fetch in the plan of a client query is itself a query, so
 * only plans of mutations need the subgraph operation parsed (their entity fetches are queries);
 * anything we cannot classify counts as a mutation.
 */
function isQuery(options: ProcessOptions): boolean {
  const operation = incoming(options);
  if (operation?.incomingRequestContext.operation?.operation === "query") return true;
  const document = operation?.document ?? parseOrNull(options.request.query);
  return document !== null && getOperationAST(document, options.request.operationName)?.operation === "query";
}

function responseKeys(selectionSet: SelectionSetNode, document: DocumentNode, into: Set<string>): Set<string> {
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      if (selection.name.value !== "__typename") into.add(selection.alias?.value ?? selection.name.value);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      responseKeys(selection.selectionSet, document, into);
    } else {
      const fragment = document.definitions.find(
        (definition) => definition.kind === Kind.FRAGMENT_DEFINITION && definition.name.value === selection.name.value,
      );
      if (fragment?.kind === Kind.FRAGMENT_DEFINITION) responseKeys(fragment.selectionSet, document, into);
    }
  }
  return into;
}

/**
 * Where the client sees the failure: at the fields the fetch was to fill. The executor prefixes
 * each path with the fetch's place in the response. A root fetch gets one error per top-level
 * field it was to fill. An entity fetch gets one error per field it was to add to the entities,
 * which the executor places under the entities' path (list positions shown as "@", as Apollo Router
 * does): `["board", "items"]`, not the entity `["board"]` that is still there, and not one error per
 * entity. (A path whose second element is a number would be read as an `_entities` index and
 * expanded per entity; field keys never are.)
 */
function errorPaths(request: ProcessOptions["request"]): (ResponsePath | undefined)[] {
  const document = parseOrNull(request.query);
  const operation = document && getOperationAST(document, request.operationName);
  if (!document || !operation) return request.variables && "representations" in request.variables ? [[]] : [undefined];
  if (request.variables && "representations" in request.variables) {
    const entities = operation.selectionSet.selections.find((selection) => selection.kind === Kind.FIELD && selection.name.value === "_entities");
    const keys = entities?.kind === Kind.FIELD && entities.selectionSet ? [...responseKeys(entities.selectionSet, document, new Set())] : [];
    return keys.length > 0 ? keys.map((key) => [key]) : [[]];
  }
  const keys = [...responseKeys(operation.selectionSet, document, new Set())];
  return keys.length > 0 ? keys.map((key) => [key]) : [undefined];
}
