import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { Redis } from "ioredis";
import { pino } from "pino";
import { SignJWT } from "jose";
import { mintToken } from "../gateway/src/auth/jwt.ts";
import { startGateway, type RunningGateway } from "../gateway/src/server.ts";
import { signInternalRequest } from "../platform/identity.ts";
import { codes, startHarness, TEST_JWT, TEST_SIGNING_SECRET, type Harness } from "./support/harness.ts";
import { startRedisServer, type OwnRedisServer } from "./support/redis-server.ts";
import { scrapeMetrics } from "./support/metrics.ts";

const encoder = new TextEncoder();
const ME = "{ me { id name } }";

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: JSON.parse(text) as { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: { code?: string } }[] } };
}

const code = (result: { body: { errors?: { extensions?: { code?: string } }[] } }) => result.body.errors?.[0]?.extensions?.code;

/** `x-response-time` in milliseconds ("12.3ms": one decimal), checked to be a duration the client could have seen. */
function responseTimeMs(headers: Headers, clientElapsedMs: number, what: string): number {
  const header = headers.get("x-response-time") ?? "";
  assert.match(header, /^\d+\.\dms$/, `${what}: x-response-time ${JSON.stringify(header)}`);
  const ms = Number.parseFloat(header);
  // The server's time is part of what the client waited (plus a rounding to one decimal).
  assert.ok(ms >= 0 && ms <= clientElapsedMs + 0.05, `${what}: x-response-time ${ms} ms, client waited ${clientElapsedMs.toFixed(1)} ms`);
  return ms;
}

/** The X-RateLimit-* headers as numbers (NaN when missing). */
const rateLimitOf = (headers: Headers) => ({
  limit: Number(headers.get("x-ratelimit-limit") ?? Number.NaN),
  remaining: Number(headers.get("x-ratelimit-remaining") ?? Number.NaN),
  reset: Number(headers.get("x-ratelimit-reset") ?? Number.NaN),
});

