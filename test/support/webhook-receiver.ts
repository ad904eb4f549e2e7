// A webhook receiver for tests: a real HTTP server on loopback that records every request and
// answers as the test says, so a test waits for the nth request instead of sleeping.
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface Received {
  /** The request's path and query. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** Answers a request (the nth, 0-based); may leave it unanswered. */
export type Answer = (response: ServerResponse, index: number) => void;

/** An HTTP receiver on loopback that records requests and lets a test wait for the nth one. */
export class Receiver {
  readonly requests: Received[] = [];
  readonly url: Promise<string>;
  private readonly server: Server;
  private readonly waiters: { count: number; resolve: () => void }[] = [];

  constructor(answer: Answer) {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        const index = this.requests.length;
        this.requests.push({ url: request.url ?? "", headers: request.headers, body: Buffer.concat(chunks).toString("utf8") });
        answer(response, index);
        for (const waiter of this.waiters.filter((w) => this.requests.length >= w.count)) waiter.resolve();
      });
    });
    this.url = new Promise((resolve) => {
      this.server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`));
    });
  }

  /** Resolves with the first request (already here or still to come) that `matches` accepts. */
  async first(matches: (request: Received) => boolean): Promise<Received> {
    let seen = 0;
    for (;;) {
      const found = this.requests.slice(seen).find(matches);
      if (found) return found;
      seen = this.requests.length;
      await this.received(seen + 1);
    }
  }

  /** Requests whose JSON body's `id` (the event id) is `eventId`. */
  ofEvent(eventId: string): Received[] {
    return this.requests.filter((request) => (JSON.parse(request.body) as { id?: string }).id === eventId);
  }

  /** Resolves once `count` requests have arrived. */
  received(count: number): Promise<Received[]> {
    if (this.requests.length >= count) return Promise.resolve(this.requests);
    return new Promise((resolve) => this.waiters.push({ count, resolve: () => resolve(this.requests) }));
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

export const status =
  (...codes: number[]): Answer =>
  (response, index) => {
    response.writeHead(codes[Math.min(index, codes.length - 1)] ?? 200).end("ok");
  };
