import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { buildSchema, type GraphQLEnumType } from "graphql";
import { Redis } from "ioredis";
import { startGateway, type RunningGateway } from "../gateway/src/server.ts";
import { mintToken } from "../gateway/src/auth/jwt.ts";
import { createMemoryIdempotencyStore, createRedisIdempotencyStore, idempotencyScope, requestFingerprint, type IdempotencyStore } from "../gateway/src/rest/idempotency.ts";
import { problemFromGraphQLErrors } from "../gateway/src/rest/problem.ts";
import { ROUTES } from "../gateway/src/rest/routes.ts";
import { startHarness, TEST_JWT, TEST_SIGNING_SECRET, type Harness } from "./support/harness.ts";
import { RestClient, assertProblem } from "./support/rest.ts";

const addFormats = addFormatsModule.default;
const SUPERGRAPH = await readFile(new URL("../supergraph.graphql", import.meta.url), "utf8");
const API_SCHEMA = buildSchema(await readFile(new URL("../gateway/schema.graphql", import.meta.url), "utf8"));

type Json = Record<string, unknown>;

describe("REST v1 at the edge: credentials, rate limits, failing subgraphs, OpenAPI and docs", () => {
  let harness: Harness;
  let rest: RestClient;
  let owner: string;
  const extra: RunningGateway[] = [];

  /** Another gateway over the same subgraphs, configured differently. */
  const gatewayWith = async (options: Partial<Parameters<typeof startGateway>[0]>) => {
    const gateway = await startGateway({
      supergraph: { sdl: SUPERGRAPH },
      signingSecret: TEST_SIGNING_SECRET,
      jwt: TEST_JWT,
      subgraphUrls: harness.stack.subgraphUrls,
      ...options,
    });
    extra.push(gateway);
    return gateway;
  };

  before(async () => {
    harness = await startHarness("rest_edge");
    rest = await RestClient.connect(harness);
    owner = await harness.token(0, "OWNER");
  });
  after(async () => {
    for (const gateway of extra) await gateway.dispose();
    await harness?.dispose();
  });

  describe("credentials", () => {
    it("answers 401 problem+json with WWW-Authenticate without a credential, with a bad or expired token", async () => {
      const acme = harness.seed.organizations[0];
      const expired = await mintToken({ userId: acme.userIdsByRole.OWNER, organizationId: acme.id, role: "OWNER" }, TEST_JWT, Math.floor(Date.now() / 1000) - 60);
      for (const headers of [{}, { authorization: "Bearer not-a-jwt" }, { authorization: `Bearer ${expired}` }, { authorization: "Basic dXNlcjpwYXNz" }] as Record<string, string>[]) {
        const response = await rest.call("GET", "/api/v1/users/me", { headers });
        assertProblem(response, 401, "UNAUTHENTICATED");
        assert.match(response.headers.get("www-authenticate") ?? "", /Bearer/);
      }
    });

    it("accepts a partner API key as X-API-Key, ApiKey and Bearer, acting for its creator with the key's role, until revoked", async () => {
      const admin = await harness.token(0, "ADMIN");
      const created = await harness.gql(admin, `mutation { createApiKey(input: { name: "rest", role: MEMBER }) { apiKey { id version } secret } }`);
      const { apiKey, secret } = (created.body.data as { createApiKey: { apiKey: { id: string; version: number }; secret: string } }).createApiKey;
      for (const headers of [{ "x-api-key": secret }, { authorization: `ApiKey ${secret}` }, { authorization: `Bearer ${secret}` }] as Record<string, string>[]) {
        const me = await rest.call("GET", "/api/v1/users/me", { headers });
        assert.equal(me.status, 200);
        assert.equal((me.body as { id: string }).id, harness.seed.organizations[0].userIdsByRole.ADMIN);
        assert.ok(me.headers.get("x-ratelimit-remaining"));
      }
      // A MEMBER key cannot do what only OWNER and ADMIN may, whoever created it.
      const webhook = await rest.call("POST", "/api/v1/webhooks", { headers: { "x-api-key": secret }, json: { url: "https://partner.example/h", events: ["item.created"] } });
      assertProblem(webhook, 403, "FORBIDDEN");
      // The harness's gateway caches no key lookups (apiKeyCacheTtlMs 0): the next request sees the revocation.
      await harness.gql(admin, `mutation ($id: ID!, $v: Int!) { revokeApiKey(input: { id: $id, expectedVersion: $v }) { id } }`, { id: apiKey.id, v: apiKey.version });
      assertProblem(await rest.call("GET", "/api/v1/users/me", { headers: { "x-api-key": secret } }), 401, "UNAUTHENTICATED");
    });
  });

  describe("rate limits", () => {
    it("counts REST and GraphQL requests against the same per-user limit, with X-RateLimit-* on both", async () => {
      const member = await harness.token(0, "MEMBER");
      const first = await rest.call("GET", "/api/v1/users/me", { token: member });
      const remaining = Number(first.headers.get("x-ratelimit-remaining"));
      assert.ok(Number(first.headers.get("x-ratelimit-limit")) > 0);
      assert.ok(first.headers.get("x-ratelimit-reset"));
      const graphql = await fetch(`${harness.stack.gateway.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${member}` },
        body: JSON.stringify({ query: "{ me { id } }" }),
      });
      assert.equal(Number(graphql.headers.get("x-ratelimit-remaining")), remaining - 1);
      const again = await rest.call("GET", "/api/v1/users/me", { token: member });
      assert.equal(Number(again.headers.get("x-ratelimit-remaining")), remaining - 2);
    });

    it("refuses with 429 problem+json and Retry-After once the limit (in Redis) is spent", async () => {
      const limited = await gatewayWith({ redis: harness.redis, redisPrefix: `${harness.redisPrefix}limited:`, rateLimit: { perMinute: 3, perHour: 100 } });
      const viewer = await harness.token(0, "VIEWER");
      const call = () => rest.at(limited.url).call("GET", "/api/v1/users/me", { token: viewer });
      for (let index = 0; index < 3; index += 1) assert.equal((await call()).status, 200);
      const refused = await call();
      const problem = assertProblem(refused, 429, "RATE_LIMITED");
      assert.equal(refused.headers.get("retry-after"), String(problem.retryAfterSeconds));
      assert.ok(Number(refused.headers.get("retry-after")) >= 1);
      assert.equal(refused.headers.get("x-ratelimit-remaining"), "0");
      const keys = await harness.redis.keys(`${harness.redisPrefix}limited:ratelimit:*`);
      assert.ok(keys.length > 0, "the counters are in Redis under the gateway's prefix");
    });
  });

  describe("a failing subgraph", () => {
    it("is 502 SUBGRAPH_UNAVAILABLE while it fails, then 503 CIRCUIT_OPEN with Retry-After once the breaker opens", async () => {
      const broken = await gatewayWith({ subgraphUrls: { ...harness.stack.subgraphUrls, items: "http://127.0.0.1:9/graphql" }, rateLimit: false });
      const board = harness.seed.organizations[0].boards[0].id;
      const codes: string[] = [];
      for (let attempt = 0; attempt < 12 && !codes.includes("CIRCUIT_OPEN"); attempt += 1) {
        const response = await rest.at(broken.url).call("GET", `/api/v1/boards/${board}/items`, { token: owner });
        const problem = assertProblem(response, response.status);
        if (problem.code === "CIRCUIT_OPEN") {
          assert.equal(response.status, 503);
          assert.equal(response.headers.get("retry-after"), "30");
        } else {
          assert.equal(response.status, 502);
          assert.equal(problem.code, "SUBGRAPH_UNAVAILABLE");
        }
        codes.push(problem.code);
      }
      assert.equal(codes[0], "SUBGRAPH_UNAVAILABLE");
      assert.ok(codes.includes("CIRCUIT_OPEN"), codes.join(", "));
      // Routes that do not need the failing subgraph keep working.
      assert.equal((await rest.at(broken.url).call("GET", `/api/v1/boards/${board}`, { token: owner })).status, 200);
    });
  });

  describe("GraphQL error codes as HTTP statuses", () => {
    it("maps every code the subgraphs and the gateway raise, and hides unknown ones as 500", () => {
      const error = (code: string, extensions: Record<string, unknown> = {}) => [{ message: `${code} happened`, extensions: { code, ...extensions } }];
      const cases: [string, number, string][] = [
        ["UNAUTHENTICATED", 401, "UNAUTHENTICATED"],
        ["FORBIDDEN", 403, "FORBIDDEN"],
        ["NOT_FOUND", 404, "NOT_FOUND"],
        ["CONFLICT", 409, "CONFLICT"],
        ["BAD_USER_INPUT", 422, "BAD_USER_INPUT"],
        ["RATE_LIMITED", 429, "RATE_LIMITED"],
        ["SUBGRAPH_UNAVAILABLE", 502, "SUBGRAPH_UNAVAILABLE"],
        ["SUBGRAPH_TIMEOUT", 502, "SUBGRAPH_TIMEOUT"],
        ["CIRCUIT_OPEN", 503, "CIRCUIT_OPEN"],
        ["GRAPHQL_VALIDATION_FAILED", 500, "INTERNAL_SERVER_ERROR"],
        ["SOMETHING_NEW", 500, "INTERNAL_SERVER_ERROR"],
      ];
      for (const [code, status, mapped] of cases) {
        const problem = problemFromGraphQLErrors(error(code), { ifMatch: false });
        assert.deepEqual([problem.status, problem.code], [status, mapped], code);
        if (status === 500) assert.equal(problem.detail, "The request could not be completed", `${code}: the message of an error we did not expect stays ours`);
      }
      const stale = problemFromGraphQLErrors(error("CONFLICT", { expectedVersion: 2, actualVersion: 3 }), { ifMatch: true });
      assert.deepEqual([stale.status, stale.expectedVersion, stale.actualVersion], [412, 2, 3]);
      const fields = problemFromGraphQLErrors([...error("BAD_USER_INPUT", { field: "name" }), ...error("BAD_USER_INPUT", { field: "after" })], { ifMatch: false, fieldNames: { after: "cursor" } });
      assert.deepEqual(
        fields.errors?.map((entry) => entry.field),
        ["name", "cursor"],
      );
    });

    it("answers 409 CONFLICT, never a silent lost update, when PATCHes without If-Match race", async () => {
      const itemId = harness.seed.organizations[0].boards[0].itemIds[8] as string;
      const { version } = await harness.prisma.item.findUniqueOrThrow({ where: { id: itemId } });
      const responses = await Promise.all(Array.from({ length: 8 }, (_, index) => rest.call("PATCH", `/api/v1/items/${itemId}`, { token: owner, json: { name: `Racer ${index}` } })));
      const statuses = responses.map((response) => response.status);
      for (const response of responses.filter((entry) => entry.status !== 200)) assertProblem(response, 409, "CONFLICT");
      const won = statuses.filter((status) => status === 200).length;
      assert.ok(won >= 1, `statuses ${statuses}`);
      assert.ok(statuses.includes(409), `eight simultaneous read-then-write PATCHes should collide: ${statuses}`);
      assert.equal((await harness.prisma.item.findUniqueOrThrow({ where: { id: itemId } })).version, version + won);
    });
  });

  describe("methods", () => {
    it("lists HEAD in Allow wherever GET is served (HEAD answers there), in 405s and in the OpenAPI document", async () => {
      const board = harness.seed.organizations[0].boards[0].id;
      const refused = await rest.call("PUT", `/api/v1/boards/${board}`, { token: owner });
      assertProblem(refused, 405, "METHOD_NOT_ALLOWED");
      assert.equal(refused.headers.get("allow"), "GET, HEAD, PATCH, DELETE");
      const head = await fetch(`${harness.stack.gateway.url}/api/v1/boards/${board}`, { method: "HEAD", headers: { authorization: `Bearer ${owner}` } });
      assert.equal(head.status, 200);
      assert.ok(head.headers.get("etag"));
      assert.equal(await head.text(), "");
      // A path without GET does not announce HEAD.
      const postOnly = await rest.call("GET", "/api/v1/integrations/slack/enable", { token: owner });
      assertProblem(postOnly, 405, "METHOD_NOT_ALLOWED");
      assert.equal(postOnly.headers.get("allow"), "POST");
      const paths = rest.document.paths as Record<string, Record<string, Json>>;
      assert.equal(paths["/boards/{id}"]?.put?.description, "Answered 405 with `Allow: GET, HEAD, PATCH, DELETE`.");
      assert.equal(paths["/integrations/{type}/enable"]?.get?.description, "Answered 405 with `Allow: POST`.");
    });
  });

  describe("idempotency stores", () => {
    const behaves = async (store: IdempotencyStore) => {
      const key = randomUUID();
      const response = { status: 201, headers: { location: "/api/v1/boards/1" }, body: '{"id":"1"}' };
      assert.deepEqual(await store.claim(key, "a"), { outcome: "claimed" });
      assert.deepEqual(await store.claim(key, "a"), { outcome: "in-flight" });
      assert.deepEqual(await store.claim(key, "b"), { outcome: "mismatch" });
      await store.complete(key, "a", response);
      assert.deepEqual(await store.claim(key, "a"), { outcome: "replay", response });
      assert.deepEqual(await store.claim(key, "b"), { outcome: "mismatch" });
      const released = randomUUID();
      await store.claim(released, "a");
      await store.release(released);
      assert.deepEqual(await store.claim(released, "b"), { outcome: "claimed" });
      const expiring = randomUUID();
      const claimedAt = performance.now();
      await store.claim(expiring, "a");
      assert.deepEqual(await store.claim(expiring, "a"), { outcome: "in-flight" });
      // Expiry is the store's own clock (Redis PX): ask it again until it lets go, within a deadline.
      let outcome = "in-flight";
      while (outcome === "in-flight" && performance.now() - claimedAt < 2_000) {
        outcome = (await store.claim(expiring, "a")).outcome;
        if (outcome === "in-flight") await new Promise((resolve) => setImmediate(resolve));
      }
      assert.equal(outcome, "claimed", "an abandoned claim expires");
      assert.ok(performance.now() - claimedAt >= 45, "not before its claimMs (50)");
    };

    it("the in-process store (embedded default) and the Redis store behave the same", async () => {
      await behaves(createMemoryIdempotencyStore({ claimMs: 50 }));
      await behaves(createRedisIdempotencyStore(harness.redis, `${harness.redisPrefix}store-test:`, { claimMs: 50 }));
    });

    it("a POST whose key is claimed by a request still running gets 409, and the stored response once it completes", async () => {
      const acme = harness.seed.organizations[0];
      const body = { workspaceId: acme.workspaceId, name: "Claimed elsewhere" };
      const key = randomUUID();
      const store = createRedisIdempotencyStore(harness.redis, `${harness.redisPrefix}idempotency:`);
      const scoped = idempotencyScope(`user:${acme.userIdsByRole.OWNER}`, key);
      const fingerprint = requestFingerprint("POST", "v1/boards", body);
      await store.claim(scoped, fingerprint);
      const boards = await harness.prisma.board.count();
      const inFlight = await rest.call("POST", "/api/v1/boards", { token: owner, headers: { "idempotency-key": key }, json: body });
      assertProblem(inFlight, 409, "IDEMPOTENCY_IN_FLIGHT");
      assert.equal(inFlight.headers.get("retry-after"), "1");
      assert.equal(await harness.prisma.board.count(), boards);
      // Key order does not make another request.
      const reordered = { name: body.name, workspaceId: body.workspaceId };
      assertProblem(await rest.call("POST", "/api/v1/boards", { token: owner, headers: { "idempotency-key": key }, json: reordered }), 409);

      const existing = await rest.call("GET", `/api/v1/boards/${acme.boards[0].id}`, { token: owner });
      const stored = { status: 201, headers: { "content-type": "application/json", location: `/api/v1/boards/${acme.boards[0].id}` }, body: existing.text };
      await store.complete(scoped, fingerprint, stored);
      const replayed = await rest.call("POST", "/api/v1/boards", { token: owner, headers: { "idempotency-key": key }, json: body });
      assert.equal(replayed.status, 201);
      assert.equal(replayed.headers.get("idempotent-replayed"), "true");
      assert.equal(replayed.headers.get("location"), stored.headers.location);
      assert.equal(replayed.text, existing.text);
      assert.equal(await harness.prisma.board.count(), boards);
    });

    it("with Redis unreachable, a POST with an Idempotency-Key is refused with 503 and runs nothing; without a key it runs", async () => {
      const deadRedis = new Redis("redis://127.0.0.1:9", { maxRetriesPerRequest: 0, enableOfflineQueue: false, lazyConnect: true, retryStrategy: () => null });
      deadRedis.on("error", () => undefined);
      const gateway = await gatewayWith({ redis: deadRedis, redisPrefix: "dead:" });
      const acme = harness.seed.organizations[0];
      const client = rest.at(gateway.url);
      const before = await harness.prisma.board.count();
      const refused = await client.call("POST", "/api/v1/boards", { token: owner, headers: { "idempotency-key": randomUUID() }, json: { workspaceId: acme.workspaceId, name: "Not twice" } });
      assertProblem(refused, 503, "IDEMPOTENCY_UNAVAILABLE");
      assert.equal(refused.headers.get("retry-after"), "1");
      assert.equal(await harness.prisma.board.count(), before);
      const plain = await client.call("POST", "/api/v1/boards", { token: owner, json: { workspaceId: acme.workspaceId, name: "Without a key" } });
      assert.equal(plain.status, 201);
      deadRedis.disconnect();
    });

    it("without Redis (the embedded default) keys are kept in process with the same replay", async () => {
      const embedded = await gatewayWith({ rateLimit: false });
      const acme = harness.seed.organizations[0];
      const post = () =>
        rest.at(embedded.url).call("POST", "/api/v1/boards", { token: owner, headers: { "idempotency-key": "embedded-1" }, json: { workspaceId: acme.workspaceId, name: "Embedded" } });
      const first = await post();
      const second = await post();
      assert.equal(first.status, 201);
      assert.equal(second.status, 201);
      assert.equal(second.headers.get("idempotent-replayed"), "true");
      assert.equal(second.text, first.text);
      assert.equal(await harness.prisma.board.count({ where: { name: "Embedded" } }), 1);
    });
  });

  describe("the OpenAPI document", () => {
    it("is OpenAPI 3.1 with one operation per route of the table, each naming its GraphQL operation", () => {
      const document = rest.document;
      assert.equal(document.openapi, "3.1.0");
      const paths = document.paths as Record<string, Record<string, Json>>;
      for (const route of ROUTES) {
        const operation = paths[route.path]?.[route.method.toLowerCase()];
        assert.ok(operation, `${route.method} ${route.path}`);
        assert.equal(operation.operationId, route.operationId);
        assert.equal(operation["x-graphql-operation"], route.operation);
        assert.equal(operation.deprecated === true, route.deprecated !== undefined);
      }
      // Besides the routes, each path documents the methods it does not serve: 405 only, no operationId.
      const entries = Object.values(paths).flatMap((item) => Object.values(item));
      assert.equal(entries.filter((operation) => operation.operationId !== undefined).length, ROUTES.length);
      for (const operation of entries.filter((entry) => entry.operationId === undefined)) assert.deepEqual(Object.keys(operation.responses as Json), ["405"]);
    });

    it("has component schemas that compile under ajv's strict draft 2020-12 and follow the GraphQL types", () => {
      const components = (rest.document.components as { schemas: Record<string, Json> }).schemas;
      const ajv = new Ajv2020({ strict: true, allowUnionTypes: true });
      addFormats(ajv);
      ajv.addKeyword({ keyword: "example" });
      // Only the container is exempt from strict mode: each schema in it compiles strictly.
      ajv.addKeyword({ keyword: "components" });
      ajv.addSchema({ $id: "https://sunday.test/openapi", components: { schemas: components } });
      for (const name of Object.keys(components)) {
        assert.doesNotThrow(() => ajv.getSchema(`https://sunday.test/openapi#/components/schemas/${name}`), name);
      }
      const board = components.Board as { properties: Record<string, Json>; required: string[] };
      const kind = API_SCHEMA.getType("BoardKind") as GraphQLEnumType;
      assert.deepEqual(
        board.properties.kind?.enum,
        kind.getValues().map((value) => value.name),
      );
      assert.deepEqual(board.properties.description?.type, ["string", "null"], "a nullable GraphQL field is nullable here");
      assert.equal(board.properties.createdAt?.format, "date-time");
      const createBoard = components.CreateBoardRequest as { required: string[]; additionalProperties: boolean };
      assert.deepEqual([...createBoard.required].sort(), ["name", "workspaceId"]);
      assert.equal(createBoard.additionalProperties, false);
    });

    it("is served on the bare path too, and Swagger UI at /api/v1/docs runs from local assets", async () => {
      const bare = await fetch(`${harness.stack.gateway.url}/api/openapi.json`);
      assert.deepEqual(await bare.json(), rest.document);
      const page = await fetch(`${harness.stack.gateway.url}/api/v1/docs`);
      assert.equal(page.status, 200);
      assert.match(page.headers.get("content-type") ?? "", /text\/html/);
      assert.match(page.headers.get("content-security-policy") ?? "", /script-src 'self'/);
      const html = await page.text();
      const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1] as string);
      assert.ok(assets.length >= 4);
      for (const asset of assets) {
        assert.ok(asset.startsWith("/api/v1/docs/"), `${asset} is served by us, not a CDN`);
        const response = await fetch(`${harness.stack.gateway.url}${asset}`);
        assert.equal(response.status, 200, asset);
        assert.ok((await response.arrayBuffer()).byteLength > 0);
      }
      const init = await (await fetch(`${harness.stack.gateway.url}/api/v1/docs/init.js`)).text();
      assert.ok(init.includes('"/api/v1/openapi.json"'));
      // Only the files the page needs: the package's other files are not served.
      assert.equal((await fetch(`${harness.stack.gateway.url}/api/v1/docs/assets/package.json`)).status, 404);
    });
  });
});