describe("gateway edge", () => {
  let harness: Harness;
  const lines: string[] = [];
  let supergraphDir: string;
  let supergraphPath: string;

  before(async () => {
    supergraphDir = await mkdtemp(join(tmpdir(), "sunday-supergraph-"));
    supergraphPath = join(supergraphDir, "supergraph.graphql");
    await copyFile("supergraph.graphql", supergraphPath);
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
        done();
      },
    });
    harness = await startHarness("gateway", { logger: pino({ level: "debug" }, sink), supergraphPath });
  });
  after(async () => {
    await harness?.dispose();
    await rm(supergraphDir, { recursive: true, force: true });
  });

  describe("authentication", () => {
    const acme = () => harness.seed.organizations[0];
    const claims = () => ({ org: acme().id, role: "OWNER" });
    const sign = (jwt: SignJWT) => jwt.setProtectedHeader({ alg: "HS256" }).sign(encoder.encode(TEST_JWT.secret));

    it("accepts a valid token", async () => {
      const result = await post(harness.stack.gateway.url, { query: ME }, { authorization: `Bearer ${await harness.token(0, "OWNER")}` });
      assert.equal(result.status, 200);
      assert.deepEqual(result.body.data, { me: { id: acme().userIdsByRole.OWNER, name: acme().users[0]?.name } });
    });

    const refused: [string, () => Promise<string>, RegExp][] = [
      [
        "an expired token",
        async () =>
          sign(
            new SignJWT(claims())
              .setSubject(acme().userIdsByRole.OWNER)
              .setIssuer(TEST_JWT.issuer)
              .setAudience(TEST_JWT.audience)
              .setExpirationTime(Math.floor(Date.now() / 1000) - 120),
          ),
        /expired/,
      ],
      [
        "a token for another audience",
        async () => sign(new SignJWT(claims()).setSubject(acme().userIdsByRole.OWNER).setIssuer(TEST_JWT.issuer).setAudience("someone-else").setExpirationTime("1h")),
        /aud/,
      ],
      ["a token from another issuer", async () => sign(new SignJWT(claims()).setSubject(acme().userIdsByRole.OWNER).setIssuer("evil").setAudience(TEST_JWT.audience).setExpirationTime("1h")), /iss/],
      [
        "a token not valid yet",
        async () => sign(new SignJWT(claims()).setSubject(acme().userIdsByRole.OWNER).setIssuer(TEST_JWT.issuer).setAudience(TEST_JWT.audience).setNotBefore("1h").setExpirationTime("2h")),
        /nbf/,
      ],
      [
        "a token signed with another key",
        async () =>
          new SignJWT(claims())
            .setProtectedHeader({ alg: "HS256" })
            .setSubject(acme().userIdsByRole.OWNER)
            .setIssuer(TEST_JWT.issuer)
            .setAudience(TEST_JWT.audience)
            .setExpirationTime("1h")
            .sign(encoder.encode("x".repeat(40))),
        /invalid token/,
      ],
      [
        "a token without the org claim",
        async () => sign(new SignJWT({ role: "OWNER" }).setSubject(acme().userIdsByRole.OWNER).setIssuer(TEST_JWT.issuer).setAudience(TEST_JWT.audience).setExpirationTime("1h")),
        /claims/,
      ],
      ["garbage", async () => "not.a.token", /invalid token/],
    ];
    for (const [name, token, message] of refused) {
      it(`refuses ${name} with 401 UNAUTHENTICATED`, async () => {
        const result = await post(harness.stack.gateway.url, { query: ME }, { authorization: `Bearer ${await token()}` });
        assert.equal(result.status, 401);
        assert.equal(code(result), "UNAUTHENTICATED");
        assert.match(result.body.errors?.[0]?.message ?? "", message);
        assert.equal(result.body.data, undefined);
      });
    }

    it("refuses anonymous requests, but lets GraphiQL introspect in development only", async () => {
      const anonymous = await post(harness.stack.gateway.url, { query: ME });
      assert.equal(anonymous.status, 401);
      const introspection = await post(harness.stack.gateway.url, { query: "{ __schema { queryType { name } } }" });
      assert.equal(introspection.status, 401, "the test gateway is not in development mode");
    });
  });

  describe("API keys", () => {
    it("act for one organisation only, and stop working once revoked", async () => {
      const acme = harness.seed.organizations[0];
      const globex = harness.seed.organizations[1];
      const created = await harness.gql(await harness.token(0, "ADMIN"), `mutation { createApiKey(input: { name: "partner", role: MEMBER }) { apiKey { id version role } secret } }`);
      const { apiKey, secret } = (created.body.data as { createApiKey: { apiKey: { id: string; version: number }; secret: string } }).createApiKey;
      assert.match(secret, /^sk_sunday_/);
      const stored = await harness.prisma.apiKey.findUniqueOrThrow({ where: { id: apiKey.id } });
      assert.notEqual(stored.hash, secret, "only a hash is stored");
      assert.equal(stored.hash, createHash("sha256").update(secret).digest("hex"));

      const query = `query ($own: ID!, $other: ID!) { me { id } own: board(id: $own) { id } other: board(id: $other) { id } }`;
      const variables = { own: acme.boards[0].id, other: globex.boards[0].id };
      const credentials: Record<string, string>[] = [{ "x-api-key": secret }, { authorization: `ApiKey ${secret}` }, { authorization: `Bearer ${secret}` }];
      for (const headers of credentials) {
        const result = await post(harness.stack.gateway.url, { query, variables }, headers);
        assert.equal(result.status, 200, JSON.stringify(result.body));
        assert.deepEqual(result.body.data, { me: { id: acme.userIdsByRole.ADMIN }, own: { id: acme.boards[0].id }, other: null });
      }
      // The key is a MEMBER even though its creator is an ADMIN.
      const admin = await post(harness.stack.gateway.url, { query: `{ apiKeys { nodes { id } } }` }, { "x-api-key": secret });
      assert.equal(code(admin), "FORBIDDEN");

      // The harness's gateway caches no key lookups (apiKeyCacheTtlMs 0): the next request sees the revocation.
      await harness.gql(await harness.token(0, "ADMIN"), `mutation ($id: ID!, $v: Int!) { revokeApiKey(input: { id: $id, expectedVersion: $v }) { id } }`, { id: apiKey.id, v: apiKey.version });
      const revoked = await post(harness.stack.gateway.url, { query: ME }, { "x-api-key": secret });
      assert.equal(revoked.status, 401);
      const unknown = await post(harness.stack.gateway.url, { query: ME }, { "x-api-key": `sk_sunday_${"A".repeat(43)}` });
      assert.equal(unknown.status, 401);
    });
  });

  describe("gateway-to-subgraph trust", () => {
    const call = (url: string, headers: Record<string, string>, body: string) => fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });

    it("refuses forged, tampered, stale and replayed subgraph requests", async () => {
      const acme = harness.seed.organizations[0];
      const url = harness.stack.subgraphs.users.url;
      const body = JSON.stringify({ query: "{ users { nodes { email } } }" });
      const identity = { userId: acme.userIdsByRole.OWNER, organizationId: acme.id, role: "OWNER" as const };
      const signed = signInternalRequest({ method: "POST", path: "/graphql", body, identity, correlationId: "test-replay-0001" }, TEST_SIGNING_SECRET);

      assert.equal((await call(url, signed, body)).status, 200, "a properly signed request is served once");
      assert.equal((await call(url, signed, body)).status, 401, "the same request again is a replay");

      const forged = signInternalRequest({ method: "POST", path: "/graphql", body, identity, correlationId: "x" }, "not-the-secret");
      assert.equal((await call(url, forged, body)).status, 401);
      const tampered = signInternalRequest({ method: "POST", path: "/graphql", body, identity, correlationId: "x" }, TEST_SIGNING_SECRET);
      assert.equal((await call(url, { ...tampered, "x-sunday-role": "OWNER", "x-sunday-org-id": harness.seed.organizations[1].id }, body)).status, 401);
      const stale = signInternalRequest({ method: "POST", path: "/graphql", body, identity, correlationId: "x" }, TEST_SIGNING_SECRET, Date.now() - 61_000);
      assert.equal((await call(url, stale, body)).status, 401);
      const otherBody = signInternalRequest({ method: "POST", path: "/graphql", body, identity, correlationId: "x" }, TEST_SIGNING_SECRET);
      assert.equal((await call(url, otherBody, body.replace("email", "name"))).status, 401);
    });
  });

  describe("operation limits", () => {
    const cases: [string, string, string][] = [
      ["too deep", `{ me { ${"organization { teams { members { ".repeat(5)}id${" } } }".repeat(5)} } }`, "DEPTH_LIMIT_EXCEEDED"],
      ["too many aliases", `{ ${Array.from({ length: 31 }, (_, i) => `a${i}: me { id }`).join(" ")} }`, "ALIAS_LIMIT_EXCEEDED"],
      ["too costly", `{ boards(first: 1000) { nodes { items(first: 1000) { nodes { id } } } } }`, "COST_LIMIT_EXCEEDED"],
      ["too many tokens", `{ me { ${Array.from({ length: 6000 }, () => "id").join(" ")} } }`, "TOKEN_LIMIT_EXCEEDED"],
    ];
    for (const [name, query, expected] of cases) {
      it(`refuses an operation ${name} with ${expected}, before any subgraph is called`, async () => {
        harness.sql.reset();
        const result = await harness.gql(await harness.token(0, "OWNER"), query);
        assert.equal(result.status, 400);
        assert.deepEqual(codes(result), [expected]);
        assert.equal(harness.sql.count, 0);
      });
    }
  });

  describe("automatic persisted queries", () => {
    it("misses an unknown hash, then serves it by hash from Redis", async () => {
      const token = await harness.token(0, "OWNER");
      const query = "query Apq { me { id } }";
      const sha256Hash = createHash("sha256").update(query).digest("hex");
      const extensions = { persistedQuery: { version: 1, sha256Hash } };
      const auth = { authorization: `Bearer ${token}` };
      const miss = await post(harness.stack.gateway.url, { extensions }, auth);
      assert.equal(code(miss), "PERSISTED_QUERY_NOT_FOUND");
      const register = await post(harness.stack.gateway.url, { query, extensions }, auth);
      assert.equal(register.status, 200);
      // Apollo answers without awaiting its SET, but sends it before answering, on the client it
      // shares with the harness: one connection runs commands in order, so this EXISTS comes after it.
      assert.equal(await harness.redis.exists(`${harness.redisPrefix}apq:${sha256Hash}`), 1);
      const hit = await post(harness.stack.gateway.url, { extensions }, auth);
      assert.deepEqual(hit.body.data, { me: { id: harness.seed.organizations[0].userIdsByRole.OWNER } });
    });
  });

  describe("tracing headers and logs", () => {
    it("round-trips a correlation id into subgraph logs and domain events, and times every response", async () => {
      const correlationId = `corr-${Date.now()}`;
      const token = await harness.token(0, "OWNER");
      const sentAt = performance.now();
      const result = await post(
        harness.stack.gateway.url,
        { query: `mutation ($id: ID!) { addComment(input: { itemId: $id, body: "traced" }) { id } }`, variables: { id: harness.seed.organizations[0].boards[0].itemIds[0] } },
        { authorization: `Bearer ${token}`, "x-correlation-id": correlationId },
      );
      assert.equal(result.headers.get("x-correlation-id"), correlationId);
      assert.match(result.headers.get("x-response-time") ?? "", /^\d+(\.\d+)?ms$/);
      responseTimeMs(result.headers, performance.now() - sentAt, "POST /graphql");
      const subgraphLines = lines.filter((line) => line.includes(correlationId) && line.includes('"subgraph"'));
      assert.ok(
        subgraphLines.some((line) => line.includes('"subgraph":"items"')),
        "the items subgraph logged the correlation id",
      );
      const event = await harness.prisma.outboxEvent.findFirstOrThrow({ where: { eventType: "comment.added" }, orderBy: { sequence: "desc" } });
      assert.equal((event.envelope as { metadata: { correlationId: string } }).metadata.correlationId, correlationId);
      assert.ok(
        lines.every((line) => !line.includes(token)),
        "no token in any log line",
      );

      const invalid = await post(harness.stack.gateway.url, { query: ME }, { authorization: `Bearer ${token}`, "x-correlation-id": "bad id\twith spaces" });
      assert.match(invalid.headers.get("x-correlation-id") ?? "", /^[0-9a-f-]{36}$/);
      for (const path of ["/healthz", "/nowhere", "/metrics"]) {
        const started = performance.now();
        const response = await fetch(`${harness.stack.gateway.url}${path}`);
        const elapsed = performance.now() - started;
        await response.text();
        assert.ok(response.headers.get("x-response-time"), path);
        responseTimeMs(response.headers, elapsed, path);
      }
    });

    it("logs each circuit breaker's initial closed state at debug, not as a warning at every start", () => {
      const breakerLines = lines.map((line) => JSON.parse(line) as { level: number; msg: string; subgraph?: string }).filter((line) => /circuit breaker/.test(line.msg));
      assert.deepEqual(breakerLines.map((line) => line.subgraph).sort(), ["integrations", "items", "projects", "users"]);
      assert.ok(
        breakerLines.every((line) => line.level < 40),
        JSON.stringify(breakerLines),
      );
    });

    it("exposes Prometheus metrics", async () => {
      const text = await (await fetch(`${harness.stack.gateway.url}/metrics`)).text();
      for (const name of [
        "sunday_gateway_requests_total",
        "sunday_gateway_request_duration_seconds",
        "sunday_gateway_errors_total",
        "sunday_gateway_subgraph_fetch_duration_seconds",
        "sunday_gateway_circuit_state",
        "sunday_gateway_query_plan_cache_total",
        "sunday_gateway_operation_limit_refusals_total",
      ]) {
        assert.ok(text.includes(name), name);
      }
      assert.match(text, /sunday_gateway_query_plan_cache_total\{result="hit"\} [1-9]/);
    });

    it("counts each request in its metrics, with its labels: outcome, duration, subgraph fetch, plan cache, errors, limit refusals", async () => {
      const url = harness.stack.gateway.url;
      const auth = { authorization: `Bearer ${await harness.token(0, "OWNER")}` };
      const probe = "query MetricsProbe { me { id } }";
      const before = await scrapeMetrics(url);
      const started = performance.now();
      for (let i = 0; i < 2; i += 1) assert.equal((await post(url, { query: probe }, auth)).status, 200);
      const elapsedSeconds = (performance.now() - started) / 1000;
      const invalid = await post(url, { query: "query MetricsProbeInvalid { me { nope } }", operationName: "MetricsProbeInvalid" }, auth);
      assert.equal(code(invalid), "GRAPHQL_VALIDATION_FAILED");
      const aliases = Array.from({ length: 31 }, (_, index) => `a${index}: me { id }`).join(" ");
      const tooMany = await post(url, { query: `query MetricsProbeAliases { ${aliases} }` }, auth);
      assert.equal(code(tooMany), "ALIAS_LIMIT_EXCEEDED");
      const after = await scrapeMetrics(url);
      const delta = (name: string, labels: Record<string, string> = {}) => after.value(name, labels) - before.value(name, labels);

      assert.equal(delta("sunday_gateway_requests_total", { operation: "MetricsProbe", outcome: "success" }), 2);
      assert.equal(delta("sunday_gateway_requests_total", { operation: "MetricsProbe", outcome: "error" }), 0);
      assert.equal(delta("sunday_gateway_requests_total", { operation: "MetricsProbeInvalid", outcome: "error" }), 1);
      assert.equal(delta("sunday_gateway_requests_total", { operation: "MetricsProbeAliases", outcome: "error" }), 1);
      assert.equal(delta("sunday_gateway_request_duration_seconds_count", { operation: "MetricsProbe" }), 2);
      const seconds = delta("sunday_gateway_request_duration_seconds_sum", { operation: "MetricsProbe" });
      assert.ok(seconds > 0 && seconds <= elapsedSeconds, `duration sum grew by ${seconds} s in ${elapsedSeconds} s`);
      assert.equal(delta("sunday_gateway_request_duration_seconds_bucket", { operation: "MetricsProbe", le: "+Inf" }), 2);
      // `me` is the users subgraph's: one fetch per request.
      assert.equal(delta("sunday_gateway_subgraph_fetch_duration_seconds_count", { subgraph: "users", outcome: "ok" }), 2);
      assert.equal(delta("sunday_gateway_subgraph_fetch_duration_seconds_count", { subgraph: "items", outcome: "ok" }), 0);
      // The first MetricsProbe is planned (miss), the second reuses the plan (hit); the alias-heavy one
      // is looked up before the limits refuse it (miss); the invalid one never resolves an operation.
      assert.equal(delta("sunday_gateway_query_plan_cache_total", { result: "hit" }), 1);
      assert.equal(delta("sunday_gateway_query_plan_cache_total", { result: "miss" }), 2);
      assert.equal(delta("sunday_gateway_errors_total", { code: "GRAPHQL_VALIDATION_FAILED" }), 1);
      assert.equal(delta("sunday_gateway_errors_total", { code: "ALIAS_LIMIT_EXCEEDED" }), 1);
      assert.equal(delta("sunday_gateway_operation_limit_refusals_total", { code: "ALIAS_LIMIT_EXCEEDED" }), 1);
      // Every subgraph's breaker is closed (0).
      assert.deepEqual(
        after
          .all("sunday_gateway_circuit_state")
          .map(({ labels, value }) => [labels.subgraph, value])
          .sort(),
        [
          ["integrations", 0],
          ["items", 0],
          ["projects", 0],
          ["users", 0],
        ],
      );
    });
  });

  describe("hot reload", () => {
    it("swaps in a changed supergraph with requests in flight and loses none; refuses a broken one", async () => {
      const token = await harness.token(0, "OWNER");
      const original = await readFile(supergraphPath, "utf8");
      let stop = false;
      const results: number[] = [];
      let progressed = () => {};
      const load = (async () => {
        while (!stop) {
          const batch = await Promise.all(Array.from({ length: 5 }, () => harness.gql(token, "{ me { id } boards(first: 2) { nodes { id } } }")));
          results.push(...batch.map((result) => (result.status === 200 && !result.body.errors ? 1 : 0)));
          progressed();
        }
      })();
      // Each step waits until more requests have completed, so requests are in flight around every reload.
      const moreRequests = (count: number) => {
        const target = results.length + count;
        return new Promise<void>((resolve) => {
          progressed = () => {
            if (results.length >= target) resolve();
          };
        });
      };
      await moreRequests(10);
      const updates = async () => (await harness.stack.gateway.metrics.supergraphReloads.get()).values.find((value) => value.labels.outcome === "updated")?.value ?? 0;
      const updatesBefore = await updates();
      await writeFile(supergraphPath, original.replace('"The signed-in user."', '"The signed-in user (reloaded)."'));
      // The file watcher may have swapped it in already (then this finds it unchanged): one update either way.
      assert.notEqual(await harness.stack.gateway.reloadSupergraph(), "rejected");
      assert.equal((await updates()) - updatesBefore, 1);
      await moreRequests(10);
      await writeFile(supergraphPath, "this is not a supergraph");
      assert.equal(await harness.stack.gateway.reloadSupergraph(), "rejected");
      await moreRequests(10);
      stop = true;
      await load;
      assert.equal(results.filter((ok) => ok === 0).length, 0, "no request failed during the reloads");
      const description = await harness.gql(token, `{ __type(name: "Query") { fields { name description } } }`);
      const me = (description.body.data!.__type as { fields: { name: string; description: string }[] }).fields.find((field) => field.name === "me");
      assert.equal(me?.description, "The signed-in user (reloaded).", "the good supergraph is still the one serving");
      await writeFile(supergraphPath, original);
    });
  });
});

