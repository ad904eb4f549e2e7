/**
 * Client mistakes in values (issue 9, item 4): each is a 4xx (REST problem+json with a code) or a
 * GraphQL error with `extensions.code`, never a 5xx, and never a 2xx that stores something else
 * than what was sent.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { GraphQLObjectType, GraphQLSchema, graphql } from "graphql";
import { codes, startHarness, type Harness } from "./support/harness.ts";
import { RestClient, assertProblem, stateOf } from "./support/rest.ts";
import { ROUTES } from "../gateway/src/rest/routes.ts";
import { BoundedJSON, jsonValueProblem, likeContains, requireText, textProblem } from "../subgraphs/shared/validation.ts";
import { decodeCursor } from "../subgraphs/shared/pagination.ts";

const json = { "content-type": "application/json" };
/** A JSON array nested `depth` deep, as text: built without recursion, like an attacker would. */
const nested = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;
const cursorOf = (text: string) => Buffer.from(text).toString("base64url");
const NIL = "00000000-0000-0000-0000-000000000000";
const SOME_ID = "6f1c2b9e-3d4a-4b5c-8d6e-7f8091a2b3c4";

describe("the shared input rules (subgraphs/shared/validation.ts)", () => {
  it("measures a JSON value nested a million deep without overflowing the stack", () => {
    let value: unknown = [];
    for (let level = 0; level < 1_000_000; level += 1) value = [value];
    assert.match(jsonValueProblem(value)?.message ?? "", /nested more than 32/);
    let ok: unknown = 1;
    for (let level = 0; level < 32; level += 1) ok = [ok];
    assert.equal(jsonValueProblem(ok), null);
  });

  it("refuses non-finite numbers, NUL and unpaired surrogates inside JSON values, and oversized ones", () => {
    assert.match(jsonValueProblem({ a: [1, Infinity] })?.message ?? "", /finite/);
    assert.deepEqual(jsonValueProblem({ a: [1, Infinity] })?.path, ["a", 1]);
    assert.match(jsonValueProblem({ label: "a\u0000b" })?.message ?? "", /U\+0000/);
    assert.match(jsonValueProblem({ "k\u0000": 1 })?.message ?? "", /key/);
    assert.match(jsonValueProblem(["\ud800"])?.message ?? "", /surrogate/);
    assert.match(jsonValueProblem("x".repeat(16_001))?.message ?? "", /at most 16000/);
    assert.equal(jsonValueProblem({ text: "emoji 😀, right-to-left \u202b, tab\t" }), null);
  });

  it("allows line breaks in multi-line text but no control or bidi override characters in names", () => {
    assert.equal(textProblem("line\r\nbreak\tand tab", "multi-line"), null);
    assert.equal(textProblem("😀 שלום", "single-line"), null);
    for (const bad of ["a\u0000", "a\n", "a\t", "a\u007f", "a\u0085", "a\u202e", "a\u2066", "a\ud800", "\udc00a"]) {
      assert.notEqual(textProblem(bad, "single-line"), null, JSON.stringify(bad));
    }
    for (const bad of ["a\u0000", "a\u0007", "a\ud800"]) assert.notEqual(textProblem(bad, "multi-line"), null, JSON.stringify(bad));
    assert.throws(
      () => requireText("name\u202e", "name", { max: 10 }),
      (error: { extensions: { code: string; field: string } }) => error.extensions.code === "BAD_USER_INPUT" && error.extensions.field === "name",
    );
  });

  it("escapes LIKE wildcards and the escape character", () => {
    assert.equal(likeContains("100%_\\"), "%100\\%\\_\\\\%");
  });

  it("decodes only cursors of the list's key type with a UUID id", () => {
    const id = SOME_ID;
    assert.deepEqual(decodeCursor(cursorOf(`["2025-12-09T09:00:00.000Z","${id}"]`), "date"), { key: "2025-12-09T09:00:00.000Z", id });
    assert.deepEqual(decodeCursor(cursorOf(`[1024.5,"${id}"]`), "number"), { key: 1024.5, id });
    for (const forged of [
      '[1e999,"a"]',
      '["x","y"]',
      `[1e999,"${id}"]`,
      `["2026-02-30T00:00:00.000Z","${id}"]`,
      `["2026-01-01","${id}"]`,
      `["2026-01-01T00:00:00.000Z","y"]`,
      `["2026-01-01T00:00:00.000Z","${NIL}"]`,
    ]) {
      assert.throws(
        () => decodeCursor(cursorOf(forged), "date"),
        (error: { extensions: { code: string; reason: string } }) => error.extensions.code === "BAD_USER_INPUT" && error.extensions.reason === "CURSOR_INVALID",
        forged,
      );
    }
    assert.throws(() => decodeCursor(cursorOf(`["2026-01-01T00:00:00.000Z","${id}"]`), "number"), /another ordering/);
  });

  it("gives every subgraph a JSON scalar that refuses deep literals and bad variables (defence in depth)", async () => {
    const schema = new GraphQLSchema({
      query: new GraphQLObjectType({ name: "Query", fields: { echo: { type: BoundedJSON, args: { value: { type: BoundedJSON } }, resolve: (_root, args: { value?: unknown }) => args.value } } }),
    });
    const rootValue = {};
    const literal = await graphql({ schema, rootValue, source: `{ echo(value: ${nested(200)}) }` });
    assert.equal(literal.errors?.[0]?.extensions.code, "BAD_USER_INPUT");
    const variable = await graphql({ schema, rootValue, source: "query($v: JSON) { echo(value: $v) }", variableValues: { v: { n: Infinity } } });
    assert.equal(variable.errors?.[0]?.extensions.code, "BAD_USER_INPUT");
    const fine = await graphql({ schema, rootValue, source: "query($v: JSON) { echo(value: $v) }", variableValues: { v: { n: [1, "two"] } } });
    assert.deepEqual(fine.data?.echo, { n: [1, "two"] });
  });
});

