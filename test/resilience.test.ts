import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from "node:http";
import { createConnection, createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from "node:net";
import { EventEmitter } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { ApolloServer, HeaderMap } from "@apollo/server";
import { createFederation, type BreakerState, type Federation, type FederationTuning, type SubgraphFetchEvent } from "../gateway/src/federation/gateway.ts";
import type { GatewayContext } from "../gateway/src/execution/context.ts";
import type { Identity } from "../platform/identity.ts";
import { startHarness, TEST_SIGNING_SECRET, type Harness } from "./support/harness.ts";

const SUPERGRAPH = await readFile(new URL("../supergraph.graphql", import.meta.url), "utf8");

/** A nullable root field from integrations next to root fields from the other subgraphs. */
const PARTIAL_QUERY = `query Partial($integrationId: ID!) {
  me { id name }
  organization { id name }
  integration(id: $integrationId) { id name }
}`;

interface Body {
  data?: Record<string, unknown> | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
}

/** Resolves once `condition` holds, checked whenever `emitter` says "change"; fails naming `what` after `timeoutMs`. */
async function until(emitter: EventEmitter, condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  if (condition()) return;
  await new Promise<void>((resolve, reject) => {
    const check = () => {
      if (!condition()) return;
      clearTimeout(timer);
      emitter.off("change", check);
      resolve();
    };
    const timer = setTimeout(() => {
      emitter.off("change", check);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    emitter.on("change", check);
  });
}

/** TCP in front of a subgraph: it can forward, reset every connection, or be gone altogether. */
class TcpProxy {
  /** Connections accepted since start (reset ones included). */
  accepted = 0;
  /** Says "change" whenever a socket closes. */
  readonly events = new EventEmitter();
  private mode: "forward" | "reset" = "forward";
  private readonly sockets = new Set<Socket>();
  private server: TcpServer;
  private port = 0;

  private readonly target: URL;

  private constructor(target: URL) {
    this.target = target;
    this.server = this.createServer();
  }

  static async start(target: string): Promise<TcpProxy> {
    const proxy = new TcpProxy(new URL(target));
    await proxy.listen();
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}${this.target.pathname}`;
  }

  get open(): number {
    return this.sockets.size;
  }

  /** Resets existing and new connections (ECONNRESET on the gateway side). */
  resetConnections(): void {
    this.mode = "reset";
    for (const socket of this.sockets) socket.resetAndDestroy();
  }

  forward(): void {
    this.mode = "forward";
  }

  /** Nothing listens any more: connections are refused. */
  async kill(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  async revive(): Promise<void> {
    this.server = this.createServer();
    await this.listen();
  }

  private createServer(): TcpServer {
    return createTcpServer((client) => {
      this.accepted += 1;
      if (this.mode === "reset") return void client.resetAndDestroy();
      const upstream = createConnection(Number(this.target.port), this.target.hostname);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on("error", () => {});
        socket.once("close", () => {
          this.sockets.delete(socket);
          client.destroy();
          upstream.destroy();
          this.events.emit("change");
        });
      }
      client.pipe(upstream).pipe(client);
    });
  }

  private async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(this.port, "127.0.0.1", resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }
}

/** A stand-in subgraph that answers however the test says, counting the requests it gets. */
class HttpStub {
  requests = 0;
  /** Requests whose connection went away before the stub answered. */
  abandoned = 0;
  /** Says "change" whenever a request arrives or is abandoned. */
  readonly events = new EventEmitter();
  private readonly server: HttpServer;

  private constructor(server: HttpServer) {
    this.server = server;
  }

  static async start(handle: (request: IncomingMessage, response: ServerResponse) => void): Promise<HttpStub> {
    const stub: HttpStub = new HttpStub(
      createHttpServer((request, response) => {
        stub.requests += 1;
        stub.events.emit("change");
        response.once("close", () => {
          if (!response.writableFinished) stub.abandoned += 1;
          stub.events.emit("change");
        });
        request.resume();
        request.once("end", () => handle(request, response));
      }),
    );
    await new Promise<void>((resolve) => stub.server.listen(0, "127.0.0.1", resolve));
    return stub;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/graphql`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * Our own gateway (the harness's one has default settings) over the harness's subgraphs, with
 * integrations replaced, executed the way gateway/src/server.ts does: Apollo's HTTP entry point
 * with the verified identity as context.
 */
class TestGateway {
  readonly events: SubgraphFetchEvent[] = [];
  readonly states: [string, BreakerState][] = [];
  /** When each subgraph's breaker last opened (Date.now(), the breaker's own clock). */
  readonly openedAt = new Map<string, number>();
  readonly federation: Federation;
  private readonly apollo: ApolloServer<GatewayContext>;

  private readonly identity: Identity;

  private constructor(identity: Identity, subgraphUrls: Record<string, string>, tuning: FederationTuning) {
    this.identity = identity;
    this.federation = createFederation({
      supergraphSdl: SUPERGRAPH,
      signingSecret: TEST_SIGNING_SECRET,
      subgraphUrls,
      ...tuning,
      onFetch: (event) => this.events.push(event),
      onBreakerStateChange: (subgraph, state) => {
        this.states.push([subgraph, state]);
        if (state === "open") this.openedAt.set(subgraph, Date.now());
      },
    });
    this.apollo = new ApolloServer<GatewayContext>({
      gateway: this.federation.gateway,
      includeStacktraceInErrorResponses: false,
      stopOnTerminationSignals: false,
    });
  }

  static async start(harness: Harness, integrationsUrl: string, tuning: FederationTuning = {}): Promise<TestGateway> {
    const organization = harness.seed.organizations[0];
    const identity: Identity = { userId: organization.userIdsByRole.OWNER, organizationId: organization.id, role: "OWNER" };
    const urls = harness.stack.subgraphUrls;
    const gateway = new TestGateway(identity, { ...urls, integrations: integrationsUrl }, tuning);
    await gateway.apollo.start();
    return gateway;
  }

  /** Integrations' fetch events only (the other subgraphs are healthy and not under test). */
  get integrationEvents(): SubgraphFetchEvent[] {
    return this.events.filter((event) => event.subgraph === "integrations");
  }

  breakerState(): BreakerState | undefined {
    return this.federation.subgraphs.find((subgraph) => subgraph.name === "integrations")?.breakerState();
  }

  async gql(query: string, variables: Record<string, unknown> = {}, identity: Identity = this.identity): Promise<{ status: number; text: string; body: Body }> {
    const result = await this.apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: {
        method: "POST",
        headers: new HeaderMap([["content-type", "application/json"]]),
        search: "",
        body: { query, variables },
      },
      context: async () => ({ identity, correlationId: randomUUID() }),
    });
    assert.equal(result.body.kind, "complete");
    const text = result.body.kind === "complete" ? result.body.string : "";
    return { status: result.status ?? 200, text, body: JSON.parse(text) as Body };
  }

  stop(): Promise<void> {
    return this.apollo.stop();
  }
}

function assertNoInternals(text: string): void {
  for (const secret of ["127.0.0.1", "localhost", "ECONN", "UND_ERR", "stacktrace", "/graphql", TEST_SIGNING_SECRET]) {
    assert.ok(!text.includes(secret), `response leaks ${secret}: ${text}`);
  }
}

describe("subgraph resilience", () => {
  let harness: Harness;
  let integrationsUrl: string;
  let integrationId: string;
  const cleanup: (() => Promise<void>)[] = [];

  before(async () => {
    harness = await startHarness("resilience");
    integrationsUrl = harness.stack.subgraphs.integrations.url;
    integrationId = harness.seed.organizations[0].integrationId;
  });
  after(async () => {
    for (const step of cleanup.reverse()) await step();
    await harness?.dispose();
  });

  async function gatewayOver(url: string, tuning?: FederationTuning): Promise<TestGateway> {
    const gateway = await TestGateway.start(harness, url, tuning);
    cleanup.push(() => gateway.stop());
    return gateway;
  }

  async function proxy(): Promise<TcpProxy> {
    const started = await TcpProxy.start(integrationsUrl);
    cleanup.push(() => started.kill());
    return started;
  }

  async function stub(handle: (request: IncomingMessage, response: ServerResponse) => void): Promise<HttpStub> {
    const started = await HttpStub.start(handle);
    cleanup.push(() => started.close());
    return started;
  }

  function assertWhole(body: Body): void {
    assert.equal(body.errors, undefined, JSON.stringify(body.errors));
    const data = body.data as { me: { id: string }; organization: { name: string }; integration: { id: string } | null };
    assert.equal(data.organization.name, harness.seed.organizations[0].name);
    assert.equal(data.integration?.id, integrationId);
  }

  it("reuses keep-alive connections for signed subgraph calls and closes them when the gateway stops", async () => {
    const tcp = await proxy();
    const gateway = await gatewayOver(tcp.url);
    for (let round = 0; round < 10; round += 1) assertWhole((await gateway.gql(PARTIAL_QUERY, { integrationId })).body);
    // undici frees a connection a tick after its body is read, so a back-to-back call may open a second one.
    assert.ok(tcp.accepted <= 2, `ten sequential calls took ${tcp.accepted} connections`);
    assert.ok(gateway.integrationEvents.every((event) => event.outcome === "ok" && event.status === 200 && event.retries === 0));
    await gateway.stop();
    // The sockets' close reaches the proxy asynchronously; on a busy machine that takes more than a tick.
    await until(tcp.events, () => tcp.open === 0, "stopping the gateway to close its pools");
  });

  it("answers a killed subgraph's fields with null and SUBGRAPH_UNAVAILABLE, the rest with data", async () => {
    const tcp = await proxy();
    // The breaker stays out of this one (its own test below): each failed query is 3 attempts.
    const gateway = await gatewayOver(tcp.url, { resilience: { retryInitialDelayMs: 5, retryMaxDelayMs: 20, breakerThreshold: 100 } });
    assertWhole((await gateway.gql(PARTIAL_QUERY, { integrationId })).body);
    await tcp.kill();

    const { status, text, body } = await gateway.gql(PARTIAL_QUERY, { integrationId });
    assert.equal(status, 200);
    const data = body.data as { me: { id: string }; organization: { name: string }; integration: unknown };
    assert.equal(data.me.id, harness.seed.organizations[0].userIdsByRole.OWNER);
    assert.equal(data.organization.name, harness.seed.organizations[0].name);
    assert.equal(data.integration, null);
    assert.deepEqual(body.errors, [
      {
        message: 'Subgraph "integrations" is unavailable',
        path: ["integration"],
        extensions: { code: "SUBGRAPH_UNAVAILABLE", subgraph: "integrations", serviceName: "integrations" },
      },
    ]);
    assertNoInternals(text);
    const failed = gateway.integrationEvents.at(-1);
    assert.equal(failed?.outcome, "error");
    assert.equal(failed?.retries, 2, "a refused connection is retried for a query");
    assert.equal((failed?.error?.cause as { code?: string } | undefined)?.code, "ECONNREFUSED");

    // An entity fetch fails at the fields it was to add (Board.integrations is nullable, so only it
    // goes), not at the entity that is still there.
    const board = harness.seed.organizations[0].boards[0];
    const nested = await gateway.gql(`query ($id: ID!) { me { id } board(id: $id) { id integrations { id } } }`, { id: board.id });
    assert.equal(nested.status, 200);
    assert.deepEqual(nested.body.data, {
      me: { id: harness.seed.organizations[0].userIdsByRole.OWNER },
      board: { id: board.id, integrations: null },
    });
    assert.deepEqual(
      nested.body.errors?.map((error) => [error.path, error.extensions?.code]),
      [[["board", "integrations"], "SUBGRAPH_UNAVAILABLE"]],
    );

    await tcp.revive();
    assertWhole((await gateway.gql(PARTIAL_QUERY, { integrationId })).body);
  });

  it("opens the circuit after 5 consecutive failures, fails fast while open, closes after a good half-open call", async () => {
    const tcp = await proxy();
    // No retries, so each request is exactly one attempt against the breaker.
    const gateway = await gatewayOver(tcp.url, { resilience: { maxRetries: 0, halfOpenAfterMs: 500 } });
    assertWhole((await gateway.gql(PARTIAL_QUERY, { integrationId })).body);
    tcp.resetConnections();
    // Attempts, not connections: a pooled connection the reset has not reached yet fails without a new one.
    const attemptsBefore = gateway.integrationEvents.length;

    for (let failure = 1; failure <= 5; failure += 1) {
      const { status, body } = await gateway.gql(PARTIAL_QUERY, { integrationId });
      assert.equal(status, 200);
      assert.deepEqual(
        body.errors?.map((error) => error.extensions?.code),
        ["SUBGRAPH_UNAVAILABLE"],
      );
      assert.equal(gateway.breakerState(), failure < 5 ? "closed" : "open");
    }
    assert.equal(gateway.integrationEvents.length - attemptsBefore, 5, "one attempt per request");
    const acceptedWhenOpened = tcp.accepted;
    assert.deepEqual(
      gateway.states.filter(([name]) => name === "integrations"),
      [
        ["integrations", "closed"],
        ["integrations", "open"],
      ],
    );

    const started = performance.now();
    const { status, text, body } = await gateway.gql(PARTIAL_QUERY, { integrationId });
    assert.equal(status, 200);
    assert.equal(tcp.accepted, acceptedWhenOpened, "an open circuit does not connect");
    assert.ok(performance.now() - started < 250, "an open circuit fails fast");
    assert.equal((body.data as { organization: { name: string } }).organization.name, harness.seed.organizations[0].name);
    assert.deepEqual(
      body.errors?.map((error) => [error.path, error.extensions?.code, error.extensions?.subgraph]),
      [[["integration"], "CIRCUIT_OPEN", "integrations"]],
    );
    assertNoInternals(text);
    assert.equal(gateway.integrationEvents.at(-1)?.outcome, "circuit_open");

    tcp.forward();
    // Half-open is the breaker's own deadline (halfOpenAfterMs after it opened), checked on the next call.
    await sleep(Math.max(0, (gateway.openedAt.get("integrations") ?? 0) + 500 - Date.now()) + 1);
    assertWhole((await gateway.gql(PARTIAL_QUERY, { integrationId })).body);
    assert.equal(gateway.breakerState(), "closed");
    assert.deepEqual(
      gateway.states.filter(([name]) => name === "integrations").map(([, state]) => state),
      ["closed", "open", "half_open", "closed"],
    );
  });

  it("never retries a mutation, retries a query on 5xx up to the limit", async () => {
    const unavailable = await stub((_request, response) => {
      response.writeHead(503, { "content-type": "application/json" });
      response.end(JSON.stringify({ errors: [{ message: "overloaded at 127.0.0.1" }] }));
    });
    const gateway = await gatewayOver(unavailable.url, { resilience: { retryInitialDelayMs: 5, retryMaxDelayMs: 20 } });

    const mutation = await gateway.gql(`mutation { enableIntegration(input: { type: SLACK }) { id } }`);
    assert.equal(mutation.status, 200);
    assert.equal(mutation.body.data, null);
    assert.deepEqual(
      mutation.body.errors?.map((error) => [error.path, error.extensions?.code]),
      [[["enableIntegration"], "SUBGRAPH_UNAVAILABLE"]],
    );
    assertNoInternals(mutation.text);
    assert.equal(unavailable.requests, 1, "a mutation is sent once");
    assert.deepEqual(
      gateway.integrationEvents.map(({ outcome, status, retries }) => ({ outcome, status, retries })),
      [{ outcome: "error", status: 503, retries: 0 }],
    );

    const query = await gateway.gql(PARTIAL_QUERY, { integrationId });
    assert.equal(query.status, 200);
    assert.equal((query.body.data as { integration: unknown }).integration, null);
    assert.deepEqual(
      query.body.errors?.map((error) => error.extensions?.code),
      ["SUBGRAPH_UNAVAILABLE"],
    );
    assertNoInternals(query.text);
    assert.equal(unavailable.requests, 1 + 3, "a query is tried once and retried twice");
    assert.deepEqual(gateway.integrationEvents.at(-1) && { ...gateway.integrationEvents.at(-1), durationMs: 0, error: undefined }, {
      subgraph: "integrations",
      durationMs: 0,
      outcome: "error",
      status: 503,
      retries: 2,
      error: undefined,
    });
  });

  it("aborts a slow subgraph at the timeout and answers SUBGRAPH_TIMEOUT without retrying", async () => {
    const slow = await stub((_request, response) => {
      const timer = setTimeout(() => response.end("{}"), 5_000);
      response.once("close", () => clearTimeout(timer));
    });
    const gateway = await gatewayOver(slow.url, { resilience: { timeoutMs: 300 } });

    const started = performance.now();
    const { status, text, body } = await gateway.gql(PARTIAL_QUERY, { integrationId });
    const elapsed = performance.now() - started;
    assert.equal(status, 200);
    assert.ok(elapsed >= 300 && elapsed < 2_000, `answered after ${elapsed} ms`);
    assert.equal((body.data as { organization: { name: string } }).organization.name, harness.seed.organizations[0].name);
    assert.deepEqual(
      body.errors?.map((error) => [error.path, error.extensions?.code, error.message]),
      [[["integration"], "SUBGRAPH_TIMEOUT", 'Subgraph "integrations" did not answer in time']],
    );
    assertNoInternals(text);
    const event = gateway.integrationEvents.at(-1);
    assert.equal(event?.outcome, "timeout");
    assert.equal(event?.retries, 0);
    assert.equal(slow.requests, 1, "a timed-out attempt is not retried");
    await until(slow.events, () => slow.abandoned > 0, "the timed-out fetch to be aborted");
    assert.equal(slow.abandoned, 1, "the timed-out fetch was aborted");
  });

  it("with deduplicateQueries, sends identical query fetches in flight once per caller, never mutations", async () => {
    // The stub cannot see the body (HttpStub discards it): one answer fits both operations, and
    // the gateway keeps only the fields each one selected. While `holding`, it keeps its answers
    // until the test lets them go, so the fetches under test are in flight together for sure.
    let holding = true;
    const held: (() => void)[] = [];
    const answer = (response: ServerResponse) => {
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ data: { integration: { id: integrationId, name: "Shared" }, enableIntegration: { id: integrationId } } }));
    };
    const slow = await stub((_request, response) => (holding ? held.push(() => answer(response)) : answer(response)));
    /** Answers what is held, and what arrives from now on until `holding` is set again. */
    const letGo = () => {
      holding = false;
      for (const release of held.splice(0)) release();
    };
    const progress = new EventEmitter();
    const shared: string[] = [];
    const gateway = await gatewayOver(slow.url, {
      deduplicateQueries: true,
      onSharedFetch: (subgraph) => {
        shared.push(subgraph);
        progress.emit("change");
      },
    });
    const sharedIntegrations = () => shared.filter((subgraph) => subgraph === "integrations").length;

    const pending = Promise.all([1, 2, 3].map(() => gateway.gql(PARTIAL_QUERY, { integrationId })));
    await until(progress, () => sharedIntegrations() === 2, "the second and third identical fetch to join the first");
    letGo();
    const together = await pending;
    for (const { body } of together) assertWhole(body);
    assert.equal(slow.requests, 1, "three identical query fetches in flight together are sent once");
    assert.equal(sharedIntegrations(), 2);
    // Each caller got its own copy: changing one answer leaves the others alone.
    (together[0]!.body.data as { integration: { name: string } }).integration.name = "changed";
    assert.equal((together[1]!.body.data as { integration: { name: string } }).integration.name, "Shared");

    await gateway.gql(PARTIAL_QUERY, { integrationId });
    assert.equal(slow.requests, 2, "a fetch after the first one completed is sent again");

    // Both in flight at once, neither answered until both reached the subgraph: had one joined the
    // other's fetch, the second request would never come.
    const organization = harness.seed.organizations[0];
    const admin: Identity = { userId: organization.userIdsByRole.ADMIN, organizationId: organization.id, role: "ADMIN" };
    holding = true;
    const callers = Promise.all([gateway.gql(PARTIAL_QUERY, { integrationId }), gateway.gql(PARTIAL_QUERY, { integrationId }, admin)]);
    await until(slow.events, () => slow.requests === 4, "both callers' fetches to reach the subgraph");
    letGo();
    await callers;
    assert.equal(slow.requests, 4, "another caller's identical fetch is not shared");

    const mutation = `mutation { enableIntegration(input: { type: SLACK }) { id } }`;
    holding = true;
    const pendingMutations = Promise.all([gateway.gql(mutation), gateway.gql(mutation)]);
    await until(slow.events, () => slow.requests === 6, "both mutations to reach the subgraph");
    letGo();
    const mutations = await pendingMutations;
    for (const { body } of mutations) assert.equal(body.errors, undefined, JSON.stringify(body.errors));
    assert.equal(slow.requests, 6, "mutations are never merged");
  });
});
