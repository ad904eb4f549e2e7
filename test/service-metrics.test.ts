// The metrics added for the dashboards and alerts (infra/observability): the event pipeline's
// (events/metrics.ts: outbox backlog and its age, relayed and dead-lettered events, consumer lag,
// event age at the sink) served on the part's /metrics as events/main.ts serves them, and the
// gateway's SLIs: GraphQL result classes, REST durations by status class, subscription results,
// errors by code and event-to-socket latency.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import type { AddressInfo, Server } from "node:net";
import { Redis } from "ioredis";
import pg from "pg";
import { pino } from "pino";
import { Registry } from "prom-client";
import { createKafka, topicsOf } from "../events/kafka.ts";
import { serveHealth } from "../events/health.ts";
import { PIPELINE_METRIC_NAMES } from "../events/metrics.ts";
import { startPipeline, type Pipeline } from "../events/pipeline.ts";
import type { EventPublisher } from "../events/publisher.ts";
import type { DomainEvent } from "../events/contracts/envelope.ts";
import { resultOf } from "../gateway/src/plugins/observability.ts";
import { domainEvent } from "./support/domain-event.ts";
import { startHarness, type Harness } from "./support/harness.ts";
import { startLivePipeline, streamHead, subscribe, wsClient, type LivePipeline } from "./support/live.ts";
import { scrapeMetrics, type MetricsSnapshot } from "./support/metrics.ts";
import { createProjectionMetrics } from "../events/store/metrics.ts";
import { startItemsSubgraph } from "../subgraphs/items/src/index.ts";
import { freshDatabase, type FreshDatabase } from "./support/migrated-database.ts";
import { preflight, TEST_REDIS_URL } from "./support/preflight.ts";
import { bounded, waitFor } from "./support/wait.ts";

const silent = pino({ level: "silent" });

/** A publisher that holds the relay's batches until released: the rows stay unpublished meanwhile. */
function gatedPublisher(inner: EventPublisher) {
  let release: () => void = () => undefined;
  const open = new Promise<void>((resolve) => {
    release = resolve;
  });
  const state = { entered: 0, release };
  const publisher: EventPublisher = {
    async publish(messages) {
      state.entered += 1;
      await open;
      await inner.publish(messages);
    },
  };
  return { state, publisher };
}

