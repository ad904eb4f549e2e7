// API usage analytics (README "API usage analytics"): the gateway's usage records of GraphQL
// operations and REST calls from two organisations, summed into the rollups in process (as in
// `npm start`) and over the shared Kafka broker (the full stack's topic and consumer, on a topic
// prefix of this file), read back through apiUsage and GET /api/v1/usage as each organisation's
// admins; the recorder's bounded buffer; replayed batches; retention.
//
// Needs PostgreSQL, Redis and Kafka (127.0.0.1:9092). Run: node --test test/api-usage.test.ts

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import { Registry } from "prom-client";
import { createKafka, topicsOf } from "../events/kafka.ts";
import { API_USAGE_TOPIC, type UsageBatch, type UsageRecord } from "../events/usage.ts";
import { kafkaUsageSink } from "../gateway/src/usage/kafka-sink.ts";
import { createUsageRecorder } from "../gateway/src/usage/recorder.ts";
import { startUsageConsumer } from "../subgraphs/integrations/runtime/usage/consumer.ts";
import { createUsageRollupWriter, type UsageRollupWriter } from "../subgraphs/integrations/runtime/usage/rollups.ts";
import { codes, startHarness, type Harness } from "./support/harness.ts";
import { preflight } from "./support/preflight.ts";
import { RestClient, assertProblem } from "./support/rest.ts";
import { bounded, waitFor } from "./support/wait.ts";

const silent = pino({ level: "silent" });
const NIL_UUID = "00000000-0000-0000-0000-000000000000";

const USAGE_QUERY = `query Usage($from: DateTime!, $to: DateTime!, $granularity: UsageGranularity) {
  apiUsage(from: $from, to: $to, granularity: $granularity) {
    totals { requests errors graphqlRequests restRequests }
    errorRate p50Ms p95Ms
    topOperations { surface operation apiVersion requests errors p95Ms }
    topApiKeys { apiKeyId apiKey { name } requests errors }
    topUsers { userId user { name } requests errors }
    trend { start requests errors }
  }
}`;

interface Usage {
  totals: { requests: number; errors: number; graphqlRequests: number; restRequests: number };
  errorRate: number;
  p50Ms: number;
  p95Ms: number;
  topOperations: { surface: string; operation: string; apiVersion: string | null; requests: number; errors: number }[];
  topApiKeys: { apiKeyId: string; apiKey: { name: string } | null; requests: number; errors: number }[];
  topUsers: { userId: string; user: { name: string } | null; requests: number; errors: number }[];
  trend: { start: string; requests: number; errors: number }[];
}

/** A usage record of organisation `organizationId` at `at`, for the writer's own tests. */
function recordOf(organizationId: string, at: number, overrides: Partial<UsageRecord> = {}): UsageRecord {
  return {
    at,
    organizationId,
    principalKind: "user",
    principalId: randomUUID(),
    surface: "graphql",
    operation: "Probe",
    apiVersion: "",
    status: 200,
    durationMs: 12,
    userAgent: "test",
    ...overrides,
  };
}

