// One graphql-transport-ws socket holding one boardActivity subscription that resumes like a
// frontend: when the server ends it with an error (the gateway interrupts live delivery when it
// cannot check the reading right, e.g. a subgraph timing out under load, and expects the client to
// resume with its last cursor), it subscribes again on the same socket with `after: <last cursor>`;
// when the socket itself closes, it opens a new one and does the same. Thin (raw `ws`, one regex
// per message) so that a thousand run in one process; bench/subscriptions/ws-client.ts does not
// resume, and test/support/faults/resuming-subscriber.ts is a full graphql-ws client per socket.
import WebSocket from "ws";

export const BOARD_ACTIVITY_RESUMING = `subscription SoakBoardActivity($boardId: ID!, $after: String) {
  boardActivity(boardId: $boardId, after: $after) {
    cursor
    eventId
    type
    data
    item { id name assignees { name } board { name } }
  }
}`;

export interface ResumingOptions {
  readonly url: string;
  readonly token: string;
  readonly boardId: string;
  /** A delivered event: its raw `next` text and when it arrived. */
  readonly onEvent: (text: string, receivedAt: number) => void;
  /** The subscription or the socket ended and is being resumed: why. */
  readonly onResume: (why: string) => void;
}

const CURSOR = /"cursor":"([^"]+)"/;
const CODE = /"code":"([A-Z_]+)"/;

export class ResumingSocket {
  private socket: WebSocket | null = null;
  private cursor: string | null = null;
  private id = 0;
  private closed = false;
  private readonly options: ResumingOptions;

  constructor(options: ResumingOptions) {
    this.options = options;
  }

  get open(): boolean {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  /** Resolves once the first subscription is sent (graphql-ws does not acknowledge it). */
  connect(timeoutMs = 60_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(`${this.options.url.replace(/^http/, "ws")}/graphql`, "graphql-transport-ws", { perMessageDeflate: false });
      this.socket = socket;
      let acknowledged = false;
      const timer = setTimeout(() => {
        socket.terminate();
        reject(new Error("timed out connecting"));
      }, timeoutMs);
      socket.on("open", () => socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${this.options.token}` } })));
      socket.on("message", (data: Buffer) => {
        const receivedAt = performance.timeOrigin + performance.now();
        const text = data.toString("utf8");
        if (text.includes('"type":"next"')) {
          if (text.includes('"errors"')) {
            const code = CODE.exec(text)?.[1];
            // Nothing to resume from: subscribe afresh (events in between are missed, and counted lost).
            if (code === "CURSOR_EXPIRED") this.cursor = null;
            return this.options.onResume(`${this.cursor === null ? "no cursor: fresh after " : ""}error ${code ?? text.slice(0, 100)}`);
          }
          this.cursor = CURSOR.exec(text)?.[1] ?? this.cursor;
          return this.options.onEvent(text, receivedAt);
        }
        const message = JSON.parse(text) as { type: string; id?: string };
        if (message.type === "connection_ack") {
          acknowledged = true;
          clearTimeout(timer);
          this.subscribe();
          resolve();
        } else if (message.type === "ping") socket.send(JSON.stringify({ type: "pong" }));
        else if ((message.type === "complete" || message.type === "error") && message.id === String(this.id)) {
          if (message.type === "error") this.options.onResume(`error message ${text.slice(0, 100)}`);
          // The server ended it (after an error result): resume from the last event seen.
          setTimeout(() => this.subscribe(), 100 + Math.random() * 200);
        }
      });
      socket.on("close", (code, reason) => {
        clearTimeout(timer);
        if (!acknowledged) return reject(new Error(`closed before ack: ${code} ${reason.toString()}`));
        if (this.closed) return;
        this.options.onResume(`socket closed ${code} ${reason.toString().slice(0, 60)}`);
        setTimeout(() => void this.connect(timeoutMs).catch((error: unknown) => this.options.onResume(`reconnect failed: ${String(error)}`)), 500);
      });
      socket.on("error", (error) => {
        clearTimeout(timer);
        if (!acknowledged) reject(error);
      });
    });
  }

  private subscribe(): void {
    if (this.closed || this.socket?.readyState !== WebSocket.OPEN) return;
    this.id += 1;
    const variables = { boardId: this.options.boardId, after: this.cursor };
    this.socket.send(JSON.stringify({ id: String(this.id), type: "subscribe", payload: { query: BOARD_ACTIVITY_RESUMING, variables } }));
  }

  close(): void {
    this.closed = true;
    this.socket?.close(1000, "soak done");
  }
}