describe("bad values through the API", () => {
  let harness: Harness;
  let rest: RestClient;
  let owner: string;
  const acme = () => harness.seed.organizations[0];
  const board = () => acme().boards[0];
  const item = () => board().itemIds[3] as string;
  const column = (type: keyof ReturnType<typeof board>["columnIds"]) => board().columnIds[type];
  const call = (method: string, path: string, request: { json?: unknown; raw?: string; headers?: Record<string, string> } = {}) =>
    rest.call(method, path, { token: owner, ...request, headers: { ...(request.raw !== undefined ? json : {}), ...request.headers } });
  /** POST /graphql with a body written by hand (values JSON.stringify cannot produce). */
  const rawGraphQL = async (body: string) => {
    const response = await fetch(`${harness.stack.gateway.url}/graphql`, { method: "POST", headers: { ...json, authorization: `Bearer ${owner}` }, body });
    return { status: response.status, body: (await response.json()) as { data?: unknown; errors?: { message: string; extensions?: { code?: string; field?: string } }[] } };
  };
  const storedValue = async (columnId: string) => (await harness.prisma.columnValue.findUnique({ where: { itemId_columnId: { itemId: item(), columnId } } }))?.value ?? null;

  before(async () => {
    harness = await startHarness("bad_values");
    rest = await RestClient.connect(harness);
    owner = await harness.token(0, "OWNER");
  });
  after(() => harness?.dispose());

  describe("free-form JSON values nested 5,000 deep", () => {
    it("PUT column-values refuses the value with 422 naming it, and stores nothing", async () => {
      const before = await stateOf(harness);
      const response = await call("PUT", `/api/v1/items/${item()}/column-values/${column("TEXT")}`, { raw: `{"value":${nested(5_000)}}` });
      const problem = assertProblem(response, 422, "BAD_USER_INPUT");
      assert.ok(
        problem.errors?.some((error) => error.field === "value"),
        JSON.stringify(problem.errors),
      );
      assert.deepEqual(await stateOf(harness), before);
    });

    it("POST items with an Idempotency-Key refuses columnValues[].value with 422, not a RangeError 500", async () => {
      const before = await stateOf(harness);
      const body = `{"name":"Deep","groupId":"${board().groupIds[0]}","columnValues":[{"columnId":"${column("TEXT")}","value":${nested(5_000)}}]}`;
      for (let attempt = 0; attempt < 2; attempt += 1) {
        const response = await call("POST", `/api/v1/boards/${board().id}/items`, { raw: body, headers: { "idempotency-key": "deep-value-1" } });
        const problem = assertProblem(response, 422, "BAD_USER_INPUT");
        assert.ok(
          problem.errors?.some((error) => error.field === "columnValues/0/value"),
          JSON.stringify(problem.errors),
        );
      }
      assert.deepEqual(await stateOf(harness), before);
    });

    it("answers a body of 100,000 wrongly typed entries with at most 50 field errors, not one per entry", async () => {
      const before = await stateOf(harness);
      const entries = new Array(100_000).fill(1).join(",");
      const response = await call("POST", `/api/v1/boards/${board().id}/items`, { raw: `{"name":"Many","groupId":"${board().groupIds[0]}","columnValues":[${entries}]}` });
      const problem = assertProblem(response, 422, "BAD_USER_INPUT");
      assert.ok((problem.errors?.length ?? 0) > 0 && (problem.errors?.length ?? 0) <= 50, String(problem.errors?.length));
      assert.deepEqual(await stateOf(harness), before);
    });

    it("POST integrations/{type}/enable refuses a deep config with 422", async () => {
      const before = await stateOf(harness);
      const response = await call("POST", "/api/v1/integrations/slack/enable", { raw: `{"config":{"channels":${nested(5_000)}}}` });
      const problem = assertProblem(response, 422, "BAD_USER_INPUT");
      assert.ok(
        problem.errors?.some((error) => error.field === "config"),
        JSON.stringify(problem.errors),
      );
      assert.deepEqual(await stateOf(harness), before);
    });

    it("GraphQL refuses a deep createItem value (variable or literal) with BAD_USER_INPUT or NESTING_LIMIT_EXCEEDED, not SUBGRAPH_UNAVAILABLE", async () => {
      const before = await stateOf(harness);
      const mutation = `mutation($v: JSON) { createItem(input: { boardId: \\"${board().id}\\", groupId: \\"${board().groupIds[0]}\\", name: \\"Deep\\", columnValues: [{ columnId: \\"${column("TEXT")}\\", value: $v }] }) { id } }`;
      const byVariable = await rawGraphQL(`{"query":"${mutation}","variables":{"v":${nested(5_000)}}}`);
      assert.deepEqual(
        byVariable.body.errors?.map((error) => error.extensions?.code),
        ["BAD_USER_INPUT"],
        JSON.stringify(byVariable.body).slice(0, 300),
      );
      const literal = (depth: number) =>
        `mutation { createItem(input: { boardId: \\"${board().id}\\", groupId: \\"${board().groupIds[0]}\\", name: \\"Deep\\", columnValues: [{ columnId: \\"${column("TEXT")}\\", value: ${nested(depth)} }] }) { id } }`;
      // Over the JSON bound (32) but within the document's bracket nesting (128): the value is refused.
      const byLiteral = await rawGraphQL(`{"query":"${literal(40)}"}`);
      assert.deepEqual(
        byLiteral.body.errors?.map((error) => error.extensions?.code),
        ["BAD_USER_INPUT"],
        JSON.stringify(byLiteral.body).slice(0, 300),
      );
      // A thousand deep never reaches the parser.
      const tooDeep = await rawGraphQL(`{"query":"${literal(1_000)}"}`);
      assert.deepEqual(
        tooDeep.body.errors?.map((error) => error.extensions?.code),
        ["NESTING_LIMIT_EXCEEDED"],
        JSON.stringify(tooDeep.body).slice(0, 300),
      );
      const config = await rawGraphQL(`{"query":"mutation($c: JSON) { enableIntegration(input: { type: SLACK, config: $c }) { id } }","variables":{"c":{"deep":${nested(5_000)}}}}`);
      assert.deepEqual(
        config.body.errors?.map((error) => error.extensions?.code),
        ["BAD_USER_INPUT"],
        JSON.stringify(config.body).slice(0, 300),
      );
      assert.deepEqual(await stateOf(harness), before);
    });
  });

  describe("numbers and dates that would be stored as something else", () => {
    it("refuses a NUMBER column value of 1e400 (REST, GraphQL variable and literal) and keeps the stored value", async () => {
      assert.equal((await call("PUT", `/api/v1/items/${item()}/column-values/${column("NUMBER")}`, { json: { value: 42 } })).status, 200);
      const before = await stateOf(harness);
      assertProblem(await call("PUT", `/api/v1/items/${item()}/column-values/${column("NUMBER")}`, { raw: '{"value":1e400}' }), 422, "BAD_USER_INPUT");
      const query = `mutation($v: JSON) { setColumnValue(input: { itemId: \\"${item()}\\", columnId: \\"${column("NUMBER")}\\", value: $v }) { id } }`;
      const variable = await rawGraphQL(`{"query":"${query}","variables":{"v":-1e400}}`);
      assert.deepEqual(
        variable.body.errors?.map((error) => error.extensions?.code),
        ["BAD_USER_INPUT"],
      );
      const literal = await rawGraphQL(`{"query":"mutation { setColumnValue(input: { itemId: \\"${item()}\\", columnId: \\"${column("NUMBER")}\\", value: 1e400 }) { id } }"}`);
      assert.deepEqual(
        literal.body.errors?.map((error) => error.extensions?.code),
        ["BAD_USER_INPUT"],
      );
      assert.equal(await storedValue(column("NUMBER")), 42);
      assert.deepEqual(await stateOf(harness), before);
    });

    it("refuses dates that are not on the calendar and accepts a leap day", async () => {
      const before = await stateOf(harness);
      for (const value of [{ date: "2026-02-30" }, { date: "2026-04-31" }, { date: "2026-13-01" }]) {
        assertProblem(await call("PUT", `/api/v1/items/${item()}/column-values/${column("DATE")}`, { json: { value } }), 422, "BAD_USER_INPUT");
      }
      assertProblem(await call("PUT", `/api/v1/items/${item()}/column-values/${column("TIMELINE")}`, { json: { value: { from: "2026-02-29", to: "2026-03-10" } } }), 422, "BAD_USER_INPUT");
      assert.deepEqual(await stateOf(harness), before);
      assert.equal((await call("PUT", `/api/v1/items/${item()}/column-values/${column("DATE")}`, { json: { value: { date: "2028-02-29" } } })).status, 200);
      assert.deepEqual(await storedValue(column("DATE")), { date: "2028-02-29" });
    });

    it("refuses a Float literal no JSON can carry (updateGroup position 1e400)", async () => {
      const group = await harness.prisma.group.findUniqueOrThrow({ where: { id: board().groupIds[1] as string } });
      const result = await harness.gql(owner, `mutation { updateGroup(input: { id: "${group.id}", expectedVersion: ${group.version}, position: 1e400 }) { id } }`);
      assert.deepEqual(codes(result), ["BAD_USER_INPUT"]);
      assert.deepEqual(await harness.prisma.group.findUniqueOrThrow({ where: { id: group.id } }), group);
    });
  });

  describe("NUL, unpaired surrogates, control and bidi characters in strings", () => {
    const texts = {
      "a NUL": "Launch\u0000plan",
      "an unpaired surrogate": "Launch \ud83d plan",
      "a bell (C0)": "Launch\u0007plan",
      "a right-to-left override": "Launch \u202egnp.exe",
    };
    for (const [label, name] of Object.entries(texts)) {
      it(`refuses ${label} in board, group and item names, through REST (422) and GraphQL (BAD_USER_INPUT)`, async () => {
        const before = await stateOf(harness);
        const refusals = [
          await call("POST", "/api/v1/boards", { json: { name, workspaceId: acme().workspaceId } }),
          await call("PATCH", `/api/v1/boards/${board().id}`, { json: { name } }),
          await call("POST", `/api/v1/boards/${board().id}/groups`, { json: { name } }),
          await call("POST", `/api/v1/boards/${board().id}/items`, { json: { name, groupId: board().groupIds[0] } }),
          await call("PATCH", `/api/v1/items/${item()}`, { json: { name } }),
        ];
        for (const response of refusals) {
          const problem = assertProblem(response, 422, "BAD_USER_INPUT");
          assert.ok(
            problem.errors?.some((error) => error.field === "name"),
            JSON.stringify(problem),
          );
        }
        const graph = await harness.gql(owner, "mutation($input: CreateWorkspaceInput!) { createWorkspace(input: $input) { id } }", { input: { name } });
        assert.deepEqual(codes(graph), ["BAD_USER_INPUT"]);
        assert.deepEqual(await stateOf(harness), before);
      });
    }

    it("refuses NUL and unpaired surrogates in descriptions, comment bodies and TEXT values, but keeps their line breaks", async () => {
      const before = await stateOf(harness);
      for (const bad of ["a\u0000b", "a\udfffb"]) {
        assertProblem(await call("PATCH", `/api/v1/boards/${board().id}`, { json: { description: bad } }), 422, "BAD_USER_INPUT");
        assertProblem(await call("POST", `/api/v1/items/${item()}/comments`, { json: { body: bad } }), 422, "BAD_USER_INPUT");
        assertProblem(await call("PUT", `/api/v1/items/${item()}/column-values/${column("TEXT")}`, { json: { value: bad } }), 422, "BAD_USER_INPUT");
        assertProblem(await call("PUT", `/api/v1/items/${item()}/column-values/${column("STATUS")}`, { json: { value: { label: bad } } }), 422, "BAD_USER_INPUT");
      }
      assert.deepEqual(await stateOf(harness), before);
      const comment = await call("POST", `/api/v1/items/${item()}/comments`, { json: { body: "first line\nsecond\tline" } });
      assert.equal(comment.status, 201, comment.text);
      assert.equal((comment.body as { body: string }).body, "first line\nsecond\tline");
    });

    it("refuses NUL in search (REST 400 on search, GraphQL BAD_USER_INPUT) on every searchable list", async () => {
      for (const path of ["/api/v1/boards", `/api/v1/boards/${board().id}/items`, "/api/v1/users"]) {
        const problem = assertProblem(await call("GET", `${path}?search=a%00b`), 400, "INVALID_PARAMETERS");
        assert.ok(
          problem.errors?.some((error) => error.field === "search"),
          JSON.stringify(problem.errors),
        );
      }
      const graph = await harness.gql(owner, "query($nul: String, $lone: String) { boards(filter: { search: $nul }) { nodes { id } } users(filter: { search: $lone }) { nodes { id } } }", {
        nul: "a\u0000",
        lone: "\ud800",
      });
      assert.deepEqual(codes(graph), ["BAD_USER_INPUT", "BAD_USER_INPUT"]);
      assertProblem(await call("GET", `/api/v1/boards?search=${"x".repeat(201)}`), 400, "INVALID_PARAMETERS");
    });
  });

  describe("search matches its text literally", () => {
    it("treats %, _ and \\ as themselves on boards, items and users", async () => {
      const created = await call("POST", "/api/v1/boards", { json: { name: "Done 100% of it", workspaceId: acme().workspaceId } });
      assert.equal(created.status, 201);
      const names = async (path: string) => ((await call("GET", path)).body as { data: { name: string }[] }).data.map((entry) => entry.name);
      assert.deepEqual(await names("/api/v1/boards?search=%25"), ["Done 100% of it"]);
      assert.deepEqual(await names("/api/v1/boards?search=_"), []);
      assert.deepEqual(await names("/api/v1/boards?search=%5C"), []);
      assert.deepEqual(await names(`/api/v1/boards/${board().id}/items?search=%25`), []);
      assert.deepEqual(await names(`/api/v1/boards/${board().id}/items?search=_`), []);
      assert.deepEqual(await names("/api/v1/users?search=%25"), []);
      assert.deepEqual(await names("/api/v1/users?search=_"), []);
      // Still a substring match, case-insensitive.
      assert.ok((await names("/api/v1/boards?search=100%25%20OF")).includes("Done 100% of it"));
    });
  });

  describe("paging parameters", () => {
    const paged = ROUTES.filter((route) => route.kind === "page");
    const fill = (path: string) => path.replace("{boardId}", board().id).replace("{itemId}", item()).replace("/webhooks/{id}", `/webhooks/${acme().webhookId}`);
    // Query parameters a route requires (GET /search's `q`), ready to take more after them.
    const required = (route: (typeof ROUTES)[number]) =>
      Object.entries(route.query ?? {})
        .filter(([, parameter]) => parameter.required)
        .map(([name]) => `${name}=x&`)
        .join("");
    for (const route of paged) {
      it(`GET ${route.path} takes only decimal limits of 1 to 100`, async () => {
        for (const limit of ["Infinity", "-Infinity", "NaN", "0x10", "%2B5", "1e1", "5.0", "%205", "0", "101", "99999999999999999999"]) {
          const problem = assertProblem(await call("GET", `/api/v1${fill(route.path)}?${required(route)}limit=${limit}`), 400, "INVALID_PARAMETERS");
          assert.ok(
            problem.errors?.some((error) => error.field === "limit"),
            `${limit}: ${JSON.stringify(problem.errors)}`,
          );
        }
        assert.equal((await call("GET", `/api/v1${fill(route.path)}?${required(route)}limit=100`)).status, 200);
        assert.equal((await call("GET", `/api/v1${fill(route.path)}?${required(route)}limit=007`)).status, 200);
      });

      it(`GET ${route.path} refuses forged cursors with 400, never a SQL error`, async () => {
        const forged = [
          '[1e999,"a"]',
          '["x","y"]',
          '[1,"y"]',
          `[1e999,"${SOME_ID}"]`,
          `["2026-02-30T00:00:00.000Z","${SOME_ID}"]`,
          `["2026-01-01T00:00:00.000Z","y"]`,
          `[{"a":1},"${SOME_ID}"]`,
          '"just a string"',
        ];
        for (const text of forged) {
          const problem = assertProblem(await call("GET", `/api/v1${fill(route.path)}?${required(route)}cursor=${cursorOf(text)}`), 400, "INVALID_PARAMETERS");
          assert.ok(
            problem.errors?.some((error) => error.field === "cursor"),
            `${text}: ${JSON.stringify(problem.errors)}`,
          );
        }
      });
    }

    it("refuses forged cursors on every GraphQL connection with BAD_USER_INPUT (reason CURSOR_INVALID)", async () => {
      const connections = [
        "boards(after: $after) { nodes { id } }",
        "workspaces(after: $after) { nodes { id } }",
        "users(after: $after) { nodes { id } }",
        "apiKeys(after: $after) { nodes { id } }",
        "organization { members(after: $after) { nodes { id } } }",
        "board(id: $board) { items(after: $after) { nodes { id } } }",
        "board(id: $board) { items(after: $after, orderBy: { field: CREATED_AT }) { nodes { id } } }",
        "board(id: $board) { activity(after: $after) { nodes { id } } }",
        "item(id: $item) { comments(after: $after) { nodes { id } } }",
        "me { boards(after: $after) { nodes { id } } }",
        "workspace(id: $workspace) { boards(after: $after) { nodes { id } } }",
      ];
      for (const cursor of [cursorOf(`[1e999,"${SOME_ID}"]`), cursorOf('["2026-01-01T00:00:00.000Z","y"]'), cursorOf('[1,"y"]')]) {
        for (const connection of connections) {
          const used = ["board", "item", "workspace"].filter((name) => connection.includes(`$${name}`));
          const result = await harness.gql(owner, `query(${[...used.map((name) => `$${name}: ID!`), "$after: String"].join(", ")}) { ${connection} }`, {
            ...(used.includes("board") ? { board: board().id } : {}),
            ...(used.includes("item") ? { item: item() } : {}),
            ...(used.includes("workspace") ? { workspace: acme().workspaceId } : {}),
            after: cursor,
          });
          const errors = result.body.errors ?? [];
          assert.equal(errors.length, 1, `${connection}: ${JSON.stringify(result.body)}`);
          assert.equal(errors[0]?.extensions?.code, "BAD_USER_INPUT", JSON.stringify(errors));
          assert.equal((errors[0]!.extensions as { reason?: string }).reason, "CURSOR_INVALID", JSON.stringify(errors));
        }
      }
    });
  });

  describe("query parameter names and path ids", () => {
    it("reports toString, constructor and __proto__ as unknown parameters, not as repeated ones", async () => {
      for (const name of ["toString", "constructor", "__proto__", "hasOwnProperty"]) {
        const problem = assertProblem(await call("GET", `/api/v1/boards?${name}=1`), 400, "INVALID_PARAMETERS");
        assert.deepEqual(problem.errors, [{ field: name, message: "is not a known field" }]);
      }
      const repeated = assertProblem(await call("GET", "/api/v1/boards?search=a&search=b"), 400, "INVALID_PARAMETERS");
      assert.deepEqual(repeated.errors, [{ field: "search", message: "is given more than once" }]);
    });

    it("answers 404 for the nil UUID (and any id that is not a resource) on every route with an id in its path", async () => {
      const withIds = ROUTES.filter((route) => /\{\w*[iI]d\}/.test(route.path));
      assert.ok(withIds.length >= 10);
      const before = await stateOf(harness);
      for (const route of withIds) {
        for (const id of [NIL, "ffffffff-ffff-ffff-ffff-ffffffffffff", "42", SOME_ID]) {
          const path = `/api/v1${route.path.replace(/\{(\w+)\}/g, (_whole, name: string) => (name === "columnId" && id !== NIL ? column("TEXT") : id))}`;
          const bodies: Record<string, unknown> = {
            setColumnValue: { value: "x" },
            addComment: { body: "x" },
            createItem: { name: "x", groupId: board().groupIds[0] },
            setWebhookEnabled: { enabled: true },
          };
          const body = route.method === "GET" || route.method === "DELETE" ? {} : { json: bodies[route.operationId] ?? { name: "x" } };
          const response = await call(route.method, path, body);
          assertProblem(response, 404, "NOT_FOUND");
        }
      }
      assert.deepEqual(await stateOf(harness), before);
    });

    it("refuses the nil UUID in a query filter (400) and in a body (422) as not an id", async () => {
      const query = assertProblem(await call("GET", `/api/v1/boards/${board().id}/items?groupId=${NIL}`), 400, "INVALID_PARAMETERS");
      assert.ok(query.errors?.some((error) => error.field === "groupId"));
      const body = assertProblem(await call("POST", "/api/v1/boards", { json: { name: "x", workspaceId: NIL } }), 422, "BAD_USER_INPUT");
      assert.ok(body.errors?.some((error) => error.field === "workspaceId"));
    });
  });
});
