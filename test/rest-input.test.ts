import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startHarness, type Harness } from "./support/harness.ts";
import { ROUTES } from "../gateway/src/rest/routes.ts";
import { RestClient, assertProblem, stateOf } from "./support/rest.ts";

interface BadCase {
  readonly name: string;
  readonly method: string;
  readonly path: (h: Harness) => string;
  readonly json?: (h: Harness) => unknown;
  readonly raw?: string;
  readonly headers?: Record<string, string>;
  readonly status: number;
  readonly code?: string;
  /** A field (or parameter) the problem must name in `errors`. */
  readonly field?: string;
}

const acme = (h: Harness) => h.seed.organizations[0];
const board = (h: Harness) => acme(h).boards[0];
const item = (h: Harness) => board(h).itemIds[2] as string;
const json = { "content-type": "application/json" };
const oversized = JSON.stringify({ name: "x".repeat(1_000_001) });

/** Wrong types, missing and unknown fields, malformed and oversized bodies, bad parameters: per route. */
const CASES: readonly BadCase[] = [
  // GET /boards
  { name: "a zero limit", method: "GET", path: () => "/api/v1/boards?limit=0", status: 400, code: "INVALID_PARAMETERS", field: "limit" },
  { name: "a non-numeric limit", method: "GET", path: () => "/api/v1/boards?limit=ten", status: 400, field: "limit" },
  { name: "a limit above the maximum", method: "GET", path: () => "/api/v1/boards?limit=101", status: 400, field: "limit" },
  { name: "an invalid cursor", method: "GET", path: () => "/api/v1/boards?cursor=not-a-cursor", status: 400, code: "INVALID_PARAMETERS", field: "cursor" },
  { name: "an unknown query parameter", method: "GET", path: () => "/api/v1/boards?colour=red", status: 400, field: "colour" },
  { name: "an unknown enum filter", method: "GET", path: () => "/api/v1/boards?state=DELETED", status: 400, field: "state" },
  { name: "a repeated parameter", method: "GET", path: () => "/api/v1/boards?limit=1&limit=2", status: 400, field: "limit" },
  { name: "an infinite limit", method: "GET", path: () => "/api/v1/boards?limit=Infinity", status: 400, code: "INVALID_PARAMETERS", field: "limit" },
  { name: "a hexadecimal limit", method: "GET", path: () => "/api/v1/boards?limit=0x10", status: 400, code: "INVALID_PARAMETERS", field: "limit" },
  { name: "a limit in exponent notation", method: "GET", path: () => "/api/v1/boards?limit=1e1", status: 400, code: "INVALID_PARAMETERS", field: "limit" },
  { name: "a parameter named like an Object method", method: "GET", path: () => "/api/v1/boards?toString=1", status: 400, code: "INVALID_PARAMETERS", field: "toString" },
  { name: "a search longer than 200 characters", method: "GET", path: () => `/api/v1/boards?search=${"a".repeat(201)}`, status: 400, code: "INVALID_PARAMETERS", field: "search" },
  { name: "a search with a NUL byte", method: "GET", path: () => "/api/v1/boards?search=a%00", status: 400, code: "INVALID_PARAMETERS", field: "search" },
  {
    name: "a forged cursor of the wrong types",
    method: "GET",
    path: () => `/api/v1/boards?cursor=${Buffer.from('["2025-01-01T00:00:00.000Z","y"]').toString("base64url")}`,
    status: 400,
    code: "INVALID_PARAMETERS",
    field: "cursor",
  },
  // POST /boards
  { name: "a name of the wrong type", method: "POST", path: () => "/api/v1/boards", json: (_h: Harness) => ({ workspaceId: "", name: 5 }), status: 422, code: "BAD_USER_INPUT", field: "name" },
  { name: "a missing workspaceId", method: "POST", path: () => "/api/v1/boards", json: (_h: Harness) => ({ name: "No workspace" }), status: 422, field: "workspaceId" },
  {
    name: "an unknown field",
    method: "POST",
    path: () => "/api/v1/boards",
    json: (_h: Harness) => ({ name: "x", workspaceId: "00000000-0000-4000-8000-000000000000", colour: "red" }),
    status: 422,
    field: "colour",
  },
  {
    name: "an unknown board kind",
    method: "POST",
    path: () => "/api/v1/boards",
    json: (_h: Harness) => ({ name: "x", workspaceId: "00000000-0000-4000-8000-000000000000", kind: "SECRET" }),
    status: 422,
    field: "kind",
  },
  { name: "a workspaceId that is not a UUID", method: "POST", path: () => "/api/v1/boards", json: (_h: Harness) => ({ name: "x", workspaceId: "ws-1" }), status: 422, field: "workspaceId" },
  {
    name: "a blank name (refused by the subgraph)",
    method: "POST",
    path: () => "/api/v1/boards",
    json: (_h: Harness) => ({ name: "   ", workspaceId: "00000000-0000-4000-8000-000000000000" }),
    status: 422,
    field: "name",
  },
  { name: "a JSON array instead of an object", method: "POST", path: () => "/api/v1/boards", json: (_h: Harness) => [], status: 422 },
  { name: "malformed JSON", method: "POST", path: () => "/api/v1/boards", raw: '{"name": "x",', headers: json, status: 400, code: "BAD_REQUEST" },
  { name: "a body over 1 MB", method: "POST", path: () => "/api/v1/boards", raw: oversized, headers: json, status: 413, code: "PAYLOAD_TOO_LARGE" },
  { name: "a body that is not JSON", method: "POST", path: () => "/api/v1/boards", raw: "name=x", headers: { "content-type": "application/x-www-form-urlencoded" }, status: 415 },
  {
    name: "an Idempotency-Key with spaces",
    method: "POST",
    path: () => "/api/v1/boards",
    json: (_h: Harness) => ({ name: "x", workspaceId: "00000000-0000-4000-8000-000000000000" }),
    headers: { "idempotency-key": "a key" },
    status: 400,
  },
  // /boards/{id}
  { name: "a board id that is not a UUID", method: "GET", path: () => "/api/v1/boards/123", status: 404, code: "NOT_FOUND" },
  { name: "the nil UUID as a board id", method: "GET", path: () => "/api/v1/boards/00000000-0000-0000-0000-000000000000", status: 404, code: "NOT_FOUND" },
  {
    name: "a board name with a NUL byte",
    method: "PATCH",
    path: (h) => `/api/v1/boards/${board(h).id}`,
    json: (_h: Harness) => ({ name: "a\u0000b" }),
    status: 422,
    code: "BAD_USER_INPUT",
    field: "name",
  },
  { name: "an empty patch", method: "PATCH", path: (h) => `/api/v1/boards/${board(h).id}`, json: (_h: Harness) => ({}), status: 422 },
  { name: "a null name in a patch", method: "PATCH", path: (h) => `/api/v1/boards/${board(h).id}`, json: (_h: Harness) => ({ name: null }), status: 422, field: "name" },
  { name: "an unknown field in a patch", method: "PATCH", path: (h) => `/api/v1/boards/${board(h).id}`, json: (_h: Harness) => ({ owner: "me" }), status: 422, field: "owner" },
  { name: "malformed JSON in a patch", method: "PATCH", path: (h) => `/api/v1/boards/${board(h).id}`, raw: "{", headers: json, status: 400 },
  { name: "a patch of a board id that is not a UUID", method: "PATCH", path: () => "/api/v1/boards/nope", json: (_h: Harness) => ({ name: "x" }), status: 404 },
  { name: "archiving a board id that is not a UUID", method: "DELETE", path: () => "/api/v1/boards/nope", status: 404 },
  { name: "groups of a board id that is not a UUID", method: "GET", path: () => "/api/v1/boards/nope/groups", status: 404 },
  // /boards/{id}/items
  { name: "a negative item page size", method: "GET", path: (h) => `/api/v1/boards/${board(h).id}/items?limit=-1`, status: 400, field: "limit" },
  { name: "an invalid item cursor", method: "GET", path: (h) => `/api/v1/boards/${board(h).id}/items?cursor=%21%21%21`, status: 400, field: "cursor" },
  { name: "a groupId filter that is not a UUID", method: "GET", path: (h) => `/api/v1/boards/${board(h).id}/items?groupId=first`, status: 400, field: "groupId" },
  { name: "an item without a group", method: "POST", path: (h) => `/api/v1/boards/${board(h).id}/items`, json: (_h: Harness) => ({ name: "x" }), status: 422, field: "groupId" },
  {
    name: "an item name of the wrong type",
    method: "POST",
    path: (h) => `/api/v1/boards/${board(h).id}/items`,
    json: (h: Harness) => ({ name: ["x"], groupId: board(h).groupIds[0] }),
    status: 422,
    field: "name",
  },
  {
    name: "assigneeIds that are not a list",
    method: "POST",
    path: (h) => `/api/v1/boards/${board(h).id}/items`,
    json: (h: Harness) => ({ name: "x", groupId: board(h).groupIds[0], assigneeIds: "me" }),
    status: 422,
    field: "assigneeIds",
  },
  {
    name: "a column value without its column",
    method: "POST",
    path: (h) => `/api/v1/boards/${board(h).id}/items`,
    json: (h: Harness) => ({ name: "x", groupId: board(h).groupIds[0], columnValues: [{ value: 1 }] }),
    status: 422,
    field: "columnValues/0/columnId",
  },
  {
    name: "an unknown item field",
    method: "POST",
    path: (h) => `/api/v1/boards/${board(h).id}/items`,
    json: (h: Harness) => ({ name: "x", groupId: board(h).groupIds[0], priority: 1 }),
    status: 422,
    field: "priority",
  },
  {
    name: "a too-long item name (refused by the subgraph)",
    method: "POST",
    path: (h) => `/api/v1/boards/${board(h).id}/items`,
    json: (h: Harness) => ({ name: "x".repeat(501), groupId: board(h).groupIds[0] }),
    status: 422,
    field: "name",
  },
  {
    name: "a group of another board",
    method: "POST",
    path: (h) => `/api/v1/boards/${board(h).id}/items`,
    json: (h: Harness) => ({ name: "x", groupId: acme(h).boards[1].groupIds[0] }),
    status: 422,
    field: "groupId",
  },
  { name: "an oversized item body", method: "POST", path: (h) => `/api/v1/boards/${board(h).id}/items`, raw: oversized, headers: json, status: 413 },
  { name: "malformed item JSON", method: "POST", path: (h) => `/api/v1/boards/${board(h).id}/items`, raw: "[1,", headers: json, status: 400 },
  // /items/{id}
  { name: "an item id that is not a UUID", method: "GET", path: () => "/api/v1/items/42", status: 404 },
  { name: "a rename without a name", method: "PATCH", path: (h) => `/api/v1/items/${item(h)}`, json: (_h: Harness) => ({}), status: 422, field: "name" },
  { name: "a rename with a number", method: "PATCH", path: (h) => `/api/v1/items/${item(h)}`, json: (_h: Harness) => ({ name: 7 }), status: 422, field: "name" },
  {
    name: "a move in a rename (unknown field)",
    method: "PATCH",
    path: (h) => `/api/v1/items/${item(h)}`,
    json: (h: Harness) => ({ name: "x", groupId: board(h).groupIds[1] }),
    status: 422,
    field: "groupId",
  },
  { name: "deleting an item id that is not a UUID", method: "DELETE", path: () => "/api/v1/items/42", status: 404 },
  // PUT /items/{id}/column-values/{columnId}
  {
    name: "a column value body without value",
    method: "PUT",
    path: (h) => `/api/v1/items/${item(h)}/column-values/${board(h).columnIds.TEXT}`,
    json: (_h: Harness) => ({}),
    status: 422,
    field: "value",
  },
  {
    name: "a column value of the wrong type for its column",
    method: "PUT",
    path: (h) => `/api/v1/items/${item(h)}/column-values/${board(h).columnIds.NUMBER}`,
    json: (_h: Harness) => ({ value: "many" }),
    status: 422,
  },
  {
    name: "an unknown column value field",
    method: "PUT",
    path: (h) => `/api/v1/items/${item(h)}/column-values/${board(h).columnIds.TEXT}`,
    json: (_h: Harness) => ({ value: "x", note: "y" }),
    status: 422,
    field: "note",
  },
  {
    name: "a column value nested 5,000 deep",
    method: "PUT",
    path: (h) => `/api/v1/items/${item(h)}/column-values/${board(h).columnIds.TEXT}`,
    raw: `{"value":${"[".repeat(5000)}${"]".repeat(5000)}}`,
    headers: json,
    status: 422,
    code: "BAD_USER_INPUT",
    field: "value",
  },
  {
    name: "a NUMBER column value of 1e400",
    method: "PUT",
    path: (h) => `/api/v1/items/${item(h)}/column-values/${board(h).columnIds.NUMBER}`,
    raw: '{"value":1e400}',
    headers: json,
    status: 422,
    code: "BAD_USER_INPUT",
    field: "value",
  },
  {
    name: "a DATE that is not on the calendar",
    method: "PUT",
    path: (h) => `/api/v1/items/${item(h)}/column-values/${board(h).columnIds.DATE}`,
    json: () => ({ value: { date: "2026-02-30" } }),
    status: 422,
    code: "BAD_USER_INPUT",
    field: "value",
  },
  { name: "a columnId that is not a UUID", method: "PUT", path: (h) => `/api/v1/items/${item(h)}/column-values/status`, json: (_h: Harness) => ({ value: "x" }), status: 404 },
  // /items/{id}/comments
  { name: "a non-numeric comment page size", method: "GET", path: (h) => `/api/v1/items/${item(h)}/comments?limit=all`, status: 400, field: "limit" },
  { name: "an invalid comment cursor", method: "GET", path: (h) => `/api/v1/items/${item(h)}/comments?cursor=xyz`, status: 400, field: "cursor" },
  { name: "a comment without a body", method: "POST", path: (h) => `/api/v1/items/${item(h)}/comments`, json: (_h: Harness) => ({}), status: 422, field: "body" },
  { name: "a comment body of the wrong type", method: "POST", path: (h) => `/api/v1/items/${item(h)}/comments`, json: (_h: Harness) => ({ body: 5 }), status: 422, field: "body" },
  { name: "an empty comment (refused by the subgraph)", method: "POST", path: (h) => `/api/v1/items/${item(h)}/comments`, json: (_h: Harness) => ({ body: "  " }), status: 422, field: "body" },
  { name: "malformed comment JSON", method: "POST", path: (h) => `/api/v1/items/${item(h)}/comments`, raw: "body", headers: json, status: 400 },
  // /users
  { name: "an unknown role filter", method: "GET", path: () => "/api/v1/users?role=KING", status: 400, field: "role" },
  { name: "an invalid user cursor", method: "GET", path: () => "/api/v1/users?cursor=abc", status: 400, field: "cursor" },
  { name: "a query parameter on /users/me", method: "GET", path: () => "/api/v1/users/me?expand=boards", status: 400, field: "expand" },
  // /webhooks
  { name: "an invalid webhook cursor", method: "GET", path: () => "/api/v1/webhooks?cursor=abc", status: 400, field: "cursor" },
  { name: "a webhook url of the wrong type", method: "POST", path: () => "/api/v1/webhooks", json: (_h: Harness) => ({ url: 5, events: ["item.created"] }), status: 422, field: "url" },
  { name: "a webhook without events", method: "POST", path: () => "/api/v1/webhooks", json: (_h: Harness) => ({ url: "https://partner.example/h" }), status: 422, field: "events" },
  {
    name: "a webhook url that is not a URL (refused by the subgraph)",
    method: "POST",
    path: () => "/api/v1/webhooks",
    json: (_h: Harness) => ({ url: "not a url", events: ["item.created"] }),
    status: 422,
    field: "url",
  },
  {
    name: "an unknown webhook field",
    method: "POST",
    path: () => "/api/v1/webhooks",
    json: (_h: Harness) => ({ url: "https://partner.example/h", events: ["item.created"], secret: "mine" }),
    status: 422,
    field: "secret",
  },
  { name: "deleting a webhook id that is not a UUID", method: "DELETE", path: () => "/api/v1/webhooks/hook", status: 404 },
  // /integrations
  { name: "an integration page size above the maximum", method: "GET", path: () => "/api/v1/integrations?limit=1000", status: 400, field: "limit" },
  { name: "an unknown integration type", method: "POST", path: () => "/api/v1/integrations/fax/enable", json: (_h: Harness) => ({}), status: 404 },
  { name: "an unknown integration field", method: "POST", path: () => "/api/v1/integrations/slack/enable", json: (_h: Harness) => ({ token: "xoxb" }), status: 422, field: "token" },
  { name: "an integration boardId that is not a UUID", method: "POST", path: () => "/api/v1/integrations/slack/enable", json: (_h: Harness) => ({ boardId: "b" }), status: 422, field: "boardId" },
];

