import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Registry } from "prom-client";
import { sendMetrics } from "../platform/http.ts";

/** What a long-running part of the pipeline says about itself: can it do its work right now? */
export interface Health {
  readonly ready: boolean;
  /** Why not, when not ready. */
  readonly reason?: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

/**
 * The probes of an events process (events/main.ts): `/healthz` answers 200 while the process runs
 * (liveness; a part that gave up exits instead), `/readyz` 200 or 503 with the part's health.
 */
export async function serveHealth(
  health: () => Health,
  port: number,
  host: string,
  metrics?: Registry,
  /** Serves other paths of the process (the integrations runtime's inbound chat requests); false to fall through. */
  handler?: (request: IncomingMessage, response: ServerResponse) => Promise<boolean>,
): Promise<Server> {
  const server = createServer(async (request, response) => {
    if (handler && (await handler(request, response))) return;
    const path = new URL(request.url ?? "/", "http://events").pathname;
    if (path === "/metrics" && metrics) return sendMetrics(response, [metrics]);
    const [status, body] =
      path === "/healthz"
        ? [200, { status: "ok" }]
        : path === "/readyz"
          ? ((current) => [current.ready ? 200 : 503, current] as const)(health())
          : [404, { error: "not found" }];
    response.writeHead(status, { "content-type": "application/json" });
    response.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