describe("rate limits", () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness("ratelimit", { rateLimit: { perMinute: 5, perHour: 8 }, itemsPerBoard: 2 });
  });
  after(() => harness?.dispose());

  it("counts per user, sends X-RateLimit headers, refuses with 429 and Retry-After, and resets", async () => {
    const auth = { authorization: `Bearer ${await harness.token(0, "MEMBER")}` };
    const remaining: number[] = [];
    const resets: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      const result = await post(harness.stack.gateway.url, { query: ME }, auth);
      assert.equal(result.status, 200);
      assert.equal(result.headers.get("x-ratelimit-limit"), "5");
      remaining.push(Number(result.headers.get("x-ratelimit-remaining")));
      resets.push(rateLimitOf(result.headers).reset);
    }
    assert.deepEqual(remaining, [4, 3, 2, 1, 0]);
    // Reset: whole seconds until the minute window (the tighter one) starts afresh, counting down.
    for (const [i, reset] of resets.entries()) {
      assert.ok(Number.isInteger(reset) && reset >= 1 && reset <= 60, `X-RateLimit-Reset ${reset} of request ${i + 1}`);
      if (i > 0) assert.ok(reset <= (resets[i - 1] ?? 60), `the reset does not move away: ${JSON.stringify(resets)}`);
    }
    const metricsBefore = await scrapeMetrics(harness.stack.gateway.url);
    const refused = await post(harness.stack.gateway.url, { query: ME }, auth);
    assert.equal(refused.status, 429);
    assert.equal(code(refused), "RATE_LIMITED");
    const retryAfter = Number(refused.headers.get("retry-after"));
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    assert.ok(Number(refused.headers.get("x-ratelimit-reset")) <= 60);
    const refusedLimit = rateLimitOf(refused.headers);
    assert.deepEqual({ limit: refusedLimit.limit, remaining: refusedLimit.remaining }, { limit: 5, remaining: 0 });
    assert.equal(refusedLimit.reset, retryAfter, "the client may retry when the window resets");
    assert.ok(refusedLimit.reset <= (resets.at(-1) ?? 60), "within the same window");
    const metricsAfter = await scrapeMetrics(harness.stack.gateway.url);
    assert.equal(metricsAfter.value("sunday_gateway_rate_limit_refusals_total") - metricsBefore.value("sunday_gateway_rate_limit_refusals_total"), 1);
    const refusedRequests = (snapshot: typeof metricsBefore) => snapshot.value("sunday_gateway_requests_total", { operation: "rate_limited", outcome: "refused" });
    assert.equal(refusedRequests(metricsAfter) - refusedRequests(metricsBefore), 1);

    const other = await post(harness.stack.gateway.url, { query: ME }, { authorization: `Bearer ${await harness.token(0, "OWNER")}` });
    assert.equal(other.status, 200, "another user has its own allowance");
    const otherLimit = rateLimitOf(other.headers);
    assert.deepEqual({ limit: otherLimit.limit, remaining: otherLimit.remaining }, { limit: 5, remaining: 4 });
    assert.ok(otherLimit.reset >= 1 && otherLimit.reset <= 60, `X-RateLimit-Reset ${otherLimit.reset}`);

    // The minute window ending is the same as its counter going away.
    const minuteKeys = await harness.redis.keys(`${harness.redisPrefix}ratelimit:minute*`);
    await harness.redis.del(...minuteKeys);
    const afterReset = await post(harness.stack.gateway.url, { query: ME }, auth);
    assert.equal(afterReset.status, 200);
    assert.equal(afterReset.headers.get("x-ratelimit-limit"), "8", "the hour window binds now: 6 of 8 used");
    const hourly = rateLimitOf(afterReset.headers);
    assert.equal(hourly.remaining, 2, "8 - 6");
    assert.ok(Number.isInteger(hourly.reset) && hourly.reset > 3_500 && hourly.reset <= 3_600, `the hour window's reset: ${hourly.reset}`);
  });
});