describe("API usage analytics", () => {
  let harness: Harness;
  let rest: RestClient;
  let writer: UsageRollupWriter;
  const range = () => ({ from: new Date(Date.now() - 3_600_000).toISOString(), to: new Date(Date.now() + 60_000).toISOString() });
  const flush = () => {
    const usage = harness.stack.gateway.usage;
    assert.ok(usage, "the harness gateway records usage");
    return usage.flush();
  };
  const usageOf = async (token: string, granularity = "HOUR"): Promise<Usage> => {
    const result = await harness.gql(token, USAGE_QUERY, { ...range(), granularity }, "Usage");
    assert.equal(result.body.errors, undefined, JSON.stringify(result.body.errors));
    return (result.body.data as { apiUsage: Usage }).apiUsage;
  };

  let apiKeyId: string;
  let apiKeySecret: string;

  before(async () => {
    await preflight("kafka");
    harness = await startHarness("api_usage", {
      // Flushed explicitly below (never by the clock), into the rollups in process as `npm start` does.
      usage: { sink: async (batch) => void (await writer.write(batch)), flushIntervalMs: 3_600_000 },
    });
    writer = createUsageRollupWriter({ prisma: harness.prisma });
    rest = await RestClient.connect(harness);

    // Organisation 0: a key made by its ADMIN (one anonymous GraphQL mutation), three named queries
    // and one failing query of its OWNER, three REST calls with the key, one of them a 404.
    const created = await harness.gql(await harness.token(0, "ADMIN"), `mutation { createApiKey(input: { name: "partner", role: MEMBER }) { apiKey { id } secret } }`);
    const key = (created.body.data as { createApiKey: { apiKey: { id: string }; secret: string } }).createApiKey;
    apiKeyId = key.apiKey.id;
    apiKeySecret = key.secret;
    const owner0 = await harness.token(0, "OWNER");
    for (let index = 0; index < 3; index += 1) {
      const boards = await harness.gql(owner0, "query Boards { boards { nodes { id } } }", {}, "Boards");
      assert.equal(boards.body.errors, undefined);
    }
    const broken = await harness.gql(owner0, `query Broken { board(id: "not-a-uuid") { id } }`, {}, "Broken");
    assert.deepEqual(codes(broken), ["BAD_USER_INPUT"]);
    for (let index = 0; index < 2; index += 1) assert.equal((await rest.call("GET", "/api/v1/boards", { token: apiKeySecret })).status, 200);
    assertProblem(await rest.call("GET", `/api/v1/boards/${NIL_UUID}`, { token: apiKeySecret }), 404, "NOT_FOUND");

    // Organisation 1: more traffic than organisation 0 on the same operation and route.
    const owner1 = await harness.token(1, "OWNER");
    for (let index = 0; index < 5; index += 1) await harness.gql(owner1, "query Boards { boards { nodes { id } } }", {}, "Boards");
    assert.equal((await rest.call("GET", "/api/v1/boards", { token: owner1 })).status, 200);
    await flush();
  });

  after(async () => {
    await bounded("harness", () => harness?.dispose());
  });

  it("shows an admin exactly their organisation's counts, operations, routes, API key, users and error rate through apiUsage", async () => {
    const usage = await usageOf(await harness.token(0, "ADMIN"));
    const org0 = harness.seed.organizations[0];
    assert.deepEqual(usage.totals, { requests: 8, errors: 2, graphqlRequests: 5, restRequests: 3 });
    assert.equal(usage.errorRate, 2 / 8);
    assert.ok(usage.p50Ms > 0 && usage.p95Ms >= usage.p50Ms, `p50 ${usage.p50Ms} ms, p95 ${usage.p95Ms} ms`);
    const operations = Object.fromEntries(usage.topOperations.map((row) => [`${row.surface} ${row.operation} ${row.apiVersion ?? ""}`, [row.requests, row.errors]]));
    assert.deepEqual(operations, {
      "GRAPHQL Boards ": [3, 0],
      "REST GET /boards v1": [2, 0],
      "REST GET /boards/{id} v1": [1, 1],
      "GRAPHQL Broken ": [1, 1],
      "GRAPHQL anonymous ": [1, 0],
    });
    assert.equal(usage.topOperations[0]?.operation, "Boards", "busiest first");
    assert.deepEqual(usage.topApiKeys, [{ apiKeyId, apiKey: { name: "partner" }, requests: 3, errors: 1 }]);
    assert.deepEqual(
      usage.topUsers.map((row) => [row.userId, row.requests, row.errors]),
      [
        [org0.userIdsByRole.OWNER, 4, 1],
        [org0.userIdsByRole.ADMIN, 1, 0],
      ],
    );
    assert.ok(
      usage.topUsers.every((row) => row.user?.name),
      "users are resolved by the users subgraph",
    );
    // Hourly trend over the last hour and the next minute: every request is in the hour of now.
    assert.equal(
      usage.trend.reduce((sum, point) => sum + point.requests, 0),
      8,
    );
    assert.ok(usage.trend.length >= 2, "empty periods are included");
  });

  it("never shows another organisation's usage, and shows that organisation its own", async () => {
    const usage = await usageOf(await harness.token(1, "OWNER"));
    const org0 = harness.seed.organizations[0];
    assert.deepEqual(usage.totals, { requests: 6, errors: 0, graphqlRequests: 5, restRequests: 1 });
    assert.deepEqual(usage.topApiKeys, []);
    assert.deepEqual(
      usage.topUsers.map((row) => [row.userId, row.requests]),
      [[harness.seed.organizations[1].userIdsByRole.OWNER, 6]],
    );
    assert.ok(!usage.topUsers.some((row) => Object.values(org0.userIdsByRole).includes(row.userId)));
    assert.ok(!usage.topOperations.some((row) => row.operation === "Broken" || row.operation.startsWith("GET /boards/{id}")));
  });

  it("answers GET /api/v1/usage with the same report, validated against the served document", async () => {
    const admin = await harness.token(0, "ADMIN");
    const { from, to } = range();
    const response = await rest.call("GET", `/api/v1/usage?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&granularity=HOUR`, { token: admin });
    assert.equal(response.status, 200, response.text);
    const usage = response.body as Usage;
    // The apiUsage queries above were recorded but are not flushed yet: the same counts.
    assert.deepEqual(usage.totals, { requests: 8, errors: 2, graphqlRequests: 5, restRequests: 3 });
    assert.deepEqual(
      usage.topApiKeys.map((row) => [row.apiKeyId, row.requests]),
      [[apiKeyId, 3]],
    );
    // Without a range: the last 30 days by day.
    const defaults = await rest.call("GET", "/api/v1/usage", { token: admin });
    assert.equal(defaults.status, 200, defaults.text);
    assert.equal((defaults.body as Usage).totals.requests, 8);
    // Days touched by the 30 days before now: 31, or 30 when now is exactly midnight UTC.
    assert.ok([30, 31].includes((defaults.body as Usage).trend.length), `${(defaults.body as Usage).trend.length} daily points`);
  });

  it("refuses VIEWER, MEMBER and GUEST with FORBIDDEN (403 over REST, API keys of MEMBER role too)", async () => {
    for (const role of ["VIEWER", "MEMBER", "GUEST"] as const) {
      const token = await harness.token(0, role);
      const result = await harness.gql(token, USAGE_QUERY, range(), "Usage");
      assert.deepEqual(codes(result), ["FORBIDDEN"], `${role}: ${JSON.stringify(result.body)}`);
      assert.equal(result.body.data, null);
      assertProblem(await rest.call("GET", "/api/v1/usage", { token }), 403, "FORBIDDEN");
    }
    assertProblem(await rest.call("GET", "/api/v1/usage", { token: apiKeySecret }), 403, "FORBIDDEN");
  });

  it("refuses a range over 90 days, or ending before it starts, with BAD_USER_INPUT (REST: 400 INVALID_PARAMETERS)", async () => {
    const admin = await harness.token(0, "ADMIN");
    const long = await harness.gql(admin, USAGE_QUERY, { from: "2026-01-01T00:00:00Z", to: "2026-04-02T00:00:00Z" }, "Usage");
    assert.deepEqual(codes(long), ["BAD_USER_INPUT"]);
    const backwards = await harness.gql(admin, USAGE_QUERY, { from: "2026-02-01T00:00:00Z", to: "2026-01-01T00:00:00Z" }, "Usage");
    assert.deepEqual(codes(backwards), ["BAD_USER_INPUT"]);
    // Over REST a refused query parameter is 400 INVALID_PARAMETERS naming it, as on every route.
    const problem = assertProblem(await rest.call("GET", "/api/v1/usage?from=2026-01-01T00:00:00Z&to=2026-04-02T00:00:00Z", { token: admin }), 400, "INVALID_PARAMETERS");
    assert.deepEqual(
      problem.errors?.map((error) => error.field),
      ["to"],
    );
    assertProblem(await rest.call("GET", "/api/v1/usage?from=yesterday", { token: admin }), 400);
  });

  it("adds a batch consumed twice once, and deletes rollups older than the retention", async () => {
    const organizationId = randomUUID();
    const now = Date.now();
    const old = recordOf(organizationId, now - 91 * 86_400_000);
    const recent = recordOf(organizationId, now - 60_000, { status: 503, durationMs: 3_000 });
    const batch: UsageBatch = { id: randomUUID(), records: [old, recent, { ...recent, status: 502, durationMs: 4 }] };
    assert.equal(await writer.write(batch), true);
    assert.equal(await writer.write(batch), false, "a replayed batch adds nothing");
    const rows = () => harness.prisma.apiUsageRollup.findMany({ where: { organizationId }, orderBy: { minute: "asc" } });
    const before = await rows();
    assert.deepEqual(
      before.map((row) => [row.count, row.errorCount, row.durationBuckets.reduce((sum, count) => sum + count, 0)]),
      [
        [1, 0, 1],
        [2, 2, 2],
      ],
    );
    const deleted = await createUsageRollupWriter({ prisma: harness.prisma, retentionMs: 90 * 86_400_000 }).sweep(new Date(now));
    assert.ok(deleted >= 1);
    const remaining = await rows();
    assert.deepEqual(
      remaining.map((row) => row.minute.getTime()),
      [Math.floor((now - 60_000) / 60_000) * 60_000],
      "the recent minute stays, the 91-day-old one is gone",
    );
  });

  it("carries batches over the api-usage topic to the rollups once, a redelivered batch included", async () => {
    const topicPrefix = `test.${randomUUID().slice(0, 8)}.`;
    const kafka = createKafka(`sunday-test-usage-${randomUUID().slice(0, 8)}`);
    const handled: [string, boolean][] = [];
    const consumer = await startUsageConsumer({
      kafka,
      writer,
      logger: silent,
      topicPrefix,
      groupId: `test-usage-${randomUUID()}`,
      onBatch: (id, written) => handled.push([id, written]),
    });
    const producer = kafkaUsageSink({ kafka, logger: silent, topicPrefix });
    try {
      const organizationId = randomUUID();
      const batch: UsageBatch = {
        id: randomUUID(),
        records: [recordOf(organizationId, Date.now(), { surface: "rest", operation: "GET /boards", apiVersion: "v1", principalKind: "apikey" })],
      };
      await producer.sink(batch);
      await producer.sink(batch);
      await waitFor(
        "both deliveries of the batch handled",
        () => handled.length >= 2,
        () => JSON.stringify(handled),
      );
      assert.deepEqual(handled, [
        [batch.id, true],
        [batch.id, false],
      ]);
      const rows = await harness.prisma.apiUsageRollup.findMany({ where: { organizationId } });
      assert.deepEqual(
        rows.map((row) => [row.surface, row.operation, row.apiVersion, row.principalKind, row.statusClass, row.count]),
        [["rest", "GET /boards", "v1", "apikey", "2xx", 1]],
      );
    } finally {
      await bounded("usage producer", () => producer.dispose());
      await bounded("usage consumer", () => consumer.dispose());
      const admin = kafka.admin();
      await bounded("topic cleanup", async () => {
        await admin.connect();
        await admin.deleteTopics({ topics: [topicsOf(topicPrefix).of(API_USAGE_TOPIC)] }).catch(() => undefined);
        await admin.disconnect();
      });
    }
  });
});

