// The webhook receiver of the fault benchmark: one node:http server on loopback that serves every
// webhook by path (`/w/<n>`), verifies each request with the Standard Webhooks reference library
// and the secret of webhook n, records it, and answers 204 at once. The benchmark can stop it
// (connections refused) and start it again on the same port, and hold its answers (requests are
// received and recorded, but not answered) to catch the dispatcher with attempts in flight.
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";

/** One request as received. */
export interface ReceivedRequest {
  /** performance.now() when its body had arrived. */
  readonly at: number;
  /** The webhook's number (the `<n>` of its path), or -1 for a path that names none. */
  readonly webhook: number;
  /** The `webhook-id` header: the delivery's id, stable across its retries. */
  readonly webhookId: string;
  /** The body's `id`: the event id. */
  readonly eventId: string;
  /** Whether standardwebhooks verified it with the webhook's secret. */
  readonly verified: boolean;
  /** Why it did not verify. */
  readonly error?: string;
}

const PATH = /^\/w\/(\d+)$/;

function header(headers: IncomingHttpHeaders, name: string): string {
  const value = headers[name];
  return (Array.isArray(value) ? value[0] : value) ?? "";
}

export class FaultyReceiver {
  readonly requests: ReceivedRequest[] = [];
  private readonly server: Server;
  private readonly verifiers = new Map<number, Webhook>();
  private readonly secretOf: (webhook: number) => string | undefined;
  private readonly onRequest: (request: ReceivedRequest) => void;
  private held: ServerResponse[] = [];
  private holding = false;
  private boundPort = 0;

  /** `secretOf(n)`: the `whsec_` secret of webhook n. `onRequest` sees each request as it is recorded. */
  constructor(secretOf: (webhook: number) => string | undefined, onRequest: (request: ReceivedRequest) => void = () => undefined) {
    this.secretOf = secretOf;
    this.onRequest = onRequest;
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        const recorded = this.record(request.url ?? "", request.headers, Buffer.concat(chunks).toString("utf8"));
        this.requests.push(recorded);
        this.onRequest(recorded);
        if (this.holding) this.held.push(response);
        else response.writeHead(recorded.webhook < 0 ? 404 : 204).end();
      });
    });
    // Keep-alive as a real receiver allows: the dispatcher's pooled sockets are cut only by stop().
    this.server.keepAliveTimeout = 30_000;
  }

  get port(): number {
    return this.boundPort;
  }

  /** Requests received and not answered while holding. */
  get heldCount(): number {
    return this.held.length;
  }

  /** `http://127.0.0.1:<port>/w/<n>` */
  urlOf(webhook: number): string {
    return `http://127.0.0.1:${this.boundPort}/w/${webhook}`;
  }

  /** Listens on `port` (0: a free one the first time; again the same one after stop()). */
  listen(port = this.boundPort): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, "127.0.0.1", () => {
        this.server.off("error", reject);
        this.boundPort = (this.server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  /** Stops listening and cuts every connection: new attempts are refused, requests in flight fail. */
  stop(): Promise<void> {
    this.release();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    return closed;
  }

  /** From now on, records requests but leaves them unanswered until release(). */
  hold(): void {
    this.holding = true;
  }

  /** Answers what was held (where the sender is still connected) and answers at once again. */
  release(): void {
    this.holding = false;
    for (const response of this.held.splice(0)) {
      if (response.socket && !response.socket.destroyed) response.writeHead(204).end();
    }
  }

  private record(url: string, headers: IncomingHttpHeaders, body: string): ReceivedRequest {
    const at = performance.now();
    const webhookId = header(headers, "webhook-id");
    const match = PATH.exec(url);
    const webhook = match ? Number(match[1]) : -1;
    let eventId = "";
    try {
      eventId = String((JSON.parse(body) as { id?: unknown }).id ?? "");
    } catch {
      // recorded unverified below
    }
    const verifier = this.verifier(webhook);
    if (!verifier) return { at, webhook, webhookId, eventId, verified: false, error: `no webhook for ${url}` };
    try {
      verifier.verify(body, {
        "webhook-id": webhookId,
        "webhook-timestamp": header(headers, "webhook-timestamp"),
        "webhook-signature": header(headers, "webhook-signature"),
      });
      return { at, webhook, webhookId, eventId, verified: true };
    } catch (error) {
      return { at, webhook, webhookId, eventId, verified: false, error: error instanceof Error ? error.message : String(error) };
    }
  }

  private verifier(webhook: number): Webhook | undefined {
    const cached = this.verifiers.get(webhook);
    if (cached) return cached;
    const secret = webhook < 0 ? undefined : this.secretOf(webhook);
    if (!secret) return undefined;
    const verifier = new Webhook(secret);
    this.verifiers.set(webhook, verifier);
    return verifier;
  }
}