describe("readiness", () => {
  let harness: Harness;
  let redisServer: OwnRedisServer;
  let gateway: RunningGateway;
  let redis: Redis;
  const port = 6300 + (process.pid % 500);

  before(async () => {
    harness = await startHarness("readyz", { itemsPerBoard: 2 });
    redisServer = await startRedisServer(port);
    redis = new Redis({ port, host: "127.0.0.1", maxRetriesPerRequest: 1, retryStrategy: () => 200 });
    // Redis going away is this test's point: its reconnect errors are expected.
    redis.on("error", () => {});
    await redis.ping();
    gateway = await startGateway({
      supergraph: { sdl: await readFile("supergraph.graphql", "utf8") },
      signingSecret: TEST_SIGNING_SECRET,
      jwt: TEST_JWT,
      redis,
      subgraphUrls: harness.stack.subgraphUrls,
      logger: pino({ level: "silent" }),
    });
  });
  after(async () => {
    await gateway?.dispose();
    redis?.disconnect();
    redisServer?.process.kill("SIGKILL");
    await harness?.dispose();
  });

  it("is ready with every subgraph and Redis up, and stays ready (reporting it) once Redis stops: Redis is shared by every instance", async () => {
    const token = await mintToken({ userId: harness.seed.organizations[0].userIdsByRole.OWNER, organizationId: harness.seed.organizations[0].id, role: "OWNER" }, TEST_JWT);
    await post(gateway.url, { query: ME }, { authorization: `Bearer ${token}` });
    const ready = await fetch(`${gateway.url}/readyz`);
    assert.equal(ready.status, 200, JSON.stringify(await ready.clone().json()));
    assert.deepEqual(((await ready.json()) as { subgraphs: Record<string, boolean> }).subgraphs, { users: true, projects: true, items: true, integrations: true });

    redisServer.process.kill("SIGKILL");
    await redisServer.exited;
    const degraded = await fetch(`${gateway.url}/readyz`);
    assert.equal(degraded.status, 200);
    assert.deepEqual(((await degraded.json()) as { ready: boolean; redis: boolean }).redis, false, "the outage is reported");
    const health = await fetch(`${gateway.url}/healthz`);
    assert.equal(health.status, 200, "the process itself is alive");
  });
});
