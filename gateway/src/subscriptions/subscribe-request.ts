import {
  GraphQLError,
  Kind,
  getArgumentValues,
  getNamedType,
  getOperationAST,
  getVariableValues,
  isObjectType,
  parse,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type FieldNode,
  type FormattedExecutionResult,
  type GraphQLSchema,
} from "graphql";
import type { SubscribePayload } from "graphql-ws";
import { LRUCache } from "lru-cache";
import type { RunOperation } from "../execution/run-operation.ts";
import { checkOperation, refuseSource, type OperationLimits } from "../limits/operation-limits.ts";
import type { GatewayMetrics } from "../observability/metrics.ts";
import { forbidden } from "./fan-out.ts";
import type { Connection, SubscriptionHub, SubscriptionTarget } from "./hub.ts";
import { SubscriptionPayload, subscriptionKey } from "./payload.ts";
import type { BoardPresence } from "./presence.ts";
import { SUBSCRIPTION_ERROR_CODES } from "./protocol.ts";

export interface SubscribeRequestOptions {
  /** The public API schema of the loaded supergraph (it changes on hot reload). */
  readonly schema: () => GraphQLSchema | undefined;
  readonly run: RunOperation;
  readonly hub: SubscriptionHub;
  readonly presence: BoardPresence;
  readonly metrics: GatewayMetrics;
  /** The gateway's depth / alias / cost / token limits, applied to subscription documents too. */
  readonly limits: OperationLimits;
}

/**
 * What `prepare` decided, handed to graphql-ws's `subscribe` or `execute` as the context value:
 * starting it gives a subscription's event stream, or a query's or mutation's one result.
 */
export interface PreparedOperation {
  start(): AsyncIterable<unknown> | Promise<FormattedExecutionResult>;
}

export const badRequest = (message: string): readonly GraphQLError[] => [
  new GraphQLError(message, { extensions: { code: SUBSCRIPTION_ERROR_CODES.badRequest } }),
];

type Compiled = { readonly document: DocumentNode } | { readonly errors: readonly GraphQLError[] };

interface SchemaCaches {
  readonly documents: LRUCache<string, Compiled>;
  readonly payloads: LRUCache<string, SubscriptionPayload>;
}

/**
 * One operation a socket sends, up to the hand-off: compiled and validated against the current
 * schema, held to the operation limits, authorised (the board's reading right, the hub's own
 * checks), then handed to the hub, presence, or (queries and mutations) the gateway's pipeline.
 */
export class SubscribeRequests {
  private readonly options: SubscribeRequestOptions;
  // Parsed and validated documents and compiled payloads, per schema (a hot reload starts afresh):
  // ten thousand sockets subscribing with one query keep one copy, not ten thousand.
  private readonly caches = new WeakMap<GraphQLSchema, SchemaCaches>();

  constructor(options: SubscribeRequestOptions) {
    this.options = options;
  }

