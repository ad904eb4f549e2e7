import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { connect } from "node:net";
import { Readable } from "node:stream";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { getIntrospectionQuery } from "graphql";
import { Agent, request as undiciRequest } from "undici";
import { startGateway, type GatewayOptions, type RunningGateway } from "../gateway/src/server.ts";
import { assertProblem, RestClient } from "./support/rest.ts";
import { startHarness, TEST_JWT, TEST_SIGNING_SECRET, type Harness } from "./support/harness.ts";

const SUPERGRAPH = await readFile(new URL("../supergraph.graphql", import.meta.url), "utf8");
const APP_ORIGIN = "https://app.example.com";

/** Raw bytes on one new connection; resolves with everything the server sent once it closes or `untilMs` passes. */
function rawExchange(port: number, bytes: string, untilMs = 3_000): Promise<{ text: string; closed: boolean; elapsedMs: number }> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    const started = performance.now();
    let text = "";
    const finish = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ text, closed, elapsedMs: performance.now() - started });
    };
    const timer = setTimeout(() => finish(false), untilMs);
    socket.on("data", (chunk) => (text += chunk.toString("latin1")));
    socket.on("error", () => finish(true));
    socket.on("close", () => finish(true));
    socket.write(bytes);
  });
}

/** A body sent in 64 KB chunks without a Content-Length (Transfer-Encoding: chunked). */
function chunkedBody(totalBytes: number): Readable {
  const piece = Buffer.alloc(64 * 1024, "x");
  return Readable.from(
    (function* () {
      for (let sent = 0; sent < totalBytes; sent += piece.length) yield piece;
    })(),
  );
}

