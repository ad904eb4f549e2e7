import type { IncomingHttpHeaders, IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import { GraphQLError, type ExecutionArgs } from "graphql";
import type { Disposable as WsDisposable } from "graphql-ws";
import { useServer } from "graphql-ws/use/ws";
import { WebSocketServer, type WebSocket } from "ws";
import type { Admit } from "../execution/admission.ts";
import { correlationIdOf } from "../observability/correlation.ts";
import type { Logger } from "../../../platform/logger.ts";
import type { Connection } from "./hub.ts";
import { CLOSE_CODES, SUBSCRIPTION_ERROR_CODES } from "./protocol.ts";
import { SubscribeRequests, badRequest, type PreparedOperation, type SubscribeRequestOptions } from "./subscribe-request.ts";

export interface SubscriptionServerOptions extends SubscribeRequestOptions {
  readonly httpServer: Server;
  /** The path sockets are accepted on. @default "/graphql" */
  readonly path?: string;
  readonly admit: Admit;
  readonly logger: Logger;
  /** Sockets that send no connection_init in time are closed (4408). @default 10_000 */
  readonly connectionInitWaitTimeoutMs?: number;
  /** Interval of the ping each socket must answer with a pong, or be closed (graphql-ws's own). @default 12_000 */
  readonly keepAliveMs?: number;
}

export interface SubscriptionServer {
  /** Open sockets (tests, metrics). */
  readonly sockets: () => number;
  /** Closes every socket with 1001 (clients reconnect elsewhere and resume) and stops accepting. */
  dispose(): Promise<void>;
}

/** The largest message a client may send: an operation with its variables. */
const MAX_MESSAGE_BYTES = 1_000_000;

/** The longest delay setTimeout takes; a later expiry is armed at this and never reached by a socket. */
const MAX_TIMER_MS = 2 ** 31 - 1;

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

/**
 * graphql-ws (`graphql-transport-ws`) on the gateway's own port and path, the socket side only:
 * connection_init carries the credential (4401 without a valid one, 4429 when rate limited), the
 * hub takes the connection (1013 when it cannot), and the socket closes with 4403 when the
 * caller's credential expires (or, from the hub, when the member is removed). Each operation on a
 * socket is prepared by SubscribeRequests and started from the context value it returns.
 */
export function startSubscriptionServer(options: SubscriptionServerOptions): SubscriptionServer {
  const { hub, logger, metrics } = options;
  const path = options.path ?? "/graphql";
  const requests = new SubscribeRequests(options);
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  const states = new WeakMap<WebSocket, SocketState>();

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(request.url ?? "/", "http://gateway");
    if (url.pathname !== path) return void socket.destroy();
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit("connection", ws, request));
  };
  options.httpServer.on("upgrade", onUpgrade);

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
        const expiry =
          caller.expiresAt === undefined
            ? undefined
            : setTimeout(() => socket.close(CLOSE_CODES.forbidden, "Token expired"), Math.max(0, Math.min(caller.expiresAt - Date.now(), MAX_TIMER_MS)));
        expiry?.unref();
        states.set(socket, { connection, disconnect, expiry });
        metrics.subscriptionSockets.inc();
        return true;
      },
      async onClose(ctx) {
        const state = states.get(ctx.extra.socket);
        if (!state) return;
        states.delete(ctx.extra.socket);
        clearTimeout(state.expiry);
        metrics.subscriptionSockets.dec();
        await state.disconnect();
      },
      async onSubscribe(ctx, id, payload): Promise<ExecutionArgs | readonly GraphQLError[]> {
        const state = states.get(ctx.extra.socket);
        if (!state) return badRequest("The connection is not ready");
        try {
          return await requests.prepare(state.connection, payload);
        } catch (error) {
          // A dependency is down (Redis, the projects subgraph): refuse this subscription, retryable.
          // Throwing would make graphql-ws close the whole socket (4500) with every other subscription on it.
          logger.warn({ err: error, subscription: id }, "subscription could not be prepared; the client retries");
          return [new GraphQLError("The subscription could not be started; retry", { extensions: { code: SUBSCRIPTION_ERROR_CODES.unavailable } })];
        }
      },
      // graphql-ws calls `subscribe` for subscriptions and `execute` for the rest; `prepare` decided both.
      subscribe: (args) => (args.contextValue as PreparedOperation).start() as never,
      execute: (args) => (args.contextValue as PreparedOperation).start() as never,
      onNext(_ctx, _id, _payload, _args, result) {
        const errors = result.errors ?? [];
        metrics.subscriptionMessages.inc({ result: errors.length > 0 ? "error" : "data" });
        for (const error of errors) metrics.subscriptionErrors.inc({ code: String(error.extensions?.code ?? "INTERNAL_SERVER_ERROR") });
      },
      onError(_ctx, _id, _payload, errors) {
        for (const error of errors) metrics.subscriptionErrors.inc({ code: String(error.extensions?.code ?? "INTERNAL_SERVER_ERROR") });
        logger.debug({ errors: errors.map((error) => error.message) }, "subscription refused");
      },
    },
    wss,
    options.keepAliveMs ?? 12_000,
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
