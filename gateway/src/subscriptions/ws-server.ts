import type { IncomingHttpHeaders, IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
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
  type GraphQLSchema,
} from "graphql";
import type { Disposable as WsDisposable, SubscribePayload } from "graphql-ws";
import { useServer } from "graphql-ws/use/ws";
import { decodeJwt } from "jose";
import { LRUCache } from "lru-cache";
import { WebSocketServer, type WebSocket } from "ws";
import type { Admit } from "../execution/admission.ts";
import type { RunOperation } from "../execution/run-operation.ts";
import { checkOperation, refuseSource, type OperationLimits } from "../limits/operation-limits.ts";
import type { GatewayMetrics } from "../observability/metrics.ts";
import { correlationIdOf } from "../observability/correlation.ts";
import type { Logger } from "../../../platform/logger.ts";
import type { Connection, SubscriptionHub, SubscriptionTarget } from "./hub.ts";
import { SubscriptionPayload, subscriptionKey } from "./payload.ts";
import type { BoardPresence } from "./presence.ts";
import { CLOSE_CODES, SUBSCRIPTION_ERROR_CODES } from "./protocol.ts";
import { forbidden } from "./fan-out.ts";

export interface SubscriptionServerOptions {
  readonly httpServer: Server;
  /** The path sockets are accepted on. @default "/graphql" */
  readonly path?: string;
  /** The public API schema of the loaded supergraph (it changes on hot reload). */
  readonly schema: () => GraphQLSchema | undefined;
  readonly admit: Admit;
  readonly run: RunOperation;
  readonly hub: SubscriptionHub;
  readonly presence: BoardPresence;
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
  /** The gateway's depth / alias / cost / token limits, applied to subscription documents too. */
  readonly limits: OperationLimits;
  /** Sockets that send no connection_init in time are closed (4408). @default 10_000 */
  readonly connectionInitWaitTimeoutMs?: number;
}

export interface SubscriptionServer {
  /** Open sockets (tests, metrics). */
  readonly sockets: () => number;
  /** Closes every socket with 1001 (clients reconnect elsewhere and resume) and stops accepting. */
  dispose(): Promise<void>;
}

/** What the socket's connection_init may carry: a bearer token or API key, as headers would. */
function credentialHeaders(params: Readonly<Record<string, unknown>> | undefined): IncomingHttpHeaders {
  const value = (name: string) => {
    const found = params?.[name];
    return typeof found === "string" ? found : undefined;
  };
  const authorization = value("authorization") ?? value("Authorization");
  const token = value("token");
  const apiKey = value("apiKey") ?? value("x-api-key");
  return {
    ...(authorization ? { authorization } : token ? { authorization: `Bearer ${token}` } : {}),
    ...(apiKey ? { "x-api-key": apiKey } : {}),
  };
}

interface SocketState {
  readonly connection: Connection;
  readonly disconnect: () => Promise<void>;
  readonly expiry?: NodeJS.Timeout;
}

/** What onSubscribe decided, handed to `subscribe` in the execution context. */
type Prepared =
  | { readonly kind: "stream"; readonly connection: Connection; readonly start: () => AsyncIterable<unknown> }
  | { readonly kind: "operation"; readonly connection: Connection; readonly query: string };

const badRequest = (message: string) => [new GraphQLError(message, { extensions: { code: SUBSCRIPTION_ERROR_CODES.badRequest } })];

/**
 * graphql-ws (`graphql-transport-ws`) on the gateway's own port and path: connection_init carries
 * the credential (4401 without a valid one), the socket closes with 4403 when the token expires
 * or the member is removed; subscriptions are served by the hub and presence, queries and
 * mutations sent over the socket by the gateway's normal pipeline.
 */