describe("HTTP edge: keep-alive after refusals, parser errors, HEAD, CORS, compression, GraphQL over HTTP", () => {
  let harness: Harness;
  let owner: string;
  let port: number;
  const extra: RunningGateway[] = [];

  const gatewayWith = async (options: Partial<GatewayOptions>) => {
    const gateway = await startGateway({
      supergraph: { sdl: SUPERGRAPH },
      signingSecret: TEST_SIGNING_SECRET,
      jwt: TEST_JWT,
      subgraphUrls: harness.stack.subgraphUrls,
      redis: harness.redis,
      redisPrefix: `${harness.redisPrefix}extra${extra.length}:`,
      ...options,
    });
    extra.push(gateway);
    return gateway;
  };

  before(async () => {
    harness = await startHarness("http_edge");
    owner = await harness.token(0, "OWNER");
    port = Number(new URL(harness.stack.gateway.url).port);
  });
  after(async () => {
    for (const gateway of extra) await gateway.dispose();
    await harness?.dispose();
  });

  describe("a refused request leaves the connection usable", () => {
    // One connection: the second request goes where the first went (or, if the server closed it,
    // on a fresh one); either way it must be answered at once, not after the 65 s keep-alive timeout.
    const oneConnection = () => new Agent({ connections: 1, pipelining: 1, keepAliveTimeout: 30_000 });

    async function refusedThenServed(first: Parameters<typeof undiciRequest>[1] & { path: string }, expectedStatus: number) {
      const agent = oneConnection();
      try {
        const { path, ...options } = first;
        const refused = await undiciRequest(`${harness.stack.gateway.url}${path}`, { ...options, dispatcher: agent, signal: AbortSignal.timeout(5_000) });
        const refusedBody = await refused.body.text();
        assert.equal(refused.statusCode, expectedStatus, refusedBody);
        const started = performance.now();
        const next = await undiciRequest(`${harness.stack.gateway.url}/graphql`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${owner}` },
          body: JSON.stringify({ query: "{ me { id } }" }),
          dispatcher: agent,
          signal: AbortSignal.timeout(5_000),
        });
        assert.equal(next.statusCode, 200);
        assert.deepEqual(await next.body.json(), { data: { me: { id: harness.seed.organizations[0].userIdsByRole.OWNER } } });
        assert.ok(performance.now() - started < 2_000, `the next request took ${performance.now() - started} ms`);
        return refusedBody;
      } finally {
        await agent.close();
      }
    }

    it("after a 413 for a chunked GraphQL body over 1 MB", async () => {
      const body = await refusedThenServed({ path: "/graphql", method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${owner}` }, body: chunkedBody(2_000_000) }, 413);
      assert.equal((JSON.parse(body) as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions.code, "PAYLOAD_TOO_LARGE");
    });

    it("after a 413 for a chunked REST body over 1 MB", async () => {
      const body = await refusedThenServed(
        { path: "/api/v1/boards", method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${owner}` }, body: chunkedBody(2_000_000) },
        413,
      );
      assert.equal((JSON.parse(body) as { code: string }).code, "PAYLOAD_TOO_LARGE");
    });

    it("after a 401 or 415 answered before a large body was read", async () => {
      await refusedThenServed({ path: "/graphql", method: "POST", headers: { "content-type": "application/json" }, body: Buffer.alloc(600_000, " ") }, 401);
      await refusedThenServed({ path: "/graphql", method: "POST", headers: { "content-type": "text/plain", authorization: `Bearer ${owner}` }, body: chunkedBody(600_000) }, 415);
      await refusedThenServed({ path: "/api/v1/boards", method: "POST", headers: { "content-type": "application/json" }, body: chunkedBody(600_000) }, 401);
    });

    it("on a raw socket: the refusal says Connection: close and the socket closes at once", async () => {
      const head = `POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer ${owner}\r\nTransfer-Encoding: chunked\r\n\r\n`;
      const piece = "x".repeat(64 * 1024);
      const chunks = Array.from({ length: 20 }, () => `${piece.length.toString(16)}\r\n${piece}\r\n`).join("");
      const exchange = await rawExchange(port, `${head}${chunks}0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n`, 10_000);
      assert.match(exchange.text, /^HTTP\/1\.1 413 /);
      assert.match(exchange.text, /\r\nconnection: close\r\n/i);
      assert.ok(exchange.closed && exchange.elapsedMs < 5_000, `closed ${exchange.closed} after ${exchange.elapsedMs} ms`);
    });
  });

  describe("requests Node's parser refuses get a body with a code", () => {
    const problemOf = (text: string) => {
      const [head = "", body = ""] = text.split("\r\n\r\n");
      return { head, body: JSON.parse(body) as { status: number; code: string; correlationId: string } };
    };

    it("431 HEADERS_TOO_LARGE for headers over 16 KB", async () => {
      const exchange = await rawExchange(port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`);
      const { head, body } = problemOf(exchange.text);
      assert.match(head, /^HTTP\/1\.1 431 /);
      assert.match(head, /content-type: application\/problem\+json/i);
      assert.equal(body.code, "HEADERS_TOO_LARGE");
      assert.equal(body.status, 431);
      assert.match(head, new RegExp(`x-correlation-id: ${body.correlationId}`, "i"));
    });

    it("400 INVALID_METHOD for an unknown method, 400 INVALID_HEADER for a bad header byte", async () => {
      const method = problemOf((await rawExchange(port, "BREW /graphql HTTP/1.1\r\nHost: x\r\n\r\n")).text);
      assert.match(method.head, /^HTTP\/1\.1 400 /);
      assert.equal(method.body.code, "INVALID_METHOD");
      const header = problemOf((await rawExchange(port, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Bad\u0001: y\r\n\r\n")).text);
      assert.match(header.head, /^HTTP\/1\.1 400 /);
      assert.equal(header.body.code, "INVALID_HEADER");
    });
  });

  describe("HEAD", () => {
    it("answers every GET route with the GET's status and headers and no body", async () => {
      const board = harness.seed.organizations[0].boards[0];
      const paths = ["/healthz", "/readyz", "/api/v1/openapi.json", "/api/v1/users/me", `/api/v1/boards/${board.id}`, `/api/v1/boards/${board.id}/items?limit=2`];
      for (const path of paths) {
        for (const encoding of ["identity", "br"]) {
          const headers = { authorization: `Bearer ${owner}`, "accept-encoding": encoding };
          const get = await undiciRequest(`${harness.stack.gateway.url}${path}`, { method: "GET", headers });
          const getBody = Buffer.from(await get.body.arrayBuffer());
          const head = await undiciRequest(`${harness.stack.gateway.url}${path}`, { method: "HEAD", headers });
          assert.equal(head.statusCode, get.statusCode, `HEAD ${path}`);
          assert.equal(Buffer.from(await head.body.arrayBuffer()).length, 0, `HEAD ${path} has no body`);
          for (const name of ["content-type", "content-length", "content-encoding", "etag", "link", "vary", "cache-control", "x-ratelimit-limit"]) {
            assert.equal(head.headers[name], get.headers[name], `HEAD ${path} (${encoding}): ${name}`);
          }
          if (get.headers["content-length"] !== undefined) assert.equal(Number(get.headers["content-length"]), getBody.length);
        }
      }
    });

    it("is 405 where GET is not served", async () => {
      const response = await fetch(`${harness.stack.gateway.url}/api/v1/items/${harness.seed.organizations[0].boards[0].id}/column-values/x`, {
        method: "HEAD",
        headers: { authorization: `Bearer ${owner}` },
      });
      assert.equal(response.status, 405);
    });
  });

  describe("CORS", () => {
    it("answers a preflight from an allowed origin with methods, headers, max age and Vary: Origin", async () => {
      const gateway = await gatewayWith({ cors: { origins: [APP_ORIGIN] } });
      const preflight = await fetch(`${gateway.url}/graphql`, {
        method: "OPTIONS",
        headers: { origin: APP_ORIGIN, "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" },
      });
      assert.equal(preflight.status, 204);
      assert.equal(preflight.headers.get("access-control-allow-origin"), APP_ORIGIN);
      assert.match(preflight.headers.get("access-control-allow-methods") ?? "", /\bPOST\b/);
      assert.match(preflight.headers.get("access-control-allow-methods") ?? "", /\bPATCH\b/);
      assert.match(preflight.headers.get("access-control-allow-headers") ?? "", /\bAuthorization\b/i);
      assert.match(preflight.headers.get("access-control-allow-headers") ?? "", /\bIdempotency-Key\b/i);
      assert.equal(preflight.headers.get("access-control-max-age"), "600");
      assert.match(preflight.headers.get("vary") ?? "", /\bOrigin\b/);

      const actual = await fetch(`${gateway.url}/api/v1/users/me`, { headers: { origin: APP_ORIGIN, authorization: `Bearer ${owner}` } });
      assert.equal(actual.status, 200);
      assert.equal(actual.headers.get("access-control-allow-origin"), APP_ORIGIN);
      const exposed = (actual.headers.get("access-control-expose-headers") ?? "").toLowerCase();
      for (const name of ["x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "etag", "link", "x-correlation-id"]) assert.ok(exposed.includes(name), `${name} exposed: ${exposed}`);
      assert.match(actual.headers.get("vary") ?? "", /\bOrigin\b/);
    });

    it("allows no other origin, and none at all without configuration", async () => {
      const gateway = await gatewayWith({ cors: { origins: [APP_ORIGIN] } });
      const other = await fetch(`${gateway.url}/graphql`, { method: "OPTIONS", headers: { origin: "https://evil.example", "access-control-request-method": "POST" } });
      assert.equal(other.headers.get("access-control-allow-origin"), null);
      assert.match(other.headers.get("vary") ?? "", /\bOrigin\b/);
      const unconfigured = await fetch(`${harness.stack.gateway.url}/api/v1/users/me`, { headers: { origin: APP_ORIGIN, authorization: `Bearer ${owner}` } });
      assert.equal(unconfigured.status, 200);
      assert.equal(unconfigured.headers.get("access-control-allow-origin"), null);
    });
  });

  describe("compression", () => {
    const raw = (path: string, acceptEncoding: string) => undiciRequest(`${harness.stack.gateway.url}${path}`, { headers: { "accept-encoding": acceptEncoding, authorization: `Bearer ${owner}` } });

    it("sends JSON over 1 KB as br or gzip when accepted, with Vary: Accept-Encoding", async () => {
      const plain = await raw("/api/v1/openapi.json", "identity");
      const plainText = await plain.body.text();
      assert.equal(plain.headers["content-encoding"], undefined);
      assert.match(String(plain.headers.vary), /Accept-Encoding/);
      assert.ok(plainText.length > 1024);
      for (const [accept, encoding, decode] of [
        ["gzip, deflate, br", "br", brotliDecompressSync],
        ["gzip", "gzip", gunzipSync],
        ["br;q=0, gzip;q=0.5", "gzip", gunzipSync],
      ] as const) {
        const response = await raw("/api/v1/openapi.json", accept);
        const bytes = Buffer.from(await response.body.arrayBuffer());
        assert.equal(response.headers["content-encoding"], encoding, accept);
        assert.match(String(response.headers.vary), /Accept-Encoding/);
        assert.equal(Number(response.headers["content-length"]), bytes.length);
        assert.ok(bytes.length < plainText.length / 3, `${encoding}: ${bytes.length} of ${plainText.length} bytes`);
        assert.equal(decode(bytes).toString("utf8"), plainText);
      }
    });

    it("compresses GraphQL answers too, and leaves small answers alone", async () => {
      const board = harness.seed.organizations[0].boards[0];
      const graphql = await undiciRequest(`${harness.stack.gateway.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", "accept-encoding": "gzip", authorization: `Bearer ${owner}` },
        body: JSON.stringify({ query: `query ($id: ID!) { board(id: $id) { items(first: 50) { nodes { id name } } } }`, variables: { id: board.id } }),
      });
      assert.equal(graphql.headers["content-encoding"], "gzip");
      const data = JSON.parse(gunzipSync(Buffer.from(await graphql.body.arrayBuffer())).toString("utf8")) as { data: { board: { items: { nodes: unknown[] } } } };
      assert.equal(data.data.board.items.nodes.length, 50);

      const small = await raw("/healthz", "br, gzip");
      assert.equal(small.headers["content-encoding"], undefined);
      assert.deepEqual(await small.body.json(), { status: "ok" });
    });
  });

  describe("the OpenAPI document", () => {
    type Operation = { operationId?: string; responses: Record<string, unknown>; parameters?: { name: string; in?: string; schema?: { maxLength?: number }; $ref?: string }[] };

    it("lists 405 for each path's missing methods, and the refusal conforms to it", async () => {
      const rest = await RestClient.connect(harness);
      const paths = rest.document.paths as Record<string, Record<string, Operation>>;
      for (const [path, operations] of Object.entries(paths)) {
        for (const method of ["get", "post", "put", "patch", "delete"]) {
          const operation = operations[method];
          assert.ok(operation, `${method} ${path} is documented`);
          if (!operation.operationId) assert.deepEqual(Object.keys(operation.responses), ["405"], `${method} ${path}`);
        }
      }
      assert.equal(paths["/users/me"]?.delete?.operationId, undefined);
      const refused = await rest.call("DELETE", "/api/v1/users/me", { token: owner });
      assertProblem(refused, 405, "METHOD_NOT_ALLOWED");
      assert.equal(refused.headers.get("allow"), "GET, HEAD");
      const withParameter = await rest.call("PUT", `/api/v1/boards/${harness.seed.organizations[0].boards[0].id}`, { token: owner });
      assertProblem(withParameter, 405, "METHOD_NOT_ALLOWED");
    });

    it("bounds search, and lists 304, 401, 403, 406, 429, 502 and 503 on every read", async () => {
      const rest = await RestClient.connect(harness);
      const paths = rest.document.paths as Record<string, Record<string, Operation>>;
      let searches = 0;
      for (const [path, operations] of Object.entries(paths)) {
        const get = operations.get;
        if (!get?.operationId) continue;
        for (const status of ["304", "400", "401", "403", "406", "429", "502", "503"]) assert.ok(get.responses[status], `GET ${path} documents ${status}`);
        const search = get.parameters?.find((parameter) => parameter.name === "search");
        if (search) {
          searches += 1;
          assert.ok((search.schema?.maxLength ?? 0) > 0, `GET ${path}: search has a maxLength`);
        }
      }
      assert.ok(searches >= 3, `${searches} routes take search`);
      const items = paths["/boards/{id}/items"]?.post ?? paths["/boards/{boardId}/items"]?.post;
      for (const status of ["401", "403", "404", "409", "413", "415", "422", "429", "502", "503"]) assert.ok(items?.responses[status], `createItem documents ${status}`);
    });
  });

  describe("GraphQL over HTTP", () => {
    const post = async (body: unknown, headers: Record<string, string> = {}) => {
      const response = await fetch(`${harness.stack.gateway.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${owner}`, ...headers },
        body: typeof body === "string" ? body : JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] } };
    };
    const codeOf = (result: { body: { errors?: { extensions?: { code?: string } }[] } }) => result.body.errors?.map((error) => error.extensions?.code);

    it("answers 400 with a code when the operation to run cannot be chosen", async () => {
      const two = "query A { me { id } } query B { me { name } }";
      assert.deepEqual(codeOf(await post({ query: two })), ["OPERATION_NAME_REQUIRED"]);
      assert.equal((await post({ query: two })).status, 400);
      const unknown = await post({ query: two, operationName: "C" });
      assert.equal(unknown.status, 400);
      assert.deepEqual(codeOf(unknown), ["OPERATION_NOT_FOUND"]);
      const chosen = await post({ query: two, operationName: "B" });
      assert.equal(chosen.status, 200);
    });

    it("refuses a subscription over HTTP, pointing at the WebSocket", async () => {
      const subscription = `subscription ($id: ID!) { boardActivity(boardId: $id) { __typename } }`;
      const viaPost = await post({ query: subscription, variables: { id: harness.seed.organizations[0].boards[0].id } });
      assert.equal(viaPost.status, 400);
      assert.deepEqual(codeOf(viaPost), ["SUBSCRIPTION_REQUIRES_WEBSOCKET"]);
      assert.match(viaPost.body.errors?.[0]?.message ?? "", /WebSocket/);
      const viaGet = await fetch(`${harness.stack.gateway.url}/graphql?query=${encodeURIComponent(subscription)}`, {
        headers: { authorization: `Bearer ${owner}`, "apollo-require-preflight": "true" },
      });
      assert.equal(viaGet.status, 405);
    });

    it("refuses a literal nested thousands deep under the token limit with NESTING_LIMIT_EXCEEDED, before the parser overflows", async () => {
      const query = `query Deep { __typename(x: ${"[".repeat(2_000)}1${"]".repeat(2_000)}) }`;
      const result = await post({ query, operationName: "Deep" });
      assert.equal(result.status, 400);
      assert.deepEqual(codeOf(result), ["NESTING_LIMIT_EXCEEDED"]);
      assert.doesNotMatch(JSON.stringify(result.body), /call stack/);
    });

    it("executes only application/json bodies: anything else is 415", async () => {
      for (const contentType of ["application/xml", "text/html", "text/plain", "application/x-www-form-urlencoded"]) {
        const result = await post({ query: "{ me { id } }" }, { "content-type": contentType });
        assert.equal(result.status, 415, contentType);
        assert.deepEqual(codeOf(result), ["UNSUPPORTED_MEDIA_TYPE"]);
      }
      const charset = await post({ query: "{ me { id } }" }, { "content-type": "application/json; charset=utf-8" });
      assert.equal(charset.status, 200);
    });
  });

  describe("anonymous callers", () => {
    const anonymous = (url: string, query: string, operationName?: string) =>
      fetch(`${url}/graphql`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query, operationName }) });
    const huge = `{ ${"__typename ".repeat(6_000)} }`;

    it("meet the token limit before their document is parsed in development, and are refused before it is read otherwise", async () => {
      const development = await gatewayWith({ development: true });
      const refused = await anonymous(development.url, `{ me { id } ${"__typename ".repeat(6_000)} }`);
      assert.equal(refused.status, 400);
      const body = (await refused.json()) as { errors: { extensions: { code: string; limit: number } }[] };
      assert.equal(body.errors[0]?.extensions.code, "TOKEN_LIMIT_EXCEEDED");
      assert.equal(body.errors[0]?.extensions.limit, 5000);
      const production = await anonymous(harness.stack.gateway.url, huge);
      assert.equal(production.status, 401);
    });

    it("may run GraphiQL's standard introspection query (with fragments) in development only", async () => {
      const development = await gatewayWith({ development: true });
      const introspection = await anonymous(development.url, getIntrospectionQuery(), "IntrospectionQuery");
      assert.equal(introspection.status, 200);
      const result = (await introspection.json()) as { data: { __schema: { queryType: { name: string }; types: unknown[] } } };
      assert.equal(result.data.__schema.queryType.name, "Query");
      assert.ok(result.data.__schema.types.length > 20);
      const mixed = await anonymous(development.url, "{ __typename me { id } }");
      assert.equal(mixed.status, 401);
      const spreadAtRoot = await anonymous(development.url, "{ ...Q } fragment Q on Query { me { id } }");
      assert.equal(spreadAtRoot.status, 401);
      const production = await anonymous(harness.stack.gateway.url, getIntrospectionQuery(), "IntrospectionQuery");
      assert.equal(production.status, 401);
    });

    it("are rate limited per client address", async () => {
      const limited = await gatewayWith({ development: true, rateLimit: { perMinute: 3, perHour: 100 } });
      const statuses: number[] = [];
      const limits: { limit: string | null; remaining: string | null }[] = [];
      for (let attempt = 0; attempt < 4; attempt += 1) {
        const response = await anonymous(limited.url, "{ __typename }");
        statuses.push(response.status);
        limits.push({ limit: response.headers.get("x-ratelimit-limit"), remaining: response.headers.get("x-ratelimit-remaining") });
        const reset = Number(response.headers.get("x-ratelimit-reset") ?? Number.NaN);
        assert.ok(Number.isInteger(reset) && reset >= 1 && reset <= 60, `X-RateLimit-Reset ${reset} of attempt ${attempt + 1}: in the minute window`);
        if (attempt === 3) {
          assert.equal(response.headers.get("x-ratelimit-limit"), "3");
          assert.ok(Number(response.headers.get("retry-after")) >= 1);
          assert.equal(Number(response.headers.get("retry-after")), reset, "retry when the window resets");
          assert.equal(((await response.json()) as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions.code, "RATE_LIMITED");
        }
      }
      assert.deepEqual(statuses, [200, 200, 200, 429]);
      assert.deepEqual(limits, [
        { limit: "3", remaining: "2" },
        { limit: "3", remaining: "1" },
        { limit: "3", remaining: "0" },
        { limit: "3", remaining: "0" },
      ]);
      // An authenticated caller from the same address has a budget of its own.
      const authenticated = await fetch(`${limited.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${owner}` },
        body: JSON.stringify({ query: "{ me { id } }" }),
      });
      assert.equal(authenticated.status, 200);
    });
  });
});
