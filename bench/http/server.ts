// One HTTP server of bench/http/run.ts, in its own (child) process so that its CPU is measured alone.
// argv[2]: node-http | fastify-default | fastify-tuned. Reports { type: "ready", port } over IPC;
// exits on { type: "stop" } or when the parent goes away.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { HEALTH_BODY, JSON_CONTENT_TYPE, RESPONSE_BODY } from "./payload.ts";

const SERVER_KINDS = ["node-http", "fastify-default", "fastify-tuned"] as const;
type ServerKind = (typeof SERVER_KINDS)[number];

const MAX_BODY_BYTES = 1024 * 1024; // the gateway's default, and Fastify's default bodyLimit
let sink = 0; // keeps the parsed body and the token "used"

function consume(body: unknown, authorization: string | undefined): void {
  sink += (typeof body === "object" && body !== null ? 1 : 0) + (authorization?.length ?? 0);
}

/** (1) node:http as the gateway uses it: read the body into a Buffer, JSON.parse, writeHead + end. */
async function startNodeHttp(): Promise<number> {
  const responseLength = Buffer.byteLength(RESPONSE_BODY);
  const healthLength = Buffer.byteLength(HEALTH_BODY);
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    if (request.method === "GET" && request.url === "/healthz") {
      response.writeHead(200, { "content-type": JSON_CONTENT_TYPE, "content-length": healthLength });
      response.end(HEALTH_BODY);
      return;
    }
    if (request.method !== "POST" || request.url !== "/graphql") {
      response.writeHead(404).end();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        response.writeHead(413).end();
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on("end", () => {
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        response.writeHead(400).end();
        return;
      }
      consume(body, request.headers.authorization);
      response.writeHead(200, { "content-type": JSON_CONTENT_TYPE, "content-length": responseLength });
      response.end(RESPONSE_BODY);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

/**
 * (2) Fastify 5, default settings (default JSON body parser: secure-json-parse; logger off, which
 * is Fastify's default). (3) tuned: logger off and request logging disabled explicitly, and an
 * `application/json` parser that returns the raw string, JSON.parse'd in the handler (as node:http).
 */
async function startFastify(tuned: boolean): Promise<number> {
  const { default: Fastify, LogController } = await import("fastify");
  // disableRequestLogging as a top-level option is deprecated since 5.x (FSTDEP023): LogController.
  const app = Fastify(tuned ? { logger: false, logController: new LogController({ disableRequestLogging: true }) } : {});
  if (tuned) {
    app.removeContentTypeParser("application/json");
    app.addContentTypeParser("application/json", { parseAs: "string" }, (_request, body, done) => done(null, body));
  }
  app.get("/healthz", (_request, reply) => {
    reply.type("application/json").send(HEALTH_BODY);
  });
  app.post("/graphql", (request, reply) => {
    const body = tuned ? JSON.parse(request.body as string) : request.body;
    consume(body, request.headers.authorization);
    reply.type("application/json").send(RESPONSE_BODY);
  });
  await app.listen({ port: 0, host: "127.0.0.1" });
  return (app.server.address() as AddressInfo).port;
}

const kind = process.argv[2] as ServerKind;
if (!SERVER_KINDS.includes(kind)) {
  console.error(`usage: server.ts ${SERVER_KINDS.join(" | ")}`);
  process.exit(2);
}
try {
  const port = kind === "node-http" ? await startNodeHttp() : await startFastify(kind === "fastify-tuned");
  process.send?.({ type: "ready", port });
} catch (error) {
  process.send?.({ type: "error", message: String((error as Error)?.stack ?? error) });
  process.exit(1);
}
process.on("message", (message: { type?: string }) => {
  if (message?.type === "stop") process.exit(sink < 0 ? 1 : 0);
});
process.on("disconnect", () => process.exit(0));
