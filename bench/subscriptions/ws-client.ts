// A minimal graphql-transport-ws client (connection_init -> ack -> subscribe -> next), thin enough
// to run thousands per process; the server side is the gateway's graphql-ws (ws answers pings).
import WebSocket from "ws";

export interface LiveSocket {
  readonly socket: WebSocket;
  close(): void;
}

/**
 * Opens a socket, authenticates with `token` and subscribes once; resolves when the subscribe
 * message is sent (graphql-ws does not acknowledge subscriptions). `onNext` gets each `next`
 * payload as raw JSON text plus the receive time; `onEnd` how the socket or subscription ended.
 */
export function openSubscription(options: {
  url: string;
  token: string;
  query: string;
  variables: Record<string, unknown>;
  onNext: (payload: string, receivedAt: number) => void;
  onEnd?: (why: string) => void;
  timeoutMs?: number;
}): Promise<LiveSocket> {
  const wsUrl = `${options.url.replace(/^http/, "ws")}/graphql`;
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(wsUrl, "graphql-transport-ws", { perMessageDeflate: false });
    let subscribed = false;
    const timer = setTimeout(() => {
      socket.terminate();
      reject(new Error("timed out connecting"));
    }, options.timeoutMs ?? 30_000);
    socket.on("open", () => socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${options.token}` } })));
    socket.on("message", (data: Buffer) => {
      const receivedAt = performance.timeOrigin + performance.now();
      const text = data.toString("utf8");
      // Cheap type test first: `next` messages are the hot path.
      if (text.startsWith('{"id":"1","type":"next"') || text.includes('"type":"next"')) return options.onNext(text, receivedAt);
      const message = JSON.parse(text) as { type: string; payload?: unknown };
      if (message.type === "connection_ack") {
        socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query: options.query, variables: options.variables } }));
        subscribed = true;
        clearTimeout(timer);
        resolve({ socket, close: () => socket.close(1000, "bench done") });
      } else if (message.type === "ping") socket.send(JSON.stringify({ type: "pong" }));
      else if (message.type === "error" || message.type === "complete") options.onEnd?.(`${message.type}: ${JSON.stringify(message.payload ?? null)}`);
    });
    socket.on("close", (code, reason) => {
      clearTimeout(timer);
      if (!subscribed) reject(new Error(`closed before ack: ${code} ${reason.toString()}`));
      else options.onEnd?.(`closed ${code} ${reason.toString()}`);
    });
    socket.on("error", (error) => {
      clearTimeout(timer);
      if (!subscribed) reject(error);
    });
  });
}

/** The board-activity subscription both benchmarks use: the event plus a cross-subgraph selection on its item. */
export const BOARD_ACTIVITY = `subscription BenchBoardActivity($boardId: ID!) {
  boardActivity(boardId: $boardId) {
    cursor
    eventId
    type
    data
    item { id name assignees { name } board { name } }
  }
}`;

/** A selection whose answer depends on who asks (the boards each subscriber may read): fetched per user. */
export const BOARD_ACTIVITY_VIEWER = `subscription BenchBoardActivityViewer($boardId: ID!) {
  boardActivity(boardId: $boardId) {
    cursor
    eventId
    type
    data
    item { id name }
    actor { name boards(first: 10) { nodes { name } } }
  }
}`;

/** The same without entity fields: nothing is fetched through the federated plan at delivery (a lower bound). */
export const BOARD_ACTIVITY_PLAIN = `subscription BenchBoardActivityPlain($boardId: ID!) {
  boardActivity(boardId: $boardId) {
    cursor
    eventId
    type
    data
  }
}`;

/** What a benchmark needs of a `next` message: which change it is and its stream cursor. */
export function parseNext(text: string): { name: string | undefined; cursor: string | undefined; eventId: string | undefined; errors: unknown } {
  const message = JSON.parse(text) as {
    payload?: { data?: { boardActivity?: { cursor?: string; eventId?: string; data?: { changes?: { name?: { to?: string } } } } }; errors?: unknown };
  };
  const event = message.payload?.data?.boardActivity;
  return { name: event?.data?.changes?.name?.to, cursor: event?.cursor, eventId: event?.eventId, errors: message.payload?.errors };
}