describe("REST v1 refuses bad input with problem+json and changes nothing", () => {
  let harness: Harness;
  let rest: RestClient;
  let owner: string;

  before(async () => {
    harness = await startHarness("rest_input");
    rest = await RestClient.connect(harness);
    owner = await harness.token(0, "OWNER");
  });
  after(() => harness?.dispose());

  for (const bad of CASES) {
    it(`${bad.method} refuses ${bad.name} with ${bad.status}`, async () => {
      const before = await stateOf(harness);
      const response = await rest.call(bad.method, bad.path(harness), { token: owner, json: bad.json?.(harness), raw: bad.raw, headers: bad.headers });
      const problem = assertProblem(response, bad.status, bad.code);
      assert.equal(problem.instance, new URL(bad.path(harness), "http://x").pathname);
      if (bad.field !== undefined)
        assert.ok(
          problem.errors?.some((error) => error.field === bad.field),
          `errors name ${bad.field}: ${JSON.stringify(problem.errors)}`,
        );
      assert.deepEqual(await stateOf(harness), before);
    });
  }

  describe("the same refusals on every route of the table", () => {
    /** A real Acme id for each path parameter, by the collection it follows. */
    const fill = (h: Harness, path: string) =>
      path.replace(/\/(\w+(?:-\w+)*)\/\{(\w+)\}/g, (_whole, collection: string, name: string) => {
        const value =
          name === "type"
            ? "slack"
            : name === "columnId"
              ? board(h).columnIds.TEXT
              : collection === "boards"
                ? board(h).id
                : collection === "items"
                  ? item(h)
                  : collection === "webhooks"
                    ? acme(h).webhookId
                    : collection === "column-values"
                      ? board(h).columnIds.TEXT
                      : "";
        return `/${collection}/${value}`;
      });
    const withBody = ROUTES.filter((route) => ["POST", "PUT", "PATCH"].includes(route.method) && route.body);
    const paged = ROUTES.filter((route) => route.kind === "page");
    // Query parameters a route requires (GET /search's `q`), ready to take more after them.
    const requiredQuery = (route: (typeof ROUTES)[number]) =>
      Object.entries(route.query ?? {})
        .filter(([, parameter]) => parameter.required)
        .map(([name]) => `${name}=x&`)
        .join("");
    const refusals: { label: string; raw: string; status: number; field?: string }[] = [
      { label: "malformed JSON", raw: '{"name": ', status: 400 },
      { label: "a body over 1 MB", raw: oversized, status: 413 },
      { label: "an unknown field", raw: '{"zzz": 1}', status: 422, field: "zzz" },
      { label: "a JSON string instead of an object", raw: '"text"', status: 422 },
    ];
    for (const route of withBody) {
      for (const refusal of refusals) {
        it(`${route.method} ${route.path} refuses ${refusal.label} with ${refusal.status}`, async () => {
          const before = await stateOf(harness);
          const response = await rest.call(route.method, `/api/v1${fill(harness, route.path)}`, { token: owner, raw: refusal.raw, headers: json });
          const problem = assertProblem(response, refusal.status);
          if (refusal.field)
            assert.ok(
              problem.errors?.some((error) => error.field === refusal.field),
              JSON.stringify(problem.errors),
            );
          assert.deepEqual(await stateOf(harness), before);
        });
      }
    }
    for (const route of paged) {
      for (const [label, query, field] of [
        ["an invalid cursor", "cursor=bm90LWEtY3Vyc29y", "cursor"],
        ["a limit of the wrong type", "limit=many", "limit"],
        ["a limit of zero", "limit=0", "limit"],
      ] as const) {
        it(`GET ${route.path} refuses ${label} with 400`, async () => {
          const response = await rest.call("GET", `/api/v1${fill(harness, route.path)}?${requiredQuery(route)}${query}`, { token: owner });
          const problem = assertProblem(response, 400, "INVALID_PARAMETERS");
          assert.ok(
            problem.errors?.some((error) => error.field === field),
            JSON.stringify(problem.errors),
          );
        });
      }
    }
  });

  it("covers every write route and every paged route with bad input", () => {
    const refused = new Set(
      CASES.map(
        (bad) =>
          `${bad.method} ${bad
            .path(harness)
            .split("?")[0]
            ?.replace(/[0-9a-f-]{36}/g, "{id}")
            .replace(/\/(nope|42|123|hook|status|fax)(\/|$)/g, "/{id}$2")}`,
      ),
    );
    for (const required of [
      "POST /api/v1/boards",
      "PATCH /api/v1/boards/{id}",
      "DELETE /api/v1/boards/{id}",
      "POST /api/v1/boards/{id}/items",
      "PATCH /api/v1/items/{id}",
      "DELETE /api/v1/items/{id}",
      "PUT /api/v1/items/{id}/column-values/{id}",
      "POST /api/v1/items/{id}/comments",
      "POST /api/v1/webhooks",
      "DELETE /api/v1/webhooks/{id}",
      "GET /api/v1/integrations",
      "GET /api/v1/users",
      "GET /api/v1/webhooks",
    ]) {
      assert.ok(refused.has(required), `${required} among ${[...refused].join(", ")}`);
    }
  });

  describe("another organization's ids are 404, never 403 and never data", () => {
    const acmeIds = (h: Harness) => ({ board: board(h).id, item: item(h), webhook: acme(h).webhookId, column: board(h).columnIds.TEXT, group: board(h).groupIds[0] as string });
    const attempts: { method: string; path: (ids: ReturnType<typeof acmeIds>) => string; json?: unknown }[] = [
      { method: "GET", path: (ids) => `/api/v1/boards/${ids.board}` },
      { method: "PATCH", path: (ids) => `/api/v1/boards/${ids.board}`, json: { name: "Taken over" } },
      { method: "DELETE", path: (ids) => `/api/v1/boards/${ids.board}` },
      { method: "GET", path: (ids) => `/api/v1/boards/${ids.board}/groups` },
      { method: "GET", path: (ids) => `/api/v1/boards/${ids.board}/items` },
      { method: "GET", path: (ids) => `/api/v1/boards/${ids.board}/pulses` },
      { method: "POST", path: (ids) => `/api/v1/boards/${ids.board}/items`, json: { name: "Planted", groupId: "" } },
      { method: "GET", path: (ids) => `/api/v1/items/${ids.item}` },
      { method: "PATCH", path: (ids) => `/api/v1/items/${ids.item}`, json: { name: "Taken over" } },
      { method: "DELETE", path: (ids) => `/api/v1/items/${ids.item}` },
      { method: "PUT", path: (ids) => `/api/v1/items/${ids.item}/column-values/${ids.column}`, json: { value: "Taken over" } },
      { method: "GET", path: (ids) => `/api/v1/items/${ids.item}/comments` },
      { method: "POST", path: (ids) => `/api/v1/items/${ids.item}/comments`, json: { body: "Planted" } },
      { method: "GET", path: (ids) => `/api/v1/webhooks/${ids.webhook}` },
      { method: "DELETE", path: (ids) => `/api/v1/webhooks/${ids.webhook}` },
    ];
    for (const attempt of attempts) {
      it(`${attempt.method} ${attempt.path({ board: "{board}", item: "{item}", webhook: "{webhook}", column: "{column}", group: "{group}" })} with an Acme id as Globex's OWNER is 404`, async () => {
        const globex = await harness.token(1, "OWNER");
        const ids = acmeIds(harness);
        const body = attempt.json && typeof attempt.json === "object" && "groupId" in attempt.json ? { ...attempt.json, groupId: ids.group } : attempt.json;
        const before = await stateOf(harness);
        const response = await rest.call(attempt.method, attempt.path(ids), { token: globex, json: body });
        assertProblem(response, 404, "NOT_FOUND");
        assert.ok(!response.text.includes(board(harness).name), "no Acme data in the answer");
        assert.deepEqual(await stateOf(harness), before);
      });
    }

    it("a GUEST asking for a private board it was not shared on gets 404 as well", async () => {
      const guest = await harness.token(0, "GUEST");
      assertProblem(await rest.call("GET", `/api/v1/boards/${acme(harness).boards[1].id}`, { token: guest }), 404, "NOT_FOUND");
      assertProblem(await rest.call("GET", `/api/v1/boards/${acme(harness).boards[1].id}/items`, { token: guest }), 404, "NOT_FOUND");
    });

    it("a VIEWER who can read the board but not write it gets 403 FORBIDDEN", async () => {
      const viewer = await harness.token(0, "VIEWER");
      const before = await stateOf(harness);
      const response = await rest.call("POST", `/api/v1/boards/${board(harness).id}/items`, { token: viewer, json: { name: "x", groupId: board(harness).groupIds[0] } });
      assertProblem(response, 403, "FORBIDDEN");
      assert.deepEqual(await stateOf(harness), before);
    });
  });

  it("answers unknown routes with 404 and unknown methods with 405 and Allow, as problems", async () => {
    const unknown = await fetch(`${harness.stack.gateway.url}/api/v1/pulses`, { headers: { authorization: `Bearer ${owner}` } });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.headers.get("content-type"), "application/problem+json");
    const method = await fetch(`${harness.stack.gateway.url}/api/v1/users/me`, { method: "DELETE", headers: { authorization: `Bearer ${owner}` } });
    assert.equal(method.status, 405);
    assert.equal(method.headers.get("allow"), "GET, HEAD");
    assert.equal(((await method.json()) as { correlationId: string }).correlationId, method.headers.get("x-correlation-id"));
  });
});
