// OpenTelemetry: one trace from a client's mutation to the subscriber's event, through every hop
// (gateway, subgraph fetch, subgraph, resolver, SQL, outbox row, relay publish, Kafka, bridge
// append, socket group delivery), each span a child of the one before, with the SDK's in-memory
// exporter. No token or secret may appear in any span attribute; log lines carry the trace.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { Writable } from "node:stream";
import { pino } from "pino";
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace";
import { inSpan, logTraceFields, startTracing, type Tracing } from "../platform/tracing.ts";
import { TEST_JWT, TEST_SIGNING_SECRET, startHarness, type Harness } from "./support/harness.ts";
import { startLivePipeline, streamHead, subscribe, subscriptionOperation, wsClient, type LivePipeline } from "./support/live.ts";
import { waitFor } from "./support/wait.ts";
import { Receiver, status } from "./support/webhook-receiver.ts";
import { mintSecret } from "../subgraphs/integrations/runtime/webhooks/secrets.ts";
import { startIntegrationsRuntime, type IntegrationsRuntime } from "../subgraphs/integrations/runtime/index.ts";
import { enqueue } from "../subgraphs/integrations/runtime/chat/notifications/queue.ts";
import { createChatDispatcher } from "../subgraphs/integrations/runtime/chat/notifications/dispatcher.ts";

const boardActivity = subscriptionOperation("BoardActivity");

