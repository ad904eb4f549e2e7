import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from "@apollo/gateway";
import type { Fetcher, FetcherResponse } from "@apollo/utils.fetcher";
import { GraphQLError, Kind, getOperationAST, parse, type DocumentNode, type GraphQLFormattedError, type SelectionSetNode } from "graphql";
import { isBrokenCircuitError } from "cockatiel";
import { INTERNAL_HEADERS, isRole, signInternalRequest, type Identity } from "../../../subgraphs/shared/identity.ts";
import { SubgraphHttpError, SubgraphTimeoutError, type SubgraphClient } from "./subgraph-client.ts";

export interface GatewayContext {
  readonly identity: Identity | null;
  readonly correlationId: string;
}

/** `extensions.code` of the error a client gets for the fields of a subgraph that failed. */
export const SUBGRAPH_ERROR_CODES = {
  unavailable: "SUBGRAPH_UNAVAILABLE",
  timeout: "SUBGRAPH_TIMEOUT",
  circuitOpen: "CIRCUIT_OPEN",
} as const;

type ProcessOptions = GraphQLDataSourceProcessOptions<GatewayContext>;
type SubgraphResponse = Awaited<ReturnType<RemoteGraphQLDataSource<GatewayContext>["process"]>>;
type ResponsePath = ReadonlyArray<string | number>;

/**
 * Calls a subgraph with the caller's identity in headers signed by the gateway (HMAC over method,
 * path, timestamp, body hash and identity), so a subgraph reached directly cannot be fooled.
 * Each call goes through the subgraph's breaker (and its retries, for queries); when the subgraph
 * cannot answer, the call resolves to an error for its fields instead of throwing, so the rest of
 * the query plan still returns its data.
 */
export class SignedDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  constructor(private readonly subgraph: SubgraphClient) {
    super({ url: subgraph.url, fetcher: subgraph.fetcher });
  }

  override willSendRequest({ request, context }: ProcessOptions): void {
    const headers = request.http?.headers;
    if (!headers || !("identity" in context)) return;
    headers.set(INTERNAL_HEADERS.correlationId, context.correlationId);
    if (context.identity) {
      headers.set(INTERNAL_HEADERS.userId, context.identity.userId);
      headers.set(INTERNAL_HEADERS.organizationId, context.identity.organizationId);
      headers.set(INTERNAL_HEADERS.role, context.identity.role);
    }
  }

  override async process(options: ProcessOptions): Promise<SubgraphResponse> {
    try {
      // super.process signs and sends anew each attempt, so a retry carries a fresh timestamp.
      return await this.subgraph.execute(isQuery(options), () => super.process(options));
    } catch (error) {
      const { code, message } = describeFailure(this.subgraph.name, error);
      const extensions = { code, subgraph: this.subgraph.name };
      // Health checks and schema loads must fail loudly; only query plans degrade to partial data.
      if (!("incomingRequestContext" in options)) throw new GraphQLError(message, { extensions });
      return { errors: errorPaths(options.request).map((path): GraphQLFormattedError => (path ? { message, path, extensions } : { message, extensions })) };
    }
  }

  /** Apollo's default copies the subgraph URL and body into the client's error. */
  override async errorFromResponse(response: FetcherResponse): Promise<GraphQLError> {
    return new SubgraphHttpError(response.status);
  }
}

function describeFailure(subgraph: string, error: unknown): { code: string; message: string } {
  if (isBrokenCircuitError(error)) {
    return { code: SUBGRAPH_ERROR_CODES.circuitOpen, message: `Subgraph "${subgraph}" is unavailable (circuit open)` };
  }
  if (error instanceof SubgraphTimeoutError) {
    return { code: SUBGRAPH_ERROR_CODES.timeout, message: `Subgraph "${subgraph}" did not answer in time` };
  }
  return { code: SUBGRAPH_ERROR_CODES.unavailable, message: `Subgraph "${subgraph}" is unavailable` };
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
  const incoming = "incomingRequestContext" in options ? options : undefined;
  if (incoming?.incomingRequestContext.operation?.operation === "query") return true;
  const document = incoming?.document ?? parseOrNull(options.request.query);
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
 * Where the client sees the failure. The executor prefixes each path with the fetch's place in the
 * response. A root fetch gets one error per top-level field it was to fill. An entity fetch gets a
 * single error at the empty path, which the executor turns into the path of the entities it was
 * to complete (list positions shown as "@", as Apollo Router does), not one error per entity.
 */
function errorPaths(request: ProcessOptions["request"]): (ResponsePath | undefined)[] {
  if (request.variables && "representations" in request.variables) return [[]];
  const document = parseOrNull(request.query);
  const operation = document && getOperationAST(document, request.operationName);
  if (!document || !operation) return [undefined];
  const keys = [...responseKeys(operation.selectionSet, document, new Set())];
  return keys.length > 0 ? keys.map((key) => [key]) : [undefined];
}

/**
 * Signs each request over the exact body sent, then hands it to `send`. The signature is computed
 * in the fetcher because only there is the exact body known.
 */
export function signingFetcher(secret: string, send: Fetcher): Fetcher {
  return async (url, init = {}) => {
    const headers: Record<string, string> = { ...init.headers };
    const { [INTERNAL_HEADERS.userId]: userId, [INTERNAL_HEADERS.organizationId]: organizationId, [INTERNAL_HEADERS.role]: role } = headers;
    const identity = userId && organizationId && role && isRole(role) ? { userId, organizationId, role } : null;
    const body = typeof init.body === "string" ? init.body : (init.body?.toString("utf8") ?? "");
    const method = init.method ?? "POST";
    Object.assign(
      headers,
      signInternalRequest(
        { method, path: new URL(url).pathname, body, identity, correlationId: headers[INTERNAL_HEADERS.correlationId] ?? "" },
        secret,
      ),
    );
    return send(url, { method, headers, body, signal: init.signal });
  };
}
