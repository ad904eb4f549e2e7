import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { startHarness, type Harness } from "./support/harness.ts";
import { RestClient, assertProblem, nextLink, stateOf } from "./support/rest.ts";

type Resource = { id: string; version: number; [field: string]: unknown };
type Page = { data: Resource[]; nextCursor: string | null };

describe("REST v1", () => {
  let harness: Harness;
  let rest: RestClient;
  let owner: string;
  const acme = () => harness.seed.organizations[0];
  const board = () => acme().boards[0];

  before(async () => {
    harness = await startHarness("rest");
    rest = await RestClient.connect(harness);
    owner = await harness.token(0, "OWNER");
  });
  after(() => harness?.dispose());

  describe("every route's happy path, each response valid against the served OpenAPI document", () => {
    it("lists, reads, creates, updates and archives boards", async () => {
      const list = await rest.call("GET", "/api/v1/boards?limit=2", { token: owner });
      assert.equal(list.status, 200);
      assert.equal((list.body as Page).data.length, 2);
      const filtered = await rest.call("GET", `/api/v1/boards?state=ACTIVE&workspaceId=${acme().workspaceId}&search=roadmap`, { token: owner });
      assert.deepEqual(
        (filtered.body as Page).data.map((entry) => entry.id),
        [board().id],
      );

      const created = await rest.call("POST", "/api/v1/boards", { token: owner, json: { workspaceId: acme().workspaceId, name: "Partner board", kind: "PRIVATE" } });
      assert.equal(created.status, 201);
      const createdBoard = created.body as Resource;
      assert.equal(created.headers.get("location"), `/api/v1/boards/${createdBoard.id}`);
      assert.equal(created.headers.get("etag"), '"1"');

      const read = await rest.call("GET", `/api/v1/boards/${createdBoard.id}`, { token: owner });
      assert.equal((read.body as Resource).name, "Partner board");
      assert.equal(read.headers.get("etag"), '"1"');

      const patched = await rest.call("PATCH", `/api/v1/boards/${createdBoard.id}`, { token: owner, json: { description: "Synced from the partner" } });
      assert.equal(patched.status, 200);
      assert.equal((patched.body as Resource).description, "Synced from the partner");
      assert.equal(patched.headers.get("etag"), '"2"');

      const archived = await rest.call("DELETE", `/api/v1/boards/${createdBoard.id}`, { token: owner });
      assert.equal(archived.status, 204);
      assert.equal(archived.text, "");
      const row = await harness.prisma.board.findUniqueOrThrow({ where: { id: createdBoard.id } });
      assert.equal(row.state, "ARCHIVED");
    });

    it("lists a board's groups in position order and adds one at the end", async () => {
      const groups = await rest.call("GET", `/api/v1/boards/${board().id}/groups`, { token: owner });
      assert.deepEqual(
        (groups.body as { data: Resource[] }).data.map((group) => group.id),
        board().groupIds,
      );
      const added = await rest.call("POST", `/api/v1/boards/${board().id}/groups`, { token: owner, json: { name: "Done" } });
      assert.equal(added.status, 201);
      const after = await rest.call("GET", `/api/v1/boards/${board().id}/groups`, { token: owner });
      assert.deepEqual(
        (after.body as { data: Resource[] }).data.map((group) => group.id),
        [...board().groupIds, (added.body as Resource).id],
      );
    });

    it("creates, reads, renames, sets a column value of and deletes an item", async () => {
      const created = await rest.call("POST", `/api/v1/boards/${board().id}/items`, {
        token: owner,
        json: { groupId: board().groupIds[1], name: "From REST", assigneeIds: [acme().userIdsByRole.MEMBER], columnValues: [{ columnId: board().columnIds.NUMBER, value: 7 }] },
      });
      assert.equal(created.status, 201);
      const item = created.body as Resource & { assignees: { id: string }[]; columnValues: { column: { id: string }; value: unknown }[] };
      assert.equal(created.headers.get("location"), `/api/v1/items/${item.id}`);
      assert.deepEqual(item.assignees, [{ id: acme().userIdsByRole.MEMBER }]);
      assert.deepEqual(
        item.columnValues.map((value) => [value.column.id, value.value]),
        [[board().columnIds.NUMBER, 7]],
      );

      const read = await rest.call("GET", `/api/v1/items/${item.id}`, { token: owner });
      assert.equal((read.body as Resource).name, "From REST");

      const renamed = await rest.call("PATCH", `/api/v1/items/${item.id}`, { token: owner, json: { name: "Renamed from REST" } });
      assert.equal((renamed.body as Resource).name, "Renamed from REST");

      const set = await rest.call("PUT", `/api/v1/items/${item.id}/column-values/${board().columnIds.TEXT}`, { token: owner, json: { value: "hello" } });
      assert.equal(set.status, 200);
      const values = (set.body as typeof item).columnValues;
      assert.deepEqual(values.find((value) => value.column.id === board().columnIds.TEXT)?.value, "hello");

      const deleted = await rest.call("DELETE", `/api/v1/items/${item.id}`, { token: owner });
      assert.equal(deleted.status, 204);
      assertProblem(await rest.call("GET", `/api/v1/items/${item.id}`, { token: owner }), 404, "NOT_FOUND");
    });

    it("adds and lists an item's comments", async () => {
      const itemId = board().itemIds[3] as string;
      const added = await rest.call("POST", `/api/v1/items/${itemId}/comments`, { token: owner, json: { body: "Looks good from the partner side" } });
      assert.equal(added.status, 201);
      const comments: Resource[] = [];
      let path: string | null = `/api/v1/items/${itemId}/comments?limit=100`;
      while (path) {
        const page = await rest.call("GET", path, { token: owner });
        comments.push(...(page.body as Page).data);
        path = nextLink(page);
      }
      assert.ok(comments.some((comment) => comment.id === (added.body as Resource).id && comment.body === "Looks good from the partner side"));
    });

    it("reads the signed-in user and lists the organization's users with filters", async () => {
      const me = await rest.call("GET", "/api/v1/users/me", { token: owner });
      assert.equal((me.body as Resource).id, acme().userIdsByRole.OWNER);
      const admins = await rest.call("GET", "/api/v1/users?role=ADMIN", { token: owner });
      assert.ok((admins.body as Page).data.every((user) => user.role === "ADMIN"));
      assert.ok((admins.body as Page).data.some((user) => user.id === acme().userIdsByRole.ADMIN));
    });

    it("reads the organization's API usage (this harness records none: an empty report)", async () => {
      const usage = await rest.call("GET", "/api/v1/usage?granularity=DAY", { token: owner });
      assert.equal(usage.status, 200);
      assert.equal((usage.body as { totals: { requests: number } }).totals.requests, 0);
    });

    it("registers, lists, reads and deletes webhooks", async () => {
      const created = await rest.call("POST", "/api/v1/webhooks", { token: owner, json: { url: "https://partner.example/hooks", events: ["project.item.created"], boardId: board().id } });
      assert.equal(created.status, 201);
      const { webhook, secret } = created.body as { webhook: Resource; secret: string };
      assert.ok(secret.length >= 32);
      assert.equal(created.headers.get("location"), `/api/v1/webhooks/${webhook.id}`);
      const list = await rest.call("GET", "/api/v1/webhooks?limit=100", { token: owner });
      assert.ok((list.body as Page).data.some((entry) => entry.id === webhook.id));
      assert.ok(!JSON.stringify(list.body).includes(secret), "the secret is shown once only");
      const read = await rest.call("GET", `/api/v1/webhooks/${webhook.id}`, { token: owner });
      assert.equal((read.body as Resource).url, "https://partner.example/hooks");
      assert.equal((await rest.call("DELETE", `/api/v1/webhooks/${webhook.id}`, { token: owner })).status, 204);
      assertProblem(await rest.call("GET", `/api/v1/webhooks/${webhook.id}`, { token: owner }), 404, "NOT_FOUND");
    });

    it("switches a webhook on, tests it, rotates its secret (both with If-Match), lists its deliveries and redelivers one", async () => {
      const created = await rest.call("POST", "/api/v1/webhooks", { token: owner, json: { url: "https://partner.example/lifecycle", events: ["project.item.created"] } });
      assert.equal(created.status, 201);
      const { webhook, secret } = created.body as { webhook: Resource; secret: string };
      const read = await rest.call("GET", `/api/v1/webhooks/${webhook.id}`, { token: owner });
      const etag = read.headers.get("etag") as string;
      assert.equal(etag, '"1"');

      const on = await rest.call("PATCH", `/api/v1/webhooks/${webhook.id}`, { token: owner, headers: { "if-match": etag }, json: { enabled: true } });
      assert.equal(on.status, 200);
      assert.equal((on.body as Resource).enabled, true);
      assert.equal(on.headers.get("etag"), '"2"');

      const tested = await rest.call("POST", `/api/v1/webhooks/${webhook.id}/test`, { token: owner });
      assert.equal(tested.status, 200);
      const delivery = tested.body as Resource;
      assert.deepEqual([delivery.eventType, delivery.status], ["webhook.test", "PENDING"]);

      const rotated = await rest.call("POST", `/api/v1/webhooks/${webhook.id}/rotate-secret`, { token: owner, headers: { "if-match": on.headers.get("etag") as string } });
      assert.equal(rotated.status, 200);
      const rotation = rotated.body as { webhook: Resource; secret: string; previousSecretExpiresAt: string };
      assert.notEqual(rotation.secret, secret);
      assert.equal(rotation.webhook.version, 3);
      assert.equal(rotation.webhook.previousSecretExpiresAt, rotation.previousSecretExpiresAt);

      const deliveries = await rest.call("GET", `/api/v1/webhooks/${webhook.id}/deliveries?limit=10`, { token: owner });
      assert.equal(deliveries.status, 200);
      assert.deepEqual(
        (deliveries.body as Page).data.map((entry) => [entry.id, entry.status]),
        [[delivery.id, "PENDING"]],
      );

      // As the runtime leaves a delivery it gave up on: FAILED, its body kept for a redelivery.
      const failed = await harness.prisma.webhookDelivery.update({ where: { id: delivery.id }, data: { status: "FAILED", attempt: 1, responseStatus: 503 } });
      assert.notEqual(failed.payload, null);
      const redelivered = await rest.call("POST", `/api/v1/webhooks/${webhook.id}/deliveries/${delivery.id}/redeliver`, { token: owner });
      assert.equal(redelivered.status, 200);
      assert.equal((redelivered.body as Resource).status, "PENDING");
      const row = await harness.prisma.webhookDelivery.findUniqueOrThrow({ where: { id: delivery.id } });
      assert.deepEqual([row.status, row.payload, row.retryBase], ["PENDING", failed.payload, 1]);
    });

    it("enables an integration by its type in the path and lists integrations", async () => {
      const enabled = await rest.call("POST", "/api/v1/integrations/teams/enable", { token: owner, json: { name: "Partner Teams", boardId: board().id } });
      assert.equal(enabled.status, 200);
      assert.equal((enabled.body as Resource).type, "TEAMS");
      assert.equal((enabled.body as Resource).enabled, true);
      const list = await rest.call("GET", "/api/v1/integrations", { token: owner });
      assert.ok((list.body as Page).data.some((entry) => entry.id === (enabled.body as Resource).id));
    });

    it("serves the deprecated pulses route with Deprecation, Sunset and a successor-version link", async () => {
      const response = await rest.call("GET", `/api/v1/boards/${board().id}/pulses?limit=2`, { token: owner });
      assert.equal(response.status, 200);
      assert.match(response.headers.get("deprecation") ?? "", /^@\d+$/);
      assert.ok(Date.parse(response.headers.get("sunset") ?? "") > Date.now());
      const link = response.headers.get("link") ?? "";
      assert.ok(link.includes(`</api/v1/boards/${board().id}/items>; rel="successor-version"`), link);
      assert.ok(link.includes('rel="next"'), link);
      const current = await rest.call("GET", `/api/v1/boards/${board().id}/items?limit=2`, { token: owner });
      assert.deepEqual(response.body, current.body);
      assert.equal(current.headers.get("deprecation"), null);
    });

    it("searches what the caller may read", async () => {
      const found = await rest.call("GET", "/api/v1/search?q=roadmap&types=ITEM,BOARD&limit=5", { token: owner });
      assert.equal(found.status, 200);
      assert.ok(Array.isArray((found.body as Page).data));
    });

    it("lists an item's and a board's history", async () => {
      const itemId = board().itemIds[0] ?? "";
      const renamed = await rest.call("PATCH", `/api/v1/items/${itemId}`, { token: owner, json: { name: "Renamed for its history" } });
      assert.equal(renamed.status, 200);
      const items = await rest.call("GET", `/api/v1/items/${itemId}/history?limit=1`, { token: owner });
      assert.equal(items.status, 200);
      const [entry] = (items.body as { data: { type: string; surface: string; changes: { field: string; to: unknown }[] }[] }).data;
      assert.deepEqual([entry?.type, entry?.surface, entry?.changes[0]?.to], ["ITEM_UPDATED", "REST", "Renamed for its history"]);
      const boards = await rest.call("GET", `/api/v1/boards/${board().id}/history?limit=2`, { token: owner });
      assert.equal(boards.status, 200);
      assert.equal((boards.body as Page).data.length, 2);
    });

    it("reached every route of the route table", () => {
      const missing = rest.operationIds.filter((operationId) => !rest.succeeded.has(operationId));
      assert.deepEqual(missing, []);
    });
  });

  it("partner flow with an API key: create a board, add items, page with Link headers, update with If-Match, replay a POST", async () => {
    const keyResult = await harness.gql(owner, `mutation { createApiKey(input: { name: "rest partner", role: ADMIN }) { secret } }`);
    const apiKey = (keyResult.body.data as { createApiKey: { secret: string } }).createApiKey.secret;
    const headers = { "x-api-key": apiKey };

    const idempotencyKey = randomUUID();
    const createBoard = () => rest.call("POST", "/api/v1/boards", { headers: { ...headers, "idempotency-key": idempotencyKey }, json: { workspaceId: acme().workspaceId, name: "Partner sync" } });
    const created = await createBoard();
    assert.equal(created.status, 201);
    const newBoard = created.body as Resource;

    // A new board has no groups, and items need one.
    const none = await rest.call("GET", `/api/v1/boards/${newBoard.id}/groups`, { headers });
    assert.deepEqual((none.body as { data: Resource[] }).data, []);
    const group = await rest.call("POST", `/api/v1/boards/${newBoard.id}/groups`, { headers, json: { name: "Inbox", color: "#579bfc" } });
    assert.equal(group.status, 201);
    const groupId = (group.body as Resource).id;
    const names = Array.from({ length: 7 }, (_, index) => `Task ${index + 1}`);
    const itemIds: string[] = [];
    for (const name of names) {
      const item = await rest.call("POST", `/api/v1/boards/${newBoard.id}/items`, { headers, json: { groupId, name } });
      assert.equal(item.status, 201);
      itemIds.push((item.body as Resource).id);
    }

    const seen: string[] = [];
    let path: string | null = `/api/v1/boards/${newBoard.id}/items?limit=3`;
    let pages = 0;
    while (path) {
      const page = await rest.call("GET", path, { headers });
      assert.equal(page.status, 200);
      pages += 1;
      seen.push(...(page.body as Page).data.map((item) => item.id));
      path = nextLink(page);
      assert.equal(path === null, (page.body as Page).nextCursor === null);
    }
    assert.equal(pages, 3);
    assert.deepEqual(seen, itemIds);

    const target = itemIds[0] as string;
    const read = await rest.call("GET", `/api/v1/items/${target}`, { headers });
    const etag = read.headers.get("etag") as string;
    const updated = await rest.call("PATCH", `/api/v1/items/${target}`, { headers: { ...headers, "if-match": etag }, json: { name: "Task 1 (done)" } });
    assert.equal(updated.status, 200);
    assert.notEqual(updated.headers.get("etag"), etag);
    const stale = await rest.call("PATCH", `/api/v1/items/${target}`, { headers: { ...headers, "if-match": etag }, json: { name: "Lost update" } });
    assertProblem(stale, 412, "PRECONDITION_FAILED");
    assert.equal((await harness.prisma.item.findUniqueOrThrow({ where: { id: target } })).name, "Task 1 (done)");

    const boardsBefore = await harness.prisma.board.count();
    const replayed = await createBoard();
    assert.equal(replayed.status, 201);
    assert.equal(replayed.headers.get("idempotent-replayed"), "true");
    assert.deepEqual(replayed.body, created.body);
    assert.equal(replayed.headers.get("location"), created.headers.get("location"));
    assert.equal(await harness.prisma.board.count(), boardsBefore);
  });

  describe("HTTP semantics", () => {
    it("answers 304 to If-None-Match with the current ETag, and 200 once the resource changed", async () => {
      const itemId = board().itemIds[5] as string;
      const first = await rest.call("GET", `/api/v1/items/${itemId}`, { token: owner });
      const etag = first.headers.get("etag") as string;
      assert.match(etag, /^"\d+"$/);
      const unchanged = await rest.call("GET", `/api/v1/items/${itemId}`, { token: owner, headers: { "if-none-match": etag } });
      assert.equal(unchanged.status, 304);
      assert.equal(unchanged.text, "");
      assert.equal(unchanged.headers.get("etag"), etag);
      const list = await rest.call("GET", `/api/v1/boards/${board().id}/items?limit=5`, { token: owner });
      const listTag = list.headers.get("etag") as string;
      assert.equal((await rest.call("GET", `/api/v1/boards/${board().id}/items?limit=5`, { token: owner, headers: { "if-none-match": listTag } })).status, 304);

      await rest.call("PATCH", `/api/v1/items/${itemId}`, { token: owner, json: { name: "Changed meanwhile" } });
      const changed = await rest.call("GET", `/api/v1/items/${itemId}`, { token: owner, headers: { "if-none-match": etag } });
      assert.equal(changed.status, 200);
      assert.notEqual(changed.headers.get("etag"), etag);
    });

    it("maps If-Match to expectedVersion: a stale one is 412 on PATCH, PUT and DELETE and changes nothing", async () => {
      const itemId = board().itemIds[6] as string;
      const current = await rest.call("GET", `/api/v1/items/${itemId}`, { token: owner });
      const version = (current.body as Resource).version;
      const stale = `"${version + 3}"`;
      const before = await stateOf(harness);
      assertProblem(await rest.call("PATCH", `/api/v1/items/${itemId}`, { token: owner, headers: { "if-match": stale }, json: { name: "x" } }), 412, "PRECONDITION_FAILED");
      assertProblem(await rest.call("PUT", `/api/v1/items/${itemId}/column-values/${board().columnIds.TEXT}`, { token: owner, headers: { "if-match": stale }, json: { value: "x" } }), 412);
      assertProblem(await rest.call("DELETE", `/api/v1/items/${itemId}`, { token: owner, headers: { "if-match": stale } }), 412);
      assertProblem(await rest.call("DELETE", `/api/v1/boards/${acme().boards[1].id}`, { token: owner, headers: { "if-match": 'W/"1"' } }), 412);
      assertProblem(await rest.call("PATCH", `/api/v1/boards/${board().id}`, { token: owner, headers: { "if-match": '"not-a-version"' }, json: { name: "x" } }), 412);
      assert.deepEqual(await stateOf(harness), before);

      const fresh = await rest.call("DELETE", `/api/v1/items/${itemId}`, { token: owner, headers: { "if-match": current.headers.get("etag") as string } });
      assert.equal(fresh.status, 204);
    });
  });

  describe("versioning", () => {
    it("serves v1 on the bare path with Accept: application/vnd.sunday.v1+json, in that media type", async () => {
      const response = await rest.call("GET", `/api/boards/${board().id}`, { token: owner, headers: { accept: "application/vnd.sunday.v1+json" } });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("content-type"), "application/vnd.sunday.v1+json");
      assert.equal(response.headers.get("vary"), "Accept");
      const viaPath = await rest.call("GET", `/api/v1/boards/${board().id}`, { token: owner });
      assert.deepEqual(response.body, viaPath.body);
    });

    it("refuses an unknown version with 406, in the Accept header or the path", async () => {
      assertProblem(await rest.call("GET", "/api/boards", { token: owner, headers: { accept: "application/vnd.sunday.v2+json" } }), 406, "NOT_ACCEPTABLE");
      const path = await fetch(`${harness.stack.gateway.url}/api/v7/boards`, { headers: { authorization: `Bearer ${owner}` } });
      assert.equal(path.status, 406);
      assert.equal(path.headers.get("content-type"), "application/problem+json");
      const contradicting = await rest.call("GET", "/api/v1/boards", { token: owner, headers: { accept: "application/vnd.sunday.v3+json" } });
      assertProblem(contradicting, 406);
    });
  });

  describe("Idempotency-Key", () => {
    const post = (key: string, name: string) =>
      rest.call("POST", `/api/v1/boards/${board().id}/items`, { token: owner, headers: { "idempotency-key": key }, json: { groupId: board().groupIds[0], name } });

    it("refuses the same key with another body with 422 and creates nothing", async () => {
      const key = randomUUID();
      assert.equal((await post(key, "First")).status, 201);
      const before = await stateOf(harness);
      assertProblem(await post(key, "Second"), 422, "IDEMPOTENCY_KEY_REUSED");
      assert.deepEqual(await stateOf(harness), before);
    });

    it("answers 409 to a duplicate while the first request is in flight, and runs the request once", async () => {
      const key = randomUUID();
      const before = await harness.prisma.item.count({ where: { boardId: board().id } });
      const responses = await Promise.all(Array.from({ length: 6 }, () => post(key, "Concurrent")));
      const statuses = responses.map((response) => response.status);
      assert.equal(await harness.prisma.item.count({ where: { boardId: board().id } }), before + 1, `statuses ${statuses}`);
      const created = responses.filter((response) => response.status === 201);
      const original = created.find((response) => response.headers.get("idempotent-replayed") === null);
      assert.ok(original, `statuses ${statuses}`);
      for (const response of created) assert.deepEqual(response.body, original.body);
      for (const response of responses.filter((entry) => entry.status !== 201)) {
        const problem = assertProblem(response, 409, "IDEMPOTENCY_IN_FLIGHT");
        assert.equal(response.headers.get("retry-after"), String(problem.retryAfterSeconds));
      }
      assert.ok(statuses.includes(409), `six simultaneous duplicates should meet the first one in flight: ${statuses}`);
    });

    it("keeps keys per caller: another user's same key is a new request", async () => {
      const key = randomUUID();
      const mine = await post(key, "Mine");
      const admin = await harness.token(0, "ADMIN");
      const theirs = await rest.call("POST", `/api/v1/boards/${board().id}/items`, { token: admin, headers: { "idempotency-key": key }, json: { groupId: board().groupIds[0], name: "Mine" } });
      assert.equal(theirs.status, 201);
      assert.equal(theirs.headers.get("idempotent-replayed"), null);
      assert.notEqual((theirs.body as Resource).id, (mine.body as Resource).id);
    });

    it("stores keys in the gateway's Redis under its prefix, for 24 hours", async () => {
      const key = randomUUID();
      await post(key, "Stored");
      const keys = await harness.redis.keys(`${harness.redisPrefix}idempotency:*`);
      assert.ok(keys.length > 0);
      const ttls = await Promise.all(keys.map((entry) => harness.redis.pttl(entry)));
      assert.ok(
        ttls.some((ttl) => ttl > 86_000_000 && ttl <= 86_400_000),
        `ttls ${ttls}`,
      );
    });
  });
});