describe("tracing: one trace from a mutation to the subscriber's event", () => {
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing;
  let harness: Harness;
  let pipeline: LivePipeline;
  let runtime: IntegrationsRuntime;
  const receiver = new Receiver(status(204));
  const sockets: { dispose(): void | Promise<void> }[] = [];

  before(async () => {
    // Before the stack is built: subgraphs wrap their resolvers in spans only when tracing is on.
    tracing = startTracing({ serviceName: "sunday-test", exporter, immediate: true });
    harness = await startHarness("tracing", { itemsPerBoard: 3, subscriptions: {} });
    // A webhook for the renames, delivered by the integrations runtime (its own consumer group).
    await harness.prisma.webhook.updateMany({ data: { enabled: false } });
    const acme = harness.seed.organizations[0];
    await harness.prisma.webhook.create({
      data: {
        organizationId: acme.id,
        url: `${await receiver.url}/traced`,
        secret: mintSecret(harness.stack.webhooks.keyRing).sealed,
        events: ["project.item.updated"],
        createdById: acme.userIdsByRole.OWNER,
      },
    });
    runtime = await startIntegrationsRuntime({ prisma: harness.prisma, webhooks: harness.stack.webhooks, dispatcher: { pollIntervalMs: 50 }, logger: pino({ level: "silent" }) });
    pipeline = await startLivePipeline(harness, { consumers: [{ groupId: `test-tracing-${randomBytes(4).toString("hex")}`, sink: runtime.sink }] });
    const board = harness.seed.organizations[0].boards[0];
    await harness.gql(await harness.token(0, "OWNER"), `mutation($input: UpdateItemInput!) { updateItem(input: $input) { id } }`, {
      input: { id: board.itemIds[2], expectedVersion: 1, name: "Warm-up" },
    });
  });
  after(async () => {
    for (const socket of sockets) await socket.dispose();
    await pipeline?.dispose();
    await runtime?.close();
    await receiver.close();
    await harness?.dispose();
    await tracing?.shutdown();
  });

  it("follows the client's traceparent through every hop, each span the child of the last", async () => {
    const board = harness.seed.organizations[0].boards[0];
    const itemId = board.itemIds[0] ?? "";
    const socket = wsClient(harness.stack.gateway.url, await harness.token(0, "MEMBER"));
    sockets.push(socket.client);
    const live = subscribe(socket.client, boardActivity, { boardId: board.id, after: await streamHead(harness, "board", board.id) });

    const traceId = randomBytes(16).toString("hex");
    const clientSpanId = randomBytes(8).toString("hex");
    const token = await harness.token(0, "OWNER");
    const response = await fetch(`${harness.stack.gateway.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}`, traceparent: `00-${traceId}-${clientSpanId}-01` },
      body: JSON.stringify({ query: `mutation($input: UpdateItemInput!) { updateItem(input: $input) { id name } }`, variables: { input: { id: itemId, expectedVersion: 1, name: "Traced" } } }),
    });
    assert.equal(response.status, 200, await response.clone().text());
    assert.equal(((await response.json()) as { errors?: unknown }).errors, undefined);
    await live.until(1);

    const spansOfTrace = () => exporter.getFinishedSpans().filter((span) => span.spanContext().traceId === traceId);
    await waitFor(
      "the subscriber's delivery and the webhook's attempt in the trace",
      () => spansOfTrace().some((span) => span.name === "subscription deliver") && spansOfTrace().some((span) => span.name === "webhook deliver"),
      () =>
        spansOfTrace()
          .map((span) => span.name)
          .join(", "),
      15_000,
    );
    const spans = spansOfTrace();
    const byId = new Map(spans.map((span) => [span.spanContext().spanId, span]));
    const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;
    const one = (name: string, kind?: number) => {
      const found = spans.filter((span) => span.name === name && (kind === undefined || span.kind === kind));
      assert.ok(found.length >= 1, `a "${name}" span in the trace; got ${spans.map((span) => span.name).join(", ")}`);
      return found[0] as ReadableSpan;
    };
    const ancestors = (span: ReadableSpan): string[] => {
      const names: string[] = [];
      for (let parent = byId.get(parentOf(span) ?? ""); parent; parent = byId.get(parentOf(parent) ?? "")) names.push(parent.name);
      return names;
    };

    const server = one("POST /graphql");
    assert.equal(parentOf(server), clientSpanId, "the gateway's span continues the client's");
    const fetchItems = one("subgraph items", 2 /* CLIENT */);
    assert.equal(parentOf(fetchItems), server.spanContext().spanId);
    const subgraph = one("subgraph items", 1 /* SERVER */);
    assert.equal(parentOf(subgraph), fetchItems.spanContext().spanId, "the subgraph continues the gateway's fetch (traceparent beside the signature)");
    const resolver = one("resolve Mutation.updateItem");
    assert.equal(parentOf(resolver), subgraph.spanContext().spanId);
    const statements = spans.filter((span) => span.name === "pg.query" && ancestors(span).includes("resolve Mutation.updateItem"));
    assert.ok(statements.length >= 1, "the resolver's SQL statements are its children");
    const publish = one("outbox publish");
    assert.equal(parentOf(publish), resolver.spanContext().spanId, "the relay's publish continues the change stored with the outbox row");
    const append = one("Redis deliver");
    assert.equal(parentOf(append), publish.spanContext().spanId, "the bridge's append continues the publish (Kafka headers)");
    const deliver = one("subscription deliver");
    assert.equal(parentOf(deliver), append.spanContext().spanId, "the socket group's delivery continues the append (stream entry)");
    const consumed = one("webhooks deliver");
    assert.equal(parentOf(consumed), publish.spanContext().spanId, "the integrations runtime's consumer continues the publish too");
    const attempt = one("webhook deliver");
    assert.equal(parentOf(attempt), consumed.spanContext().spanId, "the webhook attempt continues the consumption (stored with the delivery row)");
    assert.equal(attempt.attributes["http.response.status_code"], 204);

    // Nothing secret in any attribute of any span recorded so far.
    const attributes = JSON.stringify(exporter.getFinishedSpans().map((span) => span.attributes));
    for (const secret of [token, TEST_SIGNING_SECRET, TEST_JWT.secret, "Bearer"]) assert.ok(!attributes.includes(secret), `an attribute holds "${secret.slice(0, 12)}…"`);
  });

  it("a subscriber that catches up on a change (it subscribes after it, from before it) gets its delivery in the change's trace too", async () => {
    const board = harness.seed.organizations[0].boards[0];
    const itemId = board.itemIds[1] ?? "";
    const head = await streamHead(harness, "board", board.id);
    const traceId = randomBytes(16).toString("hex");
    const { version } = await harness.prisma.item.findUniqueOrThrow({ where: { id: itemId }, select: { version: true } });
    const response = await fetch(`${harness.stack.gateway.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${await harness.token(0, "OWNER")}`, traceparent: `00-${traceId}-${randomBytes(8).toString("hex")}-01` },
      body: JSON.stringify({ query: `mutation($input: UpdateItemInput!) { updateItem(input: $input) { id } }`, variables: { input: { id: itemId, expectedVersion: version, name: "Caught up" } } }),
    });
    assert.equal(((await response.json()) as { errors?: unknown }).errors, undefined);
    const spansOfTrace = () => exporter.getFinishedSpans().filter((span) => span.spanContext().traceId === traceId);
    const traced = async (name: string, what: string) => {
      await waitFor(
        what,
        () => spansOfTrace().some((span) => span.name === name),
        () =>
          spansOfTrace()
            .map((span) => span.name)
            .join(", "),
        15_000,
      );
      return spansOfTrace().find((span) => span.name === name);
    };
    // In the board's stream before anyone subscribes: the subscriber below can only catch up on it.
    const append = await traced("Redis deliver", "the change appended to the board's stream");
    const socket = wsClient(harness.stack.gateway.url, await harness.token(0, "MEMBER"));
    sockets.push(socket.client);
    await subscribe(socket.client, boardActivity, { boardId: board.id, after: head }).until(1);
    const deliver = await traced("subscription deliver", "the caught-up delivery in the trace");
    assert.equal(deliver?.parentSpanContext?.spanId, append?.spanContext().spanId, "the caught-up delivery continues the append");
  });

  it("a chat message (Slack, Teams) continues the trace of the event its notices were queued from", async () => {
    const acme = harness.seed.organizations[0];
    const eventId = randomUUID();
    let queuedIn: { traceId: string; spanId: string } | undefined;
    // Queued as the integrations runtime's sink does it, inside the event's consumption.
    await inSpan("test", "consume", {}, async (span) => {
      queuedIn = span?.spanContext();
      const notice = { eventId, kind: "item.created" as const, title: "Traced", boardName: "B", actor: null, summary: "", url: null, itemId: null, occurredAt: new Date().toISOString() };
      await enqueue(harness.prisma, { organizationId: acme.id, boardId: acme.boards[0].id, boardKind: "PUBLIC", notice }, [
        { integrationId: randomUUID(), channelKey: `SLACK:traced-install:${eventId}` },
      ]);
    });
    const sent: string[] = [];
    const dispatcher = createChatDispatcher({
      prisma: harness.prisma,
      senders: { SLACK: async (_channel, notices) => void sent.push(...notices.map((notice) => notice.eventId)) },
      logger: pino({ level: "silent" }),
      pollIntervalMs: 20,
    });
    try {
      dispatcher.wake();
      await waitFor(
        "the chat message sent",
        () => sent.includes(eventId),
        () => sent.join(", "),
        10_000,
      );
    } finally {
      await dispatcher.close();
    }
    const message = exporter.getFinishedSpans().find((span) => span.name === "chat deliver" && span.spanContext().traceId === queuedIn?.traceId);
    assert.ok(message, "a chat deliver span in the event's trace");
    assert.equal(message.parentSpanContext?.spanId, queuedIn?.spanId);
    assert.equal(message.attributes["sunday.chat.provider"], "SLACK");
  });

  it("puts trace_id and span_id on log lines written inside a span", async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = pino({ mixin: logTraceFields }, sink);
    let ids: { traceId: string; spanId: string } | undefined;
    await inSpan("test", "logging", {}, async (span) => {
      ids = span?.spanContext();
      logger.info("inside");
    });
    logger.info("outside");
    const [inside, outside] = lines.map((line) => JSON.parse(line) as { trace_id?: string; span_id?: string });
    assert.equal(inside?.trace_id, ids?.traceId);
    assert.equal(inside?.span_id, ids?.spanId);
    assert.equal(outside?.trace_id, undefined);
  });
});