export function startSubscriptionServer(options: SubscriptionServerOptions): SubscriptionServer {
  const { hub, presence, logger } = options;
  const path = options.path ?? "/graphql";
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1_000_000 });
  const states = new WeakMap<WebSocket, SocketState>();

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(request.url ?? "/", "http://gateway");
    if (url.pathname !== path) return void socket.destroy();
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit("connection", ws, request));
  };
  options.httpServer.on("upgrade", onUpgrade);

  // Parsed and validated documents and compiled payloads, per schema (a hot reload starts afresh):
  // ten thousand sockets subscribing with one query keep one copy, not ten thousand.
  const caches = new WeakMap<GraphQLSchema, { documents: LRUCache<string, Compiled>; payloads: LRUCache<string, SubscriptionPayload> }>();
  const cachesOf = (schema: GraphQLSchema) => {
    let found = caches.get(schema);
    if (!found) caches.set(schema, (found = { documents: new LRUCache({ max: 1_000 }), payloads: new LRUCache({ max: 1_000 }) }));
    return found;
  };
  const documentsOf = (schema: GraphQLSchema) => cachesOf(schema).documents;
  const payloadsOf = (schema: GraphQLSchema) => cachesOf(schema).payloads;

  /** Parses, validates and authorises one operation of a socket; the errors are the client's answer. */
  async function prepareOperation(socket: WebSocket, payload: SubscribePayload): Promise<ExecutionArgs | readonly GraphQLError[]> {
    const state = states.get(socket);
    const schema = options.schema();
    if (!state || !schema) return badRequest("The connection is not ready");
    const documents = documentsOf(schema);
    let compiled = documents.get(payload.query);
    if (!compiled) {
      compiled = compile(schema, payload.query, options.limits.maxTokens);
      documents.set(payload.query, compiled);
    }
    if (!("document" in compiled)) return compiled.errors;
    const { document } = compiled;
    const operation = getOperationAST(document, payload.operationName);
    if (!operation) return badRequest("Name the operation to run");
    const variables = payload.variables ?? {};
    const limited = checkOperation(document, payload.operationName ?? undefined, variables, options.limits);
    if (!limited.ok) {
      options.metrics.limitRefusals.inc({ code: limited.code });
      return [new GraphQLError(limited.message, { extensions: { code: limited.code, limit: limited.limit, actual: limited.actual } })];
    }
    const base = { schema, document, operationName: payload.operationName, variableValues: variables };
    if (operation.operation !== "subscription") {
      const prepared: Prepared = { kind: "operation", connection: state.connection, query: payload.query };
      return { ...base, contextValue: prepared };
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
    let subscriptionPayload = payloadsOf(schema).get(key);
    if (!subscriptionPayload) {
      subscriptionPayload = new SubscriptionPayload(schema, document, operation, coerced.coerced, rootField, eventType, key);
      payloadsOf(schema).set(key, subscriptionPayload);
    }
    const { connection } = state;
    if (rootField.name.value === "boardPresence") {
      const boardId = args.boardId ?? "";
      if (!(await hub.access.canRead(connection.caller, boardId, connection.correlationId))) {
        return [forbidden("You cannot read this board")];
      }
      options.metrics.subscriptionsStarted.inc({ field: "boardPresence" });
      const prepared: Prepared = { kind: "stream", connection, start: () => presence.start(connection, boardId, subscriptionPayload) };
      return { ...base, contextValue: prepared };
    }
    const target = targetOf(rootField.name.value, args);
    if (!target) return badRequest(`Unknown subscription ${rootField.name.value}`);
    const ready = await hub.prepare(connection, target);
    if (Array.isArray(ready)) return ready;
    const stream = ready as Exclude<typeof ready, readonly GraphQLError[]>;
    options.metrics.subscriptionsStarted.inc({ field: rootField.name.value });
    const prepared: Prepared = { kind: "stream", connection, start: () => hub.start(connection, stream, subscriptionPayload, target.after) };
    return { ...base, contextValue: prepared };
  }

  const serverDisposable: WsDisposable = useServer(
    {
      connectionInitWaitTimeout: options.connectionInitWaitTimeoutMs ?? 10_000,
      schema: () => {
        const schema = options.schema();
        if (!schema) throw new Error("the supergraph is not loaded yet");
        return schema;
      },
      async onConnect(ctx) {
        const socket = ctx.extra.socket;
        const correlationId = correlationIdOf(ctx.extra.request);
        const admission = await options.admit(credentialHeaders(ctx.connectionParams), correlationId);
        if (!admission.ok || !admission.caller) {
          const rateLimited = !admission.ok && admission.refusal.code === "RATE_LIMITED";
          socket.close(rateLimited ? CLOSE_CODES.tooManyRequests : CLOSE_CODES.unauthorized, admission.ok ? "Unauthorized" : admission.refusal.message);
          return false;
        }
        const caller = admission.caller;
        const connection: Connection = { caller, correlationId, close: (code, reason) => socket.close(code, reason) };
        let disconnect: () => Promise<void>;
        try {
          disconnect = await hub.connect(connection);
        } catch (error) {
          // The organisation's stream cannot be followed (Redis away): the client reconnects later.
          logger.warn({ err: error, correlationId }, "socket refused: event streams unavailable");
          socket.close(CLOSE_CODES.tryAgainLater, "Live updates are unavailable; reconnect shortly");
          return false;
        }
        const expiresAt = tokenExpiry(caller.via, ctx.connectionParams);
        const remaining = expiresAt === undefined ? undefined : expiresAt - Date.now();
        const expiry =
          remaining === undefined ? undefined : setTimeout(() => socket.close(CLOSE_CODES.forbidden, "Token expired"), Math.max(0, Math.min(remaining, 2 ** 31 - 1)));
        expiry?.unref();
        states.set(socket, { connection, disconnect, expiry });
        options.metrics.subscriptionSockets.inc();
        return true;
      },
      async onClose(ctx) {
        const state = states.get(ctx.extra.socket);
        if (!state) return;
        states.delete(ctx.extra.socket);
        clearTimeout(state.expiry);
        options.metrics.subscriptionSockets.dec();
        await state.disconnect();
      },
      async onSubscribe(ctx, id, payload): Promise<ExecutionArgs | readonly GraphQLError[]> {
        try {
          return await prepareOperation(ctx.extra.socket, payload);
        } catch (error) {
          // A dependency is down (Redis, the projects subgraph): refuse this subscription, retryable.
          // Throwing would make graphql-ws close the whole socket (4500) with every other subscription on it.
          logger.warn({ err: error, subscription: id }, "subscription could not be prepared; the client retries");
          return [new GraphQLError("The subscription could not be started; retry", { extensions: { code: SUBSCRIPTION_ERROR_CODES.unavailable } })];
        }
      },
      subscribe: (args) => (args.contextValue as Prepared & { kind: "stream" }).start() as AsyncIterable<never>,
      execute: async (args) => {
        const { connection, query } = args.contextValue as Prepared & { kind: "operation" };
        return (await options.run(
          { query, operationName: args.operationName ?? undefined, variables: (args.variableValues ?? {}) as Record<string, unknown> },
          connection,
        )) as never;
      },
      onError(_ctx, _id, _payload, errors) {
        logger.debug({ errors: errors.map((error) => error.message) }, "subscription refused");
      },
    },
    wss,
  );

  return {
    sockets: () => wss.clients.size,
    async dispose() {
      options.httpServer.off("upgrade", onUpgrade);
      for (const client of wss.clients) client.close(CLOSE_CODES.goingAway, "Server shutting down; reconnect and resume");
      await serverDisposable.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

/** A verified token's `exp` in ms (admission checked it; reading it again unverified is safe); none for API keys. */
function tokenExpiry(via: "jwt" | "api_key", params: Readonly<Record<string, unknown>> | undefined): number | undefined {
  if (via !== "jwt") return undefined;
  const bearer = /^Bearer\s+(\S+)$/i.exec(credentialHeaders(params).authorization ?? "")?.[1];
  const exp = bearer ? decodeJwt(bearer).exp : undefined;
  return exp === undefined ? undefined : exp * 1000;
}

type Compiled = { readonly document: DocumentNode } | { readonly errors: readonly GraphQLError[] };

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