describe("the gateway's usage recorder", () => {
  it("does not hold shutdown on a sink that never answers", async () => {
    const recorder = createUsageRecorder({ registry: new Registry(), logger: silent, disposeTimeoutMs: 50, sink: () => new Promise<void>(() => undefined) });
    recorder.record(recordOf(randomUUID(), Date.now()));
    // Resolves (after disposeTimeoutMs) although the sink's promise never settles.
    await recorder.dispose();
  });

  it("drops and counts records when its buffer is full instead of waiting for a stalled sink", async () => {
    const registry = new Registry();
    let release: () => void = () => undefined;
    const stalled = new Promise<void>((resolve) => {
      release = resolve;
    });
    const taken: UsageBatch[] = [];
    const recorder = createUsageRecorder({
      registry,
      logger: silent,
      capacity: 5,
      batchSize: 2,
      flushIntervalMs: 3_600_000,
      sink: async (batch) => {
        taken.push(batch);
        await stalled;
      },
    });
    const organizationId = randomUUID();
    // record() returns at once, whatever the sink does.
    for (let index = 0; index < 10; index += 1) assert.equal(recorder.record(recordOf(organizationId, Date.now())), undefined);
    const flushed = recorder.flush();
    // The sink holds the first 5; 5 more while it is stalled are dropped too.
    for (let index = 0; index < 5; index += 1) recorder.record(recordOf(organizationId, Date.now()));
    const dropped = async () => (await registry.getSingleMetric("sunday_gateway_usage_records_dropped_total")?.get())?.values ?? [];
    assert.deepEqual(
      (await dropped()).map((value) => [value.labels.reason, value.value]),
      [["buffer_full", 10]],
    );
    release();
    await flushed;
    await recorder.dispose();
    assert.deepEqual(
      taken.map((batch) => batch.records.length),
      [5],
      "the 5 buffered records reached the sink in one batch",
    );
    // Room again once the sink took them.
    recorder.record(recordOf(organizationId, Date.now()));
    assert.equal((await dropped()).find((value) => value.labels.reason === "buffer_full")?.value, 10);
  });
});