  /** Parses, validates and authorises one operation of a socket; the errors are the client's answer. */
  async prepare(connection: Connection, payload: SubscribePayload): Promise<ExecutionArgs | readonly GraphQLError[]> {
    const { hub, presence, metrics, limits } = this.options;
    const schema = this.options.schema();
    if (!schema) return badRequest("The connection is not ready");
    const caches = this.cachesOf(schema);
    let compiled = caches.documents.get(payload.query);
    if (!compiled) {
      compiled = compile(schema, payload.query, limits.maxTokens);
      caches.documents.set(payload.query, compiled);
    }
    if (!("document" in compiled)) return compiled.errors;
    const { document } = compiled;
    const operation = getOperationAST(document, payload.operationName);
    if (!operation) return badRequest("Name the operation to run");
    const variables = payload.variables ?? {};
    const limited = checkOperation(document, payload.operationName ?? undefined, variables, limits);
    if (!limited.ok) {
      metrics.limitRefusals.inc({ code: limited.code });
      return [new GraphQLError(limited.message, { extensions: { code: limited.code, limit: limited.limit, actual: limited.actual } })];
    }
    const base = { schema, document, operationName: payload.operationName, variableValues: variables };
    if (operation.operation !== "subscription") {
      const request = { query: payload.query, operationName: payload.operationName ?? undefined, variables };
      return { ...base, contextValue: { start: () => this.options.run(request, connection) } satisfies PreparedOperation };
    }
    const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables);
    if (coerced.errors) return coerced.errors;
    const rootField = operation.selectionSet.selections.find((selection): selection is FieldNode => selection.kind === Kind.FIELD);
    const fieldDefinition = rootField && schema.getSubscriptionType()?.getFields()[rootField.name.value];
    const eventType = fieldDefinition && getNamedType(fieldDefinition.type);
    if (!rootField || !fieldDefinition || !isObjectType(eventType)) return badRequest("Subscribe to one field of Subscription");
    const args = getArgumentValues(fieldDefinition, rootField, coerced.coerced) as Record<string, string | undefined>;
    // Sockets that send one subscription share one compiled payload: the fan-out groups by it.
    const key = subscriptionKey(payload.query, document, payload.operationName, coerced.coerced, rootField);
    let shaped = caches.payloads.get(key);
    if (!shaped) {
      shaped = new SubscriptionPayload(schema, document, operation, coerced.coerced, rootField, eventType, key);
      caches.payloads.set(key, shaped);
    }
    if (rootField.name.value === "boardPresence") {
      const boardId = args.boardId ?? "";
      if (!(await hub.access.canRead(connection.caller, boardId, connection.correlationId))) {
        return [forbidden("You cannot read this board")];
      }
      metrics.subscriptionsStarted.inc({ field: "boardPresence" });
      return { ...base, contextValue: { start: () => presence.start(connection, boardId, shaped) } satisfies PreparedOperation };
    }
    const target = targetOf(rootField.name.value, args);
    if (!target) return badRequest(`Unknown subscription ${rootField.name.value}`);
    const ready = await hub.prepare(connection, target);
    if (Array.isArray(ready)) return ready;
    const stream = ready as Exclude<typeof ready, readonly GraphQLError[]>;
    metrics.subscriptionsStarted.inc({ field: rootField.name.value });
    return { ...base, contextValue: { start: () => hub.start(connection, stream, shaped, target.after) } satisfies PreparedOperation };
  }

  private cachesOf(schema: GraphQLSchema): SchemaCaches {
    let found = this.caches.get(schema);
    if (!found) this.caches.set(schema, (found = { documents: new LRUCache({ max: 1_000 }), payloads: new LRUCache({ max: 1_000 }) }));
    return found;
  }
}

/** Parse (bounded by the token limit, without locations: nothing reads them) and validate. */
function compile(schema: GraphQLSchema, query: string, maxTokens: number): Compiled {
  const refused = refuseSource(query, maxTokens);
  if (refused) return { errors: [new GraphQLError(refused.message, { extensions: { code: refused.code, limit: refused.limit, actual: refused.actual } })] };
  let document: DocumentNode;
  try {
    document = parse(query, { maxTokens, noLocation: true });
  } catch (error) {
    return { errors: [error instanceof GraphQLError ? error : new GraphQLError("Syntax error")] };
  }
  const errors = validate(schema, document);
  return errors.length > 0 ? { errors } : { document };
}

function targetOf(field: string, args: Record<string, string | undefined>): SubscriptionTarget | null {
  const after = args.after ?? undefined;
  switch (field) {
    case "boardActivity":
      return { kind: "boardActivity", boardId: args.boardId ?? "", after };
    case "itemChanged":
      return { kind: "itemChanged", itemId: args.itemId ?? "", after };
    case "myNotifications":
      return { kind: "myNotifications", after };
    default:
      return null;
  }
}
