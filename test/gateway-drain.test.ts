import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { readFile } from "node:fs/promises";
import { pino } from "pino";
import { startGateway, type RunningGateway } from "../gateway/src/server.ts";
import { startHarness, TEST_JWT, TEST_SIGNING_SECRET, type Harness } from "./support/harness.ts";

interface HeldProxy {
  url: string;
  server: Server;
  /** Resolves when the first request arrived (and is held). */
  received: Promise<void>;
  /** Forwards what is held, and everything after. */
  release(): void;
}

/** Forwards to a subgraph only once released, so a request is in flight for as long as the test needs. */
async function heldProxy(target: string): Promise<HeldProxy> {
  let markReceived: () => void = () => undefined;
  const received = new Promise<void>((resolve) => {
    markReceived = resolve;
  });
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const server = createServer((request, response) => {
    markReceived();
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      void released.then(() => {
        const headers = Object.fromEntries(
          Object.entries(request.headers).filter((entry): entry is [string, string] => typeof entry[1] === "string" && !["host", "connection", "content-length"].includes(entry[0])),
        );
        void fetch(target, { method: "POST", headers, body: Buffer.concat(chunks) }).then(async (upstream) => {
          response.writeHead(upstream.status, { "content-type": "application/json" });
          response.end(await upstream.text());
        });
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`, server, received, release };
}

describe("graceful shutdown", () => {
  let harness: Harness;
  let proxy: HeldProxy;
  let gateway: RunningGateway;

  before(async () => {
    harness = await startHarness("drain", { itemsPerBoard: 2 });
    proxy = await heldProxy(harness.stack.subgraphs.users.url);
    const urls = harness.stack.subgraphUrls;
    gateway = await startGateway({
      supergraph: { sdl: await readFile("supergraph.graphql", "utf8") },
      signingSecret: TEST_SIGNING_SECRET,
      jwt: TEST_JWT,
      subgraphUrls: { ...urls, users: proxy.url },
      rateLimit: false,
      logger: pino({ level: "silent" }),
    });
  });
  after(async () => {
    proxy?.server.close();
    await harness?.dispose();
  });

  it("finishes a request in flight, refuses new connections, then closes", async () => {
    const acme = harness.seed.organizations[0];
    const token = await harness.token(0, "OWNER");
    const inFlight = fetch(`${gateway.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: "{ me { id } }" }),
    }).then(
      (response) => response,
      (error: unknown) => error,
    );
    // Shut down only once the request is inside the gateway, waiting on the (held) users subgraph.
    await proxy.received;
    const stopped = gateway.dispose();
    // dispose() stops listening before its first wait on anything (this gateway has no live
    // subscriptions to close first): one turn of the event loop has run that far.
    await new Promise((resolve) => setImmediate(resolve));
    await assert.rejects(fetch(`${gateway.url}/healthz`), "no new connections once draining");
    proxy.release();
    const response = await inFlight;
    assert.ok(response instanceof Response, `the in-flight request failed: ${String(response)}`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { data: { me: { id: acme.userIdsByRole.OWNER } } });
    await stopped;
  });
});
