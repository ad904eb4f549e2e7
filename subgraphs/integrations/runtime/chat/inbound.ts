/**
 * The runtime's HTTP door for the chat services. Every request arrives through the gateway, which
 * signs what it forwards (platform/identity.ts), so a request that did not come through it is
 * refused before any chat-specific check; the chat service's own signature or token is then checked
 * by the app the path belongs to, on the bytes exactly as the service sent them.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { NonceRegistry, verifyInternalRequest, type Identity, type NonceStore } from "../../../../platform/identity.ts";
import { PayloadTooLargeError, headerOf, readBodyBytes } from "../../../../platform/http.ts";
import { problem, sendProblem, type Problem } from "../../../../platform/problem.ts";
import type { Logger } from "../../../../platform/logger.ts";

/** A request as an app sees it: the raw body (signatures cover its bytes) and the caller the gateway vouched for. */
export interface InboundRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: (name: string) => string | undefined;
  readonly body: Buffer;
  /** The signed-in Sunday user (install links only); null for chat services. */
  readonly identity: Identity | null;
  readonly correlationId: string;
}

export type InboundResponse =
  | { readonly status: number; readonly json: unknown; readonly headers?: Readonly<Record<string, string>> }
  | { readonly status: number; readonly text: string; readonly headers?: Readonly<Record<string, string>> }
  | { readonly redirect: string }
  | { readonly problem: Problem };

export type InboundRoute = (request: InboundRequest) => Promise<InboundResponse>;

const MAX_BODY_BYTES = 1_000_000;

/** `routes` by "METHOD /path"; answers everything under /integrations/ and returns false for other paths. */
export function createInboundHandler(options: {
  readonly routes: Readonly<Record<string, InboundRoute>>;
  readonly signingSecret: string;
  readonly logger: Logger;
  /** Where signed requests' nonces are kept: shared (Redis) when several runtimes run. @default this process's */
  readonly nonces?: NonceStore;
}): (request: IncomingMessage, response: ServerResponse) => Promise<boolean> {
  const nonces = options.nonces ?? new NonceRegistry();
  const { logger } = options;
  return async (request, response) => {
    const url = new URL(request.url ?? "/", "http://runtime");
    if (!url.pathname.startsWith("/integrations/")) return false;
    const correlationId = request.headers["x-correlation-id"]?.toString() ?? "";
    const send = (answer: InboundResponse) => {
      if ("problem" in answer) return sendProblem(response, { ...answer.problem, correlationId: answer.problem.correlationId ?? correlationId });
      if ("redirect" in answer) {
        response.writeHead(302, { location: answer.redirect, "cache-control": "no-store", "content-length": "0" });
        return void response.end();
      }
      const text = "json" in answer ? JSON.stringify(answer.json) : answer.text;
      response.writeHead(answer.status, {
        "content-type": "json" in answer ? "application/json" : "text/plain; charset=utf-8",
        "content-length": String(Buffer.byteLength(text)),
        ...answer.headers,
      });
      response.end(text);
    };
    try {
      const route = options.routes[`${request.method} ${url.pathname}`];
      if (!route) {
        send({ problem: problem("NOT_FOUND", `no ${request.method} ${url.pathname} here`) });
        return true;
      }
      const body = await readBodyBytes(request, MAX_BODY_BYTES);
      const header = headerOf(request);
      const verified = await verifyInternalRequest(
        { method: request.method ?? "GET", path: url.pathname + url.search, body: body.toString("utf8") },
        header,
        options.signingSecret,
        nonces,
      );
      if (!verified.ok) {
        logger.warn({ path: url.pathname, reason: verified.reason }, "refused an inbound request that did not come through the gateway");
        send({ problem: problem("UNAUTHENTICATED", "inbound requests come through the gateway") });
        return true;
      }
      send(
        await route({
          method: request.method ?? "GET",
          path: url.pathname,
          query: url.searchParams,
          headers: header,
          body,
          identity: verified.identity,
          correlationId: verified.correlationId || correlationId,
        }),
      );
    } catch (error) {
      if (error instanceof PayloadTooLargeError) {
        send({ problem: problem("PAYLOAD_TOO_LARGE", error.message) });
      } else {
        logger.error({ err: error, path: url.pathname, correlationId }, "inbound chat request failed");
        if (!response.headersSent) send({ problem: problem("INTERNAL_SERVER_ERROR", "the request could not be handled") });
        else response.destroy();
      }
    }
    return true;
  };
}

/** Work an app does after it answered (Slack wants an answer within 3 s): tracked so close() and tests can wait for it. */
export class Background {
  private readonly running = new Set<Promise<void>>();
  private readonly logger: Logger;

  constructor(logger: Logger) {
    this.logger = logger;
  }

  run(what: string, task: () => Promise<void>): void {
    const running = task()
      .catch((error: unknown) => this.logger.error({ err: error }, `${what} failed`))
      .finally(() => this.running.delete(running));
    this.running.add(running);
  }

  /** Resolves when everything started so far (and what it started) has finished. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }
}

/**
 * An HTTP server of its own for the runtime's inbound handler, where the runtime shares a process
 * with the gateway (`npm start`, tests): the gateway still reaches it over HTTP, as in production.
 */
export async function serveInbound(
  handler: (request: IncomingMessage, response: ServerResponse) => Promise<boolean>,
  options: { port?: number; host?: string } = {},
): Promise<{ readonly url: string; close(): Promise<void> }> {
  const server = createServer((request, response) => {
    void handler(request, response).then((handled) => {
      if (!handled) sendProblem(response, problem("NOT_FOUND", "not found"));
    });
  });
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