describe("event pipeline metrics (relay and bridge /metrics)", () => {
  const id = randomUUID().slice(0, 8);
  const topicPrefix = `test.${id}.`;
  const groupId = `test-metrics-${id}`;
  const kafka = createKafka(`sunday-test-metrics-${id}`);
  let database: FreshDatabase;
  let redis: Redis;
  let pipeline: Pipeline;
  let probes: Server;
  let baseUrl: string;
  let gate: ReturnType<typeof gatedPublisher>;

  before(async () => {
    await preflight("postgres", "redis", "kafka");
    database = await freshDatabase("service_metrics");
    redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
    const registry = new Registry();
    pipeline = await startPipeline({
      kafka,
      databaseUrl: database.url,
      redis,
      topicPrefix,
      logger: silent,
      bridge: { groupId, fromBeginning: true, keyPrefix: `test:${id}:`, awaitReady: true },
      // The contract checks are not what is measured here: an envelope marked refused is refused.
      envelopeCheck: (envelope) => ((envelope as { refuse?: boolean }).refuse ? { ok: false, reason: "refused by the test", errors: [] } : { ok: true }),
      eventCheck: (value) => ({ ok: true, event: JSON.parse(value) as DomainEvent }),
      wrapPublisher: (inner) => {
        gate = gatedPublisher(inner);
        return gate.publisher;
      },
      metrics: registry,
    });
    probes = await serveHealth(() => pipeline.health(), 0, "127.0.0.1", registry);
    baseUrl = `http://127.0.0.1:${(probes.address() as AddressInfo).port}`;
  });

  after(async () => {
    gate?.state.release();
    probes?.close();
    await bounded("pipeline close", async () => pipeline?.close());
    redis?.disconnect();
    await bounded("topics cleanup", async () => {
      const admin = kafka.admin();
      await admin.connect();
      const topics = topicsOf(topicPrefix);
      await admin.deleteTopics({ topics: [...topics.domain, topics.deadLetter] }).catch(() => undefined);
      await admin.disconnect();
    });
    await database?.drop();
  });

  async function insertOutbox(envelope: DomainEvent | { refuse: true }, aggregateId: string, secondsAgo: number): Promise<void> {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      await client.query(
        `INSERT INTO events."OutboxEvent" (id, "organizationId", topic, "eventType", "aggregateType", "aggregateId", "aggregateVersion", envelope, "createdAt")
         VALUES ($1, $2, 'item-events', 'project.item.created', 'Item', $3, 1, $4, now() - make_interval(secs => $5))`,
        [randomUUID(), randomUUID(), aggregateId, JSON.stringify(envelope), secondsAgo],
      );
    } finally {
      await client.end();
    }
  }

  it("exports every pipeline metric, the backlog empty, before any event", async () => {
    const scraped = await fetch(`${baseUrl}/metrics`).then((response) => response.text());
    for (const name of PIPELINE_METRIC_NAMES) assert.match(scraped, new RegExp(`^# TYPE ${name} `, "m"), `${name} is served`);
    const metrics = await scrapeMetrics(baseUrl);
    assert.equal(metrics.value("sunday_relay_outbox_backlog"), 0);
    assert.equal(metrics.value("sunday_relay_outbox_oldest_age_seconds"), 0);
  });

  it("counts unpublished rows and the oldest one's age while Kafka has not taken them, then what was relayed, dead-lettered and appended, with the lag back at 0", async () => {
    const event = domainEvent(randomUUID(), { data: { boardId: randomUUID() } });
    await insertOutbox(event, event.aggregateId, 90);
    await insertOutbox({ refuse: true }, randomUUID(), 30);
    await waitFor("the relay to hold a batch at the publisher", () => gate.state.entered > 0);

    let seen: MetricsSnapshot = await scrapeMetrics(baseUrl);
    // The claimed batch is not committed yet: both rows are still unpublished for everyone else.
    assert.equal(seen.value("sunday_relay_outbox_backlog"), 2);
    assert.ok(seen.value("sunday_relay_outbox_oldest_age_seconds") >= 90, `age ${seen.value("sunday_relay_outbox_oldest_age_seconds")}`);
    assert.equal(seen.value("sunday_relay_events_total", { outcome: "published" }), 0);

    gate.state.release();
    const topic = `${topicPrefix}item-events`;
    await waitFor(
      "the event to be appended and the backlog to empty",
      async () => {
        seen = await scrapeMetrics(baseUrl);
        // The relay counts a batch after its commit: the bridge may have the event before the count moves.
        return (
          seen.value("sunday_bridge_messages_total", { group: groupId, outcome: "delivered" }) === 1 &&
          seen.value("sunday_relay_outbox_backlog") === 0 &&
          seen.value("sunday_relay_events_total", { outcome: "published" }) + seen.value("sunday_relay_events_total", { outcome: "dead_lettered" }) === 2
        );
      },
      () => JSON.stringify({ bridge: seen.all("sunday_bridge_messages_total"), backlog: seen.value("sunday_relay_outbox_backlog") }),
    );
    assert.equal(seen.value("sunday_relay_events_total", { outcome: "published" }), 1);
    assert.equal(seen.value("sunday_relay_events_total", { outcome: "dead_lettered" }), 1);
    assert.equal(seen.value("sunday_relay_failures_total"), 0);
    assert.equal(seen.value("sunday_relay_outbox_oldest_age_seconds"), 0);
    const lags = seen.all("sunday_bridge_consumer_lag").filter((series) => series.labels.group === groupId);
    assert.equal(lags.length, 1, JSON.stringify(lags));
    assert.equal(lags[0]?.labels.topic, topic);
    assert.equal(lags[0]?.value, 0);
    assert.equal(seen.value("sunday_bridge_event_age_seconds_count", { group: groupId }), 1);
  });
});

describe("GraphQL result classes (sunday_gateway_operation_duration_seconds)", () => {
  it("classes a response by its worst error code's HTTP status: none ok, 4xx client_error, 5xx or unknown server_error", () => {
    assert.equal(resultOf([]), "ok");
    assert.equal(resultOf(["BAD_USER_INPUT", "NOT_FOUND"]), "client_error");
    assert.equal(resultOf(["NOT_FOUND", "SUBGRAPH_UNAVAILABLE"]), "server_error");
    assert.equal(resultOf(["CIRCUIT_OPEN"]), "server_error");
    assert.equal(resultOf(["SOMETHING_NEW"]), "server_error");
  });
});

