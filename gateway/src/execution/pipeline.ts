import { createHash } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import type { ApolloGateway } from "@apollo/gateway";
import type { KeyValueCache } from "@apollo/utils.keyvaluecache";
import {
  GraphQLError,
  Kind,
  getOperationAST,
  getVariableValues,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type FormattedExecutionResult,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from "graphql";
import type { GatewayContext } from "../federation/signed-data-source.ts";
import { checkOperation, type OperationCheck, type OperationLimits } from "../limits/operation-limits.ts";
import type { GatewayMetrics } from "../observability/metrics.ts";
import { recordRequest, type PlanCacheTracker } from "../plugins/observability.ts";
import type { Logger } from "../../../subgraphs/shared/logger.ts";

/**
 * The lean GraphQL pipeline in front of @apollo/gateway's executor (`gateway.executor`, the
 * GatewayExecutor Apollo Server itself calls). For a request it can answer exactly as Apollo Server
 * would, it does the per-request work only: a document cache keyed by query text (parse, validation,
 * operation resolution and the operation-limit measurement done once per distinct document and
 * schema), a small request context, the executor, one `JSON.stringify` of the result.
 *
 * Everything else goes to Apollo Server (`null` from `http`/`operation`, before anything has been
 * executed): GET, invalid documents, unknown operation names, variables that do not coerce,
 * refusals by the operation limits, APQ registrations and misses, subscriptions, unusual `accept`
 * or `content-type`. So every error answer of those kinds, and their metrics and logs, stays
 * Apollo's own; this path only ever produces results of the executor, formatted with Apollo's
 * rules (extensions.code, `INTERNAL_SERVER_ERROR` by default, `extensions.http` applied and removed,
 * no stack traces, 400 for variable coercion errors without data, `cache-control` as Apollo's
 * cache-control plugin sets it).
 */
export interface LeanPipelineOptions {
  readonly gateway: ApolloGateway;
  readonly limits: OperationLimits;
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
  readonly plans: PlanCacheTracker;
  /** Apollo Server's APQ cache (the same store): hash-only requests whose hash is registered run here. */
  readonly apqCache: KeyValueCache<string>;
  /** Distinct documents kept per schema. @default 2000 */
  readonly documentCapacity?: number;
}

export interface LeanHttpResult {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface LeanPipeline {
  /** A POST /graphql body; null when Apollo Server must answer it. */
  http(body: unknown, headers: IncomingHttpHeaders, context: GatewayContext): Promise<LeanHttpResult | null>;
  /** An in-process operation (RunOperation); null when Apollo Server must answer it. */
  operation(
    request: { query: string; operationName?: string; variables?: Readonly<Record<string, unknown>> },
    context: GatewayContext,
  ): Promise<FormattedExecutionResult | null>;
  /** Documents currently cached (tests). */
  readonly cachedDocuments: number;
}

type ExecutorContext = Parameters<ApolloGateway["executor"]>[0];

/** One resolved operation of a cached document. */
interface ResolvedOperation {
  readonly operation: OperationDefinitionNode;
  readonly operationName: string | null;
  /** The limit check for requests without variables (the only input it depends on besides the document). */
  limitsWithoutVariables?: OperationCheck;
}

interface CachedDocument {
  readonly document: DocumentNode;
  readonly queryHash: string;
  /** By requested operation name (`""` when absent, else `:<name>`); null: Apollo must answer (no such operation). */
  readonly operations: Map<string, ResolvedOperation | null>;
}

/** A source that did not parse or validate: Apollo answers it, we do not try again. */
const INVALID = Symbol("invalid");

const JSON_CONTENT_TYPE = "application/json; charset=utf-8";

/** Apollo Server's `newCachePolicy` (the object its cache-control plugin and the gateway's data sources restrict). */
function newCachePolicy() {
  return {
    maxAge: undefined as number | undefined,
    scope: undefined as "PUBLIC" | "PRIVATE" | undefined,
    restrict(hint: { maxAge?: number; scope?: "PUBLIC" | "PRIVATE" }) {
      if (hint.maxAge !== undefined && (this.maxAge === undefined || hint.maxAge < this.maxAge)) this.maxAge = hint.maxAge;
      if (hint.scope !== undefined && this.scope !== "PRIVATE") this.scope = hint.scope;
    },
    replace(hint: { maxAge?: number; scope?: "PUBLIC" | "PRIVATE" }) {
      if (hint.maxAge !== undefined) this.maxAge = hint.maxAge;
      if (hint.scope !== undefined) this.scope = hint.scope;
    },
    policyIfCacheable() {
      if (this.maxAge === undefined || this.maxAge === 0) return null;
      return { maxAge: this.maxAge, scope: this.scope ?? "PUBLIC" };
    },
  };
}

/** The `accept` values Apollo answers with `application/json; charset=utf-8`; anything else goes to Apollo. */
function acceptsPlainJson(accept: string | undefined): boolean {
  if (accept === undefined || accept === "" || accept === "*/*" || accept === "application/json") return true;
  return accept === "application/json, */*" || accept === "application/json,*/*";
}

function isJsonContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const essence = contentType.split(";", 1)[0]!.trim().toLowerCase();
  return essence === "application/json";
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Apollo Server's test for graphql-js variable coercion errors (which it reports as BAD_USER_INPUT). */
function isBadUserInputError(error: GraphQLError): boolean {
  const node = error.nodes?.length === 1 ? error.nodes[0] : undefined;
  if (node?.kind !== Kind.VARIABLE_DEFINITION) return false;
  const name = node.variable.name.value;
  return (
    error.message.startsWith(`Variable "$${name}" has invalid value`) ||
    error.message.startsWith(`Variable "$${name}" got invalid value `) ||
    error.message.startsWith(`Variable "$${name}" of required type `) ||
    error.message.startsWith(`Variable "$${name}" of non-null type `)
  );
}

interface FormattedErrors {
  readonly errors: GraphQLFormattedError[];
  status?: number;
  readonly headers: Map<string, string>;
}

/** Apollo Server's normalizeAndFormatErrors with our settings (no formatError, no stack traces). */
function formatErrors(errors: readonly unknown[]): FormattedErrors {
  const out: FormattedErrors = { errors: [], headers: new Map() };
  for (const raw of errors) {
    const error =
      raw instanceof GraphQLError
        ? raw
        : raw instanceof Error
          ? new GraphQLError(raw.message, { originalError: raw })
          : new GraphQLError(`Unexpected error value: ${String(raw)}`);
    const badUserInput = isBadUserInputError(error) && error.extensions.code == null;
    const extensions: Record<string, unknown> = {
      ...error.extensions,
      code: badUserInput ? "BAD_USER_INPUT" : (error.extensions.code ?? "INTERNAL_SERVER_ERROR"),
    };
    const http = extensions.http;
    if (
      typeof http === "object" &&
      http !== null &&
      (!("status" in http) || typeof http.status === "number") &&
      (!("headers" in http) || http.headers instanceof Map)
    ) {
      const head = http as { status?: number; headers?: Map<string, string> };
      if (head.status !== undefined) out.status = head.status;
      if (head.headers) for (const [name, value] of head.headers) out.headers.set(name, value);
      delete extensions.http;
    }
    out.errors.push({ ...error.toJSON(), extensions });
  }
  return out;
}

function errorCodes(errors: readonly GraphQLFormattedError[] | undefined): string[] {
  return (errors ?? []).map((error) => String(error.extensions?.code ?? "INTERNAL_SERVER_ERROR"));
}

/** Minimal fetch-style headers over node's IncomingHttpHeaders (the executor reads query-plan headers outside production). */
function fetcherHeaders(headers: IncomingHttpHeaders) {
  const get = (name: string): string | null => {
    const value = headers[name.toLowerCase()];
    return value === undefined ? null : Array.isArray(value) ? value.join(", ") : value;
  };
  const entries = function* (): IterableIterator<[string, string]> {
    for (const [name, value] of Object.entries(headers)) if (value !== undefined) yield [name, Array.isArray(value) ? value.join(", ") : value];
  };
  return {
    get,
    has: (name: string) => get(name) !== null,
    append() {},
    delete() {},
    set() {},
    entries,
    keys: function* () {
      for (const [name] of entries()) yield name;
    },
    values: function* () {
      for (const [, value] of entries()) yield value;
    },
    [Symbol.iterator]: entries,
  };
}

export function createLeanPipeline(options: LeanPipelineOptions): LeanPipeline {
  const { gateway, metrics, logger, plans, apqCache } = options;
  const capacity = options.documentCapacity ?? 2000;
  // Tokens are counted before parsing (TokenGate), as for Apollo's path (limitsPlugin).
  const limits = { ...options.limits, maxTokens: Number.MAX_SAFE_INTEGER };
  let schema: GraphQLSchema | null = null;
  let documents = new Map<string, CachedDocument | typeof INVALID>();
  // The executor validates and plans against the schema of this notification: a new supergraph
  // (hot reload) is a new schema, and every cached document is parsed and validated again.
  gateway.onSchemaLoadOrUpdate(({ apiSchema }) => {
    schema = apiSchema;
    documents = new Map();
  });

  function cachedDocument(source: string, current: GraphQLSchema): CachedDocument | null {
    const cached = documents.get(source);
    if (cached !== undefined) return cached === INVALID ? null : cached;
    let entry: CachedDocument | typeof INVALID = INVALID;
    try {
      const document = parse(source);
      if (validate(current, document, specifiedRules).length === 0) {
        entry = { document, queryHash: createHash("sha256").update(source).digest("hex"), operations: new Map() };
      }
    } catch {
      // a syntax error: Apollo answers it
    }
    if (documents.size >= capacity) documents.delete(documents.keys().next().value!);
    documents.set(source, entry);
    return entry === INVALID ? null : entry;
  }

  function resolveOperation(cached: CachedDocument, operationName: string | undefined): ResolvedOperation | null {
    // `operationName: ""` names no operation (Apollo refuses it); absent picks the only one.
    const key = operationName === undefined ? "" : `:${operationName}`;
    let resolved = cached.operations.get(key);
    if (resolved === undefined) {
      const operation = getOperationAST(cached.document, operationName);
      resolved =
        operation && operation.operation !== "subscription"
          ? { operation, operationName: operation.name?.value ?? null }
          : null;
      cached.operations.set(key, resolved);
    }
    return resolved;
  }

  interface Prepared {
    readonly source: string;
    readonly cached: CachedDocument;
    readonly resolved: ResolvedOperation;
    readonly operationName: string | undefined;
    readonly variables: Record<string, unknown> | undefined;
  }

  /** Everything before execution; null when Apollo must answer (nothing has happened yet). */
  function prepare(
    source: string,
    operationName: string | undefined,
    variables: Record<string, unknown> | undefined,
  ): Prepared | null {
    const current = schema;
    if (!current) return null;
    const cached = cachedDocument(source, current);
    if (!cached) return null;
    const resolved = resolveOperation(cached, operationName);
    if (!resolved) return null;
    const definitions = resolved.operation.variableDefinitions;
    if (definitions && definitions.length > 0) {
      // The executor would answer coercion errors itself; Apollo reports them as BAD_USER_INPUT / 400.
      if (getVariableValues(current, definitions, variables ?? {}).errors) return null;
    }
    const noVariables = variables === undefined || Object.keys(variables).length === 0;
    let check = noVariables ? resolved.limitsWithoutVariables : undefined;
    if (!check) {
      check = checkOperation(cached.document, operationName, variables, limits);
      if (noVariables) resolved.limitsWithoutVariables = check;
    }
    // A refusal is Apollo's (limitsPlugin): its error, status and metric.
    if (!check.ok) return null;
    return { source, cached, resolved, operationName, variables };
  }

  async function execute(
    prepared: Prepared,
    context: GatewayContext,
    http: ExecutorContext["request"]["http"],
    extensions: Record<string, unknown> | undefined,
    started: number,
  ): Promise<{ result: FormattedExecutionResult; inProcess: FormattedExecutionResult; formatted: FormattedErrors | null; cacheControl: string }> {
    const { cached, resolved } = prepared;
    metrics.queryPlanCache.inc({ result: plans.visit(cached.queryHash, resolved.operationName) ? "hit" : "miss" });
    const overallCachePolicy = newCachePolicy();
    const requestContext = {
      request: {
        query: prepared.source,
        ...(prepared.operationName !== undefined ? { operationName: prepared.operationName } : {}),
        ...(prepared.variables !== undefined ? { variables: prepared.variables } : {}),
        ...(extensions !== undefined ? { extensions } : {}),
        ...(http ? { http } : {}),
      },
      logger,
      schema: schema!,
      schemaHash: "schemaHash no longer exists since Apollo Server 4",
      context,
      cache: apqCache,
      queryHash: cached.queryHash,
      document: cached.document,
      source: prepared.source,
      operationName: resolved.operationName,
      operation: resolved.operation,
      metrics: {},
      debug: false,
      overallCachePolicy,
    } as unknown as ExecutorContext;

    let result: FormattedExecutionResult;
    // What Apollo Server's executeOperation gives (its singleResult): the executor's result, errors formatted.
    let inProcess: FormattedExecutionResult;
    let formatted: FormattedErrors | null = null;
    try {
      const executed = await gateway.executor(requestContext);
      if (executed.errors && executed.errors.length > 0) {
        formatted = formatErrors(executed.errors);
        // Apollo Server: variable coercion errors without data are a 400.
        if (executed.data === undefined && formatted.status === undefined) formatted.status = 400;
      }
      result = {
        ...(formatted ? { errors: formatted.errors } : {}),
        ...(executed.data !== undefined ? { data: executed.data } : {}),
        ...(executed.extensions !== undefined ? { extensions: executed.extensions } : {}),
      } as FormattedExecutionResult;
      inProcess = { ...(executed as FormattedExecutionResult), errors: formatted?.errors };
    } catch (error) {
      // Apollo Server: an executor that throws is a 500 with the error formatted.
      formatted = formatErrors([error]);
      formatted.status ??= 500;
      result = { errors: formatted.errors };
      inProcess = result;
    }
    const policy = overallCachePolicy.policyIfCacheable();
    const cacheControl = policy && !result.errors ? `max-age=${policy.maxAge}, ${policy.scope.toLowerCase()}` : "no-store";

    const codes = errorCodes(result.errors);
    recordRequest(
      { metrics, logger },
      {
        operationName: resolved.operationName ?? prepared.operationName ?? null,
        codes,
        hasData: result.data != null,
        seconds: (performance.now() - started) / 1000,
        context,
      },
    );
    return { result, inProcess, formatted, cacheControl };
  }

  /** The query text of a request body, or null when Apollo must answer (registration, miss, other extensions). */
  async function sourceOf(query: unknown, extensions: unknown): Promise<string | null> {
    if (extensions === undefined) return typeof query === "string" && query !== "" ? query : null;
    if (query !== undefined || !isRecord(extensions)) return null;
    const keys = Object.keys(extensions);
    const persisted = extensions.persistedQuery;
    if (keys.length !== 1 || !isRecord(persisted) || persisted.version !== 1 || typeof persisted.sha256Hash !== "string") return null;
    // Apollo reads the same store; on a miss it answers PERSISTED_QUERY_NOT_FOUND itself.
    const stored = await apqCache.get(persisted.sha256Hash);
    return typeof stored === "string" && stored !== "" ? stored : null;
  }

  return {
    get cachedDocuments() {
      return documents.size;
    },

    async http(body, headers, context) {
      const answered = await leanHttp(body, headers, context);
      metrics.pipeline.inc({ path: answered ? "lean" : "apollo" });
      return answered;
    },

    async operation(request, context) {
      const answered = await leanOperation(request, context);
      metrics.pipeline.inc({ path: answered ? "lean" : "apollo" });
      return answered;
    },
  };

  async function leanHttp(body: unknown, headers: IncomingHttpHeaders, context: GatewayContext): Promise<LeanHttpResult | null> {
    const started = performance.now();
    if (!isRecord(body)) return null;
    if (!isJsonContentType(headers["content-type"]) || !acceptsPlainJson(headers.accept)) return null;
    const { query, operationName, variables, extensions } = body;
    if (operationName !== undefined && typeof operationName !== "string") return null;
    if (variables !== undefined && !isRecord(variables)) return null;
    if (extensions !== undefined && !isRecord(extensions)) return null;
    for (const key in body) if (key !== "query" && key !== "operationName" && key !== "variables" && key !== "extensions") return null;
    const source = await sourceOf(query, extensions);
    if (source === null) return null;
    const prepared = prepare(source, operationName, variables);
    if (!prepared) return null;
    const http = { method: "POST", url: "https://unknown-url.invalid/", headers: fetcherHeaders(headers) };
    const { result, formatted, cacheControl } = await execute(prepared, context, http as never, extensions, started);
    const responseHeaders: Record<string, string> = { "content-type": JSON_CONTENT_TYPE, "cache-control": cacheControl };
    if (formatted) for (const [name, value] of formatted.headers) responseHeaders[name] = value;
    return { status: formatted?.status ?? 200, headers: responseHeaders, body: `${JSON.stringify(result)}\n` };
  }

  async function leanOperation(
    request: { query: string; operationName?: string; variables?: Readonly<Record<string, unknown>> },
    context: GatewayContext,
  ): Promise<FormattedExecutionResult | null> {
    const started = performance.now();
    const variables = request.variables ? { ...request.variables } : undefined;
    const prepared = prepare(request.query, request.operationName, variables);
    if (!prepared) return null;
    return (await execute(prepared, context, undefined, undefined, started)).inProcess;
  }
}
