// The lean pipeline (gateway/src/execution/pipeline.ts) must answer exactly as Apollo Server does.
// Each request is sent twice: once as clients send it (lean path) and once with an `accept` header
// the lean path leaves to Apollo Server (same negotiated content type); status, the headers that
// matter and the body bytes must be equal, and the pipeline metric must show which path ran.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { ApolloGateway } from "@apollo/gateway";
import { InMemoryLRUCache } from "@apollo/utils.keyvaluecache";
import { buildSchema, type GraphQLSchema } from "graphql";
import { pino } from "pino";
import { createLeanPipeline } from "../gateway/src/execution/pipeline.ts";
import { DEFAULT_OPERATION_LIMITS } from "../gateway/src/limits/operation-limits.ts";
import { GatewayMetrics } from "../gateway/src/observability/metrics.ts";
import { PlanCacheTracker } from "../gateway/src/plugins/observability.ts";
import { startHarness, type Harness } from "./support/harness.ts";

interface Answer {
  status: number;
  contentType: string | null;
  cacheControl: string | null;
  contentLength: string | null;
  body: string;
}

async function send(url: string, body: unknown, headers: Record<string, string>): Promise<Answer> {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    contentType: response.headers.get("content-type"),
    cacheControl: response.headers.get("cache-control"),
    contentLength: response.headers.get("content-length"),
    body: await response.text(),
  };
}