describe("gateway SLI metrics (GraphQL, REST v1, live subscriptions) on its /metrics", () => {
  let harness: Harness;
  let pipeline: LivePipeline;
  const clients: { dispose(): void | Promise<void> }[] = [];
  const board = () => harness.seed.organizations[0].boards[0];
  const scrape = () => scrapeMetrics(harness.stack.gateway.url);

  async function rename(itemId: string, name: string): Promise<void> {
    const owner = await harness.token(0, "OWNER");
    const { version } = await harness.prisma.item.findUniqueOrThrow({ where: { id: itemId } });
    const result = await harness.gql(owner, "mutation($input: UpdateItemInput!) { updateItem(input: $input) { id } }", { input: { id: itemId, expectedVersion: version, name } });
    assert.equal(result.body.errors, undefined, JSON.stringify(result.body.errors));
  }

  before(async () => {
    harness = await startHarness("service_metrics_gateway", { itemsPerBoard: 2, subscriptions: {} });
    pipeline = await startLivePipeline(harness);
    // One event in the board's stream, for the subscription to start after.
    await rename(board().itemIds[1] ?? "", "Warm-up");
  });

  after(async () => {
    for (const client of clients) await client.dispose();
    await pipeline?.dispose();
    await harness?.dispose();
  });

  it("classes GraphQL answers by operation type and result: a query ok, an invalid document a client error of unknown type", async () => {
    const before = await scrape();
    const token = await harness.token(0, "MEMBER");
    assert.equal((await harness.gql(token, "query Viewer { me { id } }")).body.errors, undefined);
    assert.ok((await harness.gql(token, "query Broken { noSuchField }")).body.errors?.length);
    const after = await scrape();
    const count = (snapshot: MetricsSnapshot, labels: Record<string, string>) => snapshot.value("sunday_gateway_operation_duration_seconds_count", labels);
    assert.equal(count(after, { type: "query", result: "ok" }) - count(before, { type: "query", result: "ok" }), 1);
    assert.equal(count(after, { type: "unknown", result: "client_error" }) - count(before, { type: "unknown", result: "client_error" }), 1);
    assert.equal(count(after, { type: "query", result: "server_error" }), 0);
  });

  it("counts the events each projection applied and their delay, and how far it is behind: nothing once it has caught up", async () => {
    const before = await scrape();
    await rename(board().itemIds[0] ?? "", "Projected");
    const projections = harness.stack.projections;
    assert.ok(projections, "the stack runs the items projections");
    await projections.settled();
    const after = await scrape();
    for (const projection of ["search", "snapshots"]) {
      const labels = { projection };
      assert.ok(after.value("sunday_projection_events_total", labels) > before.value("sunday_projection_events_total", labels), projection);
      assert.ok(after.value("sunday_projection_apply_delay_seconds_count", labels) > before.value("sunday_projection_apply_delay_seconds_count", labels), projection);
    }
    // Read from the log at scrape time: another suite's open transaction on the server may hold an event back a moment.
    let seen = "";
    await waitFor(
      "the projections' lag to be read as none",
      async () => {
        const now = await scrape();
        seen = JSON.stringify([...now.all("sunday_projection_lag_events"), ...now.all("sunday_projection_oldest_unapplied_age_seconds")]);
        return ["search", "snapshots"].every(
          (projection) =>
            now.has("sunday_projection_lag_events", { projection }) &&
            now.value("sunday_projection_lag_events", { projection }) === 0 &&
            now.value("sunday_projection_oldest_unapplied_age_seconds", { projection }) === 0,
        );
      },
      () => seen,
      30_000,
    );
  });

  it("a served items process answers /metrics with the projections' metrics, unsigned like its probes (scripts/serve.ts items)", async () => {
    const registry = new Registry();
    const metrics = createProjectionMetrics(registry, ["search", "snapshots"]);
    const items = await startItemsSubgraph({ prisma: harness.prisma, signingSecret: "served-items-metrics", metrics: registry });
    try {
      const base = new URL(items.url).origin;
      const served = await fetch(`${base}/metrics`);
      assert.equal(served.status, 200);
      assert.match(served.headers.get("content-type") ?? "", /^text\/plain/);
      assert.match(await served.text(), /^sunday_projection_events_total\{projection="search"\} 0$/m);
      assert.equal((await fetch(`${base}/graphql`, { method: "POST", body: "{}" })).status, 401, "GraphQL stays signed-only");
    } finally {
      metrics.close();
      await items.dispose();
    }
  });

  it("times REST v1 requests by status class", async () => {
    const before = await scrape();
    const base = harness.stack.gateway.url;
    assert.equal((await fetch(`${base}/api/v1/openapi.json`)).status, 200);
    assert.equal((await fetch(`${base}/api/v1/no-such-route`)).status, 404);
    const after = await scrape();
    const count = (snapshot: MetricsSnapshot, name: string) => snapshot.value("sunday_gateway_rest_request_duration_seconds_count", { class: name });
    assert.equal(count(after, "2xx") - count(before, "2xx"), 1);
    assert.equal(count(after, "4xx") - count(before, "4xx"), 1);
    assert.equal(count(after, "5xx"), 0);
  });

  it("counts a live event's result sent on the socket with its event-to-socket latency, and a refused subscribe by its code", async () => {
    const before = await scrape();
    const opened = wsClient(harness.stack.gateway.url, await harness.token(0, "MEMBER"));
    clients.push(opened.client);
    const query = "subscription BoardActivity($boardId: ID!, $after: String) { boardActivity(boardId: $boardId, after: $after) { cursor } }";
    const live = subscribe(opened.client, query, { boardId: board().id, after: await streamHead(harness, "board", board().id) });
    const refused = subscribe(opened.client, query, { boardId: board().id, after: "not-a-cursor" });
    await rename(board().itemIds[0] ?? "", "Measured rename");
    await live.until(1);
    await refused.completed;
    const after = await scrape();
    assert.ok(after.value("sunday_gateway_subscription_messages_total", { result: "data" }) - before.value("sunday_gateway_subscription_messages_total", { result: "data" }) >= 1);
    const latency = (snapshot: MetricsSnapshot) => snapshot.value("sunday_gateway_subscription_event_latency_seconds_count");
    assert.equal(latency(after) - latency(before), 1, "one live delivery to one subscriber");
    const invalid = (snapshot: MetricsSnapshot) => snapshot.value("sunday_gateway_subscription_errors_total", { code: "CURSOR_INVALID" });
    assert.equal(invalid(after) - invalid(before), 1);
    live.dispose();
  });
});