async function pipelineCounts(url: string): Promise<{ lean: number; apollo: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const count = (path: string) => Number(new RegExp(`sunday_gateway_pipeline_requests_total\\{path="${path}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
  return { lean: count("lean"), apollo: count("apollo") };
}

describe("lean GraphQL pipeline", () => {
  let harness: Harness;
  let url: string;
  let auth: Record<string, string>;

  before(async () => {
    harness = await startHarness("pipeline");
    url = harness.stack.gateway.url;
    auth = { authorization: `Bearer ${await harness.token(0, "OWNER")}` };
  });
  after(async () => {
    await harness?.dispose();
  });

  /** Sends the body through both pipelines and compares; `lean` says whether the lean path must take it. */
  async function same(body: unknown, lean: boolean, extra: Record<string, string> = {}): Promise<Answer> {
    const before = await pipelineCounts(url);
    const fast = await send(url, body, { ...auth, ...extra });
    const middle = await pipelineCounts(url);
    assert.deepEqual(middle, lean ? { lean: before.lean + 1, apollo: before.apollo } : { lean: before.lean, apollo: before.apollo + 1 });
    const apollo = await send(url, body, { ...auth, ...extra, accept: "application/json, text/plain" });
    assert.equal((await pipelineCounts(url)).apollo, middle.apollo + 1, "the reference went through Apollo Server");
    assert.deepEqual(fast, apollo);
    return fast;
  }

  it("answers queries, operation names, variables and introspection byte for byte as Apollo Server", async () => {
    const board = harness.seed.organizations[0].boards[0];
    const ok = await same({ query: "{ me { id name } }" }, true);
    assert.equal(ok.status, 200);
    assert.equal(ok.contentType, "application/json; charset=utf-8");
    assert.equal(ok.cacheControl, "no-store");
    assert.equal(Number(ok.contentLength), Buffer.byteLength(ok.body));
    await same({ query: "{ me { id name } }" }, true); // cached document
    await same({ query: "query A { me { id } } query B { me { name } }", operationName: "B" }, true);
    await same(
      { query: "query Board($id: ID!, $n: Int) { board(id: $id) { id name items(first: $n) { nodes { id } } } }", variables: { id: board.id, n: 3 } },
      true,
    );
    await same({ query: "{ __typename __schema { queryType { name } } }" }, true);
  });

  it("formats execution errors as Apollo Server: codes, paths, partial data, status", async () => {
    const item = harness.seed.organizations[0].boards[0].itemIds[10];
    const bad = await same(
      { query: "mutation($input: UpdateItemInput!) { updateItem(input: $input) { id } }", variables: { input: { id: item, expectedVersion: 1, name: "   " } } },
      true,
    );
    const parsed = JSON.parse(bad.body) as { errors: { extensions: { code: string; stacktrace?: unknown } }[] };
    assert.equal(parsed.errors[0]?.extensions.code, "BAD_USER_INPUT");
    assert.equal(parsed.errors[0]?.extensions.stacktrace, undefined);
    // Another organisation's board: null with the subgraph's error, or null without one.
    const foreign = harness.seed.organizations[1].boards[0].id;
    await same({ query: "query($id: ID!) { me { id } board(id: $id) { id name } }", variables: { id: foreign } }, true);
  });

  it("leaves errors before execution to Apollo Server", async () => {
    const cases: unknown[] = [
      { query: "{ me { id " }, // syntax
      { query: "{ me { nope } }" }, // validation
      { query: "query A { me { id } } query B { me { id } }" }, // no operation name
      { query: "query A { me { id } }", operationName: "C" }, // unknown operation
      { query: "query($id: ID!) { board(id: $id) { id } }", variables: {} }, // variable coercion
      { query: "query($id: ID!) { board(id: $id) { id } }", variables: { id: true } },
      { query: "{ me { id } }", variables: "{}" },
      { extensions: { persistedQuery: { version: 1, sha256Hash: "0".repeat(64) } } }, // APQ miss
      { query: "{ me { id } }", extensions: { persistedQuery: { version: 2, sha256Hash: "x" } } },
      {},
    ];
    for (const body of cases) await same(body, false);
    // Invalid documents are remembered as such and still answered by Apollo.
    await same({ query: "{ me { nope } }" }, false);
  });

  it("serves a registered persisted query by hash, from the same store as Apollo Server", async () => {
    const query = "query Pipelined { me { id } }";
    const extensions = { persistedQuery: { version: 1, sha256Hash: createHash("sha256").update(query).digest("hex") } };
    await same({ extensions }, false); // not registered: PERSISTED_QUERY_NOT_FOUND from Apollo
    await send(url, { query, extensions }, auth); // registration goes through Apollo
    for (let tries = 0; tries < 50 && !(await harness.redis.exists(`${harness.redisPrefix}apq:${extensions.persistedQuery.sha256Hash}`)); tries += 1) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const hit = await same({ extensions }, true);
    assert.deepEqual(JSON.parse(hit.body), { data: { me: { id: harness.seed.organizations[0].userIdsByRole.OWNER } } });
  });
});

describe("lean pipeline document cache", () => {
  it("validates cached documents again against a new schema (hot reload)", async () => {
    let notify: (schema: { apiSchema: GraphQLSchema }) => void = () => {};
    const executed: string[] = [];
    const gateway = {
      onSchemaLoadOrUpdate(listener: typeof notify) {
        notify = listener;
        return () => {};
      },
      async executor(context: { source: string }) {
        executed.push(context.source);
        return { data: { b: 1 } };
      },
    } as unknown as ApolloGateway;
    const pipeline = createLeanPipeline({
      gateway,
      limits: DEFAULT_OPERATION_LIMITS,
      metrics: new GatewayMetrics(),
      logger: pino({ level: "silent" }),
      plans: new PlanCacheTracker(),
      apqCache: new InMemoryLRUCache<string>(),
    });
    const context = { identity: null, correlationId: "c" };
    notify({ apiSchema: buildSchema("type Query { a: Int b: Int }") });
    assert.deepEqual(await pipeline.operation({ query: "{ b }" }, context), { data: { b: 1 }, errors: undefined });
    assert.deepEqual(await pipeline.operation({ query: "{ b }" }, context), { data: { b: 1 }, errors: undefined });
    assert.equal(pipeline.cachedDocuments, 1);
    // The new supergraph has no `b`: the cached document is not reused; Apollo Server answers it.
    notify({ apiSchema: buildSchema("type Query { a: Int }") });
    assert.equal(pipeline.cachedDocuments, 0);
    assert.equal(await pipeline.operation({ query: "{ b }" }, context), null);
    assert.deepEqual(executed, ["{ b }", "{ b }"]);
  });
});
